"""In-memory BM25F search over knowledge-base articles; the embedded MongoDB has no text indexes."""

from __future__ import annotations

import heapq
import html
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from operator import itemgetter
from typing import Any

from server.domain.errors import ValidationFailed
from server.search.markdown import markdown_to_text
from server.search.synonyms import SYNONYM_GROUPS, SYNONYM_WEIGHT, Clause, SynonymTable, clauses
from server.search.text import Analyzer, Stemmer, TypoIndex, fold, surface_words

MAX_QUERY_CHARS = 500
SNIPPET_CHARS = 160
# Context kept before the first marked word, so the snippet does not open on the match itself.
SNIPPET_LEAD_CHARS = 40
K1 = 1.2
# Title, tags, body: a word in the title says more about the article than the same word in passing.
FIELD_WEIGHTS: tuple[float, float, float] = (3.0, 2.0, 1.0)
FIELD_B: tuple[float, float, float] = (0.75, 0.75, 0.75)
# A corrected typo is a guess: it counts less than a word the user typed correctly.
TYPO_WEIGHTS: Mapping[int, float] = {1: 0.8, 2: 0.6}
NATIONAL = "national"
PUBLISHED = "published"
# Runs of letters and digits: the units a snippet marks ("Rata-rata" is two, "SP2020" one).
_RUN_RE = re.compile(r"[^\W_]+")

# Term frequencies of the three fields packed into one int per posting: dicts of int -> int are not
# tracked by the garbage collector, so a large index does not lengthen full collections.
_TF_BITS = 20
_TF_MAX = (1 << _TF_BITS) - 1


def _pack(tf_title: int, tf_tags: int, tf_body: int) -> int:
    return (min(tf_title, _TF_MAX) << (2 * _TF_BITS)) | (min(tf_tags, _TF_MAX) << _TF_BITS) | min(tf_body, _TF_MAX)


@dataclass(frozen=True, slots=True)
class Hit:
    """One search result; `snippet` is HTML-escaped text with the matched words in <mark>."""

    id: str
    slug: str
    title: str
    snippet: str
    score: float
    topic: str
    scope: str

    def to_dict(self) -> dict[str, Any]:
        """The hit as a JSON-ready dict."""
        return asdict(self)


@dataclass(frozen=True, slots=True)
class _Doc:
    id: str
    slug: str
    title: str
    topic: str
    scope: str
    body_text: str
    lengths: tuple[int, int, int]
    terms: tuple[str, ...]
    words: tuple[str, ...]


def normalize_query(q: str) -> str:
    """Validate and tidy a search query: at most 500 characters, Unicode NFKC, single spaces."""
    if len(q) > MAX_QUERY_CHARS:
        raise ValidationFailed(
            "query_too_long",
            f"Kata kunci paling banyak {MAX_QUERY_CHARS} karakter.",
            max_chars=MAX_QUERY_CHARS,
        )
    return " ".join(unicodedata.normalize("NFKC", q).split())


def article_id(article: Mapping[str, Any]) -> str:
    """The article's id as a string, from `_id` (ObjectId in MongoDB) or `id`."""
    raw = article.get("_id", article.get("id"))
    if raw is None:
        raise ValueError("article has neither _id nor id")
    return str(raw)


