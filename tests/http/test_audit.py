"""The audit log of staff actions: what is recorded (claims, takes, transfers, reads once a day, attachment
downloads, exports, ID reveals) and who may read it (admins of the office, national admins)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from server.domain.audit import local_day
from server.keys import SERVICES
from tests.conftest import Api
from tests.http.test_officer_tools import PNG, _upload

Doc = dict[str, Any]


async def open_consultation(user: Api, office: str = "7406", subject: str = "Data kemiskinan") -> Doc:
    _, c = await user.call(
        "POST",
        "/consultations",
        {"office": office, "topic": "data", "subject": subject, "text": "Mohon data"},
        expect=201,
    )
    return dict(c)


def actions(out: Doc) -> Counter[str]:
    return Counter(e["action"] for e in out["entries"])


async def test_staff_actions_are_recorded_and_shown_to_the_right_admins(
    make_user: Any, make_staff: Any, anon: Api, connect: Any, app: Any
) -> None:
    svc = app[SERVICES]
    rina = await make_user("Rina")
    budi = await make_staff("officer", "7406", name="Budi")
    ani = await make_staff("officer", "7406", name="Ani")
    wati = await make_staff("supervisor", "7406", name="Wati")
    admin = await make_staff("admin", "7406", name="Admin Bombana")
    admin_lampung = await make_staff("admin", "1808", name="Admin Lampung")
    national = await make_staff("admin", None, name="Admin Pusat")

    c = await open_consultation(rina)
    cid = c["id"]
    await budi.post(f"/consultations/{cid}/claim", expect=200)
    # Reading the conversation: once per staff member and day, however many pages or joins.
    for _ in range(3):
        await budi.get(f"/consultations/{cid}/messages")
    sock = await connect(ani)
    assert (await sock.call("consultation:join", {"consultation_id": cid}))["ok"] is True
    assert (await sock.call("consultation:join", {"consultation_id": cid}))["ok"] is True
    resp = await wati.client.get(
        f"/api/v1/consultations/{cid}/transcript", headers={"Authorization": f"Bearer {wati.token}"}
    )
    assert resp.status == 200
    # The person reading their own consultation is not a staff action.
    await rina.get(f"/consultations/{cid}/messages")
    # An attachment the person sent, downloaded by staff (the person's own download is not logged).
    status, msg = await _upload(rina, cid, PNG, "grafik.png", client_id="up-1")
    assert status == 201, msg
    for api in (budi, rina):
        resp = await api.client.get(
            f"/api/v1/attachments/{msg['attachment']['id']}", headers={"Authorization": f"Bearer {api.token}"}
        )
        assert resp.status == 200
    # A new day: reading again is recorded again.
    svc.clock.advance(86400)
    await budi.get(f"/consultations/{cid}/messages")
    # A supervisor takes the room over, then it moves to another office.
    await wati.post(f"/consultations/{cid}/take", expect=200)
    await wati.post(f"/consultations/{cid}/transfer", {"to_office": "1808"}, expect=200)
    # An export of the consultation list.
    resp = await wati.client.get(
        "/api/v1/reports/consultations?office=7406&format=csv", headers={"Authorization": f"Bearer {wati.token}"}
    )
    assert resp.status == 200
    await resp.read()
    # An ID number revealed at the desk (the walk-in module's own log, read through the same API).
    entry = (
        await anon.post(
            "/offices/7406/guestbook",
            {
                "name": "Tamu",
                "email": "tamu@example.org",
                "purpose": "Data",
                "id_type": "ktp",
                "id_number": "7406011111",
            },
            expect=201,
        )
    )["entry"]
    await budi.post(f"/guestbook/{entry['id']}/reveal-id", expect=200)

    mine = await admin.get("/audit")
    assert mine["office"] == "7406"
    assert actions(mine) == Counter(
        {"read": 4, "claim": 1, "take": 1, "transfer": 1, "attachment_download": 1, "export": 1, "id_reveal": 1}
    )
    reads = {e["actor"]["name"] for e in mine["entries"] if e["action"] == "read"}
    assert reads == {"Budi", "Ani", "Wati"}
    transfer = next(e for e in mine["entries"] if e["action"] == "transfer")
    assert transfer["consultation"] == {"id": cid, "number": c["number"]}
    assert transfer["details"]["to_office"] == "1808" and transfer["actor"]["role"] == "supervisor"
    download = next(e for e in mine["entries"] if e["action"] == "attachment_download")
    assert download["actor"]["name"] == "Budi" and download["details"]["filename"] == "grafik.png"
    assert [e["at"] for e in mine["entries"]] == sorted((e["at"] for e in mine["entries"]), reverse=True)
    # The office the consultation went to sees the transfer, nothing of 7406's own reads.
    theirs = await admin_lampung.get("/audit")
    assert actions(theirs) == Counter({"transfer": 1})

    # National admins: any office, or all; filters by actor, action and time.
    everything = await national.get("/audit")
    assert everything["office"] is None and sum(actions(everything).values()) == 10
    by_budi = await national.get(f"/audit?actor={budi.user['id']}")
    assert actions(by_budi) == Counter({"claim": 1, "read": 2, "attachment_download": 1, "id_reveal": 1})
    assert actions(await national.get("/audit?office=7406&action=id_reveal")) == Counter({"id_reveal": 1})
    # The office's day (7406 keeps WITA): a UTC date is another day from 16:00 UTC on.
    office_tz = (await svc.db.offices.find_one({"code": "7406"}))["time_zone"]
    today = local_day(svc.now(), office_tz)
    assert actions(await national.get(f"/audit?from={today}&to={today}")) == Counter(
        {"read": 1, "take": 1, "transfer": 1, "export": 1, "id_reveal": 1}
    )
    # Pages: newest first, `next_before` carries on without losing or repeating an entry.
    seen: list[str] = []
    query = "/audit?office=7406&limit=4"
    while True:
        page = await national.get(query)
        seen.extend(e["id"] for e in page["entries"])
        if not page["next_before"]:
            break
        query = f"/audit?office=7406&limit=4&before={page['next_before']}"
    assert sorted(seen) == sorted(e["id"] for e in (await national.get("/audit?office=7406"))["entries"])
    assert len(seen) == len(set(seen)) == 10


async def test_only_admins_read_the_audit_log(make_user: Any, make_staff: Any, anon: Api) -> None:
    rina = await make_user()
    officer = await make_staff("officer", "7406")
    sup = await make_staff("supervisor", "7406")
    admin = await make_staff("admin", "7406")
    anon.client.session.cookie_jar.clear()  # the test client keeps the last login's cookie
    assert (await anon.call("GET", "/audit"))[0] == 401
    for api in (rina, officer, sup):
        status, body = await api.call("GET", "/audit")
        assert status == 403 and body["error"]["code"] == "forbidden"
    assert (await admin.call("GET", "/audit?office=1808"))[0] == 403
    assert (await admin.call("GET", "/audit?office=7406"))[0] == 200
    for bad in (
        "from=kemarin",
        "to=2026-13-01",
        "actor=xyz",
        "action=steal",
        "before=2026-11-23T10:00:00",
        "before=12-zz",
    ):
        status, body = await admin.call("GET", f"/audit?{bad}")
        assert status == 422, (bad, status, body)
    assert (await admin.call("GET", "/audit?limit=0"))[0] == 400
