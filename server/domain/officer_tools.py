"""Officer tools: attachments, canned responses, the delivery log, the office's staff list."""

from __future__ import annotations

from typing import Any

from server.domain import access, audit, messages
from server.domain.errors import Forbidden, NotFound, ValidationFailed
from server.domain.files import check_attachment
from server.domain.models import is_staff, iso, object_id
from server.services import Services
from server.storage.atomic import update_and_get

Doc = dict[str, Any]

CANNED_MAX = 300


async def upload_attachment(
    svc: Services,
    user: Doc,
    consultation: Any,
    *,
    data: bytes,
    filename: str | None,
    caption: str | None = None,
    client_id: str | None = None,
) -> Doc:
    """Store a checked file in GridFS and post it as a `file` message; returns the message."""
    from server.storage import files

    c = await access.load_for(svc, user, consultation)
    if c["status"] == "closed" and not (c.get("close_reason") == "idle" and not is_staff(user)):
        from server.domain.errors import Conflict

        raise Conflict("consultation_closed", "this consultation is closed / konsultasi sudah ditutup")
    if client_id:
        existing = await svc.db.messages.find_one({"consultation_id": c["_id"], "client_id": client_id})
        if existing is not None:
            return existing
    kind, content_type, name = check_attachment(data, filename)
    text = messages.clean_text(caption, field="caption") if caption and caption.strip() else ""
    file_id = await files.store(
        svc.db,
        data,
        name,
        {"consultation_id": c["_id"], "content_type": content_type, "uploaded_by": user["_id"], "kind": kind},
    )
    attachment = {"id": file_id, "filename": name, "size": len(data), "content_type": content_type}
    await svc.db.attachments.insert_one(
        {
            "_id": file_id,
            "consultation_id": c["_id"],
            "filename": name,
            "size": len(data),
            "content_type": content_type,
            "uploaded_by": user["_id"],
            "created_at": svc.now(),
        }
    )
    msg, _ = await messages.post_message(
        svc, user, c, text=text or name, kind="file", client_id=client_id, attachment=attachment
    )
    return msg


async def download_attachment(svc: Services, user: Doc, attachment_id: str) -> tuple[Doc, bytes]:
    """The attachment's record and bytes, for participants of its consultation and its office's staff."""
    from server.storage import files

    fid = object_id(attachment_id, message="attachment not found / lampiran tidak ditemukan")
    meta = await svc.db.attachments.find_one({"_id": fid})
    if meta is None:
        raise NotFound("not_found", "attachment not found")
    c = await access.load_for(svc, user, meta["consultation_id"])  # 404 for strangers
    data = await files.read(svc.db, fid)
    if data is None:
        raise NotFound("not_found", "attachment not found")
    await audit.record(
        svc,
        user,
        "attachment_download",
        office=c["office"],
        consultation=c,
        target=fid,
        details={"filename": meta.get("filename")},
    )
    return meta, data


def _check_office(user: Doc, office: str) -> None:
    if not is_staff(user):
        raise Forbidden("forbidden", "staff only")
    if user.get("office") not in (None, office):
        raise Forbidden("forbidden", "not your office")


# Who may change an office's canned responses (issue 17 item 7): its supervisors and admins; officers use them.
CANNED_EDITORS = ("supervisor", "admin")


def _check_canned_editor(user: Doc, office: str) -> None:
    _check_office(user, office)
    if user.get("role") not in CANNED_EDITORS:
        raise Forbidden(
            "forbidden", "only supervisors change canned responses / hanya supervisor yang mengubah jawaban siap pakai"
        )


def public_canned(doc: Doc) -> Doc:
    return {
        "id": str(doc["_id"]),
        "office": doc["office"],
        "title": doc["title"],
        "text": doc["text"],
        "shortcut": doc.get("shortcut"),
        "answer": doc.get("answer", True),
        "updated_at": iso(doc.get("updated_at")),
        "updated_by": doc.get("updated_by_name"),
    }


def _canned_fields(title: Any, text: Any, shortcut: Any, answer: Any = None) -> Doc:
    out: Doc = {}
    if answer is not None:
        # Whether the inserted text answers the question (a greeting or a request for clarification
        # does not, so it leaves the SLA clock running; server.domain.messages.post_message).
        out["answer"] = bool(answer)
    if title is not None:
        out["title"] = messages.clean_text(title, field="title", max_chars=120)
    if text is not None:
        out["text"] = messages.clean_text(text)
    if shortcut is not None:
        shortcut = str(shortcut).strip().lower()
        if shortcut and not shortcut.replace("-", "").replace("_", "").isalnum() or len(shortcut) > 30:
            raise ValidationFailed("invalid_shortcut", "shortcut: letters, digits, - and _ only", field="shortcut")
        out["shortcut"] = shortcut or None
    return out