class SearchIndex:
    """BM25F over title, tags and body of the published articles, with synonyms and typo tolerance."""

    def __init__(
        self,
        stemmer: Stemmer | None = None,
        synonyms: Iterable[Iterable[str]] = SYNONYM_GROUPS,
        typo_tolerance: bool = True,
    ) -> None:
        self.analyzer = Analyzer(stemmer)
        self.typo_tolerance = typo_tolerance
        self._synonyms = SynonymTable.build(synonyms, self.analyzer.terms)
        self._synonym_index = self._synonyms.index()
        self._synonym_terms = self._synonyms.known_terms()
        self._docs: dict[int, _Doc] = {}
        self._slot_by_id: dict[str, int] = {}
        self._next_slot = 0
        self._postings: dict[str, dict[int, int]] = {}
        self._length_sums = [0, 0, 0]
        self._typos = TypoIndex()
        # Term -> the surface words of the indexed articles that stem to it, to find them in snippets.
        self._forms: dict[str, tuple[str, ...]] = {}
        # Derived from the statistics above and rebuilt lazily after any change (see _invalidate).
        self._saturated: dict[str, dict[int, float]] = {}

    def __len__(self) -> int:
        return len(self._docs)

    def __contains__(self, article_id: object) -> bool:
        return article_id in self._slot_by_id

    def stats(self) -> dict[str, int]:
        """Sizes of the index, for benchmarks and health pages."""
        return {
            "articles": len(self._docs),
            "terms": len(self._postings),
            "postings": sum(len(p) for p in self._postings.values()),
            "typo_words": len(self._typos),
        }

    # ----- maintenance ---------------------------------------------------------------------------

    def build(self, articles: Iterable[Mapping[str, Any]]) -> None:
        """Replace the whole index with `articles` (drafts are skipped)."""
        self._docs.clear()
        self._slot_by_id.clear()
        self._postings.clear()
        self._length_sums = [0, 0, 0]
        self._typos = TypoIndex()
        self._forms.clear()
        for article in articles:
            self.upsert(article)

    def upsert(self, article: Mapping[str, Any]) -> None:
        """Add or replace one article; an article that is not published is removed from the index."""
        doc_id = article_id(article)
        self.remove(doc_id)
        if article.get("status") != PUBLISHED:
            return
        title = str(article.get("title") or "")
        tags_text = " ".join(str(t) for t in article.get("tags") or ())
        body_text = " ".join(markdown_to_text(str(article.get("body") or "")).split())
        fields = (title, tags_text, body_text)
        field_words = [surface_words(text) for text in fields]
        field_terms = [self.analyzer.stems(words) for words in field_words]
        counts = [Counter(terms) for terms in field_terms]
        terms = tuple(set().union(*counts))
        slot = self._next_slot
        self._next_slot += 1
        for term in terms:
            self._postings.setdefault(term, {})[slot] = _pack(counts[0][term], counts[1][term], counts[2][term])
        lengths = (len(field_terms[0]), len(field_terms[1]), len(field_terms[2]))
        for i, n in enumerate(lengths):
            self._length_sums[i] += n
        words = tuple({w for ws in field_words for w in ws})
        stem = self.analyzer.stem
        for word in words:
            if self._typos.add(word):
                term = stem(word)
                self._forms[term] = (*self._forms.get(term, ()), word)
        self._docs[slot] = _Doc(
            id=doc_id,
            slug=str(article.get("slug") or ""),
            title=title,
            topic=str(article.get("topic") or "other"),
            scope=str(article.get("scope") or NATIONAL),
            body_text=body_text,
            lengths=lengths,
            terms=terms,
            words=words,
        )
        self._slot_by_id[doc_id] = slot
        self._invalidate()

    def remove(self, article_id: str) -> bool:
        """Drop one article from the index; False if it was not there."""
        slot = self._slot_by_id.pop(str(article_id), None)
        if slot is None:
            return False
        doc = self._docs.pop(slot)
        for term in doc.terms:
            posting = self._postings[term]
            del posting[slot]
            if not posting:
                del self._postings[term]
        for i, n in enumerate(doc.lengths):
            self._length_sums[i] -= n
        stem = self.analyzer.stem
        for word in doc.words:
            if self._typos.discard(word):
                term = stem(word)
                rest = tuple(w for w in self._forms.get(term, ()) if w != word)
                if rest:
                    self._forms[term] = rest
                else:
                    self._forms.pop(term, None)
        self._invalidate()
        return True

    def _invalidate(self) -> None:
        # Every length normalisation depends on the average field lengths, and every idf on the number
        # of articles, so any change invalidates all cached term scores; they are rebuilt per term on
        # the next query that needs them, so a change itself costs O(its own terms).
        self._saturated.clear()

    # ----- scoring -------------------------------------------------------------------------------

    def _term_scores(self, term: str) -> dict[int, float]:
        """Per document, idf x BM25F saturated term frequency; cached until the index next changes."""
        cached = self._saturated.get(term)
        if cached is not None:
            return cached
        postings = self._postings.get(term)
        if not postings:
            return {}
        n = len(self._docs) or 1
        wt, wg, wb = FIELD_WEIGHTS
        bt, bg, bb = FIELD_B
        # norm = 1 - b + b * length / average, written as c0 + c1 * length.
        ct, cg, cb = (
            b / (total / n) if total > 0 else 0.0 for b, total in zip(FIELD_B, self._length_sums, strict=True)
        )
        mask = _TF_MAX
        idf = self._idf(term)
        docs = self._docs
        out: dict[int, float] = {}
        for slot, packed in postings.items():
            lt, lg, lb = docs[slot].lengths
            tf = (
                wt * (packed >> (2 * _TF_BITS)) / (1 - bt + ct * lt)
                + wg * ((packed >> _TF_BITS) & mask) / (1 - bg + cg * lg)
                + wb * (packed & mask) / (1 - bb + cb * lb)
            )
            out[slot] = idf * tf * (K1 + 1) / (tf + K1)
        self._saturated[term] = out
        return out

    def _idf(self, term: str) -> float:
        df = len(self._postings.get(term, ()))
        n = len(self._docs)
        return math.log(1 + (n - df + 0.5) / (df + 0.5))

    def query_clauses(self, query: str) -> list[Clause]:
        """The query as clauses of weighted terms: typed words, typo corrections, synonym alternatives."""
        stem = self.analyzer.stem
        typed: list[tuple[str, float]] = []
        for word in surface_words(normalize_query(query)):
            term = stem(word)
            weight = 1.0
            if (
                self.typo_tolerance
                and term not in self._postings
                and word not in self._typos
                and term not in self._synonym_terms
            ):
                corrected = self._typos.correct(word)
                if corrected is not None:
                    term, weight = stem(corrected[0]), TYPO_WEIGHTS[corrected[1]]
            typed.append((term, weight))
        return clauses(typed, self._synonyms, self._synonym_index, SYNONYM_WEIGHT)

    def query_terms(self, query: str) -> dict[str, float]:
        """Every term the query searches for, with its highest weight (for display and debugging)."""
        out: dict[str, float] = {}
        for clause in self.query_clauses(query):
            for alternative in clause:
                for term, weight in alternative:
                    out[term] = max(out.get(term, 0.0), weight)
        return out

    def search(self, query: str, office: str | None = None, limit: int = 10) -> list[Hit]:
        """Best published articles for `query`: national ones plus `office`'s own (all offices if None)."""
        return self.search_page(query, office, limit)[0]

    def search_page(
        self, query: str, office: str | None = None, limit: int = 10, offset: int = 0
    ) -> tuple[list[Hit], int]:
        """The hits ranked offset+1 .. offset+limit, and how many articles in scope match in all."""
        query_clauses = self.query_clauses(query)
        if not query_clauses or limit <= 0 or not self._docs:
            return [], 0
        postings = self._postings
        scores: dict[int, float] = {}
        marks: dict[str, float] = {}
        for clause in query_clauses:
            alternatives = [[(t, w) for t, w in alt if t in postings] for alt in clause]
            alternatives = [alt for alt in alternatives if alt]
            for alt in alternatives:
                for term, weight in alt:
                    marks[term] = max(marks.get(term, 0.0), weight * self._idf(term))
            if len(alternatives) == 1 and len(alternatives[0]) == 1:
                # The common case, a word with no synonyms: add its scores straight in.
                term, weight = alternatives[0][0]
                _add_scaled(scores, self._term_scores(term), weight)
            elif alternatives:
                best: dict[int, float] = {}
                for alt in alternatives:
                    alt_scores: dict[int, float] = {}
                    for term, weight in alt:
                        _add_scaled(alt_scores, self._term_scores(term), weight)
                    get = best.get
                    for slot, v in alt_scores.items():
                        if v > get(slot, 0.0):
                            best[slot] = v
                _add_scaled(scores, best, 1.0)
        scope = None if office is None else str(office)
        total = len(scores) if scope is None else sum(1 for slot in scores if self._allowed(slot, scope))
        best_slots = self._top(scores, offset + limit, scope)[offset:] if offset < total else []
        weight_of = {form: (t, w) for t, w in marks.items() for form in self._forms.get(t, ())}
        return [self._hit(self._docs[slot], score, weight_of) for slot, score in best_slots], total

    def _allowed(self, slot: int, office: str | None) -> bool:
        return office is None or self._docs[slot].scope in (NATIONAL, office)

    def _top(self, scores: dict[int, float], limit: int, office: str | None) -> list[tuple[int, float]]:
        """The `limit` best (slot, score) pairs in scope, ties broken by slug so slots never matter."""
        items = scores.items()
        k = limit + 1
        while True:
            top = heapq.nlargest(k, items, key=itemgetter(1))
            kept = top if office is None else [sv for sv in top if self._allowed(sv[0], office)]
            # Most articles are national, so the first round usually suffices; otherwise widen.
            if len(kept) > limit or len(top) < k:
                break
            k *= 4
        if len(kept) > limit and kept[limit][1] == kept[limit - 1][1]:
            # Scores tied with the last place may lie beyond the heap's cut: bring every one in.
            cut = kept[limit - 1][1]
            kept = [sv for sv in kept if sv[1] > cut] + [
                sv for sv in items if sv[1] == cut and self._allowed(sv[0], office)
            ]
        docs = self._docs
        kept.sort(key=lambda sv: (-sv[1], docs[sv[0]].slug))
        return kept[:limit]

    # ----- snippets ------------------------------------------------------------------------------

    def _hit(self, doc: _Doc, score: float, weight_of: Mapping[str, tuple[str, float]]) -> Hit:
        return Hit(
            id=doc.id,
            slug=doc.slug,
            title=doc.title,
            snippet=snippet(doc.body_text, weight_of),
            score=round(score, 4),
            topic=doc.topic,
            scope=doc.scope,
        )


