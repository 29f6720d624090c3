"""Accounts: registration with a verified e-mail, sessions, password reset, staff accounts."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from bson import ObjectId
from zxcvbn import zxcvbn

from server.domain import events
from server.domain.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    NotFound,
    Unauthorized,
    ValidationFailed,
    is_duplicate_key,
)
from server.domain.models import LANGS, STAFF_ROLES, object_id
from server.domain.security import hash_password, new_token, token_hash, verify_password
from server.mail import mailing
from server.services import Services
from server.storage.atomic import update_and_get

log = logging.getLogger(__name__)

Doc = dict[str, Any]

EMAIL_RE = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"
)
# The privacy notice a registration's consent refers to (web/static/privacy.html shows the same version).
PRIVACY_NOTICE_VERSION = "2026-11"
PASSWORD_MIN_CHARS = 8
PASSWORD_MAX_CHARS = 256
# zxcvbn's 0..4 guessability score; below 2 a password falls to an online guesser or a breach list.
PASSWORD_MIN_SCORE = 2
# Words a guesser tries first against this service's accounts.
PASSWORD_CONTEXT_WORDS = ("bps", "pst", "konsultasi", "statistik", "badan pusat statistik")
VERIFY_TOKEN_TTL = timedelta(days=3)
RESET_TOKEN_TTL = timedelta(hours=2)


def normalize_email(email: str) -> str:
    email = (email or "").strip()
    if len(email) > 254 or not EMAIL_RE.match(email):
        raise ValidationFailed(
            "invalid_email", "e-mail address is not valid / alamat e-mail tidak valid", field="email"
        )
    local, _, domain = email.rpartition("@")
    return f"{local}@{domain.lower()}".lower()


def check_password(password: str, *known: str | None) -> None:
    """Long enough, not too long, and not guessable: common and breached-style passwords, keyboard walks,
    dates, and the account's own name or address (`known`) score below PASSWORD_MIN_SCORE in zxcvbn."""
    if not isinstance(password, str) or len(password) < PASSWORD_MIN_CHARS:
        raise ValidationFailed(
            "invalid_password",
            f"password must have at least {PASSWORD_MIN_CHARS} characters "
            f"/ kata sandi minimal {PASSWORD_MIN_CHARS} karakter",
            field="password",
        )
    if len(password) > PASSWORD_MAX_CHARS:
        raise ValidationFailed("invalid_password", "password is too long", field="password")
    inputs = [w for k in known if k for w in (k, *k.split(), k.replace(" ", ""))] + list(PASSWORD_CONTEXT_WORDS)
    if zxcvbn(password, user_inputs=inputs)["score"] < PASSWORD_MIN_SCORE:
        raise ValidationFailed("weak_password", "the password is too easy to guess", field="password")


async def _issue_token(svc: Services, user: Doc, purpose: str, ttl: timedelta) -> str:
    token = new_token()
    now = svc.now()
    await svc.db.tokens.insert_one(
        {
            "token_hash": token_hash(token),
            "purpose": purpose,
            "user_id": user["_id"],
            "created_at": now,
            "expires_at": now + ttl,
            "used_at": None,
        }
    )
    return token


async def _consume_token(svc: Services, token: str, purpose: str) -> Doc:
    """Mark a single-use token used and return it; one winner if two requests race."""
    now = svc.now()
    doc = await update_and_get(
        svc.db.tokens,
        {"token_hash": token_hash(token or ""), "purpose": purpose, "used_at": None, "expires_at": {"$gt": now}},
        {"$set": {"used_at": now}},
        after=False,
    )
    if doc is None:
        raise BadRequest("invalid_token", "the link is invalid, used or expired / tautan tidak valid atau kedaluwarsa")
    return doc


async def register(
    svc: Services,
    *,
    email: str,
    password: str,
    name: str,
    phone: str | None = None,
    institution: str | None = None,
    occupation: str | None = None,
    lang: str = "id",
    consent: bool | None = None,
    notify_existing: bool = True,
) -> Doc | None:
    """Create an unverified user and queue the verification e-mail; None when the address has an account.

    The caller must not be able to tell the two apart (user enumeration): for an existing address
    nothing changes, and its owner is mailed instead (a new verification link while it is unverified,
    else a note that someone tried; not when `notify_existing` is False, the caller's mail limit).
    Both ways do the same work: a password hash, a write, a lookup or token, a queued mail.
    `consent`: the privacy notice was accepted (the pages require it); recorded with its version.
    """
    email = normalize_email(email)
    check_password(password, email, email.split("@")[0], name)
    name = (name or "").strip()
    if not name or len(name) > 120:
        raise ValidationFailed("invalid_name", "name is required (at most 120 characters)", field="name")
    if lang not in LANGS:
        lang = "id"
    now = svc.now()
    user: Doc = {
        "email": email,
        "name": name,
        "role": "user",
        "office": None,
        "phone": (phone or "").strip() or None,
        "institution": (institution or "").strip() or None,
        "occupation": (occupation or "").strip() or None,
        "lang": lang,
        "password_hash": await hash_password(password),
        "email_verified_at": None,
        "consent_at": now if consent else None,
        "consent_version": PRIVACY_NOTICE_VERSION if consent else None,
        "created_at": now,
        "updated_at": now,
    }
    try:
        res = await svc.db.users.insert_one(user)
    except Exception as exc:
        if not is_duplicate_key(exc):
            raise
        existing = await svc.db.users.find_one({"email": email})
        if existing is not None and notify_existing:
            if existing.get("email_verified_at"):
                await mailing.register_attempted(svc, existing)
            else:
                await send_verification(svc, existing)
        log.info("registration for an address that has an account id=%s", existing["_id"] if existing else "?")
        return None
    user["_id"] = res.inserted_id
    await send_verification(svc, user)
    log.info("user registered id=%s", user["_id"])
    return user


