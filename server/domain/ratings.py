"""Ratings: the user's 1-5 score of a closed consultation, given once, in the app or by a signed e-mail link.

The consultation's own `rating` field is the arbiter of "once": the write that sets it is conditional
on it being empty, so of two racing submissions (two tabs, the e-mail link and the app) one wins
and the other gets `already_rated`. That also makes the e-mail link single use.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from bson import ObjectId
from bson.errors import InvalidId

from server.domain import access, complaints, followups, messages
from server.domain.errors import BadRequest, Conflict, DomainError, Forbidden, NotFound, ValidationFailed
from server.domain.models import is_staff, iso
from server.domain.security import unsign
from server.services import Services

log = logging.getLogger(__name__)

Doc = dict[str, Any]

SCORE_MIN, SCORE_MAX = 1, 5
COMMENT_MAX_CHARS = 2000
COMPLAINT_MAX_CHARS = complaints.TEXT_MAX_CHARS
RATING_TOKEN_PURPOSE = "rate"  # the "p" of the payload mailing.rating_link signs


class Gone(DomainError):
    """The link was good once and has expired (410)."""

    status = 410


def validate_score(score: Any) -> int:
    if isinstance(score, bool) or not isinstance(score, int) or not SCORE_MIN <= score <= SCORE_MAX:
        raise ValidationFailed(
            "invalid_score",
            f"score must be a whole number from {SCORE_MIN} to {SCORE_MAX} / nilai harus 1 sampai 5",
            field="score",
        )
    return score


def _optional_text(value: Any, field: str, max_chars: int) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return messages.clean_text(value, field=field, max_chars=max_chars)


async def rate(
    svc: Services,
    user: Doc,
    consultation: Any,
    *,
    score: Any,
    comment: Any = None,
    complaint: Any = None,
    via: str = "app",
) -> Doc:
    """The consultation's user rates it once, after it closed; a complaint text opens a complaint case."""
    if is_staff(user):
        raise Forbidden("forbidden", "only the user who asked can rate / hanya pengguna yang dapat menilai")
    c = await access.load_for(svc, user, consultation)
    score = validate_score(score)
    comment = _optional_text(comment, "comment", COMMENT_MAX_CHARS)
    complaint = _optional_text(complaint, "complaint", COMPLAINT_MAX_CHARS)
    if c["status"] != "closed":
        raise Conflict("not_closed", "a consultation is rated after it closes / penilaian diberikan setelah ditutup")
    if c.get("rating"):
        raise Conflict("already_rated", "this consultation was rated already / konsultasi ini sudah dinilai")
    now = svc.now()
    rating: Doc = {"score": score, "comment": comment, "at": now, "via": via, "complaint": bool(complaint)}
    res = await svc.db.consultations.update_one(
        {"_id": c["_id"], "status": "closed", "rating": None},
        {"$set": {"rating": rating, "updated_at": now}, "$unset": {"rating_reminder_at": ""}},
    )
    if res.modified_count != 1:
        fresh = await access.load(svc, c["_id"])
        if fresh.get("rating"):
            raise Conflict("already_rated", "this consultation was rated already / konsultasi ini sudah dinilai")
        raise Conflict("not_closed", "a consultation is rated after it closes / penilaian diberikan setelah ditutup")
    # Keyed by consultation: a redo after a crash between the two writes changes nothing.
    await svc.db.ratings.update_one(
        {"consultation_id": c["_id"]},
        {
            "$setOnInsert": {
                "consultation_id": c["_id"],
                "number": c.get("number"),
                "office": c["office"],
                "user_id": c["user_id"],
                "assigned_to": c.get("assigned_to"),
                "score": score,
                "comment": comment,
                "via": via,
                "created_at": now,
            }
        },
        upsert=True,
    )
    if complaint:
        # A case for the office (number, deadline, acknowledgement, supervisors alerted): server.domain.complaints.
        await complaints.open_from_rating(svc, c, user, complaint)
    elif score in followups.LOW_SCORES:
        # A low score and no complaint: the supervisor follows it up (server.domain.followups says why apart).
        await followups.open_followup(svc, c, score)
    msg, c = await messages.post_system_message(
        svc,
        c,
        "rating.given",
        params={"score": score, "max": SCORE_MAX, "comment": comment},
        kind="rating",
        data={"event": "rated", "score": score, "comment": comment, "complaint": bool(complaint)},
    )
    # The rating is the user's own words: read by them, so their closed consultation shows no unread badge.
    await svc.db.consultations.update_one({"_id": c["_id"]}, {"$max": {f"reads.{c['user_id']}": msg["seq"]}})
    after = await svc.db.consultations.find_one({"_id": c["_id"]}) or c
    await access.emit_updated(svc, after)
    log.info("consultation %s rated %d via %s", c["_id"], score, via)
    return after


