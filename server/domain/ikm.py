"""The IKM (Indeks Kepuasan Masyarakat) of SKM survey responses, as PermenPANRB 14/2017 computes it.

An element's NRR is the mean of its answers (1..4); the IKM is the mean of the nine NRR times 25, on
25-100; the grade (mutu pelayanan) is A 88.31-100, B 76.61-88.30, C 65.00-76.60, D 25.00-64.99
(CONTRACT.md). The regulation weighs each NRR by 1/9 (it prints 0.111): the same mean. The database
sums the answers (one aggregation; no response is loaded into Python); the IKM is computed from those
integer sums as an exact fraction and rounded half-up to 2 decimals, and the grade is read from the
rounded value: 88.305 is 88.31 and an A, and no float's 88.30499999 or half-to-even rounding decides.

How many responses are enough: the Krejcie-Morgan sample size for the period's population (the
service users: the office's consultations of every channel received in the period), as their table.
The questionnaire and the responses themselves are server.domain.surveys.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

from server.domain.models import CHANNELS, iso
from server.services import Services

Doc = dict[str, Any]

# The nine elements of PermenPANRB 14/2017, in the regulation's order (CONTRACT.md's keys).
ELEMENT_KEYS: tuple[str, ...] = (
    "persyaratan",
    "prosedur",
    "waktu",
    "biaya",
    "produk",
    "kompetensi",
    "perilaku",
    "pengaduan",
    "sarana",
)
# The newest suggestions shown with the IKM.
SUGGESTIONS_SHOWN = 50

# Grades (mutu pelayanan) by the IKM rounded to 2 decimals, in hundredths: the lowest value of each.
GRADES: tuple[tuple[int, str, str, str], ...] = (
    (8831, "A", "Sangat baik", "Very good"),
    (7661, "B", "Baik", "Good"),
    (6500, "C", "Kurang baik", "Poor"),
    (2500, "D", "Tidak baik", "Very poor"),
)

# Krejcie & Morgan (1970): chi-square of 1 degree of freedom at 95%, the population proportion, the margin.
KM_CHI_SQUARE = Fraction(3841, 1000)
KM_P = Fraction(1, 2)
KM_D = Fraction(5, 100)


# --- the index (pure) -----------------------------------------------------------------------------


def round_half_up(value: Fraction | float, places: int = 2) -> Decimal:
    """`value` rounded half-up to `places` decimals, exactly (a float is read as the decimal it prints)."""
    exact = Decimal(repr(value)) if isinstance(value, float) else Decimal(value.numerator) / Decimal(value.denominator)
    return exact.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def grade_of(ikm: float | Fraction | Decimal | None) -> str | None:
    """The grade (A-D) of an IKM, read from the IKM rounded to 2 decimals; None for no IKM."""
    if ikm is None:
        return None
    rounded = ikm if isinstance(ikm, Decimal) else round_half_up(ikm)
    hundredths = int(rounded.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP) * 100)
    for lowest, grade, _, _ in GRADES:
        if hundredths >= lowest:
            return grade
    return "D"  # below 25.00 cannot come from answers of 1..4


def grade_label(grade: str | None, lang: Any = "id") -> str | None:
    """The regulation's words for a grade (mutu pelayanan): Sangat baik, Baik, Kurang baik, Tidak baik."""
    for _, g, label_id, label_en in GRADES:
        if g == grade:
            return label_en if lang == "en" else label_id
    return None


def ikm_from_sums(responses: int, sums: dict[str, int]) -> Doc:
    """{responses, elements: {KEY: {nrr, ikm, sum}}, ikm, grade} from the count and each element's sum of answers.

    NRR = sum / responses (unrounded); IKM = mean of the nine NRR x 25 = total / (9 x responses) x 25,
    exact, then rounded half-up to 2 decimals; the grade from the rounded IKM. No responses: nulls.
    """
    n = int(responses)
    if n <= 0:
        return {
            "responses": 0,
            "elements": {k: {"nrr": None, "ikm": None, "sum": 0} for k in ELEMENT_KEYS},
            "ikm": None,
            "grade": None,
        }
    elements: Doc = {}
    total = 0
    for k in ELEMENT_KEYS:
        s = int(sums.get(k) or 0)
        total += s
        nrr = Fraction(s, n)
        elements[k] = {"nrr": float(nrr), "ikm": float(round_half_up(nrr * 25)), "sum": s}
    ikm = round_half_up(Fraction(total * 25, len(ELEMENT_KEYS) * n))
    return {"responses": n, "elements": elements, "ikm": float(ikm), "grade": grade_of(ikm)}


def lowest_elements(elements: Doc, count: int = 3) -> list[str]:
    """The `count` elements with the lowest NRR (ties in the regulation's order): where to improve first."""
    scored = [(e["nrr"], i, k) for i, (k, e) in enumerate(elements.items()) if e.get("nrr") is not None]
    return [k for _, _, k in sorted(scored)[:count]]


def sample_size(population: int) -> int:
    """Krejcie-Morgan: s = X²NP(1-P) / (d²(N-1) + X²P(1-P)), X² = 3.841, P = 0.5, d = 0.05.

    Computed exactly (fractions) and rounded to the nearest whole respondent, as their published table
    is: N = 100 gives 80 (79.5), 1,000 gives 278, 10,000 gives 370, 50 gives 44, 500 gives 217.
    """
    n = max(0, int(population))
    if n == 0:
        return 0
    spread = KM_CHI_SQUARE * KM_P * (1 - KM_P)
    s = spread * n / (KM_D**2 * (n - 1) + spread)
    return math.floor(s + Fraction(1, 2))


# --- the IKM of a period -------------------------------------------------------------------------


