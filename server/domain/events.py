"""Realtime events are contracts: every event's name, its payload type, and the helpers that emit them.

The domain emits through the helpers below (never `svc.events.emit` with a literal name), so each event's
rooms and payload are built in one place. The Socket.IO namespace (server.realtime.namespace) reads
the names of the events it receives from here, and the page's `web/static/js/rt.js` exports the same
names; tests/realtime/test_contracts.py round-trips an example of every payload through JSON against
its type and checks rt.js against these constants. This module knows nothing of Socket.IO.
"""

from __future__ import annotations

from typing import Any, Literal, NotRequired, cast

from pydantic import BaseModel, ConfigDict, with_config
from typing_extensions import TypedDict

from server.domain import inputs
from server.domain.models import Doc, MessageOut, iso, public_consultation, public_message
from server.domain.ports import EventSink
from server.domain.rooms import consultation_room, consultation_staff_room, office_staff_room, session_room, user_room

# --- names ------------------------------------------------------------------------------------
# Server to client.
MESSAGE_NEW = "message:new"
ROOM_ACTIVITY = "room:activity"
CONSULTATION_UPDATED = "consultation:updated"
QUEUE_UPDATED = "queue:updated"
SLA_ALERT = "sla:alert"
# A complaint arrived, is at risk of or past its response deadline; or a low rating needs a follow-up.
COMPLAINT_ALERT = "complaint:alert"
# The session behind a connection ended (logout, password reset, account disabled or erased, expiry);
# the server disconnects the socket right after.
SESSION_ENDED = "session:ended"
# A reply sent through WhatsApp was queued, held for the 24-hour window, sent, delivered, read or failed.
MESSAGE_STATUS = "message:status"
# Both ways: a client reports, the server relays to the others in the room.
MESSAGE_READ = "message:read"
TYPING = "typing"
# Client to server (answered with an ack).
CONSULTATION_JOIN = "consultation:join"
CONSULTATION_LEAVE = "consultation:leave"
MESSAGE_SEND = "message:send"
# The queue boards (namespace /board, no login): watch an office, then hear every change of its queue.
BOARD_WATCH = "board:watch"
QUEUE_BOARD = "queue:board"


# --- payloads (server to client) --------------------------------------------------------------
# Exact: a key the contract does not name fails the round-trip test instead of leaking unnoticed.
_EXACT = ConfigDict(extra="forbid")


class PersonRef(TypedDict):
    id: str | None
    name: str | None


class ConsultationUser(TypedDict):
    id: str | None
    name: str | None
    email: str | None


class SlaView(TypedDict):
    due_at: str | None
    state: Literal["on_track", "at_risk", "breached", "met"]
    started_at: str | None
    paused: bool
    met_at: str | None


class LastMessage(TypedDict):
    seq: int | None
    kind: str | None
    text: str | None
    author_name: str | None
    created_at: str | None
    # A system message's preview in each language ({"id": …, "en": …}).
    texts: NotRequired[dict[str, str]]


class ContactView(TypedDict):
    """Who wrote through WhatsApp (the number) or e-mail (the address); `linked`: matched to an account."""

    channel: Literal["whatsapp", "email"]
    name: str | None
    address: str | None
    linked: bool


@with_config(_EXACT)
class ConsultationView(TypedDict):
    """A consultation as one viewer (or a staff room, `unread` null) sees it: models.public_consultation."""

    id: str
    number: str | None
    office: str
    time_zone: str | None
    channel: str
    topic: str | None
    subject: str | None
    status: Literal["queued", "active", "closed"]
    close_reason: str | None
    close_category: str | None
    user: ConsultationUser
    assigned_to: PersonRef | None
    sla: SlaView
    unread: int | None
    last_seq: int
    last_message: LastMessage | None
    last_message_at: str | None
    created_at: str | None
    claimed_at: str | None
    first_response_at: str | None
    answered_at: str | None
    closed_at: str | None
    kb_query: str | None
    kb_opened: list[str]
    meeting: dict[str, Any] | None
    visit: dict[str, Any] | None
    rating: dict[str, Any] | None
    reads: dict[str, int]
    awaiting_clarification: NotRequired[bool]  # staff views only
    contact: NotRequired[ContactView]  # WhatsApp and e-mail consultations
    whatsapp_window_closes_at: NotRequired[str | None]  # WhatsApp: free-form replies allowed until then