# --- the signed e-mail link -------------------------------------------------------------------


def read_token(svc: Services, token: Any) -> tuple[ObjectId, ObjectId]:
    """(consultation id, user id) of a rating link made by mailing.rating_link; 400 if forged, 410 if expired."""
    data = unsign(token, svc.settings.secret_key) if isinstance(token, str) and len(token) <= 1000 else None
    if not data or data.get("p") != RATING_TOKEN_PURPOSE:
        raise BadRequest("invalid_token", "this rating link is not valid / tautan penilaian tidak sah")
    exp = data.get("exp")
    if isinstance(exp, bool) or not isinstance(exp, int | float):
        raise BadRequest("invalid_token", "this rating link is not valid / tautan penilaian tidak sah")
    if svc.now() >= datetime.fromtimestamp(exp, UTC):
        raise Gone("token_expired", "this rating link has expired / tautan penilaian sudah kedaluwarsa")
    try:
        return ObjectId(str(data["c"])), ObjectId(str(data["u"]))
    except (InvalidId, KeyError, TypeError):
        raise BadRequest("invalid_token", "this rating link is not valid / tautan penilaian tidak sah") from None


async def _token_user(svc: Services, token: Any) -> tuple[Doc, Doc]:
    cid, uid = read_token(svc, token)
    c = await svc.db.consultations.find_one({"_id": cid})
    if c is None or c["user_id"] != uid:
        raise NotFound("not_found", "consultation not found / konsultasi tidak ditemukan")
    user = await svc.db.users.find_one({"_id": uid}) or {"_id": uid, "name": c.get("user_name"), "role": "user"}
    return c, user


async def describe_by_token(svc: Services, token: Any) -> Doc:
    """What a rating link is about, for the page that opens from the e-mail."""
    c, _user = await _token_user(svc, token)
    return await describe(svc, c)


async def rate_by_token(svc: Services, token: Any, *, score: Any, comment: Any = None, complaint: Any = None) -> Doc:
    c, user = await _token_user(svc, token)
    return await rate(svc, user, c, score=score, comment=comment, complaint=complaint, via="link")


async def describe(svc: Services, c: Doc) -> Doc:
    office = await svc.db.offices.find_one({"code": c["office"]}, {"name": 1, "time_zone": 1})
    rating = c.get("rating")
    # The rating page speaks the language of the person who asked (a visitor's own choice wins there).
    asker = await svc.db.users.find_one({"_id": c.get("user_id")}, {"lang": 1}) if c.get("user_id") else None
    return {
        "lang": (asker or {}).get("lang") or c.get("user_lang") or "id",
        "consultation": {
            "id": str(c["_id"]),
            "number": c.get("number"),
            "subject": c.get("subject"),
            "office": c["office"],
            "office_name": (office or {}).get("name"),
            "status": c["status"],
            "closed_at": iso(c.get("closed_at")),
            "assigned_name": c.get("assigned_name"),
        },
        "rated": bool(rating),
        "rating": public_rating(rating),
    }


def public_rating(rating: Doc | None) -> Doc | None:
    if not rating:
        return None
    return {"score": rating.get("score"), "comment": rating.get("comment"), "at": iso(rating.get("at"))}
