"""Every collection, index and JSON-schema validator the product needs; applying them twice is harmless.

Run on its own against a production MongoDB with `python -m mongo_init --uri mongodb://… --db pst`.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from typing import Any

from bson import ObjectId
from pymongo import ASCENDING as ASC
from pymongo import DESCENDING as DESC
from pymongo import IndexModel
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import CollectionInvalid, OperationFailure

from mongo_init.canned import seed_canned_responses

# The lower bound of the scheduler sweep indexes; it lives with the sweeps that query above it.
from server.storage.sweeps import SWEEP_FLOOR as SWEEP_FLOOR

log = logging.getLogger(__name__)

Doc = dict[str, Any]

_STR = {"bsonType": "string"}
_DATE = {"bsonType": "date"}
_OID = {"bsonType": "objectId"}
_INT = {"bsonType": ["int", "long"]}


def _schema(required: list[str], props: Doc) -> Doc:
    return {"$jsonSchema": {"bsonType": "object", "required": required, "properties": props}}


@dataclass
class Collection:
    """One collection: its indexes and its validator."""

    name: str
    indexes: list[IndexModel] = field(default_factory=list)
    validator: Doc | None = None


def _partial(expr: Doc) -> Doc:
    return {"partialFilterExpression": expr}


# "Only documents where `field` is a string / an ObjectId", said as a range over that type (BSON ranges stay
# within a type) rather than with $type: the same documents, and a filter an equality query provably implies
# in both planners. SecantusDB cannot reason about $type in a partial filter, so it never used such an index
# and scanned the collection instead (an audit read lookup over 5,400 entries: 120 ms, found by the
# 10,000-client run of bench/chat_latency.py); MongoDB uses either form.
# Only where the field is the index's FIRST key: SecantusDB 0.7.0b3 answers a query on a later key of a
# compound index partial on that key from the index alone and finds nothing (messages
# {client_id: "r1"} over (consultation_id, client_id) returned no document); with $type it scans, correctly.
_MIN_OBJECT_ID = ObjectId("000000000000000000000000")


def _strings(field: str) -> Doc:
    return _partial({field: {"$gte": ""}})


def _object_ids(field: str) -> Doc:
    return _partial({field: {"$gte": _MIN_OBJECT_ID}})


COLLECTIONS: list[Collection] = [
    Collection(
        "offices",
        [
            IndexModel([("code", ASC)], unique=True, name="code_unique"),
            # A WhatsApp number or a mailbox belongs to one office (the webhook and the intake route by them).
            IndexModel(
                [("channels.whatsapp.phone_number_id", ASC)],
                unique=True,
                name="whatsapp_number_unique",
                **_strings("channels.whatsapp.phone_number_id"),
            ),
            IndexModel(
                [("channels.email.address", ASC)],
                unique=True,
                name="email_address_unique",
                **_strings("channels.email.address"),
            ),
        ],
        _schema(
            ["code", "name", "time_zone", "policy"],
            {
                "code": {"bsonType": "string", "pattern": "^[0-9]{4}$"},
                "name": _STR,
                "time_zone": _STR,
                "policy": {
                    "bsonType": "object",
                    "required": ["sla_working_days", "idle_close"],
                    "properties": {
                        "sla_working_days": {"bsonType": ["int", "long"], "minimum": 1, "maximum": 30},
                        "idle_close": {
                            "bsonType": "object",
                            "required": ["amount", "unit"],
                            "properties": {
                                "amount": {"bsonType": ["int", "long"], "minimum": 1, "maximum": 90},
                                "unit": {"enum": ["days", "working_days"]},
                            },
                        },
                    },
                },
            },
        ),
    ),
    Collection(
        "users",
        [
            IndexModel([("email", ASC)], unique=True, name="email_unique"),
            IndexModel([("office", ASC), ("role", ASC)], name="office_role"),
            # A WhatsApp sender is linked to the verified account with their phone number.
            IndexModel([("phone", ASC)], name="phone", **_strings("phone")),
        ],
        _schema(
            ["email", "name", "role", "created_at"],
            {
                "email": _STR,
                "name": _STR,
                "role": {"enum": ["user", "officer", "supervisor", "admin"]},
                "office": {"bsonType": ["string", "null"]},
                "created_at": _DATE,
            },
        ),
    ),
    Collection(
        "sessions",
        [
            IndexModel([("token_hash", ASC)], unique=True, name="token_unique"),
            IndexModel([("user_id", ASC)], name="user"),
            # Clean-up only; validity is checked against the injected clock.
            IndexModel([("expires_at", ASC)], expireAfterSeconds=86400, name="expiry_ttl"),
        ],
        _schema(["token_hash", "user_id", "expires_at"], {"token_hash": _STR, "user_id": _OID, "expires_at": _DATE}),
    ),
    Collection(
        "tokens",
        [
            IndexModel([("token_hash", ASC)], unique=True, name="token_unique"),
            # A password reset ends the user's other reset links (accounts.reset_password).
            IndexModel([("user_id", ASC), ("purpose", ASC)], name="user_purpose"),
            IndexModel([("expires_at", ASC)], expireAfterSeconds=7 * 86400, name="expiry_ttl"),
        ],
        _schema(
            ["token_hash", "purpose", "expires_at"],
            {"token_hash": _STR, "purpose": {"enum": ["verify_email", "reset_password"]}, "expires_at": _DATE},
        ),
    ),
    Collection(
        "login_failures",
        [
            IndexModel([("email", ASC), ("at", DESC)], name="email_at"),
            IndexModel([("at", ASC)], expireAfterSeconds=3600, name="at_ttl"),
        ],
    ),
    Collection(
        "counters",
        [],
    ),
    Collection(
        "consultations",
        [
            IndexModel([("number", ASC)], unique=True, name="number_unique"),
            IndexModel([("user_id", ASC), ("created_at", DESC)], name="user_recent"),
            IndexModel([("office", ASC), ("status", ASC), ("created_at", ASC)], name="office_queue"),
            IndexModel([("assigned_to", ASC), ("status", ASC), ("last_message_at", DESC)], name="assignee_rooms"),
            # Scheduler sweeps: each is a range scan over only the items that can be due. The filter is
            # a range, not {$type: "date"}: a sweep query {$gte: SWEEP_FLOOR, $lte: now} provably lies
            # inside it, so the planner (SecantusDB's too, which cannot reason about $type) picks the
            # index by itself; null (a stopped clock) stays out of it.
            IndexModel([("sla.check_at", ASC)], name="sla_sweep",
                       **_partial({"sla.check_at": {"$gte": SWEEP_FLOOR}})),
            IndexModel([("idle.check_at", ASC)], name="idle_sweep",
                       **_partial({"idle.check_at": {"$gte": SWEEP_FLOOR}})),
            IndexModel(
                [("rating_reminder_at", ASC)],
                name="rating_sweep",
                **_partial({"rating_reminder_at": {"$gte": SWEEP_FLOOR}}),
            ),
            IndexModel([("office", ASC), ("closed_at", ASC)], name="office_closed"),
            # Retention (server/domain/privacy.py) walks closed consultations by the day they closed.
            IndexModel([("closed_at", ASC)], name="retention_closed", **_partial({"closed_at": {"$gte": SWEEP_FLOOR}})),
            # Reports and the history: an office's consultations by the day they arrived.
            IndexModel([("office", ASC), ("created_at", ASC)], name="office_created"),
            IndexModel([("visit.code", ASC)], name="visit_code", sparse=True),
            # WhatsApp and e-mail: the contact's latest consultation at an office continues.
            IndexModel(
                [("contact.key", ASC), ("office", ASC), ("created_at", DESC)],
                name="contact_recent",
                **_strings("contact.key"),
            ),
        ],
        _schema(
            ["number", "office", "user_id", "status", "channel", "created_at", "last_seq"],
            {
                "number": _STR,
                "office": _STR,
                "user_id": _OID,
                "status": {"enum": ["queued", "active", "closed"]},
                "channel": {"enum": ["online", "walk_in", "whatsapp", "email"]},
                "topic": {"enum": ["data", "metadata", "classification", "other"]},
                "created_at": _DATE,
                "last_seq": _INT,
            },
        ),
    ),
    Collection(
        "messages",
        [
            IndexModel([("consultation_id", ASC), ("seq", ASC)], unique=True, name="room_seq_unique"),
            IndexModel(
                [("consultation_id", ASC), ("client_id", ASC)],
                unique=True,
                name="room_client_unique",
                # $type, not _strings: the partial field is not the index's first key (see _strings).
                **_partial({"client_id": {"$type": "string"}}),
            ),
        ],
        _schema(
            ["consultation_id", "seq", "kind", "created_at"],
            {
                "consultation_id": _OID,
                "seq": _INT,
                "kind": {"enum": ["text", "system", "meeting", "note", "file", "rating"]},
                "text": _STR,
                "created_at": _DATE,
            },
        ),
    ),
    Collection(
        "outbox",
        [
            IndexModel([("status", ASC), ("due_at", ASC)], name="due"),
            IndexModel([("message_id", ASC)], unique=True, name="message_id_unique"),
            IndexModel([("consultation_id", ASC), ("created_at", ASC)], name="consultation"),
            IndexModel(
                [("dedupe_key", ASC)],
                unique=True,
                name="dedupe_unique",
                **_strings("dedupe_key"),
            ),
            # Retention walks mails by age; erasing an account finds its account mails.
            IndexModel([("created_at", ASC)], name="retention_created"),
            IndexModel([("user_id", ASC)], name="user", **_object_ids("user_id")),
            # WhatsApp status webhooks find the message we sent by Meta's id.
            IndexModel([("provider_id", ASC)], name="provider_id", **_strings("provider_id")),
        ],
        _schema(
            ["kind", "to", "status", "due_at", "message_id", "created_at"],
            {
                "kind": _STR,
                "to": _STR,
                "status": {"enum": ["pending", "sending", "sent", "failed", "held"]},
                "due_at": _DATE,
                "message_id": _STR,
                "created_at": _DATE,
            },
        ),
    ),
    # People who write through WhatsApp or e-mail, with or without an account (server/domain/channels.py).
    Collection(
        "contacts",
        [IndexModel([("key", ASC)], unique=True, name="key_unique")],
        _schema(
            ["key", "channel", "created_at"],
            {"key": _STR, "channel": {"enum": ["whatsapp", "email"]}, "created_at": _DATE},
        ),
    ),
    # Every WhatsApp message and e-mail taken in, by its provider id (idempotency), and per sender (rate limit).
    Collection(
        "channel_inbound",
        [
            IndexModel([("channel", ASC), ("sender", ASC), ("received_at", DESC)], name="sender_recent"),
            IndexModel([("received_at", ASC)], expireAfterSeconds=90 * 86400, name="received_ttl"),
        ],
    ),
    # Per sender and hour, how many mails came in (the e-mail bomb limit); gone after their hour.
    Collection("channel_rates", [IndexModel([("expires_at", ASC)], expireAfterSeconds=0, name="expiry_ttl")]),
    Collection("canned_responses", [IndexModel([("office", ASC), ("title", ASC)], name="office_title")]),
    Collection("attachments", [IndexModel([("consultation_id", ASC)], name="consultation")]),
    Collection(
        "ratings",
        [
            IndexModel([("consultation_id", ASC)], unique=True, name="consultation_unique"),
            IndexModel([("office", ASC), ("created_at", ASC)], name="office_time"),
        ],
    ),
    # Complaints as cases (server/domain/complaints.py): the office's list, the number, the deadline sweep.
    Collection(
        "complaints",
        [
            IndexModel([("office", ASC), ("status", ASC), ("created_at", ASC)], name="office_status"),
            IndexModel([("office", ASC), ("created_at", DESC)], name="office_recent"),
            IndexModel(
                [("number", ASC)], unique=True, name="number_unique", **_strings("number")
            ),
            # One case per rating's complaint, however often the rating's write is redone.
            IndexModel(
                [("origin_key", ASC)],
                unique=True,
                name="origin_unique",
                **_strings("origin_key"),
            ),
            # The at-risk / overdue alerts (schedulers/complaint_jobs.py): only open cases have check_at.
            IndexModel([("check_at", ASC)], name="complaint_sweep", **_partial({"check_at": {"$gte": SWEEP_FLOOR}})),
            # A person's export and erasure (server/domain/privacy.py).
            IndexModel([("user_id", ASC)], name="user", **_object_ids("user_id")),
            IndexModel(
                [("consultation_id", ASC)], name="consultation", **_object_ids("consultation_id")
            ),
            IndexModel([("email", ASC)], name="email", **_strings("email")),
        ],
        _schema(
            ["office", "status", "created_at"],
            {
                "office": _STR,
                "status": {"enum": ["received", "in_progress", "resolved", "rejected"]},
                "text": _STR,
                "created_at": _DATE,
            },
        ),
    ),
    # What staff did to each complaint (kept apart from the case, so nothing of it reaches the complainant).
    Collection("complaint_history", [IndexModel([("complaint_id", ASC), ("at", ASC)], name="complaint_at")]),
    # Low ratings without a complaint, for the supervisor to follow up (server/domain/followups.py).
    Collection(
        "followups",
        [
            IndexModel([("consultation_id", ASC)], unique=True, name="consultation_unique"),
            IndexModel([("office", ASC), ("status", ASC), ("created_at", DESC)], name="office_status"),
        ],
    ),
    # SKM survey responses (server/domain/surveys.py): once per consultation and once per ticket.
    Collection(
        "skm_responses",
        [
            IndexModel([("office", ASC), ("created_at", ASC)], name="office_time"),
            IndexModel(
                [("consultation_id", ASC)],
                unique=True,
                name="consultation_unique",
                **_object_ids("consultation_id"),
            ),
            IndexModel(
                [("ticket_id", ASC)],
                unique=True,
                name="ticket_unique",
                **_object_ids("ticket_id"),
            ),
            IndexModel([("user_id", ASC)], name="user", **_object_ids("user_id")),
        ],
        _schema(
            ["office", "channel", "answers", "created_at"],
            {
                "office": _STR,
                "channel": {"enum": ["online", "walk_in", "whatsapp", "email"]},
                "answers": {
                    "bsonType": "object",
                    "required": [
                        "persyaratan",
                        "prosedur",
                        "waktu",
                        "biaya",
                        "produk",
                        "kompetensi",
                        "perilaku",
                        "pengaduan",
                        "sarana",
                    ],
                },
                "created_at": _DATE,
            },
        ),
    ),
    Collection(
        "kb_articles",
        [
            IndexModel([("status", ASC), ("updated_at", DESC)], name="status_updated"),
            IndexModel([("slug", ASC)], unique=True, name="slug_unique", sparse=True),
            # Every process polls for articles newer than the revision it has applied.
            IndexModel([("rev", ASC)], name="rev"),
        ],
    ),
    Collection("kb_queries", [IndexModel([("office", ASC), ("found", ASC), ("at", DESC)], name="office_found")]),
    Collection(
        "meetings",
        [
            IndexModel([("consultation_id", ASC)], name="consultation"),
            IndexModel(
                [("reminder_at", ASC)], name="reminder_sweep", **_partial({"reminder_at": {"$gte": SWEEP_FLOOR}})
            ),
        ],
    ),
    Collection(
        "visits",
        [
            IndexModel([("office", ASC), ("slot_start", ASC)], name="office_slot"),
            IndexModel([("code", ASC)], unique=True, name="code_unique"),
            IndexModel([("consultation_id", ASC)], name="consultation"),
        ],
    ),
    Collection(
        "guestbook",
        [
            IndexModel([("office", ASC), ("created_at", DESC)], name="office_time"),
            # Retention: the sweep that erases old ID numbers reads by age.
            IndexModel([("created_at", ASC)], name="created"),
            # A person's export and erasure find their entries by e-mail address.
            IndexModel([("email", ASC)], name="email"),
        ],
    ),
    Collection(
        "queue_tickets",
        [
            IndexModel([("office", ASC), ("day", ASC), ("number", ASC)], unique=True, name="office_day_number"),
            IndexModel([("office", ASC), ("day", ASC), ("status", ASC)], name="office_day_status"),
            # Call-next: the day's waiting tickets in call order (priority first, then the number).
            IndexModel([("office", ASC), ("day", ASC), ("status", ASC), ("prio", ASC), ("seq", ASC)],
                       name="call_order"),
            # The promise's reference: the office's last finish of the day.
            IndexModel([("office", ASC), ("day", ASC), ("finished_at", DESC)], name="last_finish"),
        ],
    ),
    # Every time staff opened a visitor's ID number (personal data): who, when, which entry.
    Collection("pii_access_log", [IndexModel([("office", ASC), ("at", DESC)], name="office_at")]),
    # Staff actions on people's data (server/domain/audit.py): by office, by actor, all; one read a day.
    Collection(
        "audit_log",
        [
            IndexModel([("offices", ASC), ("at", DESC)], name="offices_at"),
            IndexModel([("actor_id", ASC), ("at", DESC)], name="actor_at"),
            IndexModel([("at", DESC)], name="at"),
            IndexModel(
                [("read_key", ASC)], unique=True, name="read_key_unique", **_strings("read_key")
            ),
        ],
    ),
    # Per-job state of scheduler jobs that walk by date (the retention job's lease and how far it came).
    Collection("job_state", []),
    Collection("events_log", [IndexModel([("at", ASC)], expireAfterSeconds=30 * 86400, name="at_ttl")]),
]


def _without_expiry(index: IndexModel) -> IndexModel:
    """The same index, kept by name and keys, that the database never sweeps on its wall clock."""
    doc = dict(index.document)
    keys = list(doc.pop("key").items())
    doc.pop("expireAfterSeconds", None)
    return IndexModel(keys, **doc)


async def apply(db: AsyncDatabase[Doc], *, wall_clock_expiry: bool = True) -> None:
    """Create collections, validators and indexes; idempotent.

    `wall_clock_expiry=False` (the test clock) builds the TTL indexes without their expiry: the
    database sweeps on the real time, and under a clock set in the past it deleted sessions that the
    app, which checks validity against its own clock, still counted as live. Every TTL index here is
    clean-up only, so nothing else changes.
    """
    existing = set(await db.list_collection_names())
    for coll in COLLECTIONS:
        indexes = coll.indexes if wall_clock_expiry else [_without_expiry(i) for i in coll.indexes]
        if coll.name not in existing:
            try:
                kwargs: Doc = {}
                if coll.validator:
                    kwargs = {"validator": coll.validator, "validationLevel": "moderate"}
                await db.create_collection(coll.name, **kwargs)
            except CollectionInvalid:
                pass  # another process created it first
        elif coll.validator:
            await db.command("collMod", coll.name, validator=coll.validator, validationLevel="moderate")
        if indexes:
            try:
                await db[coll.name].create_indexes(indexes)
            except OperationFailure as exc:
                # An index whose definition changed: drop and recreate it by name.
                if exc.code not in (85, 86):
                    raise
                for index in indexes:
                    name = index.document["name"]
                    try:
                        await db[coll.name].create_indexes([index])
                    except OperationFailure:
                        await db[coll.name].drop_index(name)
                        await db[coll.name].create_indexes([index])
    await _idle_plans_carry_their_seq(db)
    log.info("database schema applied to %s", db.name)


IDLE_SEQ_MIGRATION = "migration:idle_seq"


async def _idle_plans_carry_their_seq(db: AsyncDatabase[Doc]) -> None:
    """Once per database: idle plans written before they carried the seq of their message get one.

    A room's idle state is kept by `$max` (server/domain/messages.room_statements: the highest seq wins) and
    MongoDB compares objects by their first field: a plan starting with a date would beat every later one.
    A plan left from before is the last staff message's with no user reply since (a reply removed it),
    so the consultation's `last_seq` is a seq no later message has. One pass over the collection.
    """
    if await db.counters.find_one({"_id": IDLE_SEQ_MIGRATION}) is not None:
        return
    changed = 0
    async for c in db.consultations.find({"idle": {"$type": "object"}}, {"idle": 1, "last_seq": 1}):
        idle = c["idle"]
        if "seq" in idle:
            continue
        res = await db.consultations.update_one(
            {"_id": c["_id"], "idle.seq": {"$exists": False}},
            {"$set": {"idle": {"seq": int(c.get("last_seq") or 0), **idle}}},
        )
        changed += res.modified_count
    await db.counters.update_one({"_id": IDLE_SEQ_MIGRATION}, {"$set": {"done": True, "changed": changed}}, upsert=True)
    if changed:
        log.info("idle plans given their seq: %d", changed)


def seed_offices_data() -> Doc:
    """The offices data file shipped in mongo-init/."""
    text = resources.files("mongo_init").joinpath("offices.json").read_text(encoding="utf-8")
    data: Doc = json.loads(text)
    return data


async def seed_offices(db: AsyncDatabase[Doc], now: datetime | None = None) -> int:
    """Insert the seed offices that are missing; an office already there is left as the admin set it."""
    data = seed_offices_data()
    when = now or datetime.now(UTC)
    added = 0
    for office in data["offices"]:
        doc = dict(office)
        doc.setdefault("visit_hours", data["default_visit_hours"])
        doc["created_at"] = when
        doc["updated_at"] = when
        res = await db.offices.update_one({"code": doc["code"]}, {"$setOnInsert": doc}, upsert=True)
        if res.upserted_id is not None:
            added += 1
    if added:
        log.info("seeded %d offices", added)
    # Each office's starter canned responses, once (mongo_init.canned).
    await seed_canned_responses(db, when)
    return added
