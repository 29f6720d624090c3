"""Personal data (UU PDP 27/2022): a person's copy of their data, erasure, and retention.

- `export(user)`: everything held about an account as JSON (GET /me/export): the account, its
  consultations with their messages (never staff notes), ratings, survey answers, complaints and
  guest book entries under its e-mail address.
- `erase(user, password)`: DELETE /me. The account's name, e-mail, phone and every text the person
  wrote are replaced by ERASED; the account can no longer sign in and its sessions end. The
  consultations stay, with their numbers, dates, status, SLA and working minutes, so the office's
  reports keep their figures.
- `retention(svc)`: the scheduler job. Consultations closed more than PST_RETENTION_YEARS ago lose
  their message texts, rendered e-mails older than that lose their bodies, and guest book entries
  older than that lose their ID numbers; counts, dates and outcomes stay.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from bson import ObjectId

from server.domain import accounts, guestbook
from server.domain.errors import Forbidden
from server.domain.models import is_staff, iso, public_consultation, public_message, public_user, sid
from server.domain.security import verify_password
from server.services import Services
from server.storage import files, sweeps

log = logging.getLogger(__name__)

Doc = dict[str, Any]

# What an erased text or name reads as, everywhere.
ERASED = "[dihapus]"
# Where erased accounts' addresses point: a reserved domain nothing is ever delivered to (RFC 2606).
ERASED_EMAIL_DOMAIN = "dihapus.invalid"
# Kinds whose text a person (not the system) wrote.
PERSON_KINDS = ("text", "note", "file", "meeting", "rating")
# Catalog params (server/i18n.py) that carry what a person wrote.
_TEXT_PARAMS = ("comment", "summary")
# The retention job's state: one document in `job_state`, its lease and how far each sweep has come.
RETENTION_STATE_ID = "retention"
RETENTION_BATCH = 200


def _plain(value: Any) -> Any:
    """A stored value as JSON: ids as strings, times as ISO 8601."""
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, ObjectId):
        return str(value)
    if isinstance(value, dict):
        out = {("id" if k == "_id" else k): _plain(v) for k, v in value.items()}
        return out
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, bytes):
        return None
    return value


# --- export -------------------------------------------------------------------------------------


async def _consultation_ids(svc: Services, uid: ObjectId) -> list[ObjectId]:
    return [c["_id"] async for c in svc.db.consultations.find({"user_id": uid}, {"_id": 1})]


async def export(svc: Services, user: Doc) -> Doc:
    """A copy of everything held about `user`, as JSON (the person's right of access)."""
    uid = user["_id"]
    email = user.get("email")
    account = public_user(user)
    account["consent"] = {
        "accepted_at": iso(user.get("consent_at")),
        "notice_version": user.get("consent_version"),
    }
    consultations: list[Doc] = []
    async for c in svc.db.consultations.find({"user_id": uid}).sort("created_at", 1):
        view = public_consultation(c, user)
        view["summary"] = c.get("summary")
        cursor = svc.db.messages.find({"consultation_id": c["_id"]}).sort("seq", 1)
        view["messages"] = [public_message(m) async for m in cursor if m.get("kind") != "note"]
        consultations.append(view)
    cids = [c_id for c_id in (ObjectId(v["id"]) for v in consultations)]
    ratings = [
        _plain({k: r.get(k) for k in ("consultation_id", "number", "office", "score", "comment", "via", "created_at")})
        async for r in svc.db.ratings.find({"consultation_id": {"$in": cids}})
    ]
    surveys = [
        _plain(s)
        async for s in svc.db.skm_responses.find({"$or": [{"consultation_id": {"$in": cids}}, {"user_id": uid}]})
    ]
    complaint_q: list[Doc] = [{"user_id": uid}, {"consultation_id": {"$in": cids}}]
    if email:
        complaint_q.append({"email": email})
    complaints = [
        _plain({k: v for k, v in d.items() if k not in ("internal_notes", "notes", "assigned_to")})
        async for d in svc.db.complaints.find({"$or": complaint_q})
    ]
    # Matched by the address typed at the kiosk, which anyone could type: ID numbers stay masked here.
    entries = [guestbook.public_entry(e) async for e in svc.db.guestbook.find({"email": email})] if email else []
    # WhatsApp numbers and e-mail addresses that wrote in and were linked to the account.
    contacts = [
        _plain({k: d.get(k) for k in ("channel", "address", "name", "display", "created_at")})
        async for d in svc.db.contacts.find({"user_id": uid})
    ]
    return {
        "exported_at": iso(svc.now()),
        "account": account,
        "consultations": consultations,
        "ratings": ratings,
        "surveys": surveys,
        "complaints": complaints,
        "guestbook": entries,
        "contacts": contacts,
    }


# --- erasure ------------------------------------------------------------------------------------


def erased_email(uid: ObjectId) -> str:
    """The placeholder address of an erased account: unique (the index), never deliverable."""
    return f"akun-{uid}@{ERASED_EMAIL_DOMAIN}"


async def _erase_room_texts(
    svc: Services, c: Doc, *, author_id: ObjectId | None = None, author_name: str | None = None
) -> int:
    """Replace the texts of a consultation's messages (only `author_id`'s when given); the count changed."""
    now = svc.now()
    query: Doc = {"consultation_id": c["_id"], "kind": {"$in": list(PERSON_KINDS)}, "text_erased_at": None}
    if author_id is not None:
        query["author_id"] = author_id
    sets: Doc = {"text": ERASED, "text_erased_at": now}
    if author_id is not None:
        sets["author_name"] = ERASED
    res = await svc.db.messages.update_many(
        query,
        {"$set": sets, "$unset": {"data.comment": "", "data.params.comment": "", "attachment.filename": ""}},
    )
    changed = int(res.modified_count)
    # The list previews (a field set on a null would fail the whole update), with the catalog params a
    # system preview carries (a rating's comment, a closing summary, a name).
    room: Doc = {}
    for key in ("last_message", "last_visible_message"):
        preview = c.get(key)
        if not isinstance(preview, dict):
            continue
        room[f"{key}.text"] = ERASED
        params: Doc = preview["params"] if isinstance(preview.get("params"), dict) else {}
        for name, value in params.items():
            if isinstance(value, str) and (name in _TEXT_PARAMS or (author_name and author_name in value)):
                room[f"{key}.params.{name}"] = ERASED
    if isinstance(c.get("rating"), dict) and c["rating"].get("comment"):
        room["rating.comment"] = ERASED
    if author_id is None:
        # Retention: the staff's closing summary and rating messages quoting a comment go too.
        await svc.db.messages.update_many(
            {"consultation_id": c["_id"], "kind": "system", "data.params.summary": {"$nin": [None, ""]}},
            {"$set": {"text": ERASED, "data.params.summary": ERASED, "text_erased_at": now}},
        )
        if c.get("summary"):
            room["summary"] = ERASED
        await _erase_files(svc, {"consultation_id": c["_id"]})
    else:
        room["subject"] = ERASED
        room["kb_query"] = None
        for key in ("last_message", "last_visible_message"):
            if author_name and isinstance(c.get(key), dict) and c[key].get("author_name") == author_name:
                room[f"{key}.author_name"] = ERASED
        if author_name:
            await _erase_name_in_system_messages(svc, c, author_name)
        await _erase_files(svc, {"consultation_id": c["_id"], "uploaded_by": author_id})
    await svc.db.consultations.update_one({"_id": c["_id"]}, {"$set": room})
    return changed


async def _erase_name_in_system_messages(svc: Services, c: Doc, name: str) -> None:
    """System messages that name the person ("closed by …"): the name replaced in the text and its params."""
    cursor = svc.db.messages.find(
        {"consultation_id": c["_id"], "kind": {"$in": ["system", "rating"]}}, {"text": 1, "data": 1}
    )
    async for m in cursor:
        data = m.get("data") or {}
        params: Doc = data["params"] if isinstance(data.get("params"), dict) else {}
        named = [k for k, v in params.items() if isinstance(v, str) and name in v]
        if name not in str(m.get("text") or "") and not named:
            continue
        sets: Doc = {"text": str(m.get("text") or "").replace(name, ERASED)}
        for k in named:
            sets[f"data.params.{k}"] = params[k].replace(name, ERASED)
        await svc.db.messages.update_one({"_id": m["_id"]}, {"$set": sets})


async def _erase_files(svc: Services, query: Doc) -> None:
    """Delete the bytes of matching attachments (their record stays, marked erased: downloads answer 404)."""
    bucket = files.bucket(svc.db)
    async for meta in svc.db.attachments.find({**query, "erased_at": None}, {"_id": 1}):
        try:
            await bucket.delete(meta["_id"])
        except Exception:  # noqa: BLE001 - gone already (a redo after a crash)
            log.info("attachment %s had no bytes left", meta["_id"])
        await svc.db.attachments.update_one(
            {"_id": meta["_id"]}, {"$set": {"erased_at": svc.now(), "filename": ERASED}}
        )


async def _erase_mails(svc: Services, query: Doc, *, recipient: str | None = None) -> int:
    """Replace the rendered bodies of matching outbox mails, and the address where it is `recipient`;
    a mail not sent yet is not sent at all."""
    now = svc.now()
    sets: Doc = {"subject": ERASED, "text": ERASED, "html": None, "attachments": [], "body_erased_at": now}
    if recipient:
        await svc.db.outbox.update_many({**query, "to": recipient}, {"$set": {"to": ERASED, "to_name": None}})
    await svc.db.outbox.update_many(
        {**query, "status": {"$in": ["pending", "held"]}},
        {"$set": {"status": "failed", "last_error": "erased before sending"}},
    )
    res = await svc.db.outbox.update_many(
        {**query, "body_erased_at": None, "status": {"$ne": "sending"}},
        {
            "$set": sets,
            "$unset": {"payload": "", "media": ""},
        },
    )
    return int(res.modified_count)


async def erase(svc: Services, user: Doc, password: str) -> None:
    """DELETE /me: erase the account's personal data now; the consultations' figures stay.

    The account document is changed last, so a run that fails midway can be repeated with the same
    password; every step is idempotent.
    """
    if is_staff(user):
        raise Forbidden("staff_account", "staff accounts are removed by an admin / akun petugas dihapus oleh admin")
    fresh = await svc.db.users.find_one({"_id": user["_id"]})
    if fresh is None or fresh.get("erased_at"):
        raise Forbidden("forbidden", "this account is gone / akun ini sudah dihapus")
    if not await verify_password(fresh.get("password_hash"), password or ""):
        raise Forbidden("wrong_password", "the password is wrong / kata sandi salah")
    uid = fresh["_id"]
    email = fresh.get("email")
    now = svc.now()
    cids: list[ObjectId] = []
    # This process's rooms' previews still on their way would write a text back over its erasure.
    await svc.batch.trailing.flush()
    async for c in svc.db.consultations.find({"user_id": uid}):
        cids.append(c["_id"])
        await _erase_room_texts(svc, c, author_id=uid, author_name=fresh.get("name"))
        # The rating message quotes the person's comment.
        await svc.db.messages.update_many(
            {"consultation_id": c["_id"], "kind": "rating", "text_erased_at": None},
            {
                "$set": {"text": ERASED, "text_erased_at": now},
                "$unset": {"data.comment": "", "data.params.comment": ""},
            },
        )
        await _erase_mails(svc, {"consultation_id": c["_id"]}, recipient=email)
    if cids:
        contact_sets = {"contact.name": ERASED, "contact.address": ERASED}
        await svc.db.consultations.update_many(
            {"_id": {"$in": cids}}, {"$set": {"user_name": ERASED, "user_email": ERASED, "user_erased_at": now}}
        )
        await svc.db.consultations.update_many({"_id": {"$in": cids}, "contact": {"$ne": None}}, {"$set": contact_sets})
        await svc.db.ratings.update_many(
            {"consultation_id": {"$in": cids}, "comment": {"$nin": [None, ""]}}, {"$set": {"comment": ERASED}}
        )
        await svc.db.skm_responses.update_many(
            {"consultation_id": {"$in": cids}, "suggestion": {"$nin": [None, ""]}}, {"$set": {"suggestion": ERASED}}
        )
    complaint_q: list[Doc] = [{"user_id": uid}, {"consultation_id": {"$in": cids}}]
    if email:
        complaint_q.append({"email": email})
    await svc.db.complaints.update_many(
        {"$or": complaint_q}, {"$set": {"text": ERASED, "name": ERASED, "email": None, "phone": None}}
    )
    if email:
        await svc.db.guestbook.update_many(
            {"email": email},
            {
                "$set": {
                    "name": ERASED,
                    "email": erased_email(uid),
                    "phone": None,
                    "institution": None,
                    "occupation": None,
                    "id_number": None,
                    "purpose": ERASED,
                    "erased_at": now,
                }
            },
        )
    await _erase_mails(svc, {"user_id": uid}, recipient=email)
    # People who wrote through WhatsApp or e-mail and were linked to this account.
    await svc.db.contacts.delete_many({"user_id": uid})
    # Knowledge-base searches that found nothing stay for the office's list of misses, no longer the person's.
    # (No index on user_id: one scan of kb_queries per erasure, which is rare.)
    await svc.db.kb_queries.update_many({"user_id": uid}, {"$set": {"user_id": None}})
    await svc.db.tokens.delete_many({"user_id": uid})
    await svc.db.users.update_one(
        {"_id": uid},
        {
            "$set": {
                "name": ERASED,
                "email": erased_email(uid),
                "phone": None,
                "institution": None,
                "occupation": None,
                "password_hash": None,
                "disabled": True,
                "erased_at": now,
                "updated_at": now,
            }
        },
    )
    await end_sessions(svc, uid)
    log.info("account erased id=%s consultations=%d", uid, len(cids))


async def end_sessions(svc: Services, uid: ObjectId) -> None:
    """Every session of the account ends, its open sockets with them (session:ended, then disconnected)."""
    await accounts.end_sessions(svc, uid, "account_erased")


# --- retention ----------------------------------------------------------------------------------


def years_before(when: datetime, years: int) -> datetime:
    """`when` moved back `years` calendar years (29 February becomes the 28th)."""
    try:
        return when.replace(year=when.year - years)
    except ValueError:
        return when.replace(year=when.year - years, day=28)


async def _claim(svc: Services, now: datetime) -> tuple[Doc, datetime] | None:
    """The retention lease, by compare-and-set on the state document's `lease_until`; None if another has it."""
    coll = svc.db.job_state
    await coll.update_one(
        {"_id": RETENTION_STATE_ID},
        {"$setOnInsert": {"lease_until": sweeps.SWEEP_FLOOR, "consultations_through": None, "outbox_through": None}},
        upsert=True,
    )
    state = await coll.find_one({"_id": RETENTION_STATE_ID})
    if state is None or state["lease_until"] > now:
        return None
    lease = sweeps.lease_until(now)
    if not await sweeps.cas(
        coll, RETENTION_STATE_ID, "lease_until", state["lease_until"], {"$set": {"lease_until": lease}}
    ):
        return None
    return state, lease


async def _rooms_batch(svc: Services, since: datetime | None, cutoff: datetime) -> tuple[int, datetime | None]:
    """Erase the texts of the next consultations closed before `cutoff`; (rooms changed, closed_at reached)."""
    lo = since or sweeps.SWEEP_FLOOR
    cursor = (
        svc.db.consultations.find({"closed_at": {"$gte": lo, "$lte": cutoff}})
        .sort("closed_at", 1)
        .limit(RETENTION_BATCH)
    )
    changed = 0
    reached: datetime | None = None
    async for c in cursor:
        reached = c["closed_at"]
        if c.get("status") != "closed" or c.get("texts_erased_at"):
            continue
        await _erase_room_texts(svc, c)
        await svc.db.consultations.update_one({"_id": c["_id"]}, {"$set": {"texts_erased_at": svc.now()}})
        changed += 1
    return changed, reached


async def _mails_batch(svc: Services, since: datetime | None, cutoff: datetime) -> tuple[int, datetime | None]:
    """Erase the bodies of the next mails queued before `cutoff`; (mails changed, created_at reached)."""
    lo = since or sweeps.SWEEP_FLOOR
    cursor = (
        svc.db.outbox.find({"created_at": {"$gte": lo, "$lte": cutoff}}, {"created_at": 1, "body_erased_at": 1})
        .sort("created_at", 1)
        .limit(RETENTION_BATCH)
    )
    ids: list[ObjectId] = []
    reached: datetime | None = None
    async for m in cursor:
        reached = m["created_at"]
        if not m.get("body_erased_at"):
            ids.append(m["_id"])
    changed = await _erase_mails(svc, {"_id": {"$in": ids}}) if ids else 0
    return changed, reached


async def retention(svc: Services) -> int:
    """The retention job: one batch of rooms and mails past the retention period, and old ID numbers.

    Two runners never work at once (a lease on the job's state document, taken by compare-and-set);
    each sweep walks its index by date from where the last run stopped. Every erasure is idempotent,
    so a run that dies after its claim is simply redone once the lease runs out.
    """
    now = svc.now()
    claimed = await _claim(svc, now)
    if claimed is None:
        return 0
    state, lease = claimed
    cutoff = years_before(now, svc.settings.pst_retention_years)
    rooms, rooms_at = await _rooms_batch(svc, state.get("consultations_through"), cutoff)
    mails, mails_at = await _mails_batch(svc, state.get("outbox_through"), cutoff)
    ids = await guestbook.erase_id_numbers(svc, cutoff)
    final: Doc = {"lease_until": sweeps.SWEEP_FLOOR, "last_run_at": now}
    if rooms_at is not None:
        final["consultations_through"] = rooms_at
    if mails_at is not None:
        final["outbox_through"] = mails_at
    await sweeps.cas(svc.db.job_state, RETENTION_STATE_ID, "lease_until", lease, {"$set": final})
    if rooms or mails or ids:
        log.info("retention: %d consultations, %d mails, %d ID numbers erased (before %s)", rooms, mails, ids, cutoff)
    return rooms + mails + ids


def public_erasure(user: Doc) -> Doc:
    """What DELETE /me answers."""
    return {"ok": True, "erased": True, "id": sid(user.get("_id"))}