@with_config(_EXACT)
class RoomActivity(TypedDict):
    """One room's move: its newest visible message and the consultation as it is now."""

    consultation_id: str
    message: MessageOut
    consultation: ConsultationView


@with_config(_EXACT)
class RoomActivities(TypedDict):
    """`room:activity`, to the office's staff room for every visible message, so rooms nobody joined still move.
    The socket layer gathers an office's rooms that moved within a moment into one event (server.realtime.sinks:
    one frame a socket instead of one a message), and each socket gets only the rooms it has not joined (it had
    their messages as message:new: server.realtime.sio)."""

    items: list[RoomActivity]


@with_config(_EXACT)
class QueueUpdated(TypedDict):
    office: str
    queue: list[ConsultationView]


@with_config(_EXACT)
class MessageRead(TypedDict):
    consultation_id: str
    user_id: str
    seq: int


@with_config(_EXACT)
class TypingRelay(TypedDict):
    consultation_id: str
    user: PersonRef
    typing: bool


DeliveryStatus = Literal["queued", "waiting_window", "sent", "delivered", "read", "failed"]


@with_config(_EXACT)
class MessageStatus(TypedDict):
    """What became of a reply sent through WhatsApp: to the consultation's room."""

    consultation_id: str
    message_id: str
    seq: int
    channel: Literal["whatsapp"]
    status: DeliveryStatus
    at: str | None
    error: str | None


# Why a session ended; "expired" also covers a session found gone without knowing why.
SessionEndReason = Literal["logout", "password_reset", "account_disabled", "account_erased", "expired"]


@with_config(_EXACT)
class SessionEnded(TypedDict):
    """To every socket of an ended session (or of every session of a user); the page signs in again."""

    reason: SessionEndReason


# The scheduler's SLA state; an alert only ever carries at_risk or breached.
SlaAlertState = Literal["on_track", "at_risk", "breached"]


@with_config(_EXACT)
class SlaAlert(TypedDict):
    consultation_id: str
    number: str | None
    office: str
    subject: str | None
    state: SlaAlertState
    due_at: str | None
    assigned_to: str | None


ComplaintAlertState = Literal["received", "at_risk", "overdue"]


@with_config(_EXACT)
class ComplaintAlert(TypedDict):
    """To the office's staff room: never the complaint's text or the complainant (the console loads the case)."""

    id: str
    kind: Literal["complaint", "followup"]
    number: str | None
    office: str
    source: str
    state: ComplaintAlertState
    status: str
    due_at: str | None


class BoardTicket(TypedDict):
    """A ticket as the board shows it (walkin_board.public_ticket): never a visitor's name."""

    id: str
    office: str
    day: str
    number: str
    status: Literal["waiting", "called", "serving", "done", "no_show"]
    priority: Literal["elderly", "disabled", "pregnant"] | None
    desk: str | None
    created_at: str | None
    called_at: str | None
    last_call_at: str | None
    recalls: int
    served_at: str | None
    done_at: str | None
    promise_kept: bool | None
    consultation_id: str | None
    has_guestbook: bool


@with_config(_EXACT)
class QueueBoard(TypedDict):
    """queue:board, and the board in the `board:watch` ack: as `GET /offices/{code}/queue` answers."""

    office: str
    office_name: str | None
    day: str
    time_zone: str
    waiting: list[BoardTicket]
    called: list[BoardTicket]
    serving: list[BoardTicket]
    done_today: int
    estimated_wait_minutes: int
    service_minutes: int


