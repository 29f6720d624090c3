"""Domain vocabulary and the public (JSON) shape of each stored document.

Documents are stored as plain dicts; these functions are the one place that decides what leaves
the server, so a field that must stay private (password hashes, Zoom start URLs, internal notes)
is dropped here and nowhere else.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal, NotRequired, get_args

from bson import ObjectId
from bson.errors import InvalidId
from pydantic import ConfigDict, with_config
from typing_extensions import TypedDict

from server import i18n
from server.domain.errors import NotFound

Doc = dict[str, Any]

TOPICS = ("data", "metadata", "classification", "other")
STATUSES = ("queued", "active", "closed")
STAFF_ROLES = ("officer", "supervisor", "admin")
ROLES = ("user", *STAFF_ROLES)
MessageKind = Literal["text", "system", "meeting", "note", "file", "rating"]
MESSAGE_KINDS: tuple[MessageKind, ...] = get_args(MessageKind)
CHANNELS = ("online", "walk_in", "whatsapp", "email")
# How a consultation ended, as the officer files it at close (the reports count them); an idle close
# is filed as no_response by the system.
CLOSE_CATEGORIES = ("answered", "referred", "data_unavailable", "duplicate", "no_response")
LANGS = ("id", "en")
# How much of the last message a consultation keeps for the lists (server.domain.messages.preview).
PREVIEW_CHARS = 140

Role = Literal["user", "officer", "supervisor", "admin"]


def iso(value: datetime | None) -> str | None:
    """ISO 8601 with an explicit offset (UTC), or None."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat()


def sid(value: Any) -> str | None:
    return None if value is None else str(value)


def object_id(value: Any, *, code: str = "not_found", message: str = "not found / tidak ditemukan") -> ObjectId:
    """An id from a URL or payload as an ObjectId; anything malformed is simply not found."""
    if isinstance(value, ObjectId):
        return value
    try:
        return ObjectId(str(value))
    except (InvalidId, TypeError):
        raise NotFound(code, message) from None


def is_staff(user: Doc | None) -> bool:
    return user is not None and user.get("role") in STAFF_ROLES


class AuthorOut(TypedDict):
    id: str | None
    name: str
    role: str


# The one definition of a message as clients see it: the REST responses (the OpenAPI schema is
# derived from it), the join history and the message:new payload (server.domain.events).
# typing_extensions.TypedDict because pydantic reads it for the schema (it needs that on 3.11).
@with_config(ConfigDict(extra="forbid"))
class MessageOut(TypedDict):
    id: str
    consultation_id: str
    seq: int
    kind: MessageKind
    author: AuthorOut
    text: str
    created_at: str | None
    client_id: NotRequired[str]
    attachment: NotRequired[Doc]
    meeting: NotRequired[Doc | None]
    data: NotRequired[Doc]
    # A staff reply: whether it answers the question (the first answer stops the SLA clock).
    answer: NotRequired[bool]
    # A system message's catalog key and params (server/i18n.py), so a page can show it in its language.
    key: NotRequired[str]
    params: NotRequired[Doc]
    # ... and the text it renders to in each language ({"id": …, "en": …}): the page shows the reader's.
    texts: NotRequired[dict[str, str]]
    # A reply in a WhatsApp consultation: {channel, status (queued|waiting_window|sent|delivered|read|failed), at}.
    delivery: NotRequired[Doc]


def public_user(user: Doc) -> Doc:
    return {
        "id": str(user["_id"]),
        "email": user["email"],
        "name": user["name"],
        "role": user["role"],
        "office": user.get("office"),
        "phone": user.get("phone"),
        "institution": user.get("institution"),
        "occupation": user.get("occupation"),
        "lang": user.get("lang", "id"),
        "email_verified": bool(user.get("email_verified_at")),
        "created_at": iso(user.get("created_at")),
    }


def public_office(office: Doc) -> Doc:
    out = {k: v for k, v in office.items() if k not in ("_id", "created_at", "updated_at")}
    policy = dict(out.get("policy") or {})
    policy["extra_closed_dates"] = list(policy.get("extra_closed_dates") or [])
    out["policy"] = policy
    out["updated_at"] = iso(office.get("updated_at"))
    return out


def public_meeting(meeting: Doc | None) -> Doc | None:
    """A meeting as participants see it: never the host's start URL."""
    if not meeting:
        return None
    hidden = {"start_url", "host_key", "_id", "jwt_host"}
    out = {k: (iso(v) if isinstance(v, datetime) else v) for k, v in meeting.items() if k not in hidden}
    if "_id" in meeting:
        out["id"] = str(meeting["_id"])
    for key in ("consultation_id",):
        if key in out:
            out[key] = sid(out[key])
    return out


