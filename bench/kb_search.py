"""Knowledge-base search benchmark: build time, query latency and index memory over 5,000 articles.

Run: .venv/bin/python bench/kb_search.py [--articles 5000] [--queries 2000] [--compare-stemmers]

The corpus is the real seed articles (mongo-init/kb_articles.json) plus generated variants of them:
each variant shuffles a real article's sentences and tags, drops a few sentences, and gets a scope
and status drawn at random. The queries are the labelled questions (tests/kb_labelled.json), the
same with one typo each, and random 1-4 word queries from the articles' vocabulary (a fifth with a
typo). `--compare-stemmers` also measures Snowball vs Sastrawi vs no stemming (Sastrawi must be
installed for that part: it is not a product dependency).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import re
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from server.search.engine import SearchIndex  # noqa: E402
from server.search.markdown import markdown_to_text  # noqa: E402
from server.search.text import Stemmer, is_protected, make_stemmer, surface_words  # noqa: E402

Doc = dict[str, Any]
OFFICE_CODES = ("7406", "1808", "7501", "1600", "7411")
# Offices that exist only in the generated corpus, so that scope filtering has something to drop.
EXTRA_OFFICE_CODES = tuple(f"{p:02d}{k:02d}" for p in (11, 32, 35, 51, 73, 94) for k in range(1, 9))

# Word families that share one meaning: a good stemmer gives every member the same stem. Written from
# Indonesian morphology (meN-/peN-/ber-/ter-/di-/ke-an/per-an, -kan/-i/-nya), not from either stemmer.
FAMILIES: tuple[tuple[str, ...], ...] = (
    ("hitung", "menghitung", "dihitung", "penghitungan", "perhitungan"),
    ("penganggur", "pengangguran", "menganggur"),
    ("keluar", "pengeluaran", "mengeluarkan", "dikeluarkan"),
    ("olah", "mengolah", "diolah", "pengolahan", "olahan"),
    ("terima", "menerima", "diterima", "penerimaan"),
    ("kelompok", "mengelompokkan", "dikelompokkan", "pengelompokan"),
    ("kumpul", "mengumpulkan", "dikumpulkan", "pengumpulan"),
    ("ukur", "mengukur", "diukur", "pengukuran"),
    ("nilai", "menilai", "dinilai", "penilaian"),
    ("klasifikasi", "mengklasifikasikan", "diklasifikasikan"),
    ("miskin", "kemiskinan"),
    ("penduduk", "kependudukan", "berpenduduk"),
    ("tumbuh", "pertumbuhan", "bertumbuh"),
    ("cari", "mencari", "dicari", "pencarian"),
    ("minta", "meminta", "diminta", "permintaan"),
    ("unduh", "mengunduh", "diunduh"),
    ("kutip", "mengutip", "dikutip", "kutipan"),
    ("didik", "pendidikan", "mendidik"),
    ("jual", "menjual", "dijual", "penjualan"),
    ("kirim", "mengirim", "dikirim", "pengiriman"),
    ("daftar", "mendaftar", "pendaftaran", "terdaftar"),
    ("guna", "menggunakan", "digunakan", "penggunaan"),
    ("bayar", "membayar", "dibayar", "pembayaran"),
    ("susun", "menyusun", "disusun", "penyusunan"),
    ("capai", "mencapai", "capaian", "pencapaian"),
    ("timpang", "ketimpangan"),
    ("sehat", "kesehatan"),
    ("dagang", "perdagangan", "berdagang"),
    ("produksi", "memproduksi", "diproduksi"),
    ("pakai", "memakai", "dipakai", "pemakaian"),
    ("milik", "memiliki", "dimiliki", "pemilik"),
    ("tafsir", "menafsirkan", "penafsiran"),
    ("tulis", "menulis", "ditulis", "penulisan"),
    ("sebar", "menyebar", "persebaran", "penyebaran"),
    ("rumah", "perumahan"),
    ("harga", "harganya"),
    ("kerja", "bekerja", "pekerjaan"),
    ("publikasi", "mempublikasikan", "dipublikasikan"),
    ("rilis", "merilis", "dirilis"),
    ("tani", "petani", "pertanian"),
)
# Pairs of different words that a stemmer should keep apart.
DISTINCT: tuple[tuple[str, str], ...] = (
    ("beberapa", "berapa"),
    ("tetapi", "tetap"),
    ("secara", "cara"),
    ("masalah", "masa"),
    ("media", "dia"),
    ("kelapa", "lapa"),
    ("kepala", "pala"),
    ("berita", "rita"),
    ("pendapatan", "dapat"),
    ("perempuan", "empu"),
    ("periode", "ode"),
    ("sekolah", "olah"),
    ("peternakan", "terna"),
    ("berbasis", "bas"),
    ("selatan", "selat"),
    ("gini", "gin"),
    ("metode", "tode"),
    ("pegawai", "gawa"),
    ("pribadi", "badi"),
    ("kendaraan", "dara"),
)


def load_json(path: Path) -> Any:
    """Parse one JSON file."""
    return json.loads(path.read_text(encoding="utf-8"))


def seed_articles() -> list[Doc]:
    """The real seed articles, with ids."""
    articles: list[Doc] = load_json(ROOT / "mongo-init" / "kb_articles.json")["articles"]
    return [{**a, "id": a["slug"]} for a in articles]


def labelled_questions() -> list[Doc]:
    """The labelled questions of the tests."""
    questions: list[Doc] = load_json(ROOT / "tests" / "kb_labelled.json")["questions"]
    return questions


def _sentences(body: str) -> list[str]:
    out: list[str] = []
    for line in body.splitlines():
        line = line.strip()
        if line:
            out.extend(s for s in re.split(r"(?<=[.!?:])\s+", line) if s)
    return out


def generated_corpus(real: Sequence[Doc], total: int, rng: random.Random) -> list[Doc]:
    """`total` articles: the real ones, then variants with shuffled sentences and tags."""
    corpus = list(real)
    n = 0
    while len(corpus) < total:
        base = real[n % len(real)]
        n += 1
        sentences = _sentences(base["body"])
        rng.shuffle(sentences)
        keep = max(3, int(len(sentences) * rng.uniform(0.6, 1.0)))
        tags = list(base["tags"])
        rng.shuffle(tags)
        roll = rng.random()
        if roll < 0.7:
            scope = "national"
        elif roll < 0.85:
            scope = rng.choice(OFFICE_CODES)
        else:
            scope = rng.choice(EXTRA_OFFICE_CODES)
        corpus.append(
            {
                **base,
                "id": f"{base['slug']}-v{n}",
                "slug": f"{base['slug']}-v{n}",
                "title": f"{base['title']} (catatan {n})",
                "body": "\n\n".join(sentences[:keep]),
                "tags": tags[: max(1, len(tags) - rng.randint(0, 2))],
                "scope": scope,
                "status": "draft" if rng.random() < 0.05 else "published",
            }
        )
    return corpus


def with_typo(word: str, rng: random.Random) -> str:
    """`word` with one random deletion, substitution, insertion or swap (words under 5 letters unchanged)."""
    if len(word) < 5 or not word.isalpha():
        return word
    i = rng.randrange(1, len(word) - 1)
    kind = rng.randrange(4)
    letter = rng.choice("abcdefghijklmnopqrstuvwxyz")
    if kind == 0:
        return word[:i] + word[i + 1 :]
    if kind == 1:
        return word[:i] + letter + word[i + 1 :]
    if kind == 2:
        return word[:i] + letter + word[i:]
    return word[: i - 1] + word[i] + word[i - 1] + word[i + 1 :]


def query_mix(real: Sequence[Doc], count: int, rng: random.Random) -> list[tuple[str, str | None]]:
    """(query, office) pairs: labelled questions, the same with a typo, then vocabulary queries."""
    vocabulary: list[str] = sorted(
        {
            w
            for a in real
            for w in surface_words(a["title"] + " " + " ".join(a["tags"]) + " " + markdown_to_text(a["body"]))
            if len(w) >= 3
        }
    )
    queries: list[str] = []
    for item in labelled_questions():
        queries.append(item["q"])
        words = item["q"].split()
        j = rng.randrange(len(words))
        words[j] = with_typo(words[j], rng)
        queries.append(" ".join(words))
    while len(queries) < count:
        words = rng.sample(vocabulary, rng.randint(1, 4))
        if rng.random() < 0.2:
            j = rng.randrange(len(words))
            words[j] = with_typo(words[j], rng)
        queries.append(" ".join(words))
    rng.shuffle(queries)
    return [(q, rng.choice((None, *OFFICE_CODES)) if rng.random() < 0.5 else None) for q in queries]


def percentile(sorted_values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile of already sorted values."""
    rank = max(0, min(len(sorted_values) - 1, int(round(fraction * len(sorted_values) + 0.5)) - 1))
    return sorted_values[rank]