def _add_scaled(into: dict[int, float], scores: Mapping[int, float], factor: float) -> None:
    """into += factor * scores, per slot."""
    if not into:
        # Copying in one comprehension is much faster than the update loop below.
        into.update({slot: factor * v for slot, v in scores.items()})
        return
    get = into.get
    for slot, v in scores.items():
        into[slot] = get(slot, 0.0) + factor * v


def snippet(text: str, weight_of: Mapping[str, tuple[str, float]], width: int = SNIPPET_CHARS) -> str:
    """A ~`width`-char HTML-escaped window of `text` around the best matches, matches in <mark>.

    `weight_of` maps each surface word to mark onto its (term, weight).
    """
    matches: list[tuple[int, int, str, float]] = []
    if weight_of:
        folded = fold(text)
        # Folding keeps offsets for Indonesian text; where it would not ("ß" -> "ss"), match the text
        # lower-cased instead, losing only the accent folding.
        haystack = folded if len(folded) == len(text) else text.lower()
        if len(haystack) == len(text):
            get = weight_of.get
            for m in _RUN_RE.finditer(haystack):
                found = get(m.group())
                if found is not None:
                    matches.append((m.start(), m.end(), found[0], found[1]))
    lo = first = 0
    if matches:
        # Sliding window: the run of matches within `width` chars holding the most weight of distinct
        # terms (a term always carries the same weight); the earliest wins a tie.
        best_value, best_i, best_j = -1.0, 0, 0
        in_window: dict[str, int] = {}
        value = 0.0
        j = 0
        for i, (opening, _end, term, weight) in enumerate(matches):
            while j < len(matches) and (j <= i or matches[j][1] - opening <= width):
                added = matches[j][2]
                if not in_window.get(added):
                    value += matches[j][3]
                in_window[added] = in_window.get(added, 0) + 1
                j += 1
            if value > best_value:
                best_value, best_i, best_j = value, i, j
            in_window[term] -= 1
            if not in_window[term]:
                value -= weight
        span = matches[best_j - 1][1] - matches[best_i][0]
        first = matches[best_i][0]
        lo = max(0, first - min(SNIPPET_LEAD_CHARS, max(0, (width - span) // 2)))
    hi = min(len(text), lo + width)
    # Whole words only: move the cut points to spaces, never past the first marked word.
    if lo > 0 and text[lo - 1] != " ":
        space = text.find(" ", lo, first)
        lo = space + 1 if space != -1 else first
    if hi < len(text):
        space = text.rfind(" ", lo, hi + 1)
        if space > lo:
            hi = space
    parts: list[str] = ["…"] if lo > 0 else []
    pos = lo
    for start, end, _term, _weight in matches:
        if start < lo or end > hi:
            continue
        parts.append(html.escape(text[pos:start]))
        parts.append("<mark>" + html.escape(text[start:end]) + "</mark>")
        pos = end
    parts.append(html.escape(text[pos:hi]))
    if hi < len(text):
        parts.append("…")
    return "".join(parts).strip()
