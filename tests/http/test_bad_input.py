"""Bad input at the edges: each is a 4xx with an error code, never a 500."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Api

HUGE = 2**70


async def _room(make_user: Any) -> tuple[Api, str]:
    user = await make_user()
    body = await user.post(
        "/consultations", {"office": "7406", "topic": "data", "subject": "Inflasi", "text": "Halo"}, expect=201
    )
    return user, body["id"]


async def _raw_post(api: Api, path: str, body: bytes, content_type: str | None) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {api.token}"}
    if content_type is not None:
        headers["Content-Type"] = content_type
    resp = await api.client.post("/api/v1" + path, data=body, headers=headers)
    ctype = resp.headers.get("Content-Type", "")
    return resp.status, (await resp.json() if "json" in ctype else await resp.text())


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"", id="no-body"),
        pytest.param(b"--b--\r\n", id="only-the-closing-boundary"),
        pytest.param(b"garbage without any boundary", id="no-boundary"),
        pytest.param(
            b'--b\r\nContent-Disposition: form-data; name="file"; filename="\xff\xfe.pdf"\r\n\r\n%PDF-1.4\r\n--b--\r\n',
            id="invalid-utf8-filename",
        ),
        pytest.param(
            b'--b\r\nContent-Disposition: form-data; name="f\xc3\xafle"\r\n\r\n%PDF-1.4\r\n--b--\r\n',
            id="non-ascii-name",
        ),
        pytest.param(
            b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.pdf"\r\n'
            b"Content-Type: appl\xc3\xafcation/pdf\r\n\r\n%PDF-1.4\r\n--b--\r\n",
            id="non-ascii-content-type",
        ),
        pytest.param(
            b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.pdf"\r\n'
            b"Content-Transfer-Encoding: b\xc3\xa1se64\r\n\r\n%PDF-1.4\r\n--b--\r\n",
            id="non-ascii-transfer-encoding",
        ),
        pytest.param(
            b"--b\r\nContent-Disposition: form-data; name=\"file\"; filename*=UTF-8''%FF%FE.pdf\r\n\r\n"
            b"%PDF-1.4\r\n--b--\r\n",
            id="bad-rfc5987-filename",
        ),
        pytest.param(
            b'--b\r\nContent-Disp\xc3\xb6sition: form-data; name="file"\r\n\r\n%PDF-1.4\r\n--b--\r\n',
            id="non-ascii-header-name",
        ),
        pytest.param(
            b'--b\r\nContent-Disposition: form-data; name="caption"\r\nContent-Encoding: gzip\r\n\r\nhalo\r\n--b--\r\n',
            id="bad-content-encoding",
        ),
        pytest.param(b'--b\r\nContent-Disposition: form-data; name="caption"\r\n\r\nhalo\r\n--b', id="unterminated"),
    ],
)
async def test_bad_multipart_upload_is_a_4xx(make_user: Any, body: bytes) -> None:
    user, cid = await _room(make_user)
    status, out = await _raw_post(user, f"/consultations/{cid}/attachments", body, "multipart/form-data; boundary=b")
    # A file that still arrived may be accepted (its name cleaned); anything else is the client's fault.
    assert status == 201 or 400 <= status < 500, (status, out)
    if status != 201:
        assert out["error"]["code"], out


async def test_upload_with_a_non_ascii_filename_works(make_user: Any) -> None:
    user, cid = await _room(make_user)
    body = (
        b'--b\r\nContent-Disposition: form-data; name="file"; filename="data \xc3\xa9.csv"\r\n'
        b"Content-Type: text/csv\r\n\r\ntahun,nilai\r\n2024,1\r\n\r\n--b--\r\n"
    )
    status, out = await _raw_post(user, f"/consultations/{cid}/attachments", body, "multipart/form-data; boundary=b")
    assert status in (201, 415), (status, out)  # accepted, or refused by content, never a 500


async def test_method_not_allowed_carries_allow(anon: Api) -> None:
    resp = await anon.client.request("DELETE", "/api/v1/offices")
    assert resp.status == 405
    assert "GET" in resp.headers.get("Allow", ""), dict(resp.headers)
    assert (await resp.json())["error"]["code"] == "method_not_allowed"
    resp = await anon.client.request("PUT", "/api/v1/auth/login")
    assert resp.status == 405 and "POST" in resp.headers.get("Allow", "")


@pytest.mark.parametrize("param", ["after_seq", "before_seq", "limit"])
async def test_huge_numbers_in_the_history_query_are_a_4xx(make_user: Any, param: str) -> None:
    user, cid = await _room(make_user)
    for value in (str(HUGE), str(-HUGE), "1" * 5000, "1e9", "NaN"):
        status, out = await user.call("GET", f"/consultations/{cid}/messages?{param}={value}")
        assert 400 <= status < 500, (param, value, status, out)
        assert out["error"]["code"] == f"invalid_{param}", out


async def test_huge_numbers_in_bodies_are_a_4xx(make_user: Any) -> None:
    user, cid = await _room(make_user)
    for seq in (HUGE, -HUGE, 2**63):
        status, out = await user.call("POST", f"/consultations/{cid}/read", {"seq": seq})
        # Past the last message is clamped to it (200); out of range is invalid_seq; never a 500.
        assert status == 200 or out["error"]["code"] == "invalid_seq", (seq, status, out)
    one = await user.get(f"/consultations/{cid}")
    assert one["unread"] == 0


@pytest.mark.parametrize("field", ["text", "client_id"])
async def test_lone_surrogates_are_refused_with_422(make_user: Any, field: str) -> None:
    user, cid = await _room(make_user)
    body = {"text": "halo", "client_id": "c-1"}
    body[field] = "ab\ud800cd"
    status, out = await user.call("POST", f"/consultations/{cid}/messages", body)
    assert status == 422, (status, out)
    assert out["error"]["code"] == f"invalid_{field}", out
    # Nothing was stored: the room still has only its first message.
    history = await user.get(f"/consultations/{cid}/messages")
    assert [m["text"] for m in history["messages"]] == ["Halo"]


async def test_lone_surrogates_when_opening_and_registering_are_refused(make_user: Any, anon: Api) -> None:
    user = await make_user()
    status, out = await user.call(
        "POST", "/consultations", {"office": "7406", "topic": "data", "subject": "\udfff", "text": "Halo"}
    )
    assert status == 422 and out["error"]["code"] == "invalid_subject", out
    status, out = await anon.call(
        "POST", "/auth/register", {"email": "s@example.id", "password": "rahasia-123", "name": "A\ud83d"}
    )
    assert status == 422 and out["error"]["code"] == "invalid_name", out


@pytest.mark.parametrize("raw", ["%ED%A0%80", "%FF%FE", "a%00b", "%C0%AF"])
async def test_undecodable_query_strings_are_not_a_500(make_user: Any, raw: str) -> None:
    user, cid = await _room(make_user)
    for path in (f"/kb/search?q={raw}", f"/kb/search?q=inflasi&office={raw}", f"/consultations?status={raw}"):
        status, out = await user.call("GET", path)
        assert status < 500, (path, status, out)


async def test_the_message_action_refuses_lone_surrogates_from_any_channel(make_user: Any, services: Any) -> None:
    """Channels that do not go through the request models (e-mail, WhatsApp intake) reach the same rule."""
    from server.domain import messages
    from server.domain.errors import ValidationFailed

    user, cid = await _room(make_user)
    doc = await services.db.users.find_one({"email": user.user["email"]})
    for kwargs, code in (
        ({"text": "a\ud800b"}, "invalid_text"),
        ({"text": "\udfff"}, "invalid_text"),
        ({"text": "ok", "client_id": "c\udc80"}, "invalid_client_id"),
    ):
        with pytest.raises(ValidationFailed) as err:
            await messages.post_message(services, doc, cid, **kwargs)
        assert err.value.code == code, (kwargs, err.value.code)
    with pytest.raises(ValidationFailed):
        messages.clean_text("x\ud83d")
    assert messages.clean_text("ok 😀") == "ok 😀"