def run_queries(
    index: SearchIndex,
    queries: Sequence[tuple[str, str | None]],
    between: Callable[[int], None] | None = None,
) -> tuple[list[float], list[float]]:
    """Wall-clock and CPU ms of each query (search + snippets); `between(i)` runs untimed before query i."""
    wall: list[float] = []
    cpu: list[float] = []
    for i, (query, office) in enumerate(queries):
        if between is not None:
            between(i)
        started_cpu = time.thread_time_ns()
        started = time.perf_counter_ns()
        index.search(query, office=office, limit=10)
        wall.append((time.perf_counter_ns() - started) / 1e6)
        cpu.append((time.thread_time_ns() - started_cpu) / 1e6)
    return wall, cpu


def describe(label: str, latencies: tuple[list[float], list[float]]) -> str:
    """One line of latency figures: wall clock, and CPU time (which other processes cannot inflate)."""
    parts = [f"{label:<36}"]
    for name, values in zip(("wall", "cpu"), latencies, strict=True):
        s = sorted(values)
        parts.append(f"{name} p50 {statistics.median(s):5.2f} p99 {percentile(s, 0.99):6.2f} max {s[-1]:6.2f} ms")
    return "  ".join(parts)


def recall(index: SearchIndex) -> tuple[float, float, float]:
    """(recall@3, recall@1, MRR@10) over the labelled questions."""
    questions = labelled_questions()
    r3 = r1 = rr = 0.0
    for item in questions:
        slugs = [h.slug for h in index.search(item["q"], office=item.get("office"), limit=10)]
        rank = next((i for i, s in enumerate(slugs) if s in item["slugs"]), None)
        if rank is not None:
            rr += 1 / (rank + 1)
            r3 += rank < 3
            r1 += rank == 0
    n = len(questions)
    return r3 / n, r1 / n, rr / n


