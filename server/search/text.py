"""Indonesian text analysis for the knowledge-base index: folding, tokens, stop words, stemming, typos."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from functools import lru_cache
from typing import Protocol

# Statistical acronyms and names that a stemmer would mangle ("metadata" -> "tadata", "kbli" -> "kbl"):
# they are indexed as written. Short words (<= 3 letters), words with digits and words without vowels
# are protected by rule as well, see `is_protected`.
# fmt: off
PROTECTED_WORDS: frozenset[str] = frozenset(
    {
        "bps", "pst", "pdrb", "pdb", "gdp", "ipm", "hdi", "ipg", "idg", "tpt", "tpak", "tpk", "ihk", "cpi",
        "ihpb", "ihp", "ntp", "ntup", "kbli", "kbji", "kbki", "isic", "isco", "coicop", "susenas",
        "sakernas", "podes", "sbh", "brs", "adhb", "adhk", "pmtb", "lnprt", "gkm", "gknm", "rse", "ksa",
        "mfd", "pnbp", "oss", "uhh", "hls", "rls", "sirusa", "silastik", "romantik", "skd", "dukcapil",
        "metadata", "migas", "nonmigas", "wisman", "wisnus", "sumsel", "sultra", "koltim",
    }
)
# fmt: on

# Function words and chat filler that carry no topic; kept short on purpose so that words such as
# "cara", "tahun" or "jumlah", which do discriminate between articles, still count.
STOP_WORDS: frozenset[str] = frozenset(
    """
    ada adakah adalah agar akan aku amat anda antara apa apakah apabila atas atau bagaimana bagaimanakah
    bagi bahwa baik bapak beliau belum berapa berikut bisa boleh bu buat bukan dalam dan dapatkah dari
    daripada dengan di dia dimana ia ialah ibu ini itu jadi jika juga kak kakak kalau kami kamu kan kapan
    karena ke kenapa kepada ketika kita lagi lah mana masih maupun mau melalui mengapa menjadi mereka
    min mohon nah namun nih nya oleh pada para per pun saja sama sambil sampai saya se sebagai sebelum
    sedang sehingga sekali seperti serta siapa sih silakan sudah supaya tanya tapi tentang terhadap
    tersebut tidak tolong untuk yaitu yakni yang ya dong deh kok loh lho ok oke halo hai pak kah tuh
    gan sis bro mas mbak aja thx selamat pagi siang sore malam punya ingin sekarang banget memang harus
    """.split()
)

# Chat spelling -> standard spelling; applied to query and article alike before stop words, so
# "gimana cara dapet data" and "bagaimana cara mendapatkan data" meet on "cara dapat data".
# fmt: off
SLANG: dict[str, str] = {
    "gimana": "bagaimana", "gmn": "bagaimana", "bgmn": "bagaimana", "gmna": "bagaimana",
    "dapet": "dapat", "dpt": "dapat", "dapetin": "dapat", "ngedapetin": "dapat",
    "ga": "tidak", "gak": "tidak", "nggak": "tidak", "ngga": "tidak", "enggak": "tidak", "engga": "tidak",
    "tdk": "tidak", "gk": "tidak", "kagak": "tidak", "yg": "yang", "dg": "dengan", "dgn": "dengan",
    "utk": "untuk", "tuk": "untuk", "sy": "saya", "gue": "saya", "gw": "saya", "skrg": "sekarang",
    "skrng": "sekarang",
    "brp": "berapa", "brapa": "berapa", "bs": "bisa", "sm": "sama", "ama": "sama", "dmn": "dimana",
    "kpn": "kapan", "knp": "kenapa", "jg": "juga", "aj": "saja", "tp": "tapi", "krn": "karena",
    "bln": "bulan", "thn": "tahun", "th": "tahun", "kab": "kabupaten", "kec": "kecamatan",
    "prov": "provinsi", "prop": "provinsi", "propinsi": "provinsi", "pddk": "penduduk",
    "jml": "jumlah", "jmlh": "jumlah", "tlp": "telepon", "telp": "telepon", "telpon": "telepon",
    "wa": "whatsapp", "nyari": "cari", "nyariin": "cari", "ngitung": "hitung", "ngambil": "ambil",
    "bikin": "buat", "perkapita": "per kapita", "gratisan": "gratis",
    "dimn": "dimana", "nanya": "tanya", "liat": "lihat", "ngisi": "isi",
    "lg": "lagi", "sdh": "sudah", "udah": "sudah", "udh": "sudah", "blm": "belum", "hrs": "harus",
    "kalo": "kalau", "klo": "kalau", "kl": "kalau", "dr": "dari", "pd": "pada", "dlm": "dalam",
    "bgt": "banget", "emang": "memang", "donlod": "unduh", "download": "unduh",
}
# fmt: on

_ACCENTS = dict.fromkeys(i for i in range(0x300, 0x370))
# Letters and digits, with the separators that join them inside one word: hyphens and apostrophes
# ("m-to-m", "anak-anak"), and dots or commas between digits ("2.100"); "bps.go.id" is three words.
_WORD_RE = re.compile(r"[^\W_]+(?:(?:[-'’]|(?<=\d)[.,](?=\d))[^\W_]+)*")
_NUMBER_RE = re.compile(r"\d+(?:[.,]\d+)*")
_ALNUM_SPLIT_RE = re.compile(r"[a-z]+|\d+")
_JOINERS_RE = re.compile(r"[-.,'’]")
_VOWELS = frozenset("aeiou")
# "m-to-m", "y-on-y", "q-to-q", "c-to-c", "y-to-d": one comparison-period token each ("mtm", "yoy").
_PERIOD_RE = re.compile(r"^([a-z])-(to|on)-([a-z])$")
# Chat reduplication "rata2", "anak2" means "rata-rata"; digits after a short acronym ("sp2") do not.
_REDUP_RE = re.compile(r"^([a-z]{3,})2$")


def fold(text: str) -> str:
    """Lower-case, NFKD-decompose and drop combining accents ("Pénduduk" -> "penduduk")."""
    return unicodedata.normalize("NFKD", text).translate(_ACCENTS).casefold()


def is_protected(word: str) -> bool:
    """True for words the stemmer must leave alone: acronyms, codes, numbers, very short words."""
    return len(word) <= 3 or word in PROTECTED_WORDS or not word.isalpha() or not (_VOWELS & set(word))


def _split_word(raw: str) -> Iterator[str]:
    """One raw word (already folded) -> its surface words, before slang and stop words."""
    if _NUMBER_RE.fullmatch(raw):
        # "2.100" and "2,100" are one number to a reader; drop the separators.
        yield raw.replace(".", "").replace(",", "")
        return
    period = _PERIOD_RE.match(raw)
    if period:
        yield period.group(1) + period.group(2)[0] + period.group(3)
        return
    parts = [p for p in _JOINERS_RE.split(raw) if p]
    # Reduplication "anak-anak" counts once, as "anak".
    if len(parts) == 2 and parts[0] == parts[1]:
        parts = parts[:1]
    for part in parts:
        redup = _REDUP_RE.match(part)
        if redup and part not in PROTECTED_WORDS:
            yield redup.group(1)
        elif part.isalpha() or part.isdigit():
            yield part
        else:
            # "sp2020" -> "sp2020", "sp", "2020": the code as written and its pieces, so that
            # "SP2020", "SP 2020" and "sensus penduduk 2020" all find each other.
            yield part
            yield from _ALNUM_SPLIT_RE.findall(part)


def surface_words(text: str, *, keep_stop_words: bool = False) -> list[str]:
    """Folded words of `text` with slang normalised and stop words removed (unless asked to keep)."""
    out: list[str] = []
    stop: frozenset[str] = frozenset() if keep_stop_words else STOP_WORDS
    for raw in _WORD_RE.findall(fold(text)):
        # Most words are plain letters: skip the splitting rules for them.
        for word in (raw,) if raw.isalpha() else _split_word(raw):
            std = SLANG.get(word)
            if std is None:
                if word not in stop:
                    out.append(word)
            else:
                out.extend(w for w in std.split() if w not in stop)
    return out


class Stemmer(Protocol):
    """Reduces one folded Indonesian word to its stem."""

    name: str

    def __call__(self, word: str) -> str: ...


class SnowballStemmer:
    """PyStemmer's Snowball 'indonesian' algorithm: rule-based, C speed, no dictionary."""

    name = "snowball"

    def __init__(self) -> None:
        import Stemmer as pystemmer  # imported here so that importing this module stays cheap

        self._stem: Callable[[str], str] = pystemmer.Stemmer("indonesian").stemWord

    def __call__(self, word: str) -> str:
        return self._stem(word)


