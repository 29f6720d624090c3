"""Domain errors: a stable snake_case code and a human message; the edges pick the status."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Something the client asked for cannot be done; `code` is part of the public contract."""

    status = 400

    def __init__(self, code: str, message: str, **details: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details:
            out["details"] = self.details
        return out


def is_duplicate_key(exc: BaseException) -> bool:
    """A write refused by a unique index (MongoDB error 11000), seen without importing the driver."""
    return getattr(exc, "code", None) == 11000 or "E11000" in str(exc)


class BadRequest(DomainError):
    status = 400


class ValidationFailed(DomainError):
    """Input is well-formed JSON but a field is wrong (422)."""

    status = 422


class Unauthorized(DomainError):
    status = 401


class Forbidden(DomainError):
    status = 403


class NotFound(DomainError):
    status = 404


class Conflict(DomainError):
    status = 409


class Busy(Conflict):
    """Code `busy`: nothing was done, and the same request may well succeed in a moment (a race lost too
    often, or a database that has fallen behind). Channel intake hands such a message back for a retry."""

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__("busy", message, **details)


def server_busy() -> Busy:
    """The database has fallen behind (server.storage.batching.Overloaded): try again in a moment."""
    return Busy("the server is busy; try again in a moment / server sibuk, coba lagi")


class PayloadTooLarge(DomainError):
    status = 413


class UnsupportedMedia(DomainError):
    status = 415


class RateLimited(DomainError):
    status = 429


class Unavailable(DomainError):
    """An outside service (Zoom, the mail server) failed; not the client's fault, not our bug."""

    status = 503