def compare_stemmers(real: Sequence[Doc]) -> None:
    """Quality (labelled set, word families) and speed of each available stemmer."""
    print("\n== stemmer comparison ==")
    words = sorted(
        {
            w
            for a in real
            for w in surface_words(a["title"] + " " + " ".join(a["tags"]) + " " + markdown_to_text(a["body"]))
            if not is_protected(w)
        }
    )
    print(f"vocabulary: {len(words)} distinct stemmable words in the seed articles")
    for name in ("snowball", "sastrawi", "none"):
        try:
            stemmer: Stemmer = make_stemmer(name)
        except ImportError:
            print(f"{name:<9} not installed (pip install sastrawi==1.0.1 to compare)")
            continue
        sample = words if name != "sastrawi" else words[:300]
        started = time.perf_counter()
        for w in sample:
            stemmer(w)
        per_word_us = (time.perf_counter() - started) / len(sample) * 1e6
        families_ok = sum(len({stemmer(w) for w in fam}) == 1 for fam in FAMILIES)
        distinct_ok = sum(stemmer(a) != stemmer(b) for a, b in DISTINCT)
        started = time.perf_counter()
        index = SearchIndex(stemmer)
        index.build(real)
        build_s = time.perf_counter() - started
        r3, r1, mrr = recall(index)
        print(
            f"{name:<9} uncached {per_word_us:9.1f} us/word  build({len(real)} articles) {build_s:7.2f} s"
            f"  families {families_ok}/{len(FAMILIES)}  kept-apart {distinct_ok}/{len(DISTINCT)}"
            f"  recall@3 {r3:.3f}  recall@1 {r1:.3f}  MRR@10 {mrr:.3f}"
        )