class SastrawiStemmer:
    """Sastrawi (Nazief-Adriani with a root-word dictionary); optional, used for the comparison."""

    name = "sastrawi"

    def __init__(self) -> None:
        from Sastrawi.Stemmer.StemmerFactory import StemmerFactory  # optional dependency

        self._stem: Callable[[str], str] = StemmerFactory().create_stemmer().stem

    def __call__(self, word: str) -> str:
        return self._stem(word)


class IdentityStemmer:
    """No stemming: the baseline for the comparison."""

    name = "none"

    def __call__(self, word: str) -> str:
        return word


def make_stemmer(name: str = "snowball") -> Stemmer:
    """A stemmer by name: 'snowball' (the product's choice), 'sastrawi' or 'none'."""
    if name == "snowball":
        return SnowballStemmer()
    if name == "sastrawi":
        return SastrawiStemmer()
    if name == "none":
        return IdentityStemmer()
    raise ValueError(f"unknown stemmer {name!r}")


class Analyzer:
    """Turns text into index terms; the stem of each word is cached because the vocabulary is small."""

    def __init__(self, stemmer: Stemmer | None = None, stem_cache_size: int = 200_000) -> None:
        self.stemmer: Stemmer = stemmer if stemmer is not None else SnowballStemmer()
        # Bounded: queries may carry arbitrary words, and a process must not grow without limit.
        self.stem: Callable[[str], str] = lru_cache(maxsize=stem_cache_size)(self._stem_uncached)

    def _stem_uncached(self, word: str) -> str:
        if is_protected(word):
            return word
        stem = self.stemmer(word)
        # Some stems collapse to nothing useful ("ber" -> ""); keep the word then.
        return stem if len(stem) >= 2 else word

    def terms(self, text: str) -> list[str]:
        """Index terms of `text`: surface words, stop words removed, stemmed."""
        stem = self.stem
        return [stem(w) for w in surface_words(text)]

    def stems(self, words: Iterable[str]) -> list[str]:
        """Index terms of words already through `surface_words`."""
        stem = self.stem
        return [stem(w) for w in words]


