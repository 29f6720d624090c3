"""The electronic guest book: who came, for what, with an ID number where the office's standard asks for one.

ID numbers (NIK) are personal data: stored, shown to staff masked, opened in full only on purpose
(every opening recorded in `pii_access_log`), erased by the retention sweep. The board never sees
an entry. A visitor with an account can pre-fill the kiosk with a short-lived signed QR code from
the portal instead of typing an e-mail address, which would let anyone pull anyone's details.
"""

from __future__ import annotations

import logging
import re
import secrets
from datetime import datetime, timedelta
from typing import Any

from server.domain.accounts import normalize_email
from server.domain.errors import Forbidden, NotFound, ValidationFailed
from server.domain.models import TOPICS, is_staff, iso, object_id, sid
from server.domain.offices import get_office
from server.domain.security import sign, unsign
from server.services import Services

log = logging.getLogger(__name__)

Doc = dict[str, Any]

ID_TYPES = ("ktp", "sim", "passport", "other")
QR_TOKEN_TTL = timedelta(minutes=5)
QR_PREFIX = "PSTQR1:"
NAME_MAX_CHARS = 120
FIELD_MAX_CHARS = 200
PURPOSE_MAX_CHARS = 1000
_ID_NUMBER = re.compile(r"^[A-Za-z0-9\-/. ]{4,32}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def mask_id(number: str | None) -> str | None:
    """An ID number as staff see it by default: only the last four characters."""
    if not number:
        return None
    keep = number[-4:] if len(number) > 6 else ""
    return "•" * max(4, len(number) - len(keep)) + keep


def clean_field(value: Any, field: str, max_chars: int, *, required: bool = False) -> str | None:
    """A text field trimmed, without control characters, within its length; None when empty."""
    if value is not None and not isinstance(value, str):
        raise ValidationFailed(f"invalid_{field}", f"{field} must be text", field=field)
    # Emptiness is judged after the control characters go: "\x00 " is as empty as "".
    cleaned = _CONTROL.sub(" ", value or "").strip()
    if not cleaned:
        if required:
            raise ValidationFailed(f"missing_{field}", f"{field} is required / wajib diisi", field=field)
        return None
    if len(cleaned) > max_chars:
        raise ValidationFailed(f"invalid_{field}", f"{field} is over {max_chars} characters", field=field)
    return cleaned


def staff_of(user: Doc | None, office: str) -> bool:
    """Staff of this office, or a national admin."""
    if not is_staff(user):
        return False
    assert user is not None
    return user.get("office") in (None, office) if user.get("role") == "admin" else user.get("office") == office


def require_staff_of(user: Doc | None, office: str) -> Doc:
    if not staff_of(user, office):
        raise Forbidden("forbidden", "only staff of this office may do this / hanya petugas kantor ini")
    assert user is not None
    return user


def public_entry(e: Doc, *, reveal: bool = False) -> Doc:
    """A guest book entry as staff see it: the ID number masked unless revealed (audited)."""
    return {
        "id": str(e["_id"]),
        "office": e["office"],
        "name": e.get("name"),
        "email": e.get("email"),
        "phone": e.get("phone"),
        "institution": e.get("institution"),
        "occupation": e.get("occupation"),
        "purpose": e.get("purpose"),
        "topic": e.get("topic"),
        "id_type": e.get("id_type"),
        "id_number": e.get("id_number") if reveal else mask_id(e.get("id_number")),
        "id_masked": not reveal and bool(e.get("id_number")),
        "ticket_id": sid(e.get("ticket_id")),
        "user_id": sid(e.get("user_id")),
        "via": e.get("via", "kiosk"),
        "created_at": iso(e.get("created_at")),
    }


# --- QR pre-fill -----------------------------------------------------------------------------


def qr_user_id(svc: Services, token: str | None) -> str:
    """The account id a guest book QR token stands for: 422 when forged, 410-like 422 when expired."""
    raw = (token or "").strip()
    raw = raw.removeprefix(QR_PREFIX)
    data = unsign(raw, svc.settings.secret_key) if raw else None
    if not data or data.get("p") != "guestbook" or not isinstance(data.get("u"), str):
        raise ValidationFailed("invalid_qr", "this QR code is not valid / kode QR tidak valid", field="qr_token")
    if int(data.get("exp", 0)) < int(svc.now().timestamp()):
        raise ValidationFailed("qr_expired", "this QR code has expired / kode QR kedaluwarsa", field="qr_token")
    return str(data["u"])


def guestbook_qr(svc: Services, user: Doc) -> Doc:
    """A signed short-lived token the portal shows as a QR code for the kiosk's guest book."""
    expires = svc.now() + QR_TOKEN_TTL
    token = sign(
        {"u": str(user["_id"]), "p": "guestbook", "exp": int(expires.timestamp()), "n": secrets.token_hex(4)},
        svc.settings.secret_key,
    )
    return {"token": QR_PREFIX + token, "expires_at": iso(expires)}


async def prefill_from_qr(svc: Services, office_code: str, token: str | None) -> Doc:
    """What the kiosk may pre-fill from a visitor's QR code: their own account's contact fields."""
    await get_office(svc, office_code)
    uid = qr_user_id(svc, token)
    user = await svc.db.users.find_one({"_id": object_id(uid)})
    if user is None or user.get("disabled") or user.get("erased_at"):
        raise ValidationFailed("invalid_qr", "this QR code is not valid / kode QR tidak valid", field="qr_token")
    return {
        "name": user.get("name"),
        "email": user.get("email"),
        "phone": user.get("phone"),
        "institution": user.get("institution"),
        "occupation": user.get("occupation"),
    }


# --- entries ---------------------------------------------------------------------------------


def new_entry(
    svc: Services,
    office: Doc,
    *,
    id_card_required: bool,
    name: Any,
    email: Any,
    purpose: Any,
    phone: Any = None,
    institution: Any = None,
    occupation: Any = None,
    topic: Any = None,
    id_type: Any = None,
    id_number: Any = None,
    qr_token: str | None = None,
    via: str = "kiosk",
    user_id: Any = None,
) -> Doc:
    """A validated guest book entry, not stored yet; 422 `id_required` where the office needs an ID card."""
    entry: Doc = {
        "office": office["code"],
        "name": clean_field(name, "name", NAME_MAX_CHARS, required=True),
        "email": normalize_email(str(email or "")),
        "phone": clean_field(phone, "phone", 40),
        "institution": clean_field(institution, "institution", FIELD_MAX_CHARS),
        "occupation": clean_field(occupation, "occupation", FIELD_MAX_CHARS),
        "purpose": clean_field(purpose, "purpose", PURPOSE_MAX_CHARS, required=True),
        "topic": None,
        "via": via,
    }
    if topic is not None:
        if topic not in TOPICS:
            raise ValidationFailed("invalid_topic", f"topic must be one of {', '.join(TOPICS)}", field="topic")
        entry["topic"] = topic
    id_type_c = clean_field(id_type, "id_type", 20)
    id_number_c = clean_field(id_number, "id_number", 32)
    if id_card_required and (not id_type_c or not id_number_c):
        raise ValidationFailed(
            "id_required",
            "this office needs an identity card (type and number) / kantor ini mewajibkan kartu identitas",
            field="id_number",
        )
    if id_type_c is not None and id_type_c not in ID_TYPES:
        raise ValidationFailed("invalid_id_type", f"id_type must be one of {', '.join(ID_TYPES)}", field="id_type")
    if id_number_c is not None and not _ID_NUMBER.match(id_number_c):
        raise ValidationFailed(
            "invalid_id_number", "the ID number is not valid / nomor identitas tidak valid", field="id_number"
        )
    entry["id_type"] = id_type_c if id_number_c else None
    entry["id_number"] = id_number_c
    if qr_token:
        entry["user_id"] = object_id(qr_user_id(svc, qr_token))
        entry["via"] = "qr"
    elif user_id is not None:
        entry["user_id"] = user_id
    now = svc.now()
    entry["created_at"] = now
    return entry


async def reveal_id(svc: Services, staff: Doc, entry_id: Any) -> Doc:
    """The full ID number of a guest book entry for staff of its office; every reveal is audited."""
    entry = await svc.db.guestbook.find_one({"_id": object_id(entry_id, code="entry_not_found")})
    if entry is None:
        raise NotFound("entry_not_found", "guest book entry not found / entri buku tamu tidak ditemukan")
    require_staff_of(staff, entry["office"])
    if not entry.get("id_number"):
        raise NotFound("no_id_number", "this entry holds no ID number / entri ini tidak memuat nomor identitas")
    await svc.db.pii_access_log.insert_one(
        {
            "at": svc.now(),
            "office": entry["office"],
            "by": staff["_id"],
            "by_name": staff.get("name"),
            "by_role": staff.get("role"),
            "guestbook_id": entry["_id"],
            "field": "id_number",
        }
    )
    log.info("ID number revealed entry=%s by=%s", entry["_id"], staff["_id"])
    return public_entry(entry, reveal=True)


async def erase_id_numbers(svc: Services, before: datetime) -> int:
    """Retention: drop the ID numbers of guest book entries older than `before`; the count erased."""
    res = await svc.db.guestbook.update_many(
        {"created_at": {"$lt": before}, "id_number": {"$ne": None}},
        {"$set": {"id_number": None, "id_erased_at": svc.now()}},
    )
    return int(res.modified_count)
