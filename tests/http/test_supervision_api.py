"""The supervisors' live overview, taking a room, and the casebook (history search, a consultation's record)
over HTTP and Socket.IO, with who may do what."""

from __future__ import annotations

from typing import Any

import pytest

from server.keys import SERVICES
from tests.conftest import Api
from tests.domain.test_reports import wita

Doc = dict[str, Any]
SKM_KEYS = ("persyaratan", "prosedur", "waktu", "biaya", "produk", "kompetensi", "perilaku", "pengaduan", "sarana")


async def open_consultation(user: Api, subject: str, text: str = "Halo, saya perlu data", topic: str = "data") -> Doc:
    _, c = await user.call(
        "POST", "/consultations", {"office": "7406", "topic": topic, "subject": subject, "text": text}, expect=201
    )
    return dict(c)


@pytest.fixture
async def office(app: Any, make_user: Any, make_staff: Any, connect: Any) -> Doc:
    """7406 on Monday 23 Nov 2026: three rooms of Sari (one breached, one answered, one queued), Budi online."""
    svc = app[SERVICES]
    svc.clock.set(wita(2026, 11, 16, 9, 0))
    sari = await make_user("Sari Wulandari", email="sari.w@example.id")
    budi = await make_staff("officer", "7406", name="Budi")
    sup = await make_staff("supervisor", "7406", name="Wati")
    old = await open_consultation(sari, "Data inflasi Bombana 2025")
    await budi.post(f"/consultations/{old['id']}/claim", expect=200)
    svc.clock.set(wita(2026, 11, 23, 9, 0))
    answered = await open_consultation(sari, "PDRB kecamatan", text="Mohon tabel PDRB per kecamatan")
    await budi.post(f"/consultations/{answered['id']}/claim", expect=200)
    await budi.post(
        f"/consultations/{answered['id']}/messages", {"text": "Tabelnya terlampir", "client_id": "a1"}, expect=201
    )
    svc.clock.set(wita(2026, 11, 23, 10, 0))
    queued = await open_consultation(sari, "Klasifikasi KBLI", topic="classification")
    svc.clock.set(wita(2026, 11, 23, 10, 30))
    budi_socket = await connect(budi)
    return {
        "svc": svc,
        "sari": sari,
        "budi": budi,
        "sup": sup,
        "old": old,
        "answered": answered,
        "queued": queued,
        "budi_socket": budi_socket,
    }


async def test_the_overview_of_an_office(office: Doc, make_staff: Any) -> None:
    out = await office["sup"].get("/offices/7406/overview")
    rows = out["consultations"]
    assert [r["id"] for r in rows][0] == office["old"]["id"]  # breached first
    first = rows[0]
    assert first["sla_live"] == "breached" and first["waiting_side"] == "officer"
    assert first["assigned_to"]["name"] == "Budi"
    assert first["age_minutes"] == 7 * 24 * 60 + 90
    answered = next(r for r in rows if r["id"] == office["answered"]["id"])
    assert answered["sla_live"] == "met" and answered["waiting_side"] == "user"
    queued = next(r for r in rows if r["id"] == office["queued"]["id"])
    assert queued["waiting_side"] == "officer" and queued["officer_unread"] == 1
    assert out["totals"] == {"open": 3, "queued": 1, "active": 2, "breached": 1, "at_risk": 0, "waiting_for_officer": 2}
    assert out["queue"]["count"] == 1 and out["queue"]["oldest_wait_minutes"] == 30
    budi = next(o for o in out["officers"] if o["name"] == "Budi")
    assert budi == {**budi, "active": 2, "cap": 8, "online": True, "over_cap": False, "at_risk": 1}
    wati = next(o for o in out["officers"] if o["name"] == "Wati")
    assert wati["online"] is False and wati["active"] == 0
    assert out["walk_in"]["tickets"] == 0 and out["walk_in"]["day"] == "2026-11-23"

    # Today's walk-in desk: a ticket from the kiosk shows as waiting.
    await office["sari"].call("POST", "/offices/7406/queue/tickets", {}, expect=201)
    out = await office["sup"].get("/offices/7406/overview")
    assert out["walk_in"]["tickets"] == 1 and out["walk_in"]["waiting"] == 1