def max_typo_distance(word: str) -> int:
    """Edits tolerated when correcting a query word: none below 4 letters, 1 up to 7, 2 from 8."""
    if len(word) < 4:
        return 0
    return 1 if len(word) < 8 else 2


@lru_cache(maxsize=32_768)
def _deletes(word: str, depth: int) -> frozenset[str]:
    """All strings obtained from `word` by deleting up to `depth` characters (SymSpell); kept for the
    words seen most (every article upsert and every query word asks again)."""
    out = {word}
    frontier = {word}
    for _ in range(depth):
        nxt: set[str] = set()
        for w in frontier:
            for i in range(len(w)):
                nxt.add(w[:i] + w[i + 1 :])
        out |= nxt
        frontier = nxt
    return frozenset(out)


def osa_distance(a: str, b: str, limit: int) -> int:
    """Optimal-string-alignment distance (edits + adjacent swaps), or limit + 1 once it exceeds `limit`."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        best = cur[0]
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            value = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                value = min(value, prev2[j - 2] + 1)
            cur[j] = value
            best = min(best, value)
        if best > limit:
            return limit + 1
        prev2, prev = prev, cur
    return prev[len(b)] if prev[len(b)] <= limit else limit + 1


class TypoIndex:
    """Deletion-neighbourhood dictionary over the vocabulary's surface words (SymSpell-style)."""

    # Vocabulary words keep deletes deep enough for the longest query words that may reach them.
    _MIN_WORD_LEN = 4

    def __init__(self) -> None:
        self._count: dict[str, int] = {}
        # Buckets are tuples, not sets: the garbage collector stops tracking tuples of strings, so
        # hundreds of thousands of buckets do not lengthen every full collection.
        self._by_delete: dict[str, tuple[str, ...]] = {}

    def __contains__(self, word: object) -> bool:
        return word in self._count

    def __len__(self) -> int:
        return len(self._count)

    @staticmethod
    def _depth(word: str) -> int:
        return 2 if len(word) >= 7 else 1

    def add(self, word: str, count: int = 1) -> bool:
        """Count one more document holding `word`; True if the word is new."""
        old = self._count.get(word, 0)
        self._count[word] = old + count
        if old:
            return False
        if len(word) >= self._MIN_WORD_LEN and word.isalpha():
            buckets = self._by_delete
            for d in _deletes(word, self._depth(word)):
                buckets[d] = buckets.get(d, ()) + (word,)
        return True

    def discard(self, word: str, count: int = 1) -> bool:
        """Count one document fewer holding `word`; True if no document holds it any more."""
        left = self._count.get(word, 0) - count
        if left > 0:
            self._count[word] = left
            return False
        if self._count.pop(word, None) is None:
            return False
        if len(word) >= self._MIN_WORD_LEN and word.isalpha():
            buckets = self._by_delete
            for d in _deletes(word, self._depth(word)):
                rest = tuple(w for w in buckets.get(d, ()) if w != word)
                if rest:
                    buckets[d] = rest
                else:
                    buckets.pop(d, None)
        return True

    def correct(self, word: str) -> tuple[str, int] | None:
        """The closest known word within `max_typo_distance(word)` edits, most frequent first; or None."""
        limit = max_typo_distance(word)
        if limit == 0 or not word.isalpha():
            return None
        best: tuple[int, int, str] | None = None
        seen: set[str] = set()
        for d in _deletes(word, limit):
            for candidate in self._by_delete.get(d, ()):
                if candidate in seen or candidate == word:
                    continue
                seen.add(candidate)
                dist = osa_distance(word, candidate, limit)
                if dist > limit:
                    continue
                key = (dist, -self._count.get(candidate, 0), candidate)
                if best is None or key < best:
                    best = key
        return (best[2], best[0]) if best is not None else None