async def send_verification(svc: Services, user: Doc) -> None:
    """Issue a single-use verification token and have its link mailed."""
    token = await _issue_token(svc, user, "verify_email", VERIFY_TOKEN_TTL)
    await mailing.verification_requested(svc, user, token)


async def resend_verification(svc: Services, email: str) -> None:
    """Queue a new verification mail if the account exists and is unverified; silent otherwise."""
    try:
        email = normalize_email(email)
    except ValidationFailed:
        return
    user = await svc.db.users.find_one({"email": email})
    if user and not user.get("email_verified_at"):
        await send_verification(svc, user)


async def verify_email(svc: Services, token: str) -> Doc:
    """Mark the address verified; a used link of an address verified since is 409 already_verified."""
    try:
        doc = await _consume_token(svc, token, "verify_email")
    except BadRequest:
        # The link was opened before (a second click, a mail scanner): the page says so and offers the
        # log-in. Only the holder of the link learns it, with the address it was sent to.
        used = await svc.db.tokens.find_one({"token_hash": token_hash(token or ""), "purpose": "verify_email"})
        owner = await svc.db.users.find_one({"_id": used["user_id"]}) if used and used.get("used_at") else None
        if owner is not None and owner.get("email_verified_at"):
            raise Conflict(
                "already_verified",
                "this address is verified already / alamat ini sudah terverifikasi",
                email=owner["email"],
            ) from None
        raise
    now = svc.now()
    user = await update_and_get(
        svc.db.users, {"_id": doc["user_id"]}, {"$set": {"email_verified_at": now, "updated_at": now}}
    )
    if user is None:
        raise NotFound("not_found", "account not found")
    return user


async def login(svc: Services, *, email: str, password: str, user_agent: str | None = None) -> tuple[str, Doc]:
    """Check the password and open a server-side session; returns (token, user)."""
    # Guessing is limited at the edge per (client address, e-mail) in real time (server/http/ratelimit.py),
    # so a stranger cannot lock the owner out.
    try:
        email = normalize_email(email)
    except ValidationFailed:
        email = (email or "").strip().lower()[:254]
    user = await svc.db.users.find_one({"email": email})
    ok = await verify_password(user.get("password_hash") if user else None, password or "")
    if not ok or user is None or user.get("disabled"):
        raise Unauthorized("invalid_credentials", "wrong e-mail or password / e-mail atau kata sandi salah")
    if not user.get("email_verified_at"):
        raise Forbidden("email_not_verified", "verify your e-mail first / verifikasi e-mail Anda terlebih dahulu")
    token = new_token()
    now = svc.now()
    await svc.db.sessions.insert_one(
        {
            "token_hash": token_hash(token),
            "user_id": user["_id"],
            "created_at": now,
            "last_seen_at": now,
            "expires_at": now + timedelta(hours=svc.settings.pst_session_ttl_hours),
            "user_agent": (user_agent or "")[:200],
        }
    )
    return token, user


async def logout(svc: Services, token: str) -> None:
    """End this session; its open sockets hear session:ended and are disconnected."""
    session = await svc.db.sessions.find_one({"token_hash": token_hash(token)}, {"_id": 1})
    if session is None:
        return
    await svc.db.sessions.delete_one({"_id": session["_id"]})
    await events.emit_session_ended(svc.events, "logout", session_id=str(session["_id"]))


async def end_sessions(svc: Services, user_id: ObjectId, reason: events.SessionEndReason) -> int:
    """End every session of a user (and so every socket of theirs, in every process); how many ended."""
    res = await svc.db.sessions.delete_many({"user_id": user_id})
    await events.emit_session_ended(svc.events, reason, user_id=str(user_id))
    return int(res.deleted_count)


async def authenticate_session(svc: Services, token: str | None) -> tuple[Doc, Doc] | None:
    """(user, session) of a session token, or None if it is unknown, revoked or expired."""
    if not token or len(token) > 200:
        return None
    session = await svc.db.sessions.find_one({"token_hash": token_hash(token)})
    if session is None or session["expires_at"] <= svc.now():
        return None
    user = await svc.db.users.find_one({"_id": session["user_id"]})
    if user is None or user.get("disabled"):
        return None
    return user, session


async def authenticate(svc: Services, token: str | None) -> Doc | None:
    """The user a session token belongs to, or None if it is unknown, revoked or expired."""
    found = await authenticate_session(svc, token)
    return found[0] if found else None


