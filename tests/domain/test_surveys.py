"""server.domain.surveys: the questionnaire, the IKM of a hand-worked example, the grade boundaries, the
Krejcie-Morgan sample sizes, input checks, once per consultation or ticket, and the database's sums."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from bson import ObjectId

from server.domain import ikm, surveys
from server.domain.errors import Conflict, Forbidden, NotFound, ValidationFailed
from server.services import Services

Doc = dict[str, Any]
WITA = ZoneInfo("Asia/Makassar")
KEYS = surveys.ELEMENT_KEYS

# --- the questionnaire -----------------------------------------------------------------------------


def test_the_nine_elements_in_the_regulations_order_with_four_answers_each() -> None:
    q = surveys.questionnaire("id")
    assert [e["key"] for e in q["elements"]] == [
        "persyaratan", "prosedur", "waktu", "biaya", "produk", "kompetensi", "perilaku", "pengaduan", "sarana",
    ]  # fmt: skip
    for e in q["elements"]:
        assert [a["value"] for a in e["answers"]] == [1, 2, 3, 4] and e["label"] and e["question"].endswith("?")
    words = {e["key"]: [a["label"] for a in e["answers"]] for e in q["elements"]}
    assert words["persyaratan"] == ["Tidak sesuai", "Kurang sesuai", "Sesuai", "Sangat sesuai"]
    assert words["biaya"] == ["Sangat mahal", "Cukup mahal", "Murah", "Gratis"]
    assert words["kompetensi"] == ["Tidak kompeten", "Kurang kompeten", "Kompeten", "Sangat kompeten"]
    assert words["pengaduan"][0] == "Tidak ada" and words["pengaduan"][3] == "Dikelola dengan baik"
    en = surveys.questionnaire("en")
    assert [e["key"] for e in en["elements"]] == [e["key"] for e in q["elements"]]
    assert en["elements"][3]["answers"][3]["label"] == "Free of charge"
    assert {c["value"] for c in q["profile"]["education"]} >= {"sd", "sma", "d4_s1", "s3"}


# --- the IKM -----------------------------------------------------------------------------------------

# A hand-worked example, by the regulation's formula. Four respondents answered the nine elements:
#
#              persy. pros. waktu biaya produk komp. perilaku pengad. sarana   total
#   R1            4     4     3     4     3      4      4        3       3       32
#   R2            3     3     3     4     3      3      4        2       3       28
#   R3            4     3     2     4     4      4      4        3       2       30
#   R4            3     4     3     4     3      3      3        2       3       28
#   sum          14    14    11    16    13     14     15       10      11      118
#   NRR = sum/4  3.50  3.50  2.75  4.00  3.25   3.50   3.75     2.50    2.75   (sum of NRR 29.50)
#
# IKM = (mean of the nine NRR) x 25 = (29.50 / 9) x 25 = 81.9444... -> 81.94, grade B (76.61-88.30).
# (The regulation prints the weight 1/9 as 0.111: 29.50 x 0.111 x 25 = 81.86, the same grade; CONTRACT.md
# takes the exact mean.) The lowest elements are pengaduan (2.50), then waktu and sarana (2.75 each).
HAND = [
    [4, 4, 3, 4, 3, 4, 4, 3, 3],
    [3, 3, 3, 4, 3, 3, 4, 2, 3],
    [4, 3, 2, 4, 4, 4, 4, 3, 2],
    [3, 4, 3, 4, 3, 3, 3, 2, 3],
]
HAND_NRR = [3.50, 3.50, 2.75, 4.00, 3.25, 3.50, 3.75, 2.50, 2.75]


def _answers(row: list[int]) -> dict[str, int]:
    return dict(zip(KEYS, row, strict=True))


def test_ikm_of_the_hand_worked_example() -> None:
    sums = {k: sum(r[i] for r in HAND) for i, k in enumerate(KEYS)}
    out = ikm.ikm_from_sums(len(HAND), sums)
    assert out["responses"] == 4
    assert [out["elements"][k]["nrr"] for k in KEYS] == HAND_NRR
    assert out["ikm"] == 81.94 and out["grade"] == "B"
    assert ikm.lowest_elements(out["elements"]) == ["pengaduan", "waktu", "sarana"]
    assert ikm.grade_label("B") == "Baik" and ikm.grade_label("B", "en") == "Good"


def test_no_responses_give_nulls_not_nan() -> None:
    out = ikm.ikm_from_sums(0, {})
    assert out == {
        "responses": 0,
        "elements": {k: {"nrr": None, "ikm": None, "sum": 0} for k in KEYS},
        "ikm": None,
        "grade": None,
    }
    assert ikm.grade_of(None) is None and ikm.lowest_elements(out["elements"]) == []


@pytest.mark.parametrize(
    ("value", "grade"),
    [
        (100.0, "A"),
        (88.31, "A"),
        (88.30, "B"),
        (76.61, "B"),
        (76.60, "C"),
        (65.00, "C"),
        (64.99, "D"),
        (25.0, "D"),
        # Rounded to 2 decimals first (half up, as written): 88.305 is 88.31, 76.605 is 76.61, 64.995 is 65.00.
        (88.305, "A"),
        (88.3049, "B"),
        (76.605, "B"),
        (64.995, "C"),
        (64.9949, "D"),
    ],
)
def test_grade_boundaries(value: float, grade: str) -> None:
    assert ikm.grade_of(value) == grade
    assert ikm.grade_of(Decimal(str(value))) == ikm.grade_of(Fraction(str(value))) == grade


def _sums_of_total(total: int) -> dict[str, int]:
    """Per-element sums adding up to `total` (the IKM depends on the total only)."""
    base, extra = divmod(total, 9)
    return {k: base + (1 if i < extra else 0) for i, k in enumerate(KEYS)}


def test_boundaries_reached_exactly_by_responses() -> None:
    # IKM = total x 25 / (9 n): 125 responses answering 3,447 points in all give exactly 76.60 -> C,
    # and one point more gives 76.62 -> B.
    assert ikm.ikm_from_sums(125, _sums_of_total(3447))["ikm"] == 76.6
    assert ikm.ikm_from_sums(125, _sums_of_total(3447))["grade"] == "C"
    assert ikm.ikm_from_sums(125, _sums_of_total(3448))["grade"] == "B"
    # 5,000 responses with 158,949 points: exactly 88.305, which is 88.31 -> A.
    assert Fraction(158949 * 25, 9 * 5000) == Fraction("88.305")
    out = ikm.ikm_from_sums(5000, _sums_of_total(158949))
    assert out["ikm"] == 88.31 and out["grade"] == "A"
    assert ikm.ikm_from_sums(5000, _sums_of_total(158948))["grade"] == "B"  # 88.304... -> 88.30
    # Half-up on the exact value: 8 responses with 225 points are exactly 78.125 -> 78.13, where Python's
    # round() of the float mean of the NRR gives 78.12 (it rounds half to even).
    assert ikm.ikm_from_sums(8, _sums_of_total(225))["ikm"] == 78.13
    assert round(sum(s / 8 for s in _sums_of_total(225).values()) / 9 * 25, 2) == 78.12
    # 64.99 and 65.00: 4 responses of 9 elements, total 104 -> 72.22 (C); n = 100, total 2340 -> 65.00 (C);
    # total 2339 -> 64.97 (D).
    assert ikm.ikm_from_sums(100, _sums_of_total(2340))["ikm"] == 65.0
    assert ikm.ikm_from_sums(100, _sums_of_total(2340))["grade"] == "C"
    assert ikm.ikm_from_sums(100, _sums_of_total(2339))["grade"] == "D"
    # Everyone answering 1 is 25.00 (D); everyone answering 4 is 100.00 (A).
    assert ikm.ikm_from_sums(3, _sums_of_total(27))["ikm"] == 25.0
    assert ikm.ikm_from_sums(3, _sums_of_total(108)) | {"elements": None} == {
        "responses": 3, "elements": None, "ikm": 100.0, "grade": "A",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("population", "sample"),
    # Krejcie & Morgan (1970), Table 1, as the SKM guidance reproduces it.
    [(0, 0), (10, 10), (15, 14), (20, 19), (50, 44), (100, 80), (150, 108), (200, 132), (300, 169), (500, 217),
     (1000, 278), (2000, 322), (5000, 357), (10000, 370), (1000000, 384)],
)  # fmt: skip
def test_krejcie_morgan_sample_sizes(population: int, sample: int) -> None:
    assert ikm.sample_size(population) == sample


# --- input checks ------------------------------------------------------------------------------------


def test_answers_must_be_all_nine_whole_numbers_from_1_to_4() -> None:
    good = _answers(HAND[0])
    assert surveys.validate_answers(good) == good
    for bad, code in [
        ({k: v for k, v in good.items() if k != "sarana"}, "incomplete_answers"),
        ({}, "incomplete_answers"),
        ({**good, "sarana": None}, "incomplete_answers"),
        ({**good, "sarana": 5}, "invalid_answer"),
        ({**good, "sarana": 0}, "invalid_answer"),
        ({**good, "sarana": "3"}, "invalid_answer"),
        ({**good, "sarana": 2.5}, "invalid_answer"),
        ({**good, "sarana": True}, "invalid_answer"),
        ({**good, "keamanan": 3}, "unknown_element"),
        ([3] * 9, "invalid_answers"),
    ]:
        with pytest.raises(ValidationFailed) as exc:
            surveys.validate_answers(bad)
        assert exc.value.code == code and exc.value.status == 422, bad


def test_profile_is_optional_and_checked() -> None:
    assert surveys.validate_profile(None) is None
    assert surveys.validate_profile({}) is None
    full = {"sex": "female", "age": 34, "education": "d4_s1", "occupation": "peneliti"}
    assert surveys.validate_profile(full) == full
    assert surveys.validate_profile({"sex": "", "age": None, "extra": "x"}) is None
    for bad, code in [
        ({"sex": "x"}, "invalid_sex"),
        ({"age": 5}, "invalid_age"),
        ({"age": "34"}, "invalid_age"),
        ({"education": "phd"}, "invalid_education"),
        ({"occupation": 3}, "invalid_occupation"),
        ("perempuan", "invalid_profile"),
    ]:
        with pytest.raises(ValidationFailed) as exc:
            surveys.validate_profile(bad)
        assert exc.value.code == code, bad


# --- stored responses: once, and the database's sums ------------------------------------------------


async def _consultation(svc: Services, office: str = "7406", **extra: Any) -> Doc:
    doc: Doc = {
        "number": f"{office}-2026-{ObjectId()}"[-20:],
        "office": office,
        "time_zone": "Asia/Makassar",
        "channel": "online",
        "user_id": ObjectId(),
        "status": "closed",
        "assigned_to": ObjectId(),
        "assigned_name": "Budi",
        "created_at": svc.now(),
        "last_seq": 0,
        **extra,
    }
    doc["_id"] = (await svc.db.consultations.insert_one(doc)).inserted_id
    return doc


async def test_once_per_consultation_and_per_ticket(svc: Services) -> None:
    c = await _consultation(svc)
    out = await surveys.submit(svc, None, office="7406", channel="email", consultation_id=str(c["_id"]),
                               answers=_answers(HAND[0]), suggestion="  Ruang tunggu perlu AC  ")  # fmt: skip
    # The consultation decides the channel and the officer, whatever the page said.
    assert out["channel"] == "online" and out["suggestion"] == "Ruang tunggu perlu AC"
    stored = await svc.db.skm_responses.find_one({"consultation_id": c["_id"]})
    assert stored["officer_name"] == "Budi" and stored["verified"] is False
    with pytest.raises(Conflict) as exc:
        await surveys.submit(svc, None, office="7406", consultation_id=str(c["_id"]), answers=_answers(HAND[1]))
    assert exc.value.code == "already_answered" and exc.value.status == 409
    # A walk-in ticket with its consultation: answered by the ticket, so the consultation is answered too.
    t_id = ObjectId()
    wc = await _consultation(svc, channel="walk_in", walk_in={"ticket_id": t_id, "number": "A-001"})
    await svc.db.queue_tickets.insert_one(
        {"_id": t_id, "office": "7406", "day": "2026-11-23", "number": "A-001", "status": "done",
         "consultation_id": wc["_id"], "officer_id": ObjectId(), "officer_name": "Wati"}
    )  # fmt: skip
    first = await surveys.submit(svc, None, office="7406", ticket_id=str(t_id), answers=_answers(HAND[2]))
    assert first["channel"] == "walk_in" and first["consultation_id"] == str(wc["_id"])
    for kw in ({"ticket_id": str(t_id)}, {"consultation_id": str(wc["_id"])}):
        with pytest.raises(Conflict):
            await surveys.submit(svc, None, office="7406", answers=_answers(HAND[3]), **kw)
    # Neither: a visitor who took no ticket; any number of those.
    for _ in range(2):
        await surveys.submit(svc, None, office="7406", channel="walk_in", answers=_answers(HAND[3]))
    assert await svc.db.skm_responses.count_documents({}) == 4


async def test_who_may_answer_for_what(svc: Services) -> None:
    owner = {"_id": ObjectId(), "role": "user", "name": "Sari"}
    c = await _consultation(svc, user_id=owner["_id"])
    stranger = {"_id": ObjectId(), "role": "user", "name": "Lain"}
    with pytest.raises(Forbidden):
        await surveys.submit(svc, stranger, office="7406", consultation_id=str(c["_id"]), answers=_answers(HAND[0]))
    with pytest.raises(ValidationFailed) as bad:
        await surveys.submit(svc, owner, office="1808", consultation_id=str(c["_id"]), answers=_answers(HAND[0]))
    assert bad.value.code == "office_mismatch"
    with pytest.raises(NotFound):
        await surveys.submit(svc, owner, office="7406", consultation_id=str(ObjectId()), answers=_answers(HAND[0]))
    with pytest.raises(NotFound):
        await surveys.submit(svc, owner, office="9999", channel="online", answers=_answers(HAND[0]))
    with pytest.raises(ValidationFailed) as bad:
        await surveys.submit(svc, None, office="7406", channel="fax", answers=_answers(HAND[0]))
    assert bad.value.code == "invalid_channel"
    await surveys.submit(svc, owner, office="7406", consultation_id=str(c["_id"]), answers=_answers(HAND[0]))
    assert (await svc.db.skm_responses.find_one({}))["verified"] is True


async def test_the_database_sums_give_the_hand_worked_ikm_per_channel_and_officer(svc: Services) -> None:
    officer_a, officer_b = ObjectId(), ObjectId()
    day = datetime(2026, 11, 10, 10, 0, tzinfo=WITA)
    for i, row in enumerate(HAND):
        c = await _consultation(
            svc,
            channel="online" if i < 2 else "walk_in",
            assigned_to=officer_a if i % 2 == 0 else officer_b,
            assigned_name="Andi" if i % 2 == 0 else "Bela",
            created_at=day.astimezone(UTC),
        )
        svc.clock.set(day + timedelta(hours=i))  # type: ignore[attr-defined]
        await surveys.submit(svc, None, office="7406", consultation_id=str(c["_id"]), answers=_answers(row))
    # Another office and another month stay out.
    svc.clock.set(datetime(2026, 12, 1, 0, 30, tzinfo=WITA))  # type: ignore[attr-defined]
    await surveys.submit(svc, None, office="7406", channel="online", answers=_answers([1] * 9))
    await surveys.submit(svc, None, office="1808", channel="online", answers=_answers([1] * 9))
    office = await svc.db.offices.find_one({"code": "7406"})
    assert office is not None
    out = await surveys.report(svc, [office], date(2026, 11, 1), date(2026, 11, 30), label="7406")
    assert out["responses"] == 4 and out["ikm"] == 81.94 and out["grade"] == "B"
    assert [out["elements"][k]["nrr"] for k in KEYS] == HAND_NRR
    assert out["lowest"] == ["pengaduan", "waktu", "sarana"]
    assert out["by_channel"]["online"]["responses"] == 2 and out["by_channel"]["walk_in"]["responses"] == 2
    assert out["by_channel"]["whatsapp"] == ikm.ikm_from_sums(0, {})
    # online: R1 + R2 = 60 points of 2 x 9 answers -> 60 x 25 / 18 = 83.33
    assert out["by_channel"]["online"]["ikm"] == 83.33
    by_name = {o["officer"]["name"]: o for o in out["by_officer"]}
    assert by_name["Andi"]["responses"] == 2 and by_name["Andi"]["ikm"] == round(62 * 25 / 18, 2)  # R1 + R3
    assert by_name["Bela"]["ikm"] == round(56 * 25 / 18, 2)  # R2 + R4
    # The population: the consultations received in the period (4 here, the December one is out).
    assert out["sample"] == {
        "population": 4, "required": 4, "responses": 4, "enough": True,
        "method": "Krejcie-Morgan (X²=3.841, P=0.5, d=0.05)",
    }  # fmt: skip
    assert await surveys.ikm(svc, "7406", date(2026, 11, 1), date(2026, 11, 30)) | {"elements": None} == {
        "responses": 4, "elements": None, "ikm": 81.94, "grade": "B",
    }  # fmt: skip
    # Local dates: 1 December 00:30 WITA is the 1st in Bombana, not in November.
    dec = await surveys.ikm(svc, "7406", date(2026, 12, 1), date(2026, 12, 1))
    assert dec["responses"] == 1 and dec["ikm"] == 25.0 and dec["grade"] == "D"
    # Each office's own calendar: the same moment is 30 November 23:30 in Tulang Bawang (WIB).
    assert (await surveys.ikm(svc, "all", date(2026, 12, 1), date(2026, 12, 1)))["responses"] == 1
    assert (await surveys.ikm(svc, "all", date(2026, 11, 1), date(2026, 11, 30)))["responses"] == 5
    assert (await surveys.ikm(svc, "1808", date(2026, 11, 30), date(2026, 11, 30)))["responses"] == 1
    empty = await surveys.report(svc, [office], date(2025, 1, 1), date(2025, 1, 31), label="7406")
    assert empty["responses"] == 0 and empty["ikm"] is None and empty["grade"] is None
    assert empty["sample"]["required"] == 0 and empty["by_officer"] == []
