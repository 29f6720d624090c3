"""Officer tools through the app: attachments (GridFS, checked by content), canned responses, staff list."""

from __future__ import annotations

import io
import zipfile
from typing import Any

import aiohttp

from tests.conftest import Api

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 64
PDF = b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def _xlsx() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("xl/workbook.xml", "<workbook/>")
    return buf.getvalue()


async def _upload(api: Api, cid: str, data: bytes, filename: str, **fields: str) -> tuple[int, Any]:
    form = aiohttp.FormData()
    form.add_field("file", io.BytesIO(data), filename=filename, content_type="application/octet-stream")
    for k, v in fields.items():
        form.add_field(k, v)
    resp = await api.client.post(
        f"/api/v1/consultations/{cid}/attachments", data=form, headers={"Authorization": f"Bearer {api.token}"}
    )
    return resp.status, await resp.json()


async def _room(make_user: Any, make_staff: Any) -> tuple[Api, Api, str]:
    user = await make_user()
    officer = await make_staff("officer", "1808")
    c = await user.post(
        "/consultations", {"office": "1808", "topic": "data", "subject": "Tabel", "text": "Mohon tabelnya"}, expect=201
    )
    await officer.post(f"/consultations/{c['id']}/claim", expect=200)
    return user, officer, c["id"]


async def test_attachments_checked_by_content_and_private(make_user: Any, make_staff: Any, connect: Any) -> None:
    user, officer, cid = await _room(make_user, make_staff)
    osock = await connect(officer)
    await osock.call("consultation:join", {"consultation_id": cid})
    for data, name, kind in (
        (PNG, "grafik.png", "image/png"),
        (PDF, "../../etc/laporan.pdf", "application/pdf"),
        (_xlsx(), "tabel.xlsx", "spreadsheetml"),
        (b"tahun;jumlah\n2024;10\n2025;12\n", "data.csv", "text/csv"),
    ):
        status, msg = await _upload(user, cid, data, name, client_id=f"up-{name}")
        assert status == 201, msg
        assert msg["kind"] == "file" and kind in msg["attachment"]["content_type"]
        assert "/" not in msg["attachment"]["filename"]
        resp = await officer.client.get(
            f"/api/v1/attachments/{msg['attachment']['id']}", headers={"Authorization": f"Bearer {officer.token}"}
        )
        assert resp.status == 200 and await resp.read() == data
        assert resp.headers["Content-Disposition"].startswith("attachment")
    await osock.wait_for("message:new", lambda d: d["kind"] == "file")
    # Retrying the same upload (same client_id) does not add a second message.
    status, again = await _upload(user, cid, PNG, "grafik.png", client_id="up-grafik.png")
    assert status == 201
    page = await user.get(f"/consultations/{cid}/messages")
    assert sum(1 for m in page["messages"] if m["kind"] == "file") == 4
    # Renamed executables and other types are refused by content, whatever the name says.
    status, err = await _upload(user, cid, b"MZ\x90\x00" + b"\x00" * 100, "laporan.pdf")
    assert status == 415 and err["error"]["code"] == "unsupported_file_type"
    status, err = await _upload(user, cid, b"%PDF-" + b"x" * (10 * 1024 * 1024), "besar.pdf")
    assert status == 413 and err["error"]["code"] == "file_too_large"
    # Strangers cannot download.
    stranger = await make_user()
    first_file = next(m for m in page["messages"] if m["kind"] == "file")
    resp = await stranger.client.get(
        f"/api/v1/attachments/{first_file['attachment']['id']}", headers={"Authorization": f"Bearer {stranger.token}"}
    )
    assert resp.status in (403, 404)
    elsewhere = await make_staff("officer", "7406")
    resp = await elsewhere.client.get(
        f"/api/v1/attachments/{first_file['attachment']['id']}", headers={"Authorization": f"Bearer {elsewhere.token}"}
    )
    assert resp.status in (403, 404)


async def test_canned_responses_per_office(make_staff: Any, make_user: Any) -> None:
    officer = await make_staff("officer", "7411")
    supervisor = await make_staff("supervisor", "7411")
    other = await make_staff("officer", "7406")
    # The office starts with mongo-init's starter set (issue 17); the office's own are beside it.
    starter = {c["id"] for c in (await officer.get("/offices/7411/canned-responses"))["canned_responses"]}
    assert len(starter) == 4
    # Supervisors keep the set (issue 17 item 7); officers use it and may not change it.
    body = {"title": "Salam pembuka", "text": "Selamat datang di PST BPS Kolaka Timur.", "shortcut": "salam"}
    status, refused = await officer.call("POST", "/offices/7411/canned-responses", body)
    assert status == 403 and refused["error"]["code"] == "forbidden"
    created = await supervisor.post("/offices/7411/canned-responses", body, expect=201)
    assert (await officer.call("PATCH", f"/canned-responses/{created['id']}", {"text": "x"}))[0] == 403
    assert (await officer.call("DELETE", f"/canned-responses/{created['id']}"))[0] == 403
    status, body = await supervisor.call("PATCH", f"/canned-responses/{created['id']}", {"text": "Selamat pagi!"})
    assert status == 200 and body["text"] == "Selamat pagi!" and body["title"] == "Salam pembuka"
    listing = await officer.get("/offices/7411/canned-responses")
    assert [c["title"] for c in listing["canned_responses"] if c["id"] not in starter] == ["Salam pembuka"]
    assert (await other.call("GET", "/offices/7411/canned-responses"))[0] == 403
    assert (await other.call("PATCH", f"/canned-responses/{created['id']}", {"text": "x"}))[0] == 403
    user = await make_user()
    assert (await user.call("GET", "/offices/7411/canned-responses"))[0] == 403
    status, body = await supervisor.call("POST", "/offices/7411/canned-responses", {"title": "", "text": "x"})
    assert status == 422
    await supervisor.call("DELETE", f"/canned-responses/{created['id']}", expect=200)
    left = (await officer.get("/offices/7411/canned-responses"))["canned_responses"]
    assert {c["id"] for c in left} == starter


async def test_staff_list_shows_who_is_online(make_staff: Any, connect: Any) -> None:
    a = await make_staff("officer", "1600", name="Andi")
    b = await make_staff("supervisor", "1600", name="Bela")
    await connect(a)
    staff = {s["name"]: s for s in (await b.get("/offices/1600/staff"))["staff"]}
    assert staff["Andi"]["online"] is True and staff["Bela"]["online"] is False
