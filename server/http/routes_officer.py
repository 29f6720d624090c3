"""Officer tools and files over HTTP: attachments, canned responses, transcript, delivery log, staff list."""

from __future__ import annotations

from urllib.parse import quote

import aiohttp
from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.multipart import BadContentDispositionHeader, BadContentDispositionParam
from pydantic import Field

from server.domain import access, audit, officer_tools
from server.domain.errors import BadRequest, Conflict, PayloadTooLarge
from server.domain.files import MAX_ATTACHMENT_BYTES, TYPES
from server.domain.models import public_message
from server.http.api import Api, json_response
from server.http.auth import me
from server.http.schemas import In, OkOut, Out
from server.keys import SERVICES
from server.mail import mailing
from server.mail.transcript import transcript_page

api = Api()


class CannedIn(In):
    title: str = Field(min_length=1, max_length=120)
    text: str = Field(min_length=1, max_length=4000)
    shortcut: str | None = Field(default=None, max_length=30)
    answer: bool = Field(default=True, description="inserted, it answers the question (a greeting does not)")


class CannedPatch(In):
    title: str | None = Field(default=None, min_length=1, max_length=120)
    text: str | None = Field(default=None, min_length=1, max_length=4000)
    shortcut: str | None = Field(default=None, max_length=30)
    answer: bool | None = None


class CannedOut(Out):
    id: str
    office: str
    title: str
    text: str
    shortcut: str | None = None
    answer: bool = True


class CannedListOut(Out):
    canned_responses: list[CannedOut]


class DeliveryOut(Out):
    id: str
    kind: str
    to: str
    status: str
    attempts: int
    created_at: str | None
    sent_at: str | None = None
    last_error: str | None = None
    last_attempt_at: str | None = None
    # A waiting mail (status pending): when the worker tries it next; retried for days while SMTP is down.
    next_attempt_at: str | None = None


class DeliveriesOut(Out):
    deliveries: list[DeliveryOut]


class StaffOut(Out):
    id: str
    name: str
    role: str
    office: str | None
    online: bool


class StaffListOut(Out):
    staff: list[StaffOut]


UPLOAD_CONTENT = {
    "multipart/form-data": {
        "schema": {
            "type": "object",
            "required": ["file"],
            "properties": {
                "file": {
                    "type": "string",
                    "format": "binary",
                    "description": "PDF, XLSX, CSV, DOCX, PNG or JPG, at most 10 MB (checked by content)",
                },
                "caption": {"type": "string", "maxLength": 4000},
                "client_id": {"type": "string", "maxLength": 100},
            },
        }
    }
}


@api.route(
    "POST",
    "/consultations/{id}/attachments",
    summary="Upload a file into the room (posted as a file message)",
    response={"$ref": "#/components/schemas/MessageOut"},
    status=201,
    tags=["consultations"],
    request_content=UPLOAD_CONTENT,
    errors=(404, 409, 413, 415, 422),
)
async def upload(request: web.Request) -> web.Response:
    user = me(request)
    if not request.content_type.startswith("multipart/"):
        raise BadRequest("expected_multipart", "upload as multipart/form-data with a 'file' field")
    data: bytes | None = None
    filename: str | None = None
    fields: dict[str, str] = {}
    try:
        reader = await request.multipart()
        while True:
            part = await reader.next()
            if part is None:
                break
            if not isinstance(part, aiohttp.BodyPartReader):
                continue
            if part.name == "file":
                buf = bytearray()
                while True:
                    chunk = await part.read_chunk(256 * 1024)
                    if not chunk:
                        break
                    buf.extend(chunk)
                    if len(buf) > MAX_ATTACHMENT_BYTES:
                        raise PayloadTooLarge("file_too_large", "the file is over 10 MB / berkas melebihi 10 MB")
                data = bytes(buf)
                filename = part.filename
            elif part.name in ("caption", "client_id"):
                fields[part.name] = (await part.read(decode=True)).decode("utf-8", "replace")[:4000]
    except (ValueError, LookupError, HttpProcessingError, BadContentDispositionHeader, BadContentDispositionParam):
        # aiohttp's parser on a broken body: no or wrong boundary, cut short, a header it cannot decode
        # (UnicodeDecodeError is a ValueError), an unknown encoding (LookupError); its warnings about a
        # bad Content-Disposition where warnings are errors. The client's fault.
        raise BadRequest("malformed_multipart", "the upload is not valid multipart/form-data") from None
    if data is None:
        raise BadRequest("missing_file", "no 'file' field in the upload")
    msg = await officer_tools.upload_attachment(
        request.app[SERVICES],
        user,
        request.match_info["id"],
        data=data,
        filename=filename,
        caption=fields.get("caption"),
        client_id=fields.get("client_id") or None,
    )
    return json_response(public_message(msg), status=201)


@api.route(
    "GET",
    "/attachments/{id}",
    summary="Download an attachment (participants and the office's staff)",
    response={"type": "string", "format": "binary"},
    content_type="application/octet-stream",
    other_content_types=tuple(TYPES.values()),  # served as the type its content was checked to be
    tags=["consultations"],
    errors=(404,),
)
async def download(request: web.Request) -> web.StreamResponse:
    meta, data = await officer_tools.download_attachment(request.app[SERVICES], me(request), request.match_info["id"])
    name = meta["filename"]
    inline = request.query.get("inline") == "1" and meta["content_type"] in ("image/png", "image/jpeg")
    disposition = "inline" if inline else "attachment"
    headers = {
        "Content-Disposition": f"{disposition}; filename=\"{quote(name)}\"; filename*=UTF-8''{quote(name)}",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "Cache-Control": "private, max-age=3600",
    }
    return web.Response(body=data, content_type=meta["content_type"], headers=headers)