def _bounds(tz: str, first: date, last: date) -> tuple[datetime, datetime]:
    zone = ZoneInfo(tz)
    lo = datetime.combine(first, time(0), tzinfo=zone).astimezone(UTC)
    hi = datetime.combine(last + timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC)
    return lo, hi


def period_match(offices: Sequence[Doc], first: date, last: date, field: str = "created_at") -> Doc:
    """Documents of these offices whose `field` falls on one of their local dates first..last (both included)."""
    zones: dict[str, list[str]] = {}
    for o in offices:
        zones.setdefault(o["time_zone"], []).append(o["code"])
    branches = []
    for tz, codes in zones.items():
        lo, hi = _bounds(tz, first, last)
        branches.append({"office": codes[0] if len(codes) == 1 else {"$in": codes}, field: {"$gte": lo, "$lt": hi}})
    if not branches:
        return {"_id": {"$exists": False}}
    return branches[0] if len(branches) == 1 else {"$or": branches}


def _sums_group(key: Any) -> Doc:
    group: Doc = {"_id": key, "n": {"$sum": 1}}
    for k in ELEMENT_KEYS:
        group[k] = {"$sum": f"$answers.{k}"}
    return {"$group": group}


def _figures(row: Doc) -> Doc:
    return ikm_from_sums(int(row.get("n") or 0), {k: int(row.get(k) or 0) for k in ELEMENT_KEYS})


async def _offices_of(svc: Services, office: str | Sequence[Doc]) -> list[Doc]:
    if not isinstance(office, str):
        return list(office)
    if office == "all":
        return [o async for o in svc.db.offices.find({}).sort("code", 1)]
    found = await svc.db.offices.find_one({"code": office})
    return [found] if found else []


async def of_period(svc: Services, office: str | Sequence[Doc], start: date, end: date) -> Doc:
    """{responses, elements: {KEY: {nrr}}, ikm, grade} of an office (a code, `all`, or office documents)
    over its local dates start..end, both included (the reports summary's `ikm` block)."""
    offices = await _offices_of(svc, office)
    pipeline: list[Doc] = [{"$match": period_match(offices, start, end)}, _sums_group(None)]
    rows = [r async for r in await svc.db.skm_responses.aggregate(pipeline)]
    return _figures(rows[0] if rows else {})


async def report(svc: Services, offices: Sequence[Doc], start: date, end: date, *, label: str, lang: Any = "id") -> Doc:
    """GET /reports/ikm for an authorised period: the IKM, per channel, per officer, the sample size.

    One aggregation ($facet over the period's responses) plus one count of the period's consultations
    (the population); nothing is loaded into Python but the grouped sums.
    """
    match = period_match(offices, start, end)
    facet: Doc = {
        "all": [_sums_group(None)],
        "channel": [_sums_group("$channel")],
        "officer": [_sums_group("$officer_id"), {"$sort": {"_id": 1}}],
        "officer_names": [
            {"$match": {"officer_id": {"$ne": None}}},
            {"$group": {"_id": "$officer_id", "name": {"$last": "$officer_name"}}},
        ],
        "profile": [
            {
                "$group": {
                    "_id": {"s": "$profile.sex", "e": "$profile.education", "o": "$profile.occupation"},
                    "n": {"$sum": 1},
                }
            }
        ],
        "suggestions": [
            {"$match": {"suggestion": {"$nin": [None, ""]}}},
            {"$sort": {"created_at": -1}},
            {"$limit": SUGGESTIONS_SHOWN},
            {"$project": {"_id": 0, "suggestion": 1, "channel": 1, "created_at": 1}},
        ],
    }
    rows = [r async for r in await svc.db.skm_responses.aggregate([{"$match": match}, {"$facet": facet}])]
    out = rows[0] if rows else {}
    overall = _figures(out["all"][0] if out.get("all") else {})
    by_channel: Doc = {}
    for ch in CHANNELS:
        row: Doc = next((r for r in out.get("channel") or [] if r.get("_id") == ch), {})
        by_channel[ch] = _figures(row)
    names = {r["_id"]: r.get("name") for r in out.get("officer_names") or []}
    by_officer = []
    for r in out.get("officer") or []:
        if r.get("_id") is None:
            continue
        figures = _figures(r)
        by_officer.append({"officer": {"id": str(r["_id"]), "name": names.get(r["_id"])}, **figures})
    by_officer.sort(key=lambda x: (str(x["officer"]["name"] or ""), x["officer"]["id"]))
    profile: Doc = {"sex": {}, "education": {}, "occupation": {}}
    for r in out.get("profile") or []:
        key, n = r.get("_id") or {}, int(r.get("n") or 0)
        for part, field in (("sex", "s"), ("education", "e"), ("occupation", "o")):
            value = key.get(field) or "unknown"
            profile[part][value] = profile[part].get(value, 0) + n
    population = await svc.db.consultations.count_documents(match)
    required = sample_size(population)
    return {
        "office": label,
        "from": start.isoformat(),
        "to": end.isoformat(),
        **overall,
        "grade_label": grade_label(overall["grade"], lang),
        "lowest": lowest_elements(overall["elements"]),
        "by_channel": by_channel,
        "by_officer": by_officer,
        "sample": {
            "population": population,
            "required": required,
            "responses": overall["responses"],
            "enough": overall["responses"] >= required,
            "method": "Krejcie-Morgan (X²=3.841, P=0.5, d=0.05)",
        },
        "profile": profile,
        "suggestions": [
            {"text": s.get("suggestion"), "channel": s.get("channel"), "created_at": iso(s.get("created_at"))}
            for s in out.get("suggestions") or []
        ],
    }
