"""The SKM survey over HTTP: the questionnaire, where it is offered (the room, the rating e-mail, the walk-in
ticket), once per consultation or ticket, bad input, and GET /reports/ikm: the hand-worked example through
the API, who may ask, bad dates, an empty period."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from bson import ObjectId

from server.domain import ikm
from tests.conftest import Api
from tests.domain.test_surveys import HAND, HAND_NRR

Doc = dict[str, Any]
WITA = ZoneInfo("Asia/Makassar")
KEYS = ikm.ELEMENT_KEYS


def answers(row: list[int]) -> dict[str, int]:
    return dict(zip(KEYS, row, strict=True))


async def clock(client: Any, at: datetime) -> None:
    resp = await client.post("/api/v1/_test/clock", json={"set": at.isoformat()})
    assert resp.status == 200, await resp.text()


async def closed_consultation(user: Api, officer: Api, office: str = "7406") -> Doc:
    c = await user.post(
        "/consultations",
        {"office": office, "topic": "data", "subject": "Data inflasi", "text": "Mohon data inflasi bulanan."},
        expect=201,
    )
    await officer.post(f"/consultations/{c['id']}/claim", expect=200)
    await officer.post(
        f"/consultations/{c['id']}/messages", {"text": "Ini datanya.", "client_id": str(ObjectId())}, expect=201
    )
    await officer.post(f"/consultations/{c['id']}/close", {}, expect=200)
    return dict(c)


async def test_the_questionnaire(anon: Api) -> None:
    q = await anon.get("/surveys/skm")
    assert [e["key"] for e in q["elements"]] == list(KEYS)
    for e in q["elements"]:
        assert [a["value"] for a in e["answers"]] == [1, 2, 3, 4] and e["label"]
    assert q["elements"][0]["answers"][0]["label"] == "Tidak sesuai"
    en = await anon.get("/surveys/skm?lang=en")
    assert en["elements"][0]["answers"][3]["label"] == "Very appropriate"


async def test_offered_in_the_room_and_the_rating_email_and_answered_once(
    client: Any, anon: Api, make_user: Any, make_staff: Any, services: Any
) -> None:
    await clock(client, datetime(2026, 11, 23, 10, 0, tzinfo=WITA))
    officer = await make_staff("officer", "7406", name="Budi")
    user = await make_user(name="Sari")
    stranger = await make_user(name="Lain")
    c = await closed_consultation(user, officer)
    # The room: a system message with the survey's link, after the rating prompt.
    msgs = (await user.get(f"/consultations/{c['id']}/messages"))["messages"]
    offered = [m for m in msgs if (m.get("data") or {}).get("event") == "survey_offered"]
    assert len(offered) == 1 and "Survei Kepuasan Masyarakat" in offered[0]["text"]
    link = re.search(r"http://pst\.test/survey\?consultation=(\w+)&token=([\w.\-]+)", offered[0]["text"])
    assert link and link.group(1) == c["id"]
    # The rating e-mail offers it too.
    mail = await services.db.outbox.find_one({"kind": "rating_request", "consultation_id": ObjectId(c["id"])})
    assert mail is not None and f"/survey?consultation={c['id']}&token=" in mail["text"]
    token = link.group(2)

    # The page asks what the link is about: the link's token (no sign-in) or the owner's session suffices.
    anon.client.session.cookie_jar.clear()
    info = await anon.get(f"/surveys/skm/target?consultation_id={c['id']}&token={token}")
    assert info == {
        "office": "7406", "office_name": "BPS Kabupaten Bombana", "time_zone": "Asia/Makassar", "channel": "online",
        "consultation_id": c["id"], "ticket_id": None, "number": c["number"], "answered": False,
    }  # fmt: skip
    status, _ = await anon.call("GET", f"/surveys/skm/target?consultation_id={c['id']}")
    assert status == 403
    status, _ = await anon.call("GET", f"/surveys/skm/target?consultation_id={c['id']}&token=forged")
    assert status == 400
    assert (await user.get(f"/surveys/skm/target?consultation_id={c['id']}"))["answered"] is False
    status, _ = await stranger.call("GET", f"/surveys/skm/target?consultation_id={c['id']}")
    assert status == 403

    # Someone else's consultation: 403; the owner's link: 201 once, then 409.
    body = {"office": "7406", "channel": "online", "consultation_id": c["id"], "answers": answers(HAND[0])}
    status, out = await stranger.call("POST", "/surveys/skm/responses", body)
    assert status == 403 and out["error"]["code"] == "forbidden"
    anon.client.session.cookie_jar.clear()
    out = await anon.post(
        "/surveys/skm/responses",
        {**body, "token": token, "profile": {"sex": "female", "age": 29, "education": "s2", "occupation": "peneliti"},
         "suggestion": "Tambah tabel per kecamatan"},
        expect=201,
    )  # fmt: skip
    assert out["response"]["ikm"] == round(32 * 25 / 9, 2) and out["response"]["consultation_id"] == c["id"]
    status, out = await user.call("POST", "/surveys/skm/responses", {**body, "answers": answers(HAND[1])})
    assert status == 409 and out["error"]["code"] == "already_answered"
    assert (await user.get(f"/surveys/skm/target?consultation_id={c['id']}"))["answered"] is True
    stored = await services.db.skm_responses.find_one({"consultation_id": ObjectId(c["id"])})
    assert stored["verified"] is True and stored["officer_name"] == "Budi"
    assert stored["user_id"] == ObjectId(user.user["id"])
    # The rating reminder of an answered consultation does not offer the survey again.
    assert await services.db.skm_responses.count_documents({}) == 1


async def test_after_a_walk_in_ticket_once(client: Any, anon: Api, make_staff: Any) -> None:
    await clock(client, datetime(2026, 11, 23, 9, 0, tzinfo=WITA))
    officer = await make_staff("officer", "7406", name="Wati")
    anon.client.session.cookie_jar.clear()
    taken = await anon.post("/offices/7406/queue/tickets", {}, expect=201)
    ticket, ticket_token = taken["ticket"], taken["token"]
    await officer.post("/offices/7406/queue/next", {"desk": "1"}, expect=200)
    done = await officer.post(f"/queue/tickets/{ticket['id']}/done", {"topic": "data"}, expect=200)
    cid = done["ticket"]["consultation_id"]
    anon.client.session.cookie_jar.clear()
    info = await anon.get(f"/surveys/skm/target?ticket_id={ticket['id']}&token={ticket_token}")
    assert info["channel"] == "walk_in" and info["number"] == ticket["number"] and info["answered"] is False
    status, _ = await anon.call("GET", f"/surveys/skm/target?ticket_id={ticket['id']}&token=wrong")
    assert status == 403
    body = {"office": "7406", "ticket_id": ticket["id"], "token": ticket_token, "answers": answers(HAND[2])}
    out = await anon.post("/surveys/skm/responses", body, expect=201)
    assert out["response"]["channel"] == "walk_in" and out["response"]["consultation_id"] == cid
    for again in (body, {"office": "7406", "consultation_id": cid, "answers": answers(HAND[3])}):
        status, out = await anon.call("POST", "/surveys/skm/responses", again)
        assert status == 409 and out["error"]["code"] == "already_answered"
    # A visitor who took no ticket: accepted, as often as they come.
    for _ in range(2):
        await anon.post("/surveys/skm/responses", {"office": "7406", "channel": "walk_in", "answers": answers(HAND[3])},
                        expect=201)  # fmt: skip


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"answers": {k: 3 for k in KEYS[:8]}}, "incomplete_answers"),
        ({"answers": {}}, "incomplete_answers"),
        ({"answers": {**{k: 3 for k in KEYS}, "sarana": 5}}, "invalid_answer"),
        ({"answers": {**{k: 3 for k in KEYS}, "sarana": 0}}, "invalid_answer"),
        ({"answers": {**{k: 3 for k in KEYS}, "sarana": "4"}}, "invalid_answer"),
        ({"answers": {**{k: 3 for k in KEYS}, "extra": 4}}, "unknown_element"),
        ({"answers": None}, "invalid_answers"),
        ({"answers": "3333"}, "invalid_answers"),
        ({"channel": "fax"}, "invalid_channel"),
        ({"channel": None}, "invalid_channel"),
        ({"office": "74x6"}, "invalid_office"),
        ({"profile": {"age": 300}}, "invalid_age"),
        ({"profile": {"sex": "unknown"}}, "invalid_sex"),
        ({"suggestion": "x" * 2001}, "suggestion_too_long"),
    ],
)
async def test_bad_responses_are_422(anon: Api, change: Doc, code: str) -> None:
    body = {"office": "7406", "channel": "online", "answers": {k: 3 for k in KEYS}, **change}
    status, out = await anon.call("POST", "/surveys/skm/responses", body)
    assert status == 422 and out["error"]["code"] == code, out


async def test_missing_answers_and_unknown_targets(anon: Api) -> None:
    status, out = await anon.call("POST", "/surveys/skm/responses", {"office": "7406", "channel": "online"})
    assert status == 422 and out["error"]["code"] == "missing_answers"
    body = {"office": "7406", "answers": {k: 3 for k in KEYS}}
    for target in ({"consultation_id": str(ObjectId())}, {"ticket_id": str(ObjectId())}, {"consultation_id": "x"}):
        status, out = await anon.call("POST", "/surveys/skm/responses", {**body, **target})
        assert status == 404, out
    status, out = await anon.call("POST", "/surveys/skm/responses", {**body, "office": "9999", "channel": "online"})
    assert status == 404 and out["error"]["code"] == "office_not_found"


# --- GET /reports/ikm --------------------------------------------------------------------------------


async def test_ikm_report_of_the_hand_worked_example(client: Any, anon: Api, make_user: Any, make_staff: Any) -> None:
    await clock(client, datetime(2026, 11, 10, 10, 0, tzinfo=WITA))
    sup = await make_staff("supervisor", "7406")
    officer = await make_staff("officer", "7406", name="Andi")
    user = await make_user()
    for row in HAND:
        c = await closed_consultation(user, officer)
        await user.post(
            "/surveys/skm/responses",
            {"office": "7406", "channel": "online", "consultation_id": c["id"], "answers": answers(row)},
            expect=201,
        )
    out = await sup.get("/reports/ikm?office=7406&from=2026-11-01&to=2026-11-30")
    assert out["responses"] == 4 and out["ikm"] == 81.94 and out["grade"] == "B" and out["grade_label"] == "Baik"
    assert [out["elements"][k]["nrr"] for k in KEYS] == HAND_NRR
    assert out["lowest"] == ["pengaduan", "waktu", "sarana"] and out["labels"]["sarana"] == "Sarana dan prasarana"
    assert out["by_channel"]["online"]["ikm"] == 81.94 and out["by_channel"]["walk_in"]["ikm"] is None
    assert [(o["officer"]["name"], o["responses"]) for o in out["by_officer"]] == [("Andi", 4)]
    assert out["sample"]["population"] == 4 and out["sample"]["required"] == 4 and out["sample"]["enough"] is True
    # Defaults: this office, this month up to today.
    assert (await sup.get("/reports/ikm"))["responses"] == 4
    # An empty period: zeros and nulls, never NaN.
    empty = await sup.get("/reports/ikm?office=7406&from=2025-01-01&to=2025-01-31")
    assert empty["responses"] == 0 and empty["ikm"] is None and empty["grade"] is None
    assert all(e["nrr"] is None for e in empty["elements"].values()) and empty["sample"]["required"] == 0


async def test_who_may_read_the_ikm_and_bad_dates(client: Any, anon: Api, make_user: Any, make_staff: Any) -> None:
    sup = await make_staff("supervisor", "7406")
    admin = await make_staff("admin", "7406")
    national = await make_staff("admin", None)
    officer = await make_staff("officer", "7406")
    other = await make_staff("supervisor", "1808")
    user = await make_user()
    q = "/reports/ikm?office=7406&from=2026-11-01&to=2026-11-30"
    for who, expected in ((sup, 200), (admin, 200), (national, 200), (officer, 403), (user, 403), (other, 403)):
        status, _ = await who.call("GET", q)
        assert status == expected, who.user
    assert (await national.get("/reports/ikm?office=all&from=2026-11-01&to=2026-11-30"))["office"] == "all"
    status, _ = await sup.call("GET", "/reports/ikm?office=all")
    assert status == 403
    anon.client.session.cookie_jar.clear()
    status, _ = await anon.call("GET", q)
    assert status == 401
    for bad, code in [
        ("from=2026-13-01&to=2026-12-31", "invalid_date"),
        ("from=01-11-2026&to=2026-11-30", "invalid_date"),
        ("from=2026-11-30&to=2026-11-01", "invalid_range"),
        ("from=2020-01-01&to=2026-11-30", "range_too_long"),
    ]:
        status, out = await sup.call("GET", f"/reports/ikm?office=7406&{bad}")
        assert status == 422 and out["error"]["code"] == code, bad
    status, out = await national.call("GET", "/reports/ikm?office=0000")
    assert status == 404
