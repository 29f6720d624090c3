"""The SKM survey's IKM of a seeded month: one office's November 2026, printed as the regulation's table.

Run: .venv/bin/python bench/ikm_month.py [--office 7406] [--per-day 9] [--seed N] [--uri mongodb://…]

It starts SecantusDB (the embedded database) on a temporary directory unless --uri is given, seeds the
office's consultations of November 2026 (online, WhatsApp, e-mail and walk-in, served by three officers,
on working days), and answers the SKM survey through the product's own action (server.domain.surveys.submit)
for about two thirds of them, plus walk-in visitors who took no ticket. The answers lean the way real
SKM results do (cost is free, so "Gratis"; waiting time and complaint handling score lowest). It then asks
GET /reports/ikm's domain function for the month and prints: each element's NRR and its IKM (NRR x 25),
the IKM and its grade, the lowest elements, the figures per channel and per officer, and the respondents
against the Krejcie-Morgan sample the month's population needs. The same IKM is recomputed here in Python
from the stored answers as a check, and the time the database took is printed beside a plain count.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bson import ObjectId  # noqa: E402
from pymongo import AsyncMongoClient  # noqa: E402

from mongo_init.schema import apply, seed_offices  # noqa: E402
from server.domain import calendar, ikm, surveys  # noqa: E402
from server.domain.clock import TestClock  # noqa: E402
from server.domain.ports import NullEvents  # noqa: E402
from server.services import Services  # noqa: E402
from server.settings import Settings  # noqa: E402

Doc = dict[str, Any]
FIRST, LAST = date(2026, 11, 1), date(2026, 11, 30)
CHANNELS = ("online", "online", "online", "whatsapp", "email", "walk_in", "walk_in")
OFFICERS = ("Budi Santoso", "Wati Lestari", "Andi Pratama")
# How likely each answer 1..4 is, per element: the shape of a typical BPS office's SKM.
LEANS: dict[str, tuple[int, int, int, int]] = {
    "persyaratan": (1, 4, 45, 50),
    "prosedur": (1, 6, 50, 43),
    "waktu": (3, 14, 55, 28),
    "biaya": (0, 1, 9, 90),
    "produk": (1, 6, 52, 41),
    "kompetensi": (1, 3, 44, 52),
    "perilaku": (0, 2, 38, 60),
    "pengaduan": (4, 12, 56, 28),
    "sarana": (2, 10, 55, 33),
}


def answers(rng: random.Random) -> dict[str, int]:
    return {k: rng.choices((1, 2, 3, 4), LEANS[k])[0] for k in ikm.ELEMENT_KEYS}


async def seed(svc: Services, clock: TestClock, office: Doc, per_day: int, rng: random.Random) -> tuple[int, int]:
    """The month's consultations and survey answers; (consultations, responses)."""
    tz = office["time_zone"]
    zone = ZoneInfo(tz)
    officers = [(ObjectId(), name) for name in OFFICERS]
    extra = [date.fromisoformat(d) for d in (office.get("policy") or {}).get("extra_closed_dates") or []]
    n_cons = n_resp = 0
    day = FIRST
    while day <= LAST:
        if calendar.is_working_day(day, extra):
            for _ in range(rng.randint(per_day - 3, per_day + 3)):
                at = datetime(day.year, day.month, day.day, rng.randint(8, 15), rng.randint(0, 59), tzinfo=zone)
                channel = rng.choice(CHANNELS)
                officer_id, officer_name = rng.choice(officers)
                c: Doc = {
                    "number": f"{office['code']}-2026-{n_cons + 1:05d}", "office": office["code"], "time_zone": tz,
                    "channel": channel, "topic": "data", "subject": "Data", "user_id": ObjectId(),
                    "status": "closed", "close_reason": "resolved", "assigned_to": officer_id,
                    "assigned_name": officer_name, "created_at": at.astimezone(UTC),
                    "closed_at": (at + timedelta(hours=2)).astimezone(UTC), "last_seq": 3,
                }  # fmt: skip
                c["_id"] = (await svc.db.consultations.insert_one(c)).inserted_id
                n_cons += 1
                if rng.random() < 0.67:  # about two thirds answer the survey, a little after the service
                    clock.set(at + timedelta(hours=2, minutes=rng.randint(1, 90)))
                    profile = {"sex": rng.choice(("male", "female")), "age": rng.randint(19, 60),
                               "education": rng.choice(("sma", "d4_s1", "d4_s1", "s2")),
                               "occupation": rng.choice(("pelajar", "pns", "swasta", "peneliti"))}  # fmt: skip
                    await surveys.submit(svc, None, office=office["code"], consultation_id=str(c["_id"]),
                                         answers=answers(rng), profile=profile)  # fmt: skip
                    n_resp += 1
            for _ in range(rng.randint(0, 2)):  # walk-in visitors who took no ticket
                clock.set(datetime(day.year, day.month, day.day, 14, rng.randint(0, 59), tzinfo=zone))
                await surveys.submit(svc, None, office=office["code"], channel="walk_in", answers=answers(rng))
                n_resp += 1
        day += timedelta(days=1)
    return n_cons, n_resp


