"""Two web processes behind nginx over Redis against one process: sustained chat messages a second.

Four set-ups, each behind the same nginx (websocket transport, round robin, no sticky sessions):
- ours, 1 process: `pst serve` (everything in one process, no Redis), pinned to core 0;
- ours, 2 processes: two `pst serve --role web` over Redis (REDIS_URL) pinned to cores 0 and 1, with
  the scheduler and notifier as their own processes;
- bare, 1 process / 2 processes: bench/bare_relay.py (python-socketio, no auth, no storage), the second
  with python-socketio's AsyncRedisManager: the same topology with nothing of ours in it, the reference.
Ours stores every message in one SecantusDB (a separate process on core 1) in both of its set-ups,
or in `--mongodb-uri` (a database of its own name in it, left there afterwards).

The load: `--rooms` rooms of a user and an officer, every connection sending evenly spaced at its
share of the rate, through nginx; a message counts when the other member of its room receives it.
The rate steps up by `--factor` from `--start` until p99 send->delivery > 100 ms, a message is lost
(not delivered `--drain` s after the step) or an error ack; "sustained" is the last rate that passed.
On a 2-core machine the load generator, nginx, Redis and the database share core 1 with the second
web process: the bare relay's 2/1 ratio shows what the machine itself allows.

    .venv/bin/python bench/topology.py                        # both, about 10 minutes
    .venv/bin/python bench/topology.py --target ours --duration 5
    .venv/bin/python bench/topology.py relay --port 8765 [--redis-url redis://...]   # (used internally)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import itertools
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import socketio

THIS = Path(__file__).resolve()
REPO = THIS.parent.parent
NGINX_CONF = """
daemon off;
worker_processes 1;
{user}
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    map $http_upgrade $connection_upgrade {{ default upgrade; '' close; }}
    upstream web {{ {servers} }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://web;
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_read_timeout 1h;
        }}
    }}
}}
"""
P99_LIMIT_MS = 100.0


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def free_port() -> int:
    from server.embedded import free_port as fp

    return fp()


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process, in seconds."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pin(pid: int, core: int) -> None:
    """Every thread of `pid` to `core`."""
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):
            os.sched_setaffinity(int(task.name), {core})


class Child:
    """A subprocess logging to a file, optionally pinned with taskset; stopped with SIGTERM, then SIGKILL."""

    def __init__(
        self, name: str, cmd: list[str], log_path: Path, *, env: dict[str, str] | None = None, core: int | None = None
    ) -> None:
        self.name = name
        self.log_path = log_path
        prefix = ["taskset", "-c", str(core)] if core is not None and shutil.which("taskset") else []
        with open(log_path, "ab") as out:
            self.proc = subprocess.Popen(
                prefix + cmd,
                env=env,
                cwd=str(REPO),
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self.pid = self.proc.pid

    def tail(self) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-20:])

    def stop(self) -> None:
        for sig, wait in ((signal.SIGTERM, 15.0), (signal.SIGKILL, 5.0)):
            if self.proc.poll() is not None:
                return
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, sig)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(wait)


async def wait_ok(url: str, child: Child, within: float = 90.0) -> None:
    deadline = time.monotonic() + within
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as http:
        while time.monotonic() < deadline:
            if child.proc.poll() is not None:
                raise RuntimeError(f"{child.name} exited:\n{child.tail()}")
            with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                async with http.get(url) as resp:
                    if resp.status < 500:
                        return
            await asyncio.sleep(0.2)
    raise RuntimeError(f"{child.name} did not answer {url}:\n{child.tail()}")


# --- the set-ups ----------------------------------------------------------------------------------


@dataclass
class Setup:
    """One topology: its web processes (measured), the helpers around them, and nginx's address."""

    name: str
    web: list[Child] = field(default_factory=list)
    helpers: list[Child] = field(default_factory=list)
    url: str = ""

    def stop(self) -> None:
        for child in [*self.helpers, *self.web]:
            child.stop()