async def live_sessions(svc: Services, session_ids: Iterable[ObjectId]) -> set[ObjectId]:
    """Which of these sessions still hold (not ended, not expired): one query on _id."""
    ids = list(session_ids)
    if not ids:
        return set()
    cursor = svc.db.sessions.find({"_id": {"$in": ids}, "expires_at": {"$gt": svc.now()}}, {"_id": 1})
    return {doc["_id"] async for doc in cursor}


async def session_expiry(svc: Services, session_id: ObjectId) -> datetime | None:
    """When this session expires, or None if it no longer holds; the reads of socket events in flight go as one."""
    doc = await svc.batch.sessions.get(session_id)
    if doc is None or doc["expires_at"] <= svc.now():
        return None
    expires_at: datetime = doc["expires_at"]
    return expires_at


async def request_password_reset(svc: Services, email: str) -> None:
    """Queue a reset link if the account exists; the caller learns nothing either way."""
    try:
        email = normalize_email(email)
    except ValidationFailed:
        return
    user = await svc.db.users.find_one({"email": email})
    if user is None:
        return
    token = await _issue_token(svc, user, "reset_password", RESET_TOKEN_TTL)
    await mailing.password_reset_requested(svc, user, token)


async def reset_password(svc: Services, token: str, password: str) -> None:
    """Set a new password through a reset link; every other reset link, session and socket of the user ends."""
    check_password(password)
    doc = await _consume_token(svc, token, "reset_password")
    now = svc.now()
    # An older (or newer) link in the mailbox must not reset the password again.
    await svc.db.tokens.update_many(
        {"user_id": doc["user_id"], "purpose": "reset_password", "used_at": None},
        {"$set": {"used_at": now}},
    )
    # Reaching the link proves the mailbox, so the address counts as verified too.
    await svc.db.users.update_one(
        {"_id": doc["user_id"]},
        {
            "$set": {"password_hash": await hash_password(password), "updated_at": now},
            "$min": {"email_verified_at": now},
        },
    )
    # Every existing session ends: whoever knew the old password is out, open sockets included.
    await end_sessions(svc, doc["user_id"], "password_reset")


async def disable_user(svc: Services, email: str) -> Doc:
    """Disable an account (`pst admin disable-user`): no sign-in, every session and socket ends now."""
    user = await update_and_get(
        svc.db.users,
        {"email": normalize_email(email)},
        {"$set": {"disabled": True, "disabled_at": svc.now(), "updated_at": svc.now()}},
    )
    if user is None:
        raise NotFound("not_found", "no account with this e-mail")
    await end_sessions(svc, user["_id"], "account_disabled")
    log.info("account disabled id=%s", user["_id"])
    return user


async def enable_user(svc: Services, email: str) -> Doc:
    """Undo disable_user: the account may sign in again."""
    user = await update_and_get(
        svc.db.users,
        {"email": normalize_email(email)},
        {"$set": {"disabled": False, "updated_at": svc.now()}, "$unset": {"disabled_at": ""}},
    )
    if user is None:
        raise NotFound("not_found", "no account with this e-mail")
    log.info("account enabled id=%s", user["_id"])
    return user


async def create_staff(svc: Services, *, email: str, name: str, role: str, office: str | None, password: str) -> Doc:
    """A staff account, verified from the start; admins may be national (no office)."""
    email = normalize_email(email)
    check_password(password)
    if role not in STAFF_ROLES:
        raise ValidationFailed("invalid_role", f"role must be one of {', '.join(STAFF_ROLES)}", field="role")
    if office:
        if await svc.db.offices.find_one({"code": office}, {"_id": 1}) is None:
            raise ValidationFailed("invalid_office", f"unknown office {office}", field="office")
    elif role != "admin":
        raise ValidationFailed("invalid_office", "officers and supervisors belong to an office", field="office")
    now = svc.now()
    user: Doc = {
        "email": email,
        "name": name.strip(),
        "role": role,
        "office": office or None,
        "lang": "id",
        "password_hash": await hash_password(password),
        "email_verified_at": now,
        "created_at": now,
        "updated_at": now,
    }
    try:
        res = await svc.db.users.insert_one(user)
    except Exception as exc:
        if is_duplicate_key(exc):
            raise Conflict("email_taken", "an account with this e-mail exists") from None
        raise
    user["_id"] = res.inserted_id
    return user


async def update_profile(svc: Services, user: Doc, changes: dict[str, Any]) -> Doc:
    allowed = {
        k: v
        for k, v in changes.items()
        if k in ("name", "phone", "institution", "occupation", "lang") and v is not None
    }
    if "lang" in allowed and allowed["lang"] not in LANGS:
        raise ValidationFailed("invalid_lang", "lang must be id or en", field="lang")
    if not allowed:
        return user
    allowed["updated_at"] = svc.now()
    updated = await update_and_get(svc.db.users, {"_id": user["_id"]}, {"$set": allowed})
    return updated or user


async def get_user(svc: Services, user_id: Any) -> Doc | None:
    try:
        oid = object_id(user_id)
    except NotFound:
        return None
    return await svc.db.users.find_one({"_id": oid})