def table(rows: list[list[str]], head: list[str]) -> str:
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]

    def line(r: list[str]) -> str:
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True)))

    return "\n".join([line(head), "  ".join("-" * w for w in widths), *map(line, rows)])


def num(value: float | None, digits: int = 2) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


async def run(uri: str, args: argparse.Namespace) -> None:
    client: AsyncMongoClient[Doc] = AsyncMongoClient(uri, tz_aware=True)
    db = client[f"bench_ikm_{os.getpid()}"]
    try:
        await apply(db)
        await seed_offices(db)
        clock = TestClock(datetime(2026, 11, 1, tzinfo=UTC))
        svc = Services(settings=Settings(pst_secret_key="bench-secret", public_base_url="http://pst.bench"), db=db,
                       clock=clock, events=NullEvents())  # fmt: skip
        office = await db.offices.find_one({"code": args.office})
        assert office is not None, f"no office {args.office}"
        rng = random.Random(args.seed)
        started = time.perf_counter()
        n_cons, n_resp = await seed(svc, clock, office, args.per_day, rng)
        seeded = time.perf_counter() - started
        clock.set(datetime(2026, 12, 1, 9, 0, tzinfo=ZoneInfo(office["time_zone"])))

        t0 = time.perf_counter()
        out = await surveys.report(svc, [office], FIRST, LAST, label=office["code"])
        took = time.perf_counter() - t0
        t0 = time.perf_counter()
        plain = await db.skm_responses.count_documents(surveys.index.period_match([office], FIRST, LAST))
        count_took = time.perf_counter() - t0

        # The check: the same IKM from the stored answers, in Python, by the regulation's formula.
        sums = dict.fromkeys(ikm.ELEMENT_KEYS, 0)
        n = 0
        async for r in db.skm_responses.find({"office": office["code"]}, {"answers": 1}):
            n += 1
            for k in ikm.ELEMENT_KEYS:
                sums[k] += r["answers"][k]
        mean_nrr = sum(Fraction(s, n) for s in sums.values()) / 9
        assert out["responses"] == n == plain and float(ikm.round_half_up(mean_nrr * 25)) == out["ikm"]

        print(f"{office['name']} ({office['code']}), {FIRST:%d %B %Y} – {LAST:%d %B %Y}: {n_cons} consultations "
              f"served, {n_resp} SKM responses (seeded in {seeded:.1f} s through surveys.submit)\n")  # fmt: skip
        rows = []
        for i, k in enumerate(ikm.ELEMENT_KEYS, 1):
            e = out["elements"][k]
            mark = "  <- lowest" if k in out["lowest"] else ""
            rows.append([f"U{i} {out['labels'][k]}{mark}", str(e["sum"]), num(e["nrr"], 3), num(e["ikm"])])
        print(table(rows, ["Unsur (element)", "sum", "NRR", "NRR x 25"]))
        print(f"\nIKM = mean of the nine NRR x 25 = {num(out['ikm'])}  ->  grade {out['grade']} ({out['grade_label']})")
        s = out["sample"]
        print(f"Respondents {s['responses']} of the {s['required']} the population of {s['population']} service users "
              f"needs (Krejcie-Morgan): {'enough' if s['enough'] else 'not enough'}")  # fmt: skip
        print("\nPer channel:")
        ch_rows = [[ch, str(f["responses"]), num(f["ikm"]), f["grade"] or "—"]
                   for ch, f in out["by_channel"].items() if f["responses"]]  # fmt: skip
        print(table(ch_rows, ["channel", "responses", "IKM", "grade"]))
        print("\nPer officer (consultations they served):")
        of_rows = [[o["officer"]["name"] or "—", str(o["responses"]), num(o["ikm"]), o["grade"] or "—"]
                   for o in out["by_officer"]]  # fmt: skip
        print(table(of_rows, ["officer", "responses", "IKM", "grade"]))
        print(f"\nThe database's aggregation took {took * 1000:.0f} ms for the whole report; a plain count of the "
              f"same range {count_took * 1000:.0f} ms (the same run). Python's recomputation agrees.")  # fmt: skip
    finally:
        await client.drop_database(db.name)
        await client.close()


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--uri", default=os.environ.get("MONGODB_URI"))
    ap.add_argument("--office", default="7406")
    ap.add_argument("--per-day", type=int, default=9)
    ap.add_argument("--seed", type=int, default=202611)
    args = ap.parse_args()
    server = None
    uri = args.uri
    if not uri:
        from server.embedded import EmbeddedDatabase

        tmp = Path(tempfile.mkdtemp(prefix="pst-ikm-"))
        server = EmbeddedDatabase(tmp / "db", log_path=tmp / "secantus.log")
        await server.start()
        uri = server.uri
    try:
        await run(uri, args)
    finally:
        if server is not None:
            server.stop()


if __name__ == "__main__":
    asyncio.run(main())
