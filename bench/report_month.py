"""A month of two offices through the product's own actions, and the reports it gives.

Run: .venv/bin/python bench/report_month.py [--uri mongodb://…] [--seed N]

November 2026 at BPS Kabupaten Bombana (7406, WITA) and BPS Kabupaten Tulang Bawang (1808, WIB), on a
test clock moved event by event: users open consultations at random hours (evenings and weekends
too), officers claim and answer them after a random delay (some after the SLA deadline), users reply,
officers close them (some close for idleness), users rate most; the walk-in desk takes, calls, serves
and finishes tickets (some visitors do not come). Every duration, deadline and promise is computed by
the actions as in production. It then prints GET /reports/summary for each office and for both, and
the weekly trends of 7406. Not a benchmark of speed: a worked example of the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import heapq
import json
import os
import random
import sys
import tempfile
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bson import ObjectId  # noqa: E402
from pymongo import AsyncMongoClient  # noqa: E402

from mongo_init.schema import apply, seed_offices  # noqa: E402
from server.domain import complaints, messages, ratings, reports, surveys, walkin  # noqa: E402
from server.domain import consultations as cons  # noqa: E402
from server.domain.clock import TestClock  # noqa: E402
from server.domain.errors import DomainError  # noqa: E402
from server.domain.ports import NullEvents  # noqa: E402
from server.services import Services  # noqa: E402
from server.settings import Settings  # noqa: E402

Doc = dict[str, Any]
OFFICES = {"7406": "Asia/Makassar", "1808": "Asia/Jakarta"}
FIRST, LAST = date(2026, 11, 1), date(2026, 11, 30)
SUBJECTS = ("Data inflasi bulanan", "PDRB kecamatan", "Jumlah penduduk miskin", "Kode KBLI usaha kopi",
            "Metadata Susenas", "Tabel IPM kabupaten", "Luas panen padi", "Definisi pengangguran terbuka")
TOPICS = ("data", "data", "metadata", "classification", "other")
SKM_KEYS = ("persyaratan", "prosedur", "waktu", "biaya", "produk", "kompetensi", "perilaku", "pengaduan", "sarana")
Action = Callable[[], Awaitable[None]]


class Month:
    """Events in time order on one test clock; each event may schedule later ones."""

    def __init__(self, svc: Services, clock: TestClock) -> None:
        self.svc, self.clock = svc, clock
        self.queue: list[tuple[datetime, int, Action]] = []
        self.n = 0
        self.errors = 0

    def at(self, when: datetime, action: Action) -> None:
        self.n += 1
        heapq.heappush(self.queue, (when.astimezone(UTC), self.n, action))

    async def run(self) -> None:
        while self.queue:
            when, _, action = heapq.heappop(self.queue)
            self.clock.set(when)
            try:
                await action()
            except DomainError:
                self.errors += 1  # a race the month itself made (a user writing into a closed room): as in life


async def person(svc: Services, name: str, role: str, office: str | None = None) -> Doc:
    doc: Doc = {"name": name, "email": f"{name.lower().replace(' ', '.')}@example.id", "role": role,
                "created_at": datetime(2026, 10, 1, tzinfo=UTC), "lang": "id"}
    if office:
        doc["office"] = office
    if role == "user":
        doc["email_verified_at"] = doc["created_at"]
    doc["_id"] = (await svc.db.users.insert_one(dict(doc))).inserted_id
    return doc


def local(d: date, hour: float, tz: str) -> datetime:
    return datetime.combine(d, time(0), tzinfo=ZoneInfo(tz)) + timedelta(hours=hour)


async def plan_office(m: Month, code: str, rng: random.Random) -> None:
    svc, tz = m.svc, OFFICES[code]
    users = [await person(svc, f"Warga {code} {k}", "user") for k in range(12)]
    officers = [await person(svc, f"Petugas {code} {k}", "officer", code) for k in range(2)]

    def consultation(arrive: datetime) -> Action:
        async def open_it() -> None:
            user = rng.choice(users)
            c, _ = await cons.open_consultation(svc, user, office=code, topic=rng.choice(TOPICS),
                                                subject=rng.choice(SUBJECTS), text="Selamat pagi, mohon bantuannya.")
            officer = rng.choice(officers)
            # Answered after a delay: usually within hours, sometimes days (a few miss the 3-day SLA).
            delay = timedelta(hours=rng.choice((0.3, 1, 2, 4, 6, 20, 30, 50, 80, 120)))
            if arrive + delay > datetime(2026, 12, 1, 9, tzinfo=UTC):
                return  # still waiting when the month ends
            m.at(arrive + delay - timedelta(minutes=5), claim(c["_id"], officer))
            m.at(arrive + delay, answer(c["_id"], officer, user))
        return open_it

    def claim(cid: ObjectId, officer: Doc) -> Action:
        async def act() -> None:
            await cons.claim(svc, officer, cid)
        return act

    def answer(cid: ObjectId, officer: Doc, user: Doc) -> Action:
        async def act() -> None:
            await messages.post_message(svc, officer, cid, text="Terima kasih, data yang diminta terlampir.")
            now = svc.now()
            if rng.random() < 0.12:  # the user never answers: closed for idleness a week later
                m.at(now + timedelta(days=7), close(cid, None, "idle"))
                return
            m.at(now + timedelta(hours=rng.uniform(0.2, 20)), user_reply(cid, user, officer))
        return act

    def user_reply(cid: ObjectId, user: Doc, officer: Doc) -> Action:
        async def act() -> None:
            await messages.post_message(svc, user, cid, text="Baik, terima kasih banyak.")
            m.at(svc.now() + timedelta(hours=rng.uniform(0.1, 6)), close(cid, officer, None))
        return act

    def close(cid: ObjectId, officer: Doc | None, reason: str | None) -> Action:
        async def act() -> None:
            c = await cons.close(svc, officer, cid, summary="Data sudah diberikan" if officer else None, reason=reason)
            if rng.random() < 0.65:
                user = await svc.db.users.find_one({"_id": c["user_id"]})
                assert user is not None
                m.at(svc.now() + timedelta(hours=rng.uniform(0.1, 30)), rate(c["_id"], user))
        return act

    def rate(cid: ObjectId, user: Doc) -> Action:
        async def act() -> None:
            score = rng.choices((1, 2, 3, 4, 5), (1, 1, 2, 6, 8))[0]
            await ratings.rate(svc, user, cid, score=score)
            if rng.random() < 0.5:  # the SKM survey offered at the close
                await surveys.submit(svc, user, office=code, consultation_id=cid, answers=skm_answers(score))
            if score <= 2 and rng.random() < 0.5:
                await complaints.open_complaint(svc, user, office=code, consultation_id=cid,
                                                text="Jawaban petugas tidak sesuai dengan data yang saya minta.")
        return act

    def skm_answers(score: int) -> dict[str, int]:
        best = 4 if score >= 4 else 3
        return {k: rng.choice((best, best, best, max(1, best - 1))) for k in SKM_KEYS}

    def walk_in(d: date, k: int) -> Action:
        async def act() -> None:
            ticket, _ = await walkin.take_ticket(svc, code)
            # The desk calls within a few minutes, sometimes later than the 10-minute promise.
            m.at(svc.now() + timedelta(minutes=rng.choice((2, 4, 6, 8, 9, 14, 25))), call(ticket["_id"]))
        return act

    def call(ticket_id: ObjectId) -> Action:
        async def act() -> None:
            officer = rng.choice(officers)
            called = await walkin.call_next(svc, officer, code, desk="1")
            if rng.random() < 0.1:
                m.at(svc.now() + timedelta(minutes=3), lambda: no_show(officer, called["_id"]))
                return
            m.at(svc.now() + timedelta(minutes=1), lambda: serve(officer, called["_id"]))
            m.at(svc.now() + timedelta(minutes=rng.uniform(8, 30)), lambda: finish(officer, called["_id"]))
        return act

    async def no_show(officer: Doc, ticket_id: ObjectId) -> None:
        await walkin.no_show(svc, officer, ticket_id)

    async def serve(officer: Doc, ticket_id: ObjectId) -> None:
        await walkin.serve(svc, officer, ticket_id)

    async def finish(officer: Doc, ticket_id: ObjectId) -> None:
        await walkin.finish(svc, officer, ticket_id, topic=rng.choice(TOPICS), summary="Dilayani di meja PST")
        if rng.random() < 0.4:  # the visitor answers the survey at the kiosk
            await surveys.submit(svc, None, office=code, ticket_id=ticket_id, answers=skm_answers(4))

    d = FIRST
    while d <= LAST:
        weekday = d.weekday() < 5
        for _ in range(rng.randint(3, 7) if weekday else rng.randint(0, 2)):
            hour = rng.uniform(8, 16) if weekday and rng.random() < 0.8 else rng.uniform(0, 24)
            m.at(local(d, hour, tz), consultation(local(d, hour, tz)))
        if weekday:
            for k in range(rng.randint(2, 6)):
                m.at(local(d, 8.5 + k * 1.2 + rng.uniform(0, 0.5), tz), walk_in(d, k))
        d += timedelta(days=1)
    for k in range(rng.randint(3, 9)):  # searches of the knowledge base that found nothing
        await svc.db.kb_queries.insert_one({"office": code, "found": False, "q": f"data desa {k}", "source": "search",
                                            "at": local(FIRST + timedelta(days=3 * k), 10, tz)})


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--uri", default=os.environ.get("MONGODB_URI"))
    ap.add_argument("--seed", type=int, default=202611)
    args = ap.parse_args()
    server = None
    uri = args.uri
    if not uri:
        from server.embedded import EmbeddedDatabase

        tmp = Path(tempfile.mkdtemp(prefix="pst-month-"))
        server = EmbeddedDatabase(tmp / "db", log_path=tmp / "secantus.log")
        await server.start()
        uri = server.uri
    client: AsyncMongoClient[Doc] = AsyncMongoClient(uri, tz_aware=True)
    db_name = f"bench_month_{os.getpid()}"
    db = client[db_name]
    try:
        await apply(db)
        await seed_offices(db)
        clock = TestClock(datetime(2026, 11, 1, tzinfo=UTC))
        settings = Settings(pst_secret_key="bench-secret", public_base_url="http://pst.bench")
        svc = Services(settings=settings, db=db, clock=clock, events=NullEvents())
        rng = random.Random(args.seed)
        month = Month(svc, clock)
        for code in OFFICES:
            await plan_office(month, code, rng)
        await month.run()
        clock.set(datetime(2026, 12, 1, 9, 0, tzinfo=ZoneInfo("Asia/Jakarta")))
        admin = {"_id": ObjectId(), "role": "admin", "office": None, "name": "Pusat"}
        print(f"November 2026 through the actions ({month.n:,} events, {month.errors} refused as in life); "
              f"reports asked on {clock.now().isoformat()}")
        for office in (*OFFICES, "all"):
            out = await reports.summary(svc, admin, office=office, first="2026-11-01", last="2026-11-30")
            out.pop("generated_at")
            print(f"\nGET /reports/summary?office={office}&from=2026-11-01&to=2026-11-30")
            print(json.dumps(out, ensure_ascii=False, indent=1))
        trend = await reports.trends(svc, admin, office="7406", first="2026-11-01", last="2026-11-30")
        print("\nGET /reports/trends?office=7406 (weeks):")
        for w in trend["weeks"]:
            print(f"  {w['week']}: {w['consultations']:>3} consultations ({w['walk_in']} walk-in), SLA "
                  f"{w['sla_met']} met / {w['sla_breached']} breached, first answer avg "
                  f"{w['first_response_avg_minutes']} wmin, resolution avg {w['resolution_avg_minutes']} wmin")
        print("  busiest hours (WITA):", {h: n for h, n in enumerate(trend["hours"]["by_hour"]) if n})
    finally:
        await client.drop_database(db_name)
        await client.close()
        if server is not None:
            server.stop()


if __name__ == "__main__":
    asyncio.run(main())