async def test_who_may_see_the_overview(office: Doc, anon: Api, make_staff: Any) -> None:
    anon.client.session.cookie_jar.clear()  # the logins above left a session cookie in the shared client
    await anon.call("GET", "/offices/7406/overview", expect=401)
    await office["sari"].call("GET", "/offices/7406/overview", expect=403)
    await office["budi"].call("GET", "/offices/7406/overview", expect=403)
    await (await make_staff("supervisor", "1808")).call("GET", "/offices/7406/overview", expect=403)
    await (await make_staff("admin", "1808")).call("GET", "/offices/7406/overview", expect=403)
    await (await make_staff("admin", "7406")).call("GET", "/offices/7406/overview", expect=200)
    national = await make_staff("admin", None)
    await national.call("GET", "/offices/7406/overview", expect=200)
    await national.call("GET", "/offices/9999/overview", expect=404)
    # The nation at a glance: national admins only.
    out = await national.get("/overview")
    bombana = next(o for o in out["offices"] if o["code"] == "7406")
    assert (bombana["open"], bombana["queued"], bombana["breached"], bombana["staff_online"]) == (3, 1, 1, 1)
    assert bombana["oldest_wait_minutes"] == 30
    await office["sup"].call("GET", "/overview", expect=403)
    await (await make_staff("admin", "7406")).call("GET", "/overview", expect=403)


async def test_a_supervisor_takes_a_room(office: Doc, make_staff: Any) -> None:
    sup, budi = office["sup"], office["budi"]
    cid = office["old"]["id"]
    await budi.call("POST", f"/consultations/{cid}/take", expect=403)
    await (await make_staff("supervisor", "1808")).call("POST", f"/consultations/{cid}/take", expect=403)
    taken = await sup.post(f"/consultations/{cid}/take", expect=200)
    assert taken["assigned_to"]["name"] == "Wati" and taken["status"] == "active"
    event = await office["budi_socket"].wait_for(
        "consultation:updated", lambda c: c["id"] == cid and c["assigned_to"]["name"] == "Wati"
    )
    assert event["status"] == "active"
    msgs = (await sup.get(f"/consultations/{cid}/messages"))["messages"]
    last = msgs[-1]
    assert last["key"] == "consultation.taken" and last["params"] == {"officer": "Wati", "previous": "Budi"}
    assert "Wati" in last["text"] and "Budi" in last["text"]
    # Taking it again is harmless; the overview now counts it against Wati.
    await sup.post(f"/consultations/{cid}/take", expect=200)
    out = await sup.get("/offices/7406/overview")
    load = {o["name"]: o["active"] for o in out["officers"]}
    assert load["Wati"] == 1 and load["Budi"] == 1
    # A queued room is simply claimed; a closed one cannot be taken.
    claimed = await sup.post(f"/consultations/{office['queued']['id']}/take", expect=200)
    assert claimed["assigned_to"]["name"] == "Wati"
    await sup.post(f"/consultations/{cid}/close", {"summary": "Selesai"}, expect=200)
    _, body = await sup.call("POST", f"/consultations/{cid}/take", expect=409)
    assert body["error"]["code"] == "consultation_closed"
    # Reassigning is the transfer: back to Budi.
    back = await sup.post(
        f"/consultations/{office['answered']['id']}/transfer",
        {"to_user": budi.user["id"]},
        expect=200,  # type: ignore[index]
    )
    assert back["assigned_to"]["name"] == "Budi"