def compare_features(real: Sequence[Doc]) -> None:
    """What synonyms and typo tolerance add on the labelled questions (Snowball stemming)."""
    print("\n== feature ablation (labelled questions) ==")
    variants: list[tuple[str, dict[str, Any]]] = [
        ("full", {}),
        ("no synonyms", {"synonyms": ()}),
        ("no typo tolerance", {"typo_tolerance": False}),
        ("neither", {"synonyms": (), "typo_tolerance": False}),
    ]
    for label, options in variants:
        index = SearchIndex(**options)
        index.build(real)
        r3, r1, mrr = recall(index)
        print(f"{label:<18} recall@3 {r3:.3f}  recall@1 {r1:.3f}  MRR@10 {mrr:.3f}")


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, default=5000)
    parser.add_argument("--queries", type=int, default=2000, help="at least this many queries")
    parser.add_argument("--seed", type=int, default=20261121)
    parser.add_argument("--compare-stemmers", action="store_true")
    args = parser.parse_args()

    rng = random.Random(args.seed)
    real = seed_articles()
    corpus = generated_corpus(real, args.articles, rng)
    queries = query_mix(real, args.queries, rng)
    published = sum(a["status"] == "published" for a in corpus)
    print("== knowledge-base search benchmark ==")
    load1, load5, _ = os.getloadavg()
    print(f"machine: {os.cpu_count()} cores, load average {load1:.1f} (1 min) {load5:.1f} (5 min) at start")
    print(
        f"corpus: {len(corpus)} articles = {len(real)} real seed articles + {len(corpus) - len(real)} generated"
        f" variants (sentences and tags of a real article shuffled, some dropped); {published} published"
    )
    print(
        f"queries: {len(queries)} = {len(labelled_questions())} labelled questions, the same with one typo,"
        " and random 1-4 word vocabulary queries (20% with a typo); half scoped to an office"
    )

    index = SearchIndex()
    started = time.perf_counter()
    index.build(corpus)
    build_s = time.perf_counter() - started
    print(f"build: {build_s:.2f} s  index: {index.stats()}")

    lines = [describe("cold (first pass after build)", run_queries(index, queries))]
    warm = run_queries(index, queries)
    lines.append(describe("warm (second pass)", warm))

    # An officer edits an article every 100 queries: each edit drops the cached scoring data.
    edit_rng = random.Random(args.seed + 1)

    upsert_ms: list[float] = []

    def edit(i: int) -> None:
        if i % 100 == 0:
            article = edit_rng.choice(corpus)
            started = time.perf_counter_ns()
            index.upsert({**article, "body": article["body"] + "\n\nDiperbarui."})
            upsert_ms.append((time.perf_counter_ns() - started) / 1e6)

    lines.append(describe("with an upsert every 100 queries", run_queries(index, queries, edit)))
    gc.collect()
    lines.append(describe("warm, gc disabled (for comparison)", _without_gc(index, queries)))
    for line in lines:
        print(line)
    print(
        f"upsert (parse Markdown, index; scoring caches dropped): median {statistics.median(upsert_ms):.2f} ms,"
        f" max {max(upsert_ms):.2f} ms"
    )
    load1, _, _ = os.getloadavg()
    print(f"load average after the query runs: {load1:.1f}")

    # Memory: rebuild under tracemalloc (slower, so the build time above is measured without it).
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    measured = SearchIndex()
    measured.build(corpus)
    after_build = tracemalloc.take_snapshot()
    run_queries(measured, queries)
    after_queries = tracemalloc.take_snapshot()
    tracemalloc.stop()
    built_mb = sum(s.size_diff for s in after_build.compare_to(before, "filename")) / 1e6
    cached_mb = sum(s.size_diff for s in after_queries.compare_to(before, "filename")) / 1e6
    print(f"memory (tracemalloc): index after build {built_mb:.1f} MB; with scoring caches warm {cached_mb:.1f} MB")
    print(f"target: p99 < 20 ms per query over {len(corpus)} articles")

    compare_features(real)
    if args.compare_stemmers:
        compare_stemmers(real)


def _without_gc(index: SearchIndex, queries: Sequence[tuple[str, str | None]]) -> tuple[list[float], list[float]]:
    gc.disable()
    try:
        return run_queries(index, queries)
    finally:
        gc.enable()


if __name__ == "__main__":
    main()