def public_message(msg: Doc) -> MessageOut:
    out: MessageOut = {
        "id": str(msg["_id"]),
        "consultation_id": str(msg["consultation_id"]),
        "seq": int(msg["seq"]),
        "kind": msg["kind"],
        "author": {
            "id": sid(msg.get("author_id")),
            "name": msg.get("author_name") or "Sistem",
            "role": msg.get("author_role") or "system",
        },
        "text": msg.get("text", ""),
        "created_at": iso(msg.get("created_at")),
    }
    if msg.get("client_id"):
        out["client_id"] = msg["client_id"]
    if "answer" in msg:
        out["answer"] = bool(msg["answer"])
    if msg.get("attachment"):
        att = dict(msg["attachment"])
        att["id"] = sid(att.get("id"))
        out["attachment"] = att
    if msg.get("meeting"):
        out["meeting"] = public_meeting(msg["meeting"])
    if msg.get("data"):
        out["data"] = _jsonable(msg["data"])
        if msg["data"].get("key"):
            out["key"] = str(msg["data"]["key"])
            out["params"] = out["data"].get("params") or {}
            rendered = i18n.texts(out["key"], msg["data"].get("params"))
            if rendered:
                out["texts"] = rendered
    if msg.get("delivery"):
        out["delivery"] = _jsonable(msg["delivery"])
    return out


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if hasattr(value, "binary") and type(value).__name__ == "ObjectId":
        return str(value)
    return value


def public_consultation(c: Doc, viewer: Doc | None = None) -> Doc:
    """A consultation as `viewer` may see it (staff see more than the user)."""
    # Broadcasts to a staff room have no single viewer: their `unread` is null and each console
    # computes its own from `reads` and `last_seq`.
    viewer_id = str(viewer["_id"]) if viewer and viewer.get("_id") is not None else None
    reads: Doc = c.get("reads") or {}
    last_seq = int(c.get("last_seq", 0))
    staff = is_staff(viewer)
    visible_last = last_seq if staff else int(c.get("last_visible_seq", last_seq))
    unread: int | None = None
    if viewer_id is not None:
        unread = max(0, visible_last - int(reads.get(viewer_id, 0)))
    sla = c.get("sla") or {}
    out: Doc = {
        "id": str(c["_id"]),
        "number": c.get("number"),
        "office": c["office"],
        "time_zone": c.get("time_zone"),
        "channel": c.get("channel", "online"),
        "topic": c.get("topic"),
        "subject": c.get("subject"),
        "status": c["status"],
        "close_reason": c.get("close_reason"),
        "close_category": c.get("close_category"),
        "user": {"id": sid(c.get("user_id")), "name": c.get("user_name"), "email": c.get("user_email")},
        "assigned_to": (
            {"id": sid(c["assigned_to"]), "name": c.get("assigned_name")} if c.get("assigned_to") else None
        ),
        "sla": {
            "due_at": iso(sla.get("due_at")),
            "state": sla.get("state", "on_track"),
            "started_at": iso(sla.get("started_at")),
            "paused": bool(sla.get("paused")),
            "met_at": iso(sla.get("met_at")),
        },
        "unread": unread,
        "last_seq": visible_last,
        "last_message": _last_message(c, staff),
        "last_message_at": iso(c.get("last_message_at")),
        "created_at": iso(c.get("created_at")),
        "claimed_at": iso(c.get("claimed_at")),
        "first_response_at": iso(c.get("first_response_at")),
        "answered_at": iso(c.get("answered_at")),
        "closed_at": iso(c.get("closed_at")),
        "kb_query": c.get("kb_query"),
        "kb_opened": c.get("kb_opened") or [],
        "meeting": public_meeting(c.get("meeting")),
        "visit": _jsonable(c.get("visit")) if c.get("visit") else None,
        "rating": _jsonable(c.get("rating")) if c.get("rating") else None,
        "reads": {k: int(v) for k, v in reads.items()},
    }
    if staff:
        out["awaiting_clarification"] = bool(sla.get("paused"))
    contact = c.get("contact")
    if contact:
        # WhatsApp and e-mail consultations: who wrote, and until when WhatsApp lets us answer freely.
        out["contact"] = {
            "channel": contact.get("channel"),
            "name": contact.get("name"),
            "address": contact.get("address"),
            "linked": bool(contact.get("linked")),
        }
        if contact.get("channel") == "whatsapp":
            out["whatsapp_window_closes_at"] = iso(contact.get("window_until"))
    return out


def _last_message(c: Doc, staff: bool) -> Doc | None:
    key = "last_message" if staff else "last_visible_message"
    lm = c.get(key) or (
        c.get("last_message") if not staff and c.get("last_message", {}).get("kind") != "note" else None
    )
    if not lm:
        return None
    out: Doc = {
        "seq": lm.get("seq"),
        "kind": lm.get("kind"),
        "text": lm.get("text"),
        "author_name": lm.get("author_name"),
        "created_at": iso(lm.get("created_at")),
    }
    # A system message's preview in each language (the lists show the reader's).
    rendered = i18n.texts(lm["key"], lm.get("params")) if lm.get("key") else None
    if rendered:
        out["texts"] = {lang: text[:PREVIEW_CHARS] for lang, text in rendered.items()}
    return out