async def test_history_search(office: Doc, make_user: Any, make_staff: Any) -> None:
    sup, budi, svc = office["sup"], office["budi"], office["svc"]
    other = await make_user("Agus Salim", email="agus@example.id")
    closed = await open_consultation(other, "Jumlah penduduk", text="Berapa penduduk kecamatan Rarowatu?")
    await budi.post(f"/consultations/{closed['id']}/claim", expect=200)
    svc.clock.set(wita(2026, 11, 23, 10, 45))
    await budi.post(f"/consultations/{closed['id']}/close", {"summary": "Dijawab dengan tabel"}, expect=200)

    async def ids(query: str, api: Api | None = None) -> list[str]:
        out = await (api or budi).get(f"/history?{query}")
        return [c["id"] for c in out["consultations"]]

    everything = await ids("")
    assert len(everything) == 4 and everything[0] == closed["id"]  # newest first, closed included
    assert await ids(f"q={closed['number']}") == [closed["id"]]
    assert await ids(f"q={closed['number']}&status=active") == []  # the number, and the other filters too
    assert await ids(f"q={closed['number']}&from=2026-11-24") == []
    assert await ids("q=penduduk") == [closed["id"]]  # the subject
    assert await ids("q=AGUS") == [closed["id"]]  # the user's name, any case
    assert await ids("q=sari.w@example") == [office["queued"]["id"], office["answered"]["id"], office["old"]["id"]]
    assert await ids("q=Rarowatu") == [closed["id"]]  # a message's text
    assert await ids("q=tabelnya") == [office["answered"]["id"]]  # an officer's reply
    assert await ids("q=7406-2026") == everything  # the start of a number
    assert await ids("status=closed") == [closed["id"]]
    assert await ids("status=queued") == [office["queued"]["id"]]
    assert await ids("channel=walk_in") == []
    assert await ids(f"officer={budi.user['id']}&status=active") == [office["answered"]["id"], office["old"]["id"]]  # type: ignore[index]
    assert await ids("from=2026-11-16&to=2026-11-16") == [office["old"]["id"]]
    assert await ids("q=a+b+c+(") == []  # regex characters are text
    page = await budi.get("/history?limit=2")
    assert len(page["consultations"]) == 2 and page["more"] is True
    page = await budi.get("/history?limit=2&offset=2")
    assert len(page["consultations"]) == 2 and page["more"] is False
    assert page["message_scope"] == {"rooms": 0, "complete": True}

    # Other offices' staff see nothing of it, users may not search, bad filters are 422.
    stranger = await make_staff("officer", "1808")
    await stranger.call("GET", "/history?office=7406", expect=403)
    assert await ids("q=penduduk", stranger) == []
    assert await ids(f"q={closed['number']}", stranger) == []
    await office["sari"].call("GET", "/history", expect=403)
    for bad in ("status=lost", "channel=fax", "from=2026-02-30", "from=2026-11-20&to=2026-11-01"):
        await budi.call("GET", f"/history?{bad}", expect=422)
    national = await make_staff("admin", None)
    assert len(await ids("", national)) == 4

    # The record of the closed one: summary, durations, rating, the user's previous consultations.
    svc.clock.set(wita(2026, 11, 23, 11, 0))
    await other.post(f"/consultations/{closed['id']}/rating", {"score": 4, "comment": "Cepat"}, expect=201)
    rec = await sup.get(f"/consultations/{closed['id']}/record")
    assert rec["survey"] is None
    answers = dict.fromkeys(SKM_KEYS, 4) | {"waktu": 3}
    await other.post(
        "/surveys/skm/responses", {"office": "7406", "consultation_id": closed["id"], "answers": answers}, expect=201
    )
    rec = await sup.get(f"/consultations/{closed['id']}/record")
    assert rec["survey"]["answers"] == answers and rec["survey"]["ikm"] == round((8 * 4 + 3) / 9 * 25, 2)
    summary = await sup.get("/reports/summary?office=7406&from=2026-11-01&to=2026-11-30")
    assert summary["ikm"]["responses"] == 1 and summary["ikm"]["ikm"] == rec["survey"]["ikm"]
    assert rec["summary"] == "Dijawab dengan tabel"
    assert rec["rating"]["score"] == 4 and rec["rating"]["comment"] == "Cepat"
    assert rec["durations"] == {"first_response_wmin": None, "resolution_wmin": 15}  # 10:30 to 10:45, no reply
    assert rec["previous"] == []
    sari_rec = await budi.get(f"/consultations/{office['queued']['id']}/record")
    assert [p["id"] for p in sari_rec["previous"]] == [office["answered"]["id"], office["old"]["id"]]
    await stranger.call("GET", f"/consultations/{closed['id']}/record", expect=403)
    await other.call("GET", f"/consultations/{closed['id']}/record", expect=403)