@api.route(
    "GET",
    "/offices/{code}/canned-responses",
    summary="The office's canned responses",
    auth="staff",
    response=CannedListOut,
    tags=["officer"],
)
async def list_canned(request: web.Request) -> web.Response:
    items = await officer_tools.list_canned(request.app[SERVICES], me(request), request.match_info["code"])
    return json_response({"canned_responses": [officer_tools.public_canned(d) for d in items]})


@api.route(
    "POST",
    "/offices/{code}/canned-responses",
    summary="Create a canned response (the office's supervisors and admins)",
    auth="staff",
    body=CannedIn,
    response=CannedOut,
    status=201,
    tags=["officer"],
    errors=(404, 422),
)
async def create_canned(request: web.Request, body: CannedIn) -> web.Response:
    doc = await officer_tools.create_canned(
        request.app[SERVICES], me(request), request.match_info["code"], **body.model_dump()
    )
    return json_response(officer_tools.public_canned(doc), status=201)


@api.route(
    "PATCH",
    "/canned-responses/{id}",
    summary="Edit a canned response (the office's supervisors and admins)",
    auth="staff",
    body=CannedPatch,
    response=CannedOut,
    tags=["officer"],
    errors=(404, 422),
)
async def update_canned(request: web.Request, body: CannedPatch) -> web.Response:
    doc = await officer_tools.update_canned(
        request.app[SERVICES], me(request), request.match_info["id"], body.model_dump(exclude_none=True)
    )
    return json_response(officer_tools.public_canned(doc))


@api.route(
    "DELETE",
    "/canned-responses/{id}",
    summary="Delete a canned response (the office's supervisors and admins)",
    auth="staff",
    response=OkOut,
    tags=["officer"],
    errors=(404,),
)
async def delete_canned(request: web.Request) -> web.Response:
    await officer_tools.delete_canned(request.app[SERVICES], me(request), request.match_info["id"])
    return json_response({"ok": True})


@api.route(
    "GET",
    "/consultations/{id}/deliveries",
    summary="E-mails sent about this consultation (staff)",
    auth="staff",
    response=DeliveriesOut,
    tags=["officer"],
    errors=(404,),
)
async def deliveries(request: web.Request) -> web.Response:
    items = await officer_tools.deliveries(request.app[SERVICES], me(request), request.match_info["id"])
    return json_response({"deliveries": items})


class RequesterOut(Out):
    id: str | None
    name: str | None
    email: str | None
    phone: str | None
    institution: str | None
    occupation: str | None
    lang: str | None
    registered_at: str | None


@api.route(
    "GET",
    "/consultations/{id}/requester",
    summary="Who asked: the profile the user registered with (phone, institution, occupation)",
    auth="staff",
    response=RequesterOut,
    tags=["officer"],
    errors=(403, 404),
)
async def requester(request: web.Request) -> web.Response:
    out = await officer_tools.requester(request.app[SERVICES], me(request), request.match_info["id"])
    return json_response(out)


@api.route(
    "GET",
    "/offices/{code}/staff",
    summary="Staff of an office, for transfers",
    auth="staff",
    response=StaffListOut,
    tags=["officer"],
)
async def staff(request: web.Request) -> web.Response:
    items = await officer_tools.office_staff(request.app[SERVICES], me(request), request.match_info["code"])
    return json_response({"staff": items})


@api.route(
    "GET",
    "/consultations/{id}/transcript",
    summary="The transcript as HTML (?format=text for plain text)",
    response={"type": "string"},
    content_type="text/html",
    other_content_types=("text/plain",),
    tags=["consultations"],
    errors=(400, 404),
    query={"format": {"type": "string", "enum": ["html", "text"]}},
)
async def transcript(request: web.Request) -> web.Response:
    fmt = request.query.get("format", "html")
    if fmt not in ("html", "text"):
        raise BadRequest("invalid_format", "format must be html or text")
    svc = request.app[SERVICES]
    user = me(request)
    c = await access.load_for(svc, user, request.match_info["id"])
    await audit.record_read(svc, user, c)
    _, text, html = await mailing.transcript(svc, c, user.get("lang", "id"))
    if fmt == "text":
        return web.Response(text=text, content_type="text/plain", charset="utf-8")
    return web.Response(
        text=transcript_page(c, html, user.get("lang", "id")),
        content_type="text/html",
        charset="utf-8",
        headers={"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'"},
    )


@api.route(
    "POST",
    "/consultations/{id}/transcript/email",
    summary="E-mail me the transcript again",
    response=OkOut,
    status=202,
    tags=["consultations"],
    errors=(404, 409),
)
async def transcript_email(request: web.Request) -> web.Response:
    svc = request.app[SERVICES]
    user = me(request)
    c = await access.load_for(svc, user, request.match_info["id"])
    if c["status"] != "closed":
        raise Conflict("not_closed", "the transcript is e-mailed once the consultation is closed")
    await mailing.transcript_again(svc, c)
    return json_response({"ok": True}, status=202)
