"""Scheduler sweep benchmark: 100,000 consultations of which 1,000 are due.

Run: .venv/bin/python bench/scheduler_sweep.py [--total 100000] [--sla-due 530] [--rating-due 450]
                                               [--idle-due 20] [--all-indexes] [--uri mongodb://…]

Without --uri (or MONGODB_URI) it starts SecantusDB, the embedded database, on a temporary
directory. It fills `consultations` with a realistic mix (queued, active, closed; SLA, idle and
rating timestamps mostly in the future, so the sweep indexes hold far more than what is due),
then prints for each job (see bench/README.md for what the figures mean and why the defaults):
  - the sweep query exactly as the job issues it, explained: keys and documents examined for all
    its due items (the target: documents examined <= 2 x due), and the same query without the
    index hint for comparison;
  - the time of a real Scheduler.run_once() handling the due items (claim, effects, next check),
    and of the empty sweep that follows (the cost paid every interval when nothing is due).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bson import ObjectId  # noqa: E402
from pymongo import AsyncMongoClient  # noqa: E402

from mongo_init.schema import COLLECTIONS, apply, seed_offices  # noqa: E402
from schedulers import consultation_jobs as cj  # noqa: E402
from schedulers.runner import Scheduler  # noqa: E402
from server.domain.clock import TestClock  # noqa: E402
from server.domain.ports import NullEvents  # noqa: E402
from server.services import Services  # noqa: E402
from server.settings import Settings  # noqa: E402

Doc = dict[str, Any]
OFFICES = (("7406", "Asia/Makassar"), ("1808", "Asia/Jakarta"), ("7501", "Asia/Makassar"),
           ("1600", "Asia/Jakarta"), ("7411", "Asia/Makassar"))
# Wednesday 25 November 2026, 10:00 WIB: the moment the sweep runs.
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=ZoneInfo("Asia/Jakarta")).astimezone(UTC)
INSERT_BATCH = 2000
INSERT_CONCURRENCY = 4
SWEEPS = (
    ("sla_alerts", "sla.check_at", cj.SLA_SWEEP_INDEX),
    ("idle_close", "idle.check_at", cj.IDLE_SWEEP_INDEX),
    ("rating_reminders", "rating_reminder_at", cj.RATING_SWEEP_INDEX),
)
TEXT = ("Selamat pagi, saya membutuhkan data jumlah penduduk miskin per kecamatan tahun 2025 "
        "beserta metadata dan catatan metodologinya untuk keperluan penelitian skripsi.")


def _preview(seq: int, kind: str, author: str, at: datetime) -> Doc:
    return {"seq": seq, "kind": kind, "text": TEXT[:140], "author_name": author, "created_at": at}


def make_consultation(i: int, kind: str, rng: random.Random) -> Doc:
    """One consultation; `kind` says which sweep (if any) it is due for."""
    office, tz = OFFICES[i % len(OFFICES)]
    created = NOW - timedelta(days=rng.uniform(0.1, 400))
    user_id = ObjectId()
    c: Doc = {
        "number": f"{office}-B-{i:07d}", "office": office, "time_zone": tz, "channel": "online",
        "topic": rng.choice(("data", "metadata", "classification", "other")),
        "subject": f"Permintaan data {i}", "user_id": user_id, "user_name": f"Pengguna {i}",
        "user_email": f"pengguna{i}@example.id", "user_lang": "id", "assigned_to": None, "assigned_name": None,
        "created_at": created, "updated_at": created, "last_seq": 2, "last_visible_seq": 2,
        "reads": {str(user_id): 2}, "kb_query": None, "kb_opened": [], "transfers": [], "close_reason": None,
        "last_message": _preview(2, "text", "Petugas", created),
        "last_visible_message": _preview(2, "text", "Petugas", created),
        "last_message_at": created,
    }
    due_at = created + timedelta(days=3)
    sla: Doc = {"started_at": created, "due_at": due_at, "at_risk_at": due_at - timedelta(days=1),
                "state": "met", "paused": False, "alerted": [], "margin": 1, "met_at": created + timedelta(hours=2)}
    c["sla"] = sla
    if kind == "sla":  # unanswered, at its at-risk moment now
        due_at = NOW + timedelta(hours=rng.uniform(1, 20))
        sla.update(due_at=due_at, at_risk_at=NOW - timedelta(minutes=rng.uniform(1, 600)), state="on_track")
        sla.pop("met_at")
        sla["check_at"] = sla["at_risk_at"]
        c.update(status="queued", created_at=NOW - timedelta(days=2))
    elif kind == "idle":  # staff answered six days ago: the warning is due, the close is not yet
        last_staff = NOW - timedelta(days=6, minutes=rng.uniform(1, 600))
        c.update(status="active", assigned_to=ObjectId(), assigned_name="Petugas",
                 last_staff_message_at=last_staff)
        c["idle"] = {"last_staff_at": last_staff, "warn_at": last_staff + timedelta(days=6),
                     "close_at": last_staff + timedelta(days=7), "warned": False,
                     "check_at": last_staff + timedelta(days=6)}
    elif kind == "rating":  # closed over two days ago, not rated
        closed = NOW - timedelta(days=2, minutes=rng.uniform(1, 600))
        c.update(status="closed", close_reason="resolved", closed_at=closed,
                 rating_reminder_at=closed + timedelta(days=2))
    else:  # not due: most are closed and done; the open ones wait on future timestamps
        r = rng.random()
        if r < 0.70:
            closed = created + timedelta(days=rng.uniform(0.5, 10))
            c.update(status="closed", close_reason=rng.choice(("resolved", "user", "idle")), closed_at=closed)
            if rng.random() < 0.6:
                c["rating"] = {"score": rng.randint(1, 5), "comment": None, "at": closed}
        elif r < 0.75:  # closed recently: the reminder is still to come
            closed = NOW - timedelta(hours=rng.uniform(1, 40))
            c.update(status="closed", close_reason="resolved", closed_at=closed,
                     rating_reminder_at=closed + timedelta(days=2))
        elif r < 0.90:  # active, answered: idle clock running
            last_staff = NOW - timedelta(hours=rng.uniform(1, 100))
            c.update(status="active", assigned_to=ObjectId(), assigned_name="Petugas",
                     last_staff_message_at=last_staff)
            c["idle"] = {"last_staff_at": last_staff, "warn_at": last_staff + timedelta(days=6),
                         "close_at": last_staff + timedelta(days=7), "warned": False,
                         "check_at": last_staff + timedelta(days=6)}
        else:  # queued, not answered yet: SLA clock running
            c.update(status="queued", created_at=NOW - timedelta(hours=rng.uniform(1, 20)))
            due_at = NOW + timedelta(days=rng.uniform(1.5, 3))
            sla.update(due_at=due_at, at_risk_at=due_at - timedelta(days=1), state="on_track",
                       check_at=due_at - timedelta(days=1))
            sla.pop("met_at")
    return c


async def fill(db: Any, total: int, due: dict[str, int]) -> float:
    rng = random.Random(20261125)
    kinds = ["sla"] * due["sla"] + ["idle"] * due["idle"] + ["rating"] * due["rating"]
    kinds += ["none"] * (total - len(kinds))
    rng.shuffle(kinds)
    started = time.perf_counter()
    sem = asyncio.Semaphore(INSERT_CONCURRENCY)

    async def batch(lo: int) -> None:
        docs = [make_consultation(i, kinds[i], rng) for i in range(lo, min(lo + INSERT_BATCH, total))]
        async with sem:
            await db.consultations.insert_many(docs, ordered=False)

    await asyncio.gather(*(batch(lo) for lo in range(0, total, INSERT_BATCH)))
    for office, _tz in OFFICES:
        for k in range(2):
            await db.users.insert_one({"email": f"kepala{k}-{office}@bps.go.id", "name": f"Kepala {k}",
                                       "role": "supervisor", "office": office, "lang": "id", "created_at": NOW})
    return time.perf_counter() - started


async def build_indexes(db: Any, all_indexes: bool) -> str:
    """The schema, after the bulk load (SecantusDB builds an index ~8x faster than it maintains one per insert).

    Without --all-indexes, consultations gets only the sweep indexes: the others take no part in the
    sweep, and building them costs SecantusDB minutes at 100,000 documents.
    """
    if all_indexes:
        await apply(db)
        return "the whole schema (mongo-init/schema.py)"
    for coll in COLLECTIONS:
        if coll.name == "consultations":
            await db.consultations.create_indexes([ix for ix in coll.indexes if ix.document["name"] in
                                                   (cj.SLA_SWEEP_INDEX, cj.IDLE_SWEEP_INDEX, cj.RATING_SWEEP_INDEX)])
            continue
        if coll.name not in await db.list_collection_names():
            await db.create_collection(coll.name)
        if coll.indexes:
            await db[coll.name].create_indexes(coll.indexes)
    return "the schema, consultations with only its three sweep indexes (--all-indexes for every index)"


async def timed_find(db: Any, field: str, limit: int) -> tuple[int, float]:
    started = time.perf_counter()
    cursor = db.consultations.find(cj.due_query(field, NOW), {"_id": 1}).sort(field, 1)
    if limit:
        cursor = cursor.limit(limit)
    n = len([d async for d in cursor])
    return n, (time.perf_counter() - started) * 1000


async def explain(db: Any, field: str, limit: int | None, filter: Doc | None = None) -> Doc:
    cmd: Doc = {"find": "consultations", "filter": filter or cj.due_query(field, NOW), "sort": {field: 1}}
    if limit:
        cmd["limit"] = limit
    started = time.perf_counter()
    out = await db.command("explain", cmd, verbosity="executionStats")
    stats = out["executionStats"]
    plan = out["queryPlanner"]["winningPlan"]
    stages = []
    while plan:
        stages.append(plan.get("stage", "?"))
        plan = plan.get("inputStage")
    return {"returned": stats["nReturned"], "keys": stats["totalKeysExamined"], "docs": stats["totalDocsExamined"],
            "ms": (time.perf_counter() - started) * 1000, "plan": "/".join(stages)}


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--total", type=int, default=100_000)
    ap.add_argument("--sla-due", type=int, default=530)
    ap.add_argument("--rating-due", type=int, default=450)
    ap.add_argument("--idle-due", type=int, default=20,
                    help="idle warnings due (each writes a room message; see README for why it is the slow one)")
    ap.add_argument("--all-indexes", action="store_true",
                    help="also build the consultations indexes the sweeps do not use (slow on SecantusDB)")
    ap.add_argument("--uri", default=os.environ.get("MONGODB_URI"))
    args = ap.parse_args()
    due = {"sla": args.sla_due, "idle": args.idle_due, "rating": args.rating_due}
    total_due = sum(due.values())

    server = None
    uri = args.uri
    if not uri:
        from server.embedded import EmbeddedDatabase

        tmp = Path(tempfile.mkdtemp(prefix="pst-bench-"))
        server = EmbeddedDatabase(tmp / "db", log_path=tmp / "secantus.log")
        await server.start()
        uri = server.uri
    client: AsyncMongoClient[Doc] = AsyncMongoClient(uri, tz_aware=True)
    db_name = f"bench_sweep_{os.getpid()}"
    db = client[db_name]
    try:
        info = await client.admin.command("buildInfo")
        where = "SecantusDB (embedded, temp dir)" if server else f"external server at {uri.split('@')[-1]}"
        print(f"database: {where}, reports version {info.get('version')}")
        secs = await fill(db, args.total, due)
        print(f"filled {args.total:,} consultations ({total_due:,} due: {due}) in {secs:.1f} s "
              f"({args.total / secs:,.0f} docs/s, insert_many x{INSERT_BATCH}, {INSERT_CONCURRENCY} at a time, "
              f"before any index)")
        started = time.perf_counter()
        built = await build_indexes(db, args.all_indexes)
        print(f"built {built} in {time.perf_counter() - started:.1f} s")
        await seed_offices(db, NOW)

        print("\nsweep queries as the jobs issue them (one query per job and pass; explain executionStats):")
        print(f"  {'job':<17}{'due':>6}{'returned':>10}{'keys':>8}{'docs':>8}{'docs/due':>10}{'ms':>9}  plan")
        examined = 0
        for (name, field, _index), n in zip(SWEEPS, (due["sla"], due["idle"], due["rating"]), strict=True):
            e = await explain(db, field, None)
            examined += e["docs"]
            ratio = e["docs"] / n if n else 0.0
            print(f"  {name:<17}{n:>6}{e['returned']:>10}{e['keys']:>8}{e['docs']:>8}{ratio:>10.2f}{e['ms']:>9.1f}"
                  f"  {e['plan']}")
        print(f"  total documents examined {examined:,} for {total_due:,} due = {examined / total_due:.2f} x due "
              f"(target <= 2 x)")
        n, ms = await timed_find(db, "sla.check_at", 0)
        print(f"  the sla_alerts query itself, read to the end: {ms:.1f} ms for {n} documents")
        bare = await explain(db, "sla.check_at", None, {"sla.check_at": {"$lte": NOW}})
        print(f"  for comparison, {{sla.check_at: {{$lte: now}}}} (outside the partial filter, so no index): "
              f"{bare['docs']:,} docs examined, {bare['ms']:.0f} ms, plan {bare['plan']}")

        overrides: dict[str, Any] = {"pst_secret_key": "bench-secret", "public_base_url": "http://pst.bench"}
        settings = Settings(**overrides)
        svc = Services(settings=settings, db=db, clock=TestClock(NOW), events=NullEvents())
        print("\nScheduler.run_once() per job, real effects (claims, room messages, outbox e-mails):")
        whole = 0.0
        for name, job in cj.JOBS:
            started = time.perf_counter()
            done = await Scheduler(svc, jobs=[(name, job)]).run_once()
            took = time.perf_counter() - started
            whole += took
            n = done[name]
            per = f"{took / n * 1000:.1f} ms/item" if n else "-"
            print(f"  {name:<17} handled {n:>5} in {took:7.2f} s  ({per})")
        print(f"  all jobs: {whole:.2f} s for {total_due:,} due items")
        outbox = await db.outbox.count_documents({})
        warnings = await db.messages.count_documents({"data.event": "idle_warning"})
        print(f"  effects: {outbox:,} e-mails queued, {warnings:,} idle-warning room messages")

        started = time.perf_counter()
        again = await Scheduler(svc, jobs=cj.JOBS).run_once()
        took = time.perf_counter() - started
        print(f"\nempty sweep right after (nothing due): {took * 1000:.1f} ms for the three jobs, handled {again}")
        after = [await explain(db, field, None) for _, field, _index in SWEEPS]
        print(f"  documents examined when nothing is due: {[e['docs'] for e in after]}")

        probe = await db.consultations.find_one({"status": "active"}, {"_id": 1})
        if probe:
            started = time.perf_counter()
            await db.consultations.find_one_and_update({"_id": probe["_id"]}, {"$set": {"bench_probe": 1}})
            fam = (time.perf_counter() - started) * 1000
            started = time.perf_counter()
            await db.consultations.update_one({"_id": probe["_id"]}, {"$set": {"bench_probe": 2}})
            upd = (time.perf_counter() - started) * 1000
            print(f"\none find_one_and_update by _id: {fam:.1f} ms; one update_one by _id: {upd:.1f} ms "
                  f"(at {args.total:,} documents)")
    finally:
        await client.drop_database(db_name)
        await client.close()
        if server is not None:
            server.stop()


if __name__ == "__main__":
    asyncio.run(main())