class Infra:
    """What every set-up shares: a work dir, redis-server, SecantusDB (ours), and a way to run nginx."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.work = Path(tempfile.mkdtemp(prefix="pst-topology-"))
        self.secret = "bench-" + os.urandom(16).hex()
        self.redis: Child | None = None
        self.redis_url = ""
        self.db: Any = None
        self.db_uri = ""
        self.db_name = "pst_topology"

    async def start(self) -> None:
        port = free_port()
        self.redis = Child(
            "redis-server",
            ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            self.work / "redis.log",
            core=self.args.helper_core,
        )
        self.redis_url = f"redis://127.0.0.1:{port}/0"
        if self.args.target in ("both", "ours") and self.args.mongodb_uri:
            self.db_uri = self.args.mongodb_uri
            self.db_name = f"pst_topology_{os.urandom(4).hex()}"
        elif self.args.target in ("both", "ours"):
            from server.embedded import EmbeddedDatabase

            self.db = EmbeddedDatabase(self.work / "db", log_path=self.work / "db.log")
            await self.db.start()
            pin(self.db.proc.pid, self.args.helper_core)
            self.db_uri = self.db.uri

    def nginx(self, name: str, ports: list[int]) -> tuple[Child, str]:
        d = self.work / f"nginx-{name}"
        d.mkdir()
        port = free_port()
        user = "user root;" if os.geteuid() == 0 else ""
        servers = " ".join(f"server 127.0.0.1:{p};" for p in ports)
        (d / "nginx.conf").write_text(NGINX_CONF.format(user=user, d=d, port=port, servers=servers))
        exe = shutil.which("nginx") or "/usr/sbin/nginx"
        child = Child(
            f"nginx {name}",
            [exe, "-p", str(d), "-e", str(d / "error.log"), "-c", str(d / "nginx.conf")],
            d / "stdout.log",
            core=self.args.helper_core,
        )
        return child, f"http://127.0.0.1:{port}"

    def ours_env(self, redis: bool) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PST_", "MONGODB_", "REDIS_", "SMTP_"))}
        env.update(
            MONGODB_URI=self.db_uri,
            PST_DB_NAME=self.db_name,
            PST_SECRET_KEY=self.secret,
            PST_LOG_LEVEL="WARNING",
            PST_RATE_LIMITS="0",
            PST_TRUSTED_PROXIES="127.0.0.1/32",
            PST_SCHEDULER_INTERVAL_SECS="3600",
            PST_NOTIFIER_INTERVAL_SECS="3600",
        )
        if redis:
            env["REDIS_URL"] = self.redis_url
        return env

    async def ours(self, processes: int) -> Setup:
        setup = Setup(f"ours, {processes} process{'es' if processes > 1 else ''}")
        redis = processes > 1
        env = self.ours_env(redis)
        ports = []
        for i in range(processes):
            port = free_port()
            role = ["--role", "web"] if redis else []
            setup.web.append(
                Child(
                    f"web{i + 1}",
                    [
                        sys.executable,
                        "-m",
                        "server",
                        "serve",
                        *role,
                        "--port",
                        str(port),
                        "--data-dir",
                        str(self.work / f"data{i}"),
                    ],
                    self.work / f"ours{processes}-web{i + 1}.log",
                    env=env,
                    core=i % 2,
                )
            )
            ports.append(port)
        if redis:
            for part in ("scheduler", "notifier"):
                setup.helpers.append(
                    Child(
                        part,
                        [
                            sys.executable,
                            "-m",
                            "server",
                            "serve",
                            "--role",
                            part,
                            "--port",
                            str(free_port()),
                            "--data-dir",
                            str(self.work / part),
                        ],
                        self.work / f"ours{processes}-{part}.log",
                        env=env,
                        core=self.args.helper_core,
                    )
                )
        for child, port in zip(setup.web, ports, strict=True):
            await wait_ok(f"http://127.0.0.1:{port}/healthz", child)
        ngx, setup.url = self.nginx(f"ours{processes}", ports)
        setup.helpers.append(ngx)
        await wait_ok(setup.url + "/healthz", ngx)
        return setup

    async def bare(self, processes: int) -> Setup:
        setup = Setup(f"bare, {processes} process{'es' if processes > 1 else ''}")
        ports = []
        for i in range(processes):
            port = free_port()
            cmd = [sys.executable, str(THIS), "relay", "--port", str(port)]
            if processes > 1:
                cmd += ["--redis-url", self.redis_url]
            setup.web.append(Child(f"relay{i + 1}", cmd, self.work / f"bare{processes}-relay{i + 1}.log", core=i % 2))
            ports.append(port)
        for child, port in zip(setup.web, ports, strict=True):
            await wait_ok(f"http://127.0.0.1:{port}/socket.io/?EIO=4&transport=polling", child)
        ngx, setup.url = self.nginx(f"bare{processes}", ports)
        setup.helpers.append(ngx)
        await wait_ok(setup.url + "/socket.io/?EIO=4&transport=polling", ngx)
        return setup

    async def settle(self, limit_secs: float = 120.0) -> None:
        """Wait until the database uses under 5 % of a core for 2 s in a row (at most `limit_secs`)."""
        if self.db is None or self.db.proc is None:
            await asyncio.sleep(10)  # an external database: no process of ours to watch
            return
        pid, quiet, t0 = self.db.proc.pid, 0, time.monotonic()
        while quiet < 2 and time.monotonic() - t0 < limit_secs:
            before = cpu_seconds(pid)
            await asyncio.sleep(1.0)
            quiet = quiet + 1 if cpu_seconds(pid) - before < 0.05 else 0
        log(f"database idle again after {time.monotonic() - t0:.0f} s")

    def stop(self) -> None:
        if self.redis is not None:
            self.redis.stop()
        if self.db is not None:
            self.db.stop()
        if not self.args.keep:
            shutil.rmtree(self.work, ignore_errors=True)


# --- accounts and rooms for ours ------------------------------------------------------------------


@dataclass
class Room:
    cid: str
    user_token: str = ""
    officer_token: str = ""


async def make_rooms(infra: Infra, url: str, n: int) -> list[Room]:
    """n users who register, verify and open a consultation; n officers (as the CLI makes them) who claim."""
    from pymongo import AsyncMongoClient

    from server.domain import accounts
    from server.domain.clock import SystemClock
    from server.services import Services
    from server.settings import load_settings

    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(infra.db_uri, tz_aware=True)
    db = mongo[infra.db_name]
    settings = load_settings(mongodb_uri=infra.db_uri, pst_db_name=infra.db_name, pst_data_dir=infra.work / "side")
    svc = Services(settings=settings, db=db, clock=SystemClock())
    offices = ["7406", "1808", "7501", "1600", "7411"]
    rooms: list[Room] = []
    sem = asyncio.Semaphore(8)
    async with aiohttp.ClientSession() as http:

        async def call(method: str, path: str, body: Any = None, token: str | None = None) -> Any:
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            async with http.request(method, url + "/api/v1" + path, json=body, headers=headers) as resp:
                data = await resp.json(content_type=None)
                if resp.status >= 300:
                    raise RuntimeError(f"{method} {path}: {resp.status} {data}")
                return data

        async def one(i: int) -> Room:
            async with sem:
                email = f"bench-user-{i}@example.id"
                await call("POST", "/auth/register", {"email": email, "password": "rahasia-123", "name": f"User {i}"})
                doc = await db.outbox.find_one({"to": email, "kind": "verify_email"})
                assert doc is not None
                token = re.search(r"token=([\w.\-]+)", str(doc["text"])).group(1)  # type: ignore[union-attr]
                await call("POST", "/auth/verify", {"token": token})
                user = (await call("POST", "/auth/login", {"email": email, "password": "rahasia-123"}))["token"]
                office = offices[i % len(offices)]
                officer_email = f"bench-officer-{i}@bps.go.id"
                await accounts.create_staff(
                    svc, email=officer_email, name=f"Officer {i}", role="officer", office=office, password="petugas-123"
                )
                officer = (await call("POST", "/auth/login", {"email": officer_email, "password": "petugas-123"}))[
                    "token"
                ]
                c = await call(
                    "POST",
                    "/consultations",
                    {"office": office, "topic": "data", "subject": f"Room {i}", "text": "Halo"},
                    token=user,
                )
                await call("POST", f"/consultations/{c['id']}/claim", token=officer)
                return Room(c["id"], user, officer)

        rooms = list(await asyncio.gather(*(one(i) for i in range(n))))
        # The verification and "received" mails are not what this measures.
        await db.outbox.update_many({"status": "pending"}, {"$set": {"status": "failed"}})
    await mongo.close()
    return rooms


# --- the load -------------------------------------------------------------------------------------


@dataclass
class Step:
    rate: float
    sent: int = 0
    delivered: int = 0
    lost: int = 0
    errors: int = 0
    p50: float = 0.0
    p99: float = 0.0
    cpu_us_per_msg: float = 0.0
    cpu_pct: list[float] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return self.lost == 0 and self.errors == 0 and self.p99 <= P99_LIMIT_MS

    def line(self) -> str:
        cpu = "/".join(f"{c:.0f}" for c in self.cpu_pct)
        return (
            f"  {self.rate:7.0f} msg/s: delivered {self.delivered / self.seconds:7.1f}/s, lost {self.lost}, "
            f"errors {self.errors}, p50 {self.p50:6.1f} ms, p99 {self.p99:7.1f} ms, server CPU {cpu} % "
            f"({self.cpu_us_per_msg:,.0f} µs/msg) {'ok' if self.passed else 'FAIL'}"
        )


class Load:
    """One client per room member, through nginx; each sends at its share of the rate."""

    def __init__(self, url: str, rooms: list[Room], ours: bool) -> None:
        self.url, self.rooms, self.ours = url, rooms, ours
        self.clients: list[tuple[socketio.AsyncClient, Room, str]] = []
        self.sent_at: dict[str, float] = {}
        self.latencies: list[float] = []
        self.delivered: set[str] = set()
        self.errors = 0
        self.ids = itertools.count()
        # client_ids are idempotency keys: a run over rooms a previous set-up used must not repeat one.
        self.tag = os.urandom(3).hex()

    async def connect(self) -> None:
        sem = asyncio.Semaphore(20)

        async def one(room: Room, who: str) -> None:
            client = socketio.AsyncClient(reconnection=False, handle_sigint=False)

            @client.on("message:new")  # type: ignore[untyped-decorator]
            async def on_new(m: dict[str, Any]) -> None:
                key = m.get("client_id")
                # Counted at the other member of the room (each side also hears its own message).
                if key and key in self.sent_at and not key.startswith(who) and key not in self.delivered:
                    self.delivered.add(key)
                    self.latencies.append((time.perf_counter() - self.sent_at[key]) * 1000)

            token = room.user_token if who == "u" else room.officer_token
            async with sem:
                await client.connect(
                    self.url,
                    auth={"token": token, "name": who},
                    transports=["websocket"],
                    socketio_path="socket.io",
                    wait_timeout=30,
                )
                ack = await client.call("consultation:join", {"consultation_id": room.cid}, timeout=30)
                if not ack.get("ok"):
                    raise RuntimeError(f"join failed: {ack}")
            self.clients.append((client, room, who))

        await asyncio.gather(*(one(r, w) for r in self.rooms for w in ("u", "o")))

    async def close(self) -> None:
        for client, _, _ in self.clients:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(client.disconnect(), 5)

    async def step(self, rate: float, duration: float, warmup: float, drain: float, pids: list[int]) -> Step:
        per_client = rate / len(self.clients)
        interval = 1.0 / per_client
        loop = asyncio.get_running_loop()
        measure_from = loop.time() + warmup
        stop_at = measure_from + duration
        measured: list[str] = []
        acks: set[asyncio.Task[None]] = set()

        async def send(client: socketio.AsyncClient, room: Room, key: str) -> None:
            try:
                ack = await client.call(
                    "message:send", {"consultation_id": room.cid, "text": "x" * 100, "client_id": key}, timeout=10
                )
                if not ack.get("ok"):
                    self.errors += 1
            except Exception:  # noqa: BLE001 - a timeout or a dropped connection counts as an error
                self.errors += 1

        async def sender(i: int, client: socketio.AsyncClient, room: Room, who: str) -> None:
            next_at = loop.time() + interval * i / len(self.clients)
            while next_at < stop_at:
                await asyncio.sleep(max(0.0, next_at - loop.time()))
                key = f"{who}{self.tag}-{next(self.ids)}"
                self.sent_at[key] = time.perf_counter()
                if next_at >= measure_from:
                    measured.append(key)
                task = loop.create_task(send(client, room, key))
                acks.add(task)
                task.add_done_callback(acks.discard)
                next_at += interval

        errors0 = self.errors
        await asyncio.sleep(0)
        cpu0: list[float] = []
        senders = [sender(i, c, r, w) for i, (c, r, w) in enumerate(self.clients)]
        task = asyncio.gather(*senders)
        await asyncio.sleep(max(0.0, measure_from - loop.time()))
        cpu0 = [cpu_seconds(p) for p in pids]
        lat0 = len(self.latencies)
        t0 = time.perf_counter()
        await task
        span = time.perf_counter() - t0
        cpu1 = [cpu_seconds(p) for p in pids]
        await asyncio.sleep(drain)
        if acks:
            await asyncio.wait(acks, timeout=drain)
        in_window = set(measured)
        delivered = len(in_window & self.delivered)
        lat = sorted(self.latencies[lat0:]) or [0.0]
        result = Step(
            rate=rate,
            sent=len(measured),
            delivered=delivered,
            lost=len(measured) - delivered,
            errors=self.errors - errors0,
            seconds=span,
        )
        result.p50 = statistics.median(lat)
        result.p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))]
        cpu = [b - a for a, b in zip(cpu0, cpu1, strict=True)]
        result.cpu_pct = [c / span * 100 for c in cpu]
        result.cpu_us_per_msg = sum(cpu) / max(1, len(measured)) * 1e6
        return result


async def ladder(setup: Setup, rooms: list[Room], ours: bool, args: argparse.Namespace) -> list[Step]:
    load = Load(setup.url, rooms, ours)
    await load.connect()
    gc.collect()
    gc.freeze()
    log(f"{setup.name}: {len(load.clients)} clients connected through nginx and joined")
    steps: list[Step] = []
    rate = args.start if ours else args.bare_start
    try:
        while rate <= args.max_rate:
            step = await load.step(rate, args.duration, args.warmup, args.drain, [c.pid for c in setup.web])
            log(step.line())
            steps.append(step)
            if not step.passed:
                break
            rate *= args.factor
            await asyncio.sleep(1.0)
    finally:
        await load.close()
    return steps


def sustained(steps: list[Step]) -> Step | None:
    passed = [s for s in steps if s.passed]
    return passed[-1] if passed else None


def print_summary(results: dict[str, list[Step]], infra: Infra, args: argparse.Namespace) -> None:
    print()
    print(
        f"rooms {args.rooms} ({2 * args.rooms} clients), {args.duration:.0f} s a step, p99 limit "
        f"{P99_LIMIT_MS:.0f} ms; web processes pinned to cores 0 (and 1); nginx, Redis, database and the load "
        f"generator on core {args.helper_core}; load {os.getloadavg()[0]:.2f} at the end"
    )
    print(f"{'set-up':<22} {'sustained msg/s':>16} {'delivered/s':>12} {'p50 / p99 ms':>15} {'server µs/msg':>14}")
    best: dict[str, float] = {}
    for name, steps in results.items():
        s = sustained(steps)
        if s is None:
            print(f"{name:<22} {'none passed':>16}")
            continue
        best[name] = s.delivered / s.seconds
        print(
            f"{name:<22} {s.rate:>16,.0f} {s.delivered / s.seconds:>12,.1f} {s.p50:>7.1f} / {s.p99:<6.1f}"
            f" {s.cpu_us_per_msg:>14,.0f}"
        )
    for kind in ("ours", "bare"):
        one, two = best.get(f"{kind}, 1 process"), best.get(f"{kind}, 2 processes")
        if one and two:
            print(f"{kind}: 2 processes / 1 process = {two / one:.2f}x")


async def amain(args: argparse.Namespace) -> dict[str, list[Step]]:
    if args.generator_core is not None:
        os.sched_setaffinity(0, {args.generator_core})
    infra = Infra(args)
    results: dict[str, list[Step]] = {}
    try:
        await infra.start()
        log(f"work dir {infra.work}; load {os.getloadavg()}")
        if args.target in ("both", "ours"):
            rooms: list[Room] = []
            for n in (1, 2):
                setup = await infra.ours(n)
                try:
                    if not rooms:
                        rooms = await make_rooms(infra, setup.url, args.rooms)
                        log(f"made {len(rooms)} rooms")
                        await infra.settle()
                    results[setup.name] = await ladder(setup, rooms, True, args)
                finally:
                    setup.stop()
                # The failed step left the database a backlog: the next set-up starts once it is idle.
                await infra.settle()
        if args.target in ("both", "bare"):
            bare_rooms = [Room(f"room-{i}") for i in range(args.rooms)]
            for n in (1, 2):
                setup = await infra.bare(n)
                try:
                    results[setup.name] = await ladder(setup, bare_rooms, False, args)
                finally:
                    setup.stop()
    finally:
        infra.stop()
    print_summary(results, infra, args)
    return results


def relay_main(argv: list[str]) -> int:
    """bench/bare_relay.py, with python-socketio's Redis manager when --redis-url is given."""
    p = argparse.ArgumentParser(prog="topology.py relay")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--redis-url", default=None)
    args = p.parse_args(argv)
    sys.path.insert(0, str(REPO / "bench"))
    import bare_relay

    if args.redis_url:
        plain = socketio.AsyncServer

        def with_redis(*a: Any, **kw: Any) -> socketio.AsyncServer:
            kw["client_manager"] = socketio.AsyncRedisManager(args.redis_url)
            return plain(*a, **kw)

        # bare_relay.make_app builds its server as socketio.AsyncServer(...): the same relay, fanned out.
        socketio.AsyncServer = with_redis
    return int(bare_relay.main(["--port", str(args.port)]))


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--target", choices=["both", "ours", "bare"], default="both")
    p.add_argument("--rooms", type=int, default=40, help="rooms of a user and an officer (40: 80 clients)")
    p.add_argument("--duration", type=float, default=10.0, help="measured seconds a step (10)")
    p.add_argument("--warmup", type=float, default=2.0)
    p.add_argument("--drain", type=float, default=5.0, help="seconds a message may take before it counts as lost")
    p.add_argument("--start", type=float, default=20.0, help="first rate for ours (20 msg/s)")
    p.add_argument("--bare-start", type=float, default=200.0, help="first rate for the relay (200 msg/s)")
    p.add_argument("--factor", type=float, default=1.5)
    p.add_argument("--max-rate", type=float, default=20000.0)
    p.add_argument("--helper-core", type=int, default=1, help="nginx, Redis, the database (1)")
    p.add_argument("--generator-core", type=int, default=1, help="the load generator (1)")
    p.add_argument("--mongodb-uri", default=None, help="a real MongoDB for ours instead of an embedded SecantusDB")
    p.add_argument("--json", default=None)
    p.add_argument("--keep", action="store_true", help="keep the work dir (logs)")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["relay"]:
        return relay_main(argv[1:])
    sys.path.insert(0, str(REPO))
    args = parse_args(argv)
    results = asyncio.run(amain(args))
    if args.json:
        Path(args.json).write_text(json.dumps({k: [s.__dict__ for s in v] for k, v in results.items()}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
