"""Memory a connected client costs one server process: ours (`pst serve`) against the bare relay.

    .venv/bin/python bench/connections_rss.py                    # 10,000 clients, both servers, ~3 min
    .venv/bin/python bench/connections_rss.py --clients 2000     # a quicker look

Each server runs alone on core 0 (the generator on core 1). Ours gets N members of the public with their
sessions written straight into its database (accounts.login, as `bench/chat_latency.py` does above 250
clients: the HTTP set-up of 10,000 accounts and rooms is what stalled the embedded database there); each
client connects over websocket with its token, and our server puts it in its user and session rooms as it
does for every connection. The relay's clients connect with a name. The figure is the server's resident
memory after all are connected and a settle, minus before, per client; the same for the relay is the
reference (issue 16: ours ≤ 40 KB a client; the tuned relay ~34 KB).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import socketio

sys.path.insert(0, str(Path(__file__).resolve().parent))

from chat_latency import BareRelay, OurServer, log, parse_args, pin_all_threads, rss_mb  # noqa: E402

PASSWORD = "bench-password-123"


async def connect_all(url: str, auths: list[dict[str, Any]], concurrency: int) -> list[socketio.AsyncClient]:
    clients: list[socketio.AsyncClient] = []
    sem = asyncio.Semaphore(concurrency)
    failed = 0

    async def one(auth: dict[str, Any]) -> None:
        nonlocal failed
        async with sem:
            client = socketio.AsyncClient(reconnection=False)
            try:
                await client.connect(url, auth=auth, transports=["websocket"], wait_timeout=30)
                clients.append(client)
            except Exception:  # noqa: BLE001 - counted and reported
                failed += 1

    t0 = time.monotonic()
    await asyncio.gather(*(one(a) for a in auths))
    log(f"  {len(clients)} connected, {failed} failed, in {time.monotonic() - t0:.1f} s")
    return clients


async def disconnect_all(clients: list[socketio.AsyncClient]) -> None:
    for i in range(0, len(clients), 500):
        await asyncio.gather(*(c.disconnect() for c in clients[i : i + 500]), return_exceptions=True)


async def measure(
    name: str, pid: int, url: str, auths: list[dict[str, Any]], args: argparse.Namespace
) -> dict[str, float]:
    await asyncio.sleep(args.settle)
    before = rss_mb(pid) or 0.0
    clients = await connect_all(url, auths, args.concurrency)
    await asyncio.sleep(args.settle)
    after = rss_mb(pid) or 0.0
    n = len(clients)
    per = (after - before) * 1024 / n if n else float("nan")
    log(f"{name}: RSS {before:.1f} MB before, {after:.1f} MB with {n} clients: {per:.1f} KB a client")
    await disconnect_all(clients)
    return {"before": before, "after": after, "clients": n, "kb_per_client": per}


async def amain(opts: argparse.Namespace) -> None:
    from argon2 import PasswordHasher

    from server.domain import accounts, security

    pin_all_threads(os.getpid(), opts.generator_core)
    workdir = Path(tempfile.mkdtemp(prefix="pst-rss-"))
    # chat_latency's own options with their defaults (its servers read them).
    args = parse_args(["--server-core", str(opts.server_core), "--generator-core", str(opts.generator_core)])
    results: dict[str, dict[str, float]] = {}

    ours = OurServer(args, workdir)
    await ours.start()
    try:
        svc = ours.services()
        # argon2 at its default cost is ~0.1 s a hash here; these are throw-away accounts.
        security.use_password_hasher(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
        hashed = await security.hash_password(PASSWORD)
        now = svc.now()
        emails = [f"rss-{i}@bench.example.org" for i in range(opts.clients)]
        for i in range(0, len(emails), 2000):
            await svc.db.users.insert_many(
                [
                    {
                        "email": e,
                        "name": f"Warga {i + k}",
                        "role": "user",
                        "office": None,
                        "lang": "id",
                        "password_hash": hashed,
                        "email_verified_at": now,
                        "consent_at": now,
                        "consent_version": "bench",
                        "created_at": now,
                        "updated_at": now,
                    }
                    for k, e in enumerate(emails[i : i + 2000])
                ]
            )
        t0 = time.monotonic()
        tokens = []
        for i in range(0, len(emails), 200):
            got = await asyncio.gather(*(accounts.login(svc, email=e, password=PASSWORD) for e in emails[i : i + 200]))
            tokens.extend(token for token, _ in got)
        log(f"ours: {len(tokens)} accounts signed in in {time.monotonic() - t0:.1f} s")
        assert ours.server_pid is not None
        results["ours"] = await measure("ours", ours.server_pid, ours.url, [{"token": t} for t in tokens], opts)
    finally:
        await ours.close()
    gc.collect()

    bare = BareRelay(args, workdir)
    await bare.start()
    try:
        assert bare.server_pid is not None
        auths = [{"name": f"Warga {i}"} for i in range(opts.clients)]
        results["bare"] = await measure("bare", bare.server_pid, bare.url, auths, opts)
    finally:
        await bare.close()

    o, b = results["ours"], results["bare"]
    print(f"\n== bench/connections_rss.py: {opts.clients} websocket clients, server on core {opts.server_core}")
    print(f"{'':28s} {'ours (pst serve)':>18s} {'bare relay':>12s} {'ours/bare':>10s}")
    print(f"{'clients connected':28s} {o['clients']:>18.0f} {b['clients']:>12.0f}")
    print(f"{'RSS before, MB':28s} {o['before']:>18.1f} {b['before']:>12.1f}")
    print(f"{'RSS with the clients, MB':28s} {o['after']:>18.1f} {b['after']:>12.1f}")
    ratio = o["kb_per_client"] / b["kb_per_client"] if b["kb_per_client"] else float("nan")
    print(f"{'KB a client':28s} {o['kb_per_client']:>18.1f} {b['kb_per_client']:>12.1f} {ratio:>9.2f}x")
    verdict = "meets" if o["kb_per_client"] <= 40 else "MISSES"
    print(f"ours: {o['kb_per_client']:.1f} KB a client ({verdict} the <= 40 KB target of issue 16)")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--clients", type=int, default=10_000)
    p.add_argument("--concurrency", type=int, default=200, help="connections being opened at once (200)")
    p.add_argument("--settle", type=float, default=5.0, help="seconds before each reading (5)")
    p.add_argument("--server-core", type=int, default=0)
    p.add_argument("--generator-core", type=int, default=1)
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    asyncio.run(amain(p.parse_args()))


if __name__ == "__main__":
    main()