# Every event the server emits, with its payload type.
EMITTED: dict[str, Any] = {
    MESSAGE_NEW: MessageOut,
    ROOM_ACTIVITY: RoomActivities,
    CONSULTATION_UPDATED: ConsultationView,
    QUEUE_UPDATED: QueueUpdated,
    SLA_ALERT: SlaAlert,
    COMPLAINT_ALERT: ComplaintAlert,
    SESSION_ENDED: SessionEnded,
    MESSAGE_STATUS: MessageStatus,
    MESSAGE_READ: MessageRead,
    TYPING: TypingRelay,
    QUEUE_BOARD: QueueBoard,
}

# Every event the server receives, with the model its payload is validated with (shared with HTTP).
RECEIVED: dict[str, type[BaseModel]] = {
    CONSULTATION_JOIN: inputs.JoinIn,
    CONSULTATION_LEAVE: inputs.ConsultationRef,
    MESSAGE_SEND: inputs.SendMessageIn,
    MESSAGE_READ: inputs.ReadMessageIn,
    TYPING: inputs.TypingIn,
    BOARD_WATCH: inputs.BoardWatchIn,
}


# --- acks (the answers to received events) ----------------------------------------------------


class ErrorBody(TypedDict):
    code: str
    message: str


class ErrorAck(TypedDict):
    ok: Literal[False]
    error: ErrorBody


class OkAck(TypedDict):
    ok: Literal[True]


class JoinAck(TypedDict):
    ok: Literal[True]
    consultation: ConsultationView
    messages: list[MessageOut]


class SendAck(TypedDict):
    ok: Literal[True]
    message: MessageOut


class ReadAck(TypedDict):
    ok: Literal[True]
    seq: int


class BoardAck(TypedDict):
    ok: Literal[True]
    board: QueueBoard


Ack = ErrorAck | OkAck | JoinAck | SendAck | ReadAck | BoardAck


# --- builders and emit helpers ----------------------------------------------------------------

_STAFF_ROOM_VIEWER: Doc = {"_id": None, "role": "officer"}


def consultation_view(c: Doc, viewer: Doc | None) -> ConsultationView:
    """public_consultation typed as the contract (tests/realtime/test_contracts.py holds them together)."""
    return cast(ConsultationView, public_consultation(c, viewer))


def staff_view(c: Doc) -> ConsultationView:
    """The consultation as a staff room sees it: no single viewer, so `unread` is null."""
    return consultation_view(c, _STAFF_ROOM_VIEWER)


def typing_relay(consultation_id: str, user: Doc, typing: bool) -> TypingRelay:
    return {
        "consultation_id": consultation_id,
        "user": {"id": str(user["_id"]), "name": user["name"]},
        "typing": typing,
    }


async def emit_message_new(events: EventSink, c: Doc, msg: Doc) -> None:
    """message:new to the room (a note to its staff only); a visible message also moves the office's rooms."""
    out = public_message(msg)
    cid = str(c["_id"])
    if out["kind"] == "note":
        await events.emit(MESSAGE_NEW, out, consultation_staff_room(cid))
        return
    await events.emit(MESSAGE_NEW, out, consultation_room(cid))
    activity: RoomActivity = {"consultation_id": cid, "message": out, "consultation": staff_view(c)}
    payload: RoomActivities = {"items": [activity]}
    await events.emit(ROOM_ACTIVITY, payload, office_staff_room(c["office"]))


async def emit_consultation_updated(events: EventSink, c: Doc) -> None:
    """consultation:updated to everyone concerned, each seeing their own view (unread differs)."""
    cid = str(c["_id"])
    staff = staff_view(c)
    await events.emit(CONSULTATION_UPDATED, staff, office_staff_room(c["office"]))
    await events.emit(CONSULTATION_UPDATED, staff, consultation_staff_room(cid))
    user = consultation_view(c, {"_id": c["user_id"], "role": "user"})
    await events.emit(CONSULTATION_UPDATED, user, user_room(str(c["user_id"])))