async def list_canned(svc: Services, user: Doc, office: str) -> list[Doc]:
    _check_office(user, office)
    cursor = svc.db.canned_responses.find({"office": office}).sort("title", 1).limit(CANNED_MAX)
    return [d async for d in cursor]


async def create_canned(
    svc: Services,
    user: Doc,
    office: str,
    *,
    title: str,
    text: str,
    shortcut: str | None = None,
    answer: bool = True,
) -> Doc:
    _check_canned_editor(user, office)
    if await svc.db.offices.find_one({"code": office}, {"_id": 1}) is None:
        raise NotFound("office_not_found", "no such office")
    if await svc.db.canned_responses.count_documents({"office": office}) >= CANNED_MAX:
        raise ValidationFailed("too_many", f"at most {CANNED_MAX} canned responses per office")
    now = svc.now()
    doc = {
        "office": office,
        **_canned_fields(title, text, shortcut, answer),
        "created_at": now,
        "updated_at": now,
        "updated_by": user["_id"],
        "updated_by_name": user["name"],
    }
    res = await svc.db.canned_responses.insert_one(doc)
    doc["_id"] = res.inserted_id
    return doc


async def update_canned(svc: Services, user: Doc, canned_id: str, changes: Doc) -> Doc:
    doc = await _load_canned(svc, canned_id)
    _check_canned_editor(user, doc["office"])
    sets = _canned_fields(changes.get("title"), changes.get("text"), changes.get("shortcut"), changes.get("answer"))
    sets.update({"updated_at": svc.now(), "updated_by": user["_id"], "updated_by_name": user["name"]})
    updated = await update_and_get(svc.db.canned_responses, {"_id": doc["_id"]}, {"$set": sets})
    return updated or doc


async def delete_canned(svc: Services, user: Doc, canned_id: str) -> None:
    doc = await _load_canned(svc, canned_id)
    _check_canned_editor(user, doc["office"])
    await svc.db.canned_responses.delete_one({"_id": doc["_id"]})


async def _load_canned(svc: Services, canned_id: str) -> Doc:
    oid = object_id(canned_id, message="canned response not found / jawaban templat tidak ditemukan")
    doc = await svc.db.canned_responses.find_one({"_id": oid})
    if doc is None:
        raise NotFound("not_found", "canned response not found")
    return doc


async def requester(svc: Services, user: Doc, consultation: Any) -> Doc:
    """Who asked, as they registered: name, e-mail, phone, institution, occupation (the consultation's staff)."""
    if not is_staff(user):
        raise Forbidden("forbidden", "staff only / hanya petugas")
    c = await access.load_for(svc, user, consultation)
    person = await svc.db.users.find_one({"_id": c.get("user_id")}) if c.get("user_id") else None
    person = person or {}
    return {
        "id": str(c["user_id"]) if c.get("user_id") else None,
        "name": person.get("name") or c.get("user_name"),
        "email": person.get("email") or c.get("user_email"),
        "phone": person.get("phone"),
        "institution": person.get("institution"),
        "occupation": person.get("occupation"),
        "lang": person.get("lang"),
        "registered_at": iso(person.get("created_at")),
    }


async def deliveries(svc: Services, user: Doc, consultation: Any) -> list[Doc]:
    """Which e-mails about this consultation went out, when, to whom, and any failure (staff); a mail still
    waiting (not yet sent, or retried while the mail server is down) shows when it is tried next."""
    if not is_staff(user):
        raise Forbidden("forbidden", "staff only")
    c = await access.load_for(svc, user, consultation)
    cursor = (
        svc.db.outbox.find({"consultation_id": c["_id"]}, {"text": 0, "html": 0, "attachments": 0})
        .sort("created_at", 1)
        .limit(500)
    )
    return [
        {
            "id": str(d["_id"]),
            "kind": d["kind"],
            "to": d["to"],
            "subject": d.get("subject"),
            "status": d["status"],
            "attempts": d.get("attempts", 0),
            "created_at": iso(d.get("created_at")),
            "sent_at": iso(d.get("sent_at")),
            "last_error": d.get("last_error"),
            "last_attempt_at": iso(d.get("last_attempt_at")),
            "next_attempt_at": iso(d.get("due_at")) if d["status"] == "pending" else None,
        }
        async for d in cursor
    ]


async def office_staff(svc: Services, user: Doc, office: str) -> list[Doc]:
    """Staff of an office (for transfers), with whether each is online now."""
    if not is_staff(user):
        raise Forbidden("forbidden", "staff only")
    presence = svc.presence
    cursor = (
        svc.db.users.find(
            {"office": office, "role": {"$in": ["officer", "supervisor", "admin"]}}, {"name": 1, "role": 1, "office": 1}
        )
        .sort("name", 1)
        .limit(500)
    )
    return [
        {
            "id": str(u["_id"]),
            "name": u["name"],
            "role": u["role"],
            "office": u["office"],
            "online": presence.is_online(str(u["_id"])),
        }
        async for u in cursor
    ]
