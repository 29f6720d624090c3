"""In-memory BM25F search over knowledge-base articles; the embedded MongoDB has no text indexes."""

from __future__ import annotations

import heapq
import html
import math
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from server.domain.errors import ValidationFailed
from server.search.markdown import markdown_to_text
from server.search.synonyms import SYNONYM_GROUPS, SYNONYM_WEIGHT, SynonymTable, expand
from server.search.text import Analyzer, Stemmer, TypoIndex, iter_word_spans, surface_words

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

# Term frequencies of the three fields packed into one int per posting: dicts of int -> int are not
# tracked by the garbage collector, so a large index does not lengthen full collections.
_TF_BITS = 20
_TF_MAX = (1 << _TF_BITS) - 1


def _pack(tf_title: int, tf_tags: int, tf_body: int) -> int:
    return (
        (min(tf_title, _TF_MAX) << (2 * _TF_BITS)) | (min(tf_tags, _TF_MAX) << _TF_BITS) | min(tf_body, _TF_MAX)
    )


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
            "query_too_long", f"Kata kunci paling banyak {MAX_QUERY_CHARS} karakter.", max_chars=MAX_QUERY_CHARS
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

    def __init__(self, stemmer: Stemmer | None = None, synonyms: Iterable[Iterable[str]] = SYNONYM_GROUPS) -> None:
        self.analyzer = Analyzer(stemmer)
        self._synonyms = SynonymTable.build(synonyms, self.analyzer.terms)
        self._synonym_index = self._synonyms.index()
        self._synonym_terms = self._synonyms.known_terms()
        self._docs: dict[int, _Doc] = {}
        self._slot_by_id: dict[str, int] = {}
        self._next_slot = 0
        self._postings: dict[str, dict[int, int]] = {}
        self._length_sums = [0, 0, 0]
        self._typos = TypoIndex()
        # Derived from the statistics above and rebuilt lazily after any change (see _invalidate).
        self._norms: dict[int, tuple[float, float, float]] | None = None
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
        self._invalidate()
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
        field_terms = [self.analyzer.terms(text) for text in fields]
        counts = [Counter(terms) for terms in field_terms]
        terms = tuple(set().union(*counts))
        slot = self._next_slot
        self._next_slot += 1
        for term in terms:
            self._postings.setdefault(term, {})[slot] = _pack(counts[0][term], counts[1][term], counts[2][term])
        lengths = (len(field_terms[0]), len(field_terms[1]), len(field_terms[2]))
        for i, n in enumerate(lengths):
            self._length_sums[i] += n
        words = tuple({w for text in fields for w in surface_words(text)})
        for word in words:
            self._typos.add(word)
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
        for word in doc.words:
            self._typos.discard(word)
        self._invalidate()
        return True

    def _invalidate(self) -> None:
        # Every document's length normalisation depends on the average lengths, so any change
        # invalidates all of it; recomputing lazily keeps a burst of upserts (build) linear.
        self._norms = None
        self._saturated.clear()

    # ----- scoring -------------------------------------------------------------------------------

    def _doc_norms(self) -> dict[int, tuple[float, float, float]]:
        if self._norms is None:
            n = len(self._docs) or 1
            avgs = [s / n for s in self._length_sums]
            bt, bg, bb = FIELD_B
            at, ag, ab = (a if a > 0 else 1.0 for a in avgs)
            self._norms = {
                slot: (
                    1 - bt + bt * d.lengths[0] / at,
                    1 - bg + bg * d.lengths[1] / ag,
                    1 - bb + bb * d.lengths[2] / ab,
                )
                for slot, d in self._docs.items()
            }
        return self._norms

    def _saturated_tf(self, term: str) -> dict[int, float]:
        """Per document, the BM25F saturated term frequency (without idf), cached until the next change."""
        cached = self._saturated.get(term)
        if cached is not None:
            return cached
        norms = self._doc_norms()
        wt, wg, wb = FIELD_WEIGHTS
        mask = _TF_MAX
        out: dict[int, float] = {}
        for slot, packed in self._postings.get(term, {}).items():
            nt, ng, nb = norms[slot]
            tf = (
                wt * (packed >> (2 * _TF_BITS)) / nt
                + wg * ((packed >> _TF_BITS) & mask) / ng
                + wb * (packed & mask) / nb
            )
            out[slot] = tf * (K1 + 1) / (tf + K1)
        self._saturated[term] = out
        return out

    def _idf(self, term: str) -> float:
        df = len(self._postings.get(term, ()))
        n = len(self._docs)
        return math.log(1 + (n - df + 0.5) / (df + 0.5))

    def query_terms(self, query: str) -> dict[str, float]:
        """The weighted index terms a query searches for: typed words, typo corrections, synonyms."""
        stem = self.analyzer.stem
        weights: dict[str, float] = {}
        sequence: list[str] = []
        for word in surface_words(normalize_query(query)):
            term = stem(word)
            weight = 1.0
            if term not in self._postings and word not in self._typos and term not in self._synonym_terms:
                corrected = self._typos.correct(word)
                if corrected is not None:
                    term, distance = stem(corrected[0]), corrected[1]
                    weight = TYPO_WEIGHTS[distance]
            sequence.append(term)
            weights[term] = max(weights.get(term, 0.0), weight)
        for term, weight in expand(sequence, self._synonyms, self._synonym_index, SYNONYM_WEIGHT).items():
            if weights.get(term, 0.0) < weight:
                weights[term] = weight
        return weights

    def search(self, query: str, office: str | None = None, limit: int = 10) -> list[Hit]:
        """Best published articles for `query`: national ones plus `office`'s own (all offices if None)."""
        weights = self.query_terms(query)
        if not weights or limit <= 0 or not self._docs:
            return []
        scores: dict[int, float] = {}
        idfs: dict[str, float] = {}
        for term, weight in weights.items():
            if term not in self._postings:
                continue
            idf = idfs[term] = self._idf(term)
            factor = idf * weight
            get = scores.get
            for slot, sat in self._saturated_tf(term).items():
                scores[slot] = get(slot, 0.0) + factor * sat
        docs = self._docs
        if office is None:
            candidates: Iterable[tuple[int, float]] = scores.items()
        else:
            office = str(office)
            candidates = ((s, v) for s, v in scores.items() if docs[s].scope in (NATIONAL, office))
        # Ties break on slug so that results are stable across runs and rebuilds.
        best = heapq.nsmallest(limit, candidates, key=lambda sv: (-sv[1], docs[sv[0]].slug))
        marks = {t: w * idfs[t] for t, w in weights.items() if t in idfs}
        return [self._hit(docs[slot], score, marks) for slot, score in best]

    # ----- snippets ------------------------------------------------------------------------------

    def _hit(self, doc: _Doc, score: float, marks: Mapping[str, float]) -> Hit:
        return Hit(
            id=doc.id,
            slug=doc.slug,
            title=doc.title,
            snippet=self.snippet(doc.body_text, marks),
            score=round(score, 4),
            topic=doc.topic,
            scope=doc.scope,
        )

    def snippet(self, text: str, marks: Mapping[str, float], width: int = SNIPPET_CHARS) -> str:
        """A ~`width`-char HTML-escaped window of `text` around the best matches, matches in <mark>."""
        stem = self.analyzer.stem
        matches: list[tuple[int, int, str, float]] = []
        for start, end, words in iter_word_spans(text):
            best_term = ""
            best_weight = 0.0
            for word in words:
                term = stem(word)
                weight = marks.get(term, 0.0)
                if weight > best_weight:
                    best_term, best_weight = term, weight
            if best_weight > 0.0:
                matches.append((start, end, best_term, best_weight))
        lo = first = 0
        if matches:
            # The window holding the most weight of distinct query terms; earliest wins a tie.
            best_value, best_i, best_j = -1.0, 0, 0
            for i, (opening, _end, _term, _weight) in enumerate(matches):
                seen: dict[str, float] = {}
                j = i
                while j < len(matches) and matches[j][1] - opening <= width:
                    seen[matches[j][2]] = matches[j][3]
                    j += 1
                value = sum(seen.values())
                if value > best_value:
                    best_value, best_i, best_j = value, i, j
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