async def emit_queue_updated(events: EventSink, office: str, queue: list[Doc]) -> None:
    """queue:updated: the office's whole queue (staff views), to its staff room."""
    payload: QueueUpdated = {"office": office, "queue": cast(list[ConsultationView], queue)}
    await events.emit(QUEUE_UPDATED, payload, office_staff_room(office))


async def emit_message_read(events: EventSink, c: Doc, user_id: str, seq: int) -> None:
    """message:read: `user_id` has read up to `seq`, told to the consultation's room."""
    payload: MessageRead = {"consultation_id": str(c["_id"]), "user_id": user_id, "seq": seq}
    await events.emit(MESSAGE_READ, payload, consultation_room(str(c["_id"])))


async def emit_sla_alert(events: EventSink, c: Doc, state: SlaAlertState) -> None:
    """sla:alert to the office's staff: a request is at risk of (or past) its service deadline."""
    payload: SlaAlert = {
        "consultation_id": str(c["_id"]),
        "number": c.get("number"),
        "office": c["office"],
        "subject": c.get("subject"),
        "state": state,
        "due_at": iso(c["sla"]["due_at"]),
        "assigned_to": str(c["assigned_to"]) if c.get("assigned_to") else None,
    }
    await events.emit(SLA_ALERT, payload, office_staff_room(c["office"]))


async def emit_complaint_alert(events: EventSink, complaint: Doc, state: ComplaintAlertState) -> None:
    """complaint:alert to the office's staff: a complaint arrived, or is at risk of / past its deadline."""
    payload: ComplaintAlert = {
        "id": str(complaint["_id"]),
        "kind": "complaint",
        "number": complaint.get("number"),
        "office": complaint["office"],
        "source": str(complaint.get("source") or "web"),
        "state": state,
        "status": str(complaint.get("status") or "received"),
        "due_at": iso(complaint.get("due_at")),
    }
    await events.emit(COMPLAINT_ALERT, payload, office_staff_room(complaint["office"]))


async def emit_followup_alert(events: EventSink, followup: Doc) -> None:
    """complaint:alert (kind followup) to the office's staff: a low rating without a complaint to follow up."""
    payload: ComplaintAlert = {
        "id": str(followup["_id"]),
        "kind": "followup",
        "number": followup.get("consultation_number"),
        "office": followup["office"],
        "source": "low_rating",
        "state": "received",
        "status": str(followup.get("status") or "open"),
        "due_at": None,
    }
    await events.emit(COMPLAINT_ALERT, payload, office_staff_room(followup["office"]))


async def emit_message_status(events: EventSink, c: Doc, msg: Doc) -> None:
    """message:status: the delivery state stored on a WhatsApp reply, to the consultation's room."""
    delivery = msg.get("delivery") or {}
    payload: MessageStatus = {
        "consultation_id": str(c["_id"]),
        "message_id": str(msg["_id"]),
        "seq": int(msg["seq"]),
        "channel": "whatsapp",
        "status": delivery.get("status", "queued"),
        "at": iso(delivery.get("at")),
        "error": delivery.get("error"),
    }
    await events.emit(MESSAGE_STATUS, payload, consultation_room(str(c["_id"])))


async def emit_session_ended(
    events: EventSink, reason: SessionEndReason, *, session_id: str | None = None, user_id: str | None = None
) -> None:
    """session:ended to the sockets of one session, or of every session of a user. Each web process
    disconnects its own sockets of that room when the event is delivered (server.realtime.namespace)."""
    payload: SessionEnded = {"reason": reason}
    if session_id is not None:
        await events.emit(SESSION_ENDED, payload, session_room(session_id))
    if user_id is not None:
        await events.emit(SESSION_ENDED, payload, user_room(user_id))


def board_view(board: Doc) -> QueueBoard:
    """walkin_board.board_of typed as the contract."""
    return cast(QueueBoard, board)


async def emit_queue_board(events: EventSink, board: Doc, room: str, namespace: str) -> None:
    """queue:board to everyone watching the office's board (the /board namespace, no login)."""
    await events.emit(QUEUE_BOARD, board_view(board), room, namespace=namespace)
