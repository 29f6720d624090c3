"""What clients may send: the pydantic models both transports validate with (HTTP bodies, socket payloads).

They live in the domain, not in `server/http/`, because REST routes and the Socket.IO namespace both
depend on the domain and neither should import the other. They check shape only (types, the kinds a
transport offers, lengths of identifiers); the rules (who may write a note, how long a message may
be, whether the consultation is open) stay in the actions, so they are checked in one place.
"""

from __future__ import annotations

from typing import Annotated, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StrictInt, ValidationError

from server.domain.errors import ValidationFailed

# A message's length limit: enforced by messages.clean_text (code message_too_long), shown by MessageIn.text's schema.
MESSAGE_MAX_CHARS = 4000

# The largest seq a client may name (as GET /consultations/{id}/messages allows): past it a number
# would not fit the database's 64-bit integers (2**70 was an OverflowError, a 500).
SEQ_MAX = 10**9

M = TypeVar("M", bound=BaseModel)


class In(BaseModel):
    """Request bodies and socket payloads: unknown fields are ignored, strings are stripped."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)


def validation_failed(exc: ValidationError) -> ValidationFailed:
    """Turn the first pydantic error into `invalid_<field>` (or `missing_<field>`)."""
    err = exc.errors()[0]
    loc = [str(x) for x in err.get("loc", ()) if not isinstance(x, int)]
    name = loc[-1] if loc else "body"
    kind = "missing" if err.get("type") == "missing" else "invalid"
    msg = str(err.get("msg", "invalid value")).removeprefix("Value error, ")
    return ValidationFailed(f"{kind}_{name}", f"{name}: {msg}", field=name)


def parse(model: type[M], data: object) -> M:
    """`data` as a `model`, or ValidationFailed with the field's code (the same codes over HTTP and socket)."""
    if not isinstance(data, dict):
        raise ValidationFailed("invalid_payload", "the payload must be an object")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise validation_failed(exc) from None


# Makes a retried send idempotent: the second one returns the first message.
ClientId = Annotated[str, Field(min_length=1, max_length=100)]


class _MessageBody(In):
    # Length and emptiness are post_message's rule (codes message_too_long, empty_text); the schema
    # only documents the limit, so both transports answer with the action's codes.
    text: str = Field(json_schema_extra={"maxLength": MESSAGE_MAX_CHARS})
    # The kinds these two transports offer; files have their upload route, the rest are the system's.
    kind: Literal["text", "note"] = "text"
    # A staff reply that answers the question stops the SLA clock; a greeting or "we are looking into
    # it" does not. Omitted: an ordinary reply is an answer (post_message's rule); users' are ignored.
    answer: bool | None = Field(default=None, description="staff only: this reply answers the question")


class MessageIn(_MessageBody):
    """POST /consultations/{id}/messages."""

    client_id: ClientId


class ReadIn(In):
    """POST /consultations/{id}/read."""

    seq: int = Field(ge=0)


class ConsultationRef(In):
    """A socket payload naming a consultation (over HTTP the id is in the path)."""

    consultation_id: str


class SendMessageIn(_MessageBody, ConsultationRef):
    """message:send: the HTTP body plus the consultation; over the socket client_id may be omitted."""

    client_id: ClientId | None = None


class ReadMessageIn(ReadIn, ConsultationRef):
    """message:read (client to server): the HTTP body plus the consultation."""


class JoinIn(ConsultationRef):
    """consultation:join: enter the room and get the messages after `after_seq`."""

    after_seq: StrictInt | None = Field(default=0, ge=0, le=SEQ_MAX)


class BoardWatchIn(In):
    """`board:watch`: the office whose queue board to follow (its BPS code)."""

    office: str = Field(pattern=r"^[0-9]{4}$")


class TypingIn(ConsultationRef):
    """typing (client to server)."""

    typing: bool = False
