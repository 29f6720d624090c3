"""Synonym groups for statistical terms, expanded at query time with a lower weight than the words typed."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

# Each group lists phrases a user may use for one concept: an acronym, its expansion, the English
# term, common paraphrases. Order does not matter; every phrase expands to all the others.
SYNONYM_GROUPS: tuple[tuple[str, ...], ...] = (
    ("penduduk", "populasi", "jumlah penduduk", "kependudukan", "demografi"),
    ("pdrb", "produk domestik regional bruto", "ekonomi daerah"),
    ("pdb", "produk domestik bruto", "gdp", "gross domestic product"),
    ("tpt", "tingkat pengangguran terbuka", "pengangguran", "penganggur", "unemployment"),
    ("tpak", "tingkat partisipasi angkatan kerja", "angkatan kerja"),
    ("ipm", "indeks pembangunan manusia", "hdi", "human development index"),
    ("ipg", "indeks pembangunan gender", "gender development index"),
    ("idg", "indeks pemberdayaan gender", "gender empowerment"),
    ("inflasi", "ihk", "indeks harga konsumen", "cpi", "consumer price index", "kenaikan harga"),
    ("deflasi", "penurunan harga"),
    ("kemiskinan", "penduduk miskin", "garis kemiskinan", "orang miskin", "poverty"),
    ("kbli", "klasifikasi baku lapangan usaha", "kode usaha", "kode lapangan usaha", "isic"),
    ("kbji", "klasifikasi baku jabatan", "klasifikasi jabatan", "kode jabatan", "kode pekerjaan", "isco"),
    ("kbki", "klasifikasi baku komoditas", "klasifikasi komoditas", "cpc"),
    ("sp2020", "sensus penduduk 2020", "sensus penduduk"),
    ("st2023", "sensus pertanian 2023", "sensus pertanian"),
    ("se2026", "sensus ekonomi 2026", "sensus ekonomi"),
    ("lf sp2020", "long form"),
    ("ntp", "nilai tukar petani"),
    ("ntup", "nilai tukar usaha pertanian"),
    ("ekspor", "impor", "ekspor impor", "perdagangan luar negeri", "export", "import"),
    ("neraca perdagangan", "surplus perdagangan", "defisit perdagangan", "trade balance"),
    ("gini", "rasio gini", "gini ratio", "ketimpangan", "kesenjangan", "inequality"),
    ("ihpb", "indeks harga perdagangan besar", "harga grosir", "wholesale price"),
    ("adhb", "atas dasar harga berlaku", "harga berlaku"),
    ("adhk", "atas dasar harga konstan", "harga konstan", "harga riil"),
    ("pertumbuhan ekonomi", "laju pertumbuhan", "economic growth"),
    ("susenas", "survei sosial ekonomi nasional"),
    ("sakernas", "survei angkatan kerja nasional"),
    ("podes", "potensi desa"),
    ("sbh", "survei biaya hidup"),
    ("brs", "berita resmi statistik", "rilis"),
    ("pst", "pelayanan statistik terpadu"),
    ("pnbp", "penerimaan negara bukan pajak", "tarif", "biaya", "bayar"),
    ("data mikro", "raw data", "data mentah", "microdata", "data individu"),
    ("sirusa", "sistem informasi rujukan statistik", "konsep definisi"),
    ("tpk", "tingkat penghunian kamar", "hunian hotel", "okupansi hotel"),
    ("wisman", "wisatawan mancanegara", "turis asing"),
    ("ksa", "kerangka sampel area"),
    ("rse", "relative standard error", "sampling error"),
    ("mtm", "month to month", "m to m"),
    ("yoy", "year on year", "y on y"),
    ("ytd", "year to date", "tahun kalender"),
    ("api", "web api", "application programming interface"),
    ("sitasi", "mengutip", "kutipan", "daftar pustaka", "citation"),
    ("pengaduan", "komplain", "keluhan", "complaint"),
    ("gratis", "tidak dipungut biaya", "free"),
    ("sumsel", "sumatera selatan"),
    ("sultra", "sulawesi tenggara"),
    ("koltim", "kolaka timur"),
    ("tuba", "tulang bawang"),
)

# An expanded phrase counts at this share of a typed word; multi-word phrases split it over their words
# so that one concept weighs the same whether its synonym is an acronym or a long name.
SYNONYM_WEIGHT = 0.5


@dataclass(frozen=True, slots=True)
class SynonymTable:
    """Synonym groups as term tuples (already analysed), for matching against a query's terms."""

    groups: tuple[tuple[tuple[str, ...], ...], ...]
    max_phrase_len: int

    @classmethod
    def build(cls, groups: Iterable[Iterable[str]], analyze: Callable[[str], list[str]]) -> SynonymTable:
        """Analyse every phrase with `analyze`; phrases that vanish (all stop words) are dropped."""
        out: list[tuple[tuple[str, ...], ...]] = []
        longest = 1
        for group in groups:
            phrases: list[tuple[str, ...]] = []
            for phrase in group:
                terms = tuple(analyze(phrase))
                if terms and terms not in phrases:
                    phrases.append(terms)
                    longest = max(longest, len(terms))
            if len(phrases) > 1:
                out.append(tuple(phrases))
        return cls(tuple(out), longest)

    def index(self) -> dict[tuple[str, ...], list[int]]:
        """Phrase -> the groups it belongs to."""
        by_phrase: dict[tuple[str, ...], list[int]] = {}
        for gi, group in enumerate(self.groups):
            for phrase in group:
                by_phrase.setdefault(phrase, []).append(gi)
        return by_phrase

    def known_terms(self) -> frozenset[str]:
        """Every term that appears in some phrase (a query word here is not a typo)."""
        return frozenset(t for group in self.groups for phrase in group for t in phrase)


# One way to say a concept: (term, weight) pairs whose scores add up.
Alternative = tuple[tuple[str, float], ...]
# A concept of the query: an article scores the best of its alternatives, not their sum, so an article
# that names the concept three ways does not outrank one that names it once in the user's own words.
Clause = tuple[Alternative, ...]


def clauses(
    typed: list[tuple[str, float]],
    table: SynonymTable,
    by_phrase: dict[tuple[str, ...], list[int]],
    weight: float = SYNONYM_WEIGHT,
) -> list[Clause]:
    """The query's clauses: typed terms (term, weight) in order, synonym phrases expanded (longest match)."""
    out: list[Clause] = []
    i = 0
    n = len(typed)
    while i < n:
        groups: list[int] = []
        length = min(table.max_phrase_len, n - i)
        while length > 0:
            groups = by_phrase.get(tuple(t for t, _ in typed[i : i + length]), [])
            if groups:
                break
            length -= 1
        length = max(length, 1)
        alternatives: list[Alternative] = [tuple(typed[i : i + length])]
        seen = {tuple(t for t, _ in typed[i : i + length])}
        for gi in groups:
            for phrase in table.groups[gi]:
                if phrase in seen:
                    continue
                seen.add(phrase)
                # A phrase shares the weight among its words, so one concept weighs the same whether
                # its synonym is an acronym or a long name.
                share = weight / len(phrase)
                alternatives.append(tuple((t, share) for t in phrase))
        clause = tuple(alternatives)
        if clause not in out:
            out.append(clause)
        i += length
    return out
