"""Chat latency and CPU per message: our server (with its database) against a bare python-socketio relay.

One run starts, as subprocesses on loopback,
  (a) our server, `python -m server serve`, with the embedded SecantusDB it starts itself
      (or an external MongoDB with --mongodb-uri), and
  (b) bench/bare_relay.py: join rooms, re-emit each message to its room; no auth, no storage,
and puts the same load on each: user/officer pairs (one room each) plus a few officers who hold
--rooms-per-officer rooms each, with their users. Every connection sends `message:send` at the same
rate, so the total is --rate messages a second (evenly spaced, or Poisson with --arrivals poisson).
Latency is send -> `message:new` at the other party of the room. The server, its database and this
load generator are measured from /proc (utime + stime) over the measured window.

The server (and the embedded database it starts, which inherits the pinning) runs on core 0 under
taskset, this generator on core 1, when the machine has two cores or more.

    .venv/bin/python bench/chat_latency.py                     # 101 clients, both servers, < 3 min
    .venv/bin/python bench/chat_latency.py --pairs 450 --officers 5 --rate 30      # 1,005 clients
    .venv/bin/python bench/chat_latency.py --find-max --duration 10                # step the rate up
    .venv/bin/python bench/chat_latency.py --mongodb-uri mongodb://127.0.0.1:27017/

See bench/README.md for what the figures mean and their caveats.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import functools
import gc
import importlib.metadata
import json
import math
import os
import random
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import aiohttp  # noqa: E402
import socketio  # noqa: E402
from pymongo import AsyncMongoClient  # noqa: E402

CLK_TCK = os.sysconf("SC_CLK_TCK")
PASSWORD = "bench-password-1234"
P99_TARGET_MS = 50.0  # shared/PERFORMANCE.md
CPU_RATIO_TARGET = 2.0  # shared/PERFORMANCE.md
FIND_MAX_P99_MS = 100.0
SERVER_MSG_PER_CONN_LIMIT = 10.0  # server/realtime/namespace.py MESSAGES_PER_SECOND
START_TIMEOUT_SECS = 90.0
SETUP_CONCURRENCY = 16
CONNECT_CONCURRENCY = 25
JOIN_ATTEMPTS = 8
GEN_SATURATED_CPU_PCT = 90.0
GEN_LATE_MS = 10.0
OTHER_LOAD_WARN_PCT = 10.0
QUIET_PCT = 15.0  # on the server's core; the generator's core may be busier (its send lag is checked)
QUIET_GENERATOR_CORE_PCT = 50.0
TOKEN_RE = re.compile(r"token=([A-Za-z0-9_\-]+)")


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# --- processes ----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def cpu_seconds(pid: int | None) -> float | None:
    """utime + stime of a process (all its threads), or None when it is gone."""
    if pid is None:
        return None
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = raw.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def _sum_over_threads(pid: int | None, read: Callable[[Path], int]) -> int | None:
    """`read(/proc/<pid>/task/<tid>)` summed over the threads of `pid` (a thread gone meanwhile counts 0), or
    None when the process is gone."""
    if pid is None:
        return None
    total = 0
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            with contextlib.suppress(OSError, IndexError, ValueError):
                total += read(task)
    except OSError:
        return None
    return total


def runqueue_wait_seconds(pid: int | None) -> float | None:
    """Seconds the threads of `pid` spent runnable but waiting for a CPU (/proc/<pid>/task/*/schedstat)."""
    ns = _sum_over_threads(pid, lambda task: int((task / "schedstat").read_text().split()[1]))
    return None if ns is None else ns / 1e9


def _voluntary_switches(task: Path) -> int:
    for line in (task / "status").read_text().splitlines():
        if line.startswith("voluntary_ctxt_switches:"):
            return int(line.split()[1])
    return 0


def wakeups(pid: int | None) -> int | None:
    """Times the threads of `pid` went to sleep and were woken (voluntary context switches): each is a
    trip through the event loop from idle, which at low rates costs more than the work it wakes for."""
    return _sum_over_threads(pid, _voluntary_switches)


def core_busy_seconds() -> dict[int, float]:
    """Busy (non-idle) CPU seconds of each core since boot, from /proc/stat."""
    out: dict[int, float] = {}
    try:
        lines = Path("/proc/stat").read_text().splitlines()
    except OSError:
        return out
    for line in lines:
        name, _, rest = line.partition(" ")
        if name.startswith("cpu") and name[3:].isdigit():
            v = [int(x) for x in rest.split()]
            # user nice system idle iowait irq softirq steal (guest time is inside user)
            out[int(name[3:])] = (v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / CLK_TCK
    return out


def rss_mb(pid: int | None) -> float | None:
    if pid is None:
        return None
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def pin_all_threads(pid: int, core: int) -> None:
    """Move every thread of `pid` to `core` (sched_setaffinity acts on one thread only)."""
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):
            os.sched_setaffinity(int(task.name), {core})


class Child:
    """A subprocess in its own session, logging to a file; stopped with SIGINT, then harder."""

    def __init__(self, name: str, cmd: list[str], env: dict[str, str], log_path: Path, core: int | None) -> None:
        self.name = name
        self.log_path = log_path
        prefix: list[str] = []
        preexec = None
        if core is not None:
            if shutil.which("taskset"):
                prefix = ["taskset", "-c", str(core)]
            else:

                def preexec() -> None:
                    os.sched_setaffinity(0, {core})

        with open(log_path, "ab") as out:
            self.proc = subprocess.Popen(  # noqa: S603
                prefix + cmd,
                env=env,
                cwd=str(REPO),
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                preexec_fn=preexec,
            )
        self.pid = self.proc.pid  # taskset execs, so this is the Python process itself

    def alive(self) -> bool:
        return self.proc.poll() is None

    def tail(self, n: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""

    def stop(self) -> None:
        for sig, wait_secs in ((signal.SIGINT, 20.0), (signal.SIGTERM, 10.0), (signal.SIGKILL, 10.0)):
            if self.proc.poll() is not None:
                return
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, sig)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(wait_secs)


async def wait_http_ok(url: str, child: Child, limit_secs: float = START_TIMEOUT_SECS) -> None:
    deadline = time.monotonic() + limit_secs
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as http:
        while time.monotonic() < deadline:
            if not child.alive():
                raise RuntimeError(f"{child.name} exited with {child.proc.returncode}:\n{child.tail()}")
            with contextlib.suppress(aiohttp.ClientError, asyncio.TimeoutError):
                async with http.get(url) as resp:
                    if resp.status == 200:
                        return
            await asyncio.sleep(0.2)
    raise RuntimeError(f"{child.name} did not answer {url} within {limit_secs:.0f} s:\n{child.tail()}")


# --- topology -----------------------------------------------------------------------------------


@dataclass
class Conn:
    """One Socket.IO connection of the load: a user (one room) or an officer (one or many rooms)."""

    index: int
    role: str
    rooms: list[int]
    name: str
    email: str = ""
    office: str = ""
    token: str = ""
    user_id: Any = None
    next_room: int = 0
    client: Any = None


@dataclass
class Room:
    index: int
    user: int
    officer: int
    cid: str = ""


def build_topology(pairs: int, officers: int, rooms_per_officer: int) -> tuple[list[Conn], list[Room]]:
    """`pairs` rooms with an officer each, and `officers` officers holding `rooms_per_officer` rooms each."""
    n_rooms = pairs + officers * rooms_per_officer
    conns = [Conn(index=r, role="user", rooms=[r], name=f"Bench User {r}") for r in range(n_rooms)]
    for p in range(pairs):
        conns.append(Conn(index=n_rooms + p, role="officer", rooms=[p], name=f"Bench Officer {p}"))
    for m in range(officers):
        first = pairs + m * rooms_per_officer
        conns.append(
            Conn(
                index=n_rooms + pairs + m,
                role="officer",
                name=f"Bench Desk Officer {m}",
                rooms=list(range(first, first + rooms_per_officer)),
            )
        )
    rooms = []
    for r in range(n_rooms):
        officer = n_rooms + r if r < pairs else n_rooms + pairs + (r - pairs) // rooms_per_officer
        rooms.append(Room(index=r, user=r, officer=officer, cid=f"bare-room-{r}"))
    return conns, rooms


# --- measurement --------------------------------------------------------------------------------


def pct(values: list[float], q: float) -> float:
    """Nearest-rank percentile, NaN when empty."""
    if not values:
        return math.nan
    s = sorted(values)
    return s[min(len(s) - 1, max(0, math.ceil(q / 100.0 * len(s)) - 1))]


class Recorder:
    """What the handlers of every connection write into while a step runs."""

    def __init__(self) -> None:
        self.reset(window=(math.inf, math.inf))

    def reset(self, window: tuple[float, float]) -> None:
        self.window = window
        # client_id -> (sent at, receiving connection, inside the measured window)
        self.pending: dict[str, tuple[float, int, bool]] = {}
        self.latencies: list[float] = []
        self.ack_latencies: list[float] = []
        self.lags: list[float] = []
        self.errors: Counter[str] = Counter()
        self.delivered_in_window = 0
        self.events = 0

    def on_message(self, conn: int, data: Any) -> None:
        now = time.perf_counter()
        self.events += 1
        cid = data.get("client_id") if isinstance(data, dict) else None
        entry = self.pending.get(cid) if isinstance(cid, str) else None
        if entry is None or entry[1] != conn:
            return  # the sender's own copy
        assert isinstance(cid, str)
        del self.pending[cid]
        if entry[2]:
            self.latencies.append(now - entry[0])
        if self.window[0] <= now < self.window[1]:
            self.delivered_in_window += 1

    def on_ack(self, sent_at: float, counted: bool, resp: Any = None) -> None:
        if isinstance(resp, dict) and resp.get("ok"):
            if counted:
                self.ack_latencies.append(time.perf_counter() - sent_at)
            return
        error = resp.get("error") if isinstance(resp, dict) else None
        self.errors[str(error.get("code")) if isinstance(error, dict) else "bad_ack"] += 1

    def on_other(self, event: str, *args: Any) -> None:
        self.events += 1


@dataclass
class StepResult:
    target: str
    rate: float
    duration: float
    clients: int
    rooms: int
    span: float = 0.0  # the measured window as it really was (longer than `duration` when sends fell behind)
    sent: int = 0
    delivered: int = 0
    lost: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    delivered_per_sec: float = 0.0
    p50_ms: float = math.nan
    p95_ms: float = math.nan
    p99_ms: float = math.nan
    max_ms: float = math.nan
    ack_p50_ms: float = math.nan
    ack_p99_ms: float = math.nan
    server_cpu_s: float | None = None
    db_cpu_s: float | None = None
    gen_cpu_s: float = 0.0
    gen_lag_p99_ms: float = math.nan
    gen_lag_max_ms: float = math.nan
    server_rss_mb: float | None = None
    db_rss_mb: float | None = None
    idle_server_cpu_pct: float | None = None
    idle_db_cpu_pct: float | None = None
    events_per_sec: float = 0.0
    server_wait_ms_per_s: float | None = None  # runnable but not running: CPU contention on its core
    server_wakeups: int | None = None  # voluntary context switches of the server's threads in the window
    db_ops: int | None = None  # database operations served in the window (serverStatus opcounters)
    # % of each core used by processes other than the server, its database and this generator.
    other_load_pct: dict[int, float] = field(default_factory=dict)
    loadavg: str = ""

    @property
    def server_us_per_msg(self) -> float | None:
        return None if self.server_cpu_s is None or not self.sent else self.server_cpu_s / self.sent * 1e6

    @property
    def db_us_per_msg(self) -> float | None:
        return None if self.db_cpu_s is None or not self.sent else self.db_cpu_s / self.sent * 1e6

    @property
    def server_us_per_msg_net_idle(self) -> float | None:
        if self.server_cpu_s is None or not self.sent or self.idle_server_cpu_pct is None:
            return None
        net = self.server_cpu_s - self.idle_server_cpu_pct / 100.0 * self.span
        return max(0.0, net) / self.sent * 1e6

    @property
    def wakeups_per_msg(self) -> float | None:
        return None if self.server_wakeups is None or not self.sent else self.server_wakeups / self.sent

    @property
    def db_ops_per_msg(self) -> float | None:
        return None if self.db_ops is None or not self.sent else self.db_ops / self.sent

    @property
    def server_cpu_pct(self) -> float | None:
        return None if self.server_cpu_s is None else self.server_cpu_s / self.span * 100.0

    @property
    def db_cpu_pct(self) -> float | None:
        return None if self.db_cpu_s is None else self.db_cpu_s / self.span * 100.0

    @property
    def gen_cpu_pct(self) -> float:
        return self.gen_cpu_s / self.span * 100.0

    @property
    def generator_saturated(self) -> bool:
        return self.gen_cpu_pct >= GEN_SATURATED_CPU_PCT

    @property
    def generator_late(self) -> bool:
        return self.gen_lag_p99_ms > GEN_LATE_MS

    def passes(self, p99_ms: float) -> bool:
        return self.sent > 0 and self.lost == 0 and not self.errors and self.p99_ms <= p99_ms


class Target:
    """A server under load: where to connect, how to authenticate, which processes to measure."""

    name = ""
    url = ""
    server_pid: int | None = None
    db_pid: int | None = None
    db_core: int | None = None  # where the database's CPU time is spent, when we know

    def auth(self, conn: Conn) -> dict[str, Any]:
        raise NotImplementedError

    async def db_ops(self) -> int | None:
        """Operations the database has served so far (serverStatus opcounters), when there is one."""
        return None


# --- the load -----------------------------------------------------------------------------------


class Load:
    """The connections of one target and the sending loop."""

    def __init__(self, target: Target, conns: list[Conn], rooms: list[Room], args: argparse.Namespace) -> None:
        self.target = target
        self.conns = conns
        self.rooms = rooms
        self.args = args
        self.rec = Recorder()
        self.http: aiohttp.ClientSession | None = None
        self.tag = secrets.token_hex(3)
        self.sent_total = 0
        self.join_retries = 0
        text = "Selamat pagi, saya ingin menanyakan data inflasi bulanan kabupaten untuk tahun 2025. "
        self.text = (text * (1 + args.text_bytes // len(text)))[: args.text_bytes]

    async def connect(self) -> None:
        self.http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
        sem = asyncio.Semaphore(CONNECT_CONCURRENCY)
        rec = self.rec

        async def one(conn: Conn) -> None:
            client = socketio.AsyncClient(reconnection=False, handle_sigint=False, http_session=self.http)
            client.on("message:new", functools.partial(rec.on_message, conn.index))
            client.on("*", rec.on_other)
            async with sem:
                await client.connect(
                    self.target.url,
                    auth=self.target.auth(conn),
                    transports=["websocket"],
                    socketio_path="socket.io",
                    wait_timeout=30,
                )
                conn.client = client
                for r in conn.rooms:
                    # As the pages do: a join refused as busy (the database behind, e.g. 10,000 clients
                    # connecting at once) is tried again a moment later.
                    for attempt in range(JOIN_ATTEMPTS):
                        ack = await client.call(
                            "consultation:join", {"consultation_id": self.rooms[r].cid}, timeout=60
                        )
                        busy = isinstance(ack, dict) and (ack.get("error") or {}).get("code") == "busy"
                        if not busy:
                            break
                        self.join_retries += 1
                        await asyncio.sleep(min(5.0, 0.2 * 2**attempt))
                    if not (isinstance(ack, dict) and ack.get("ok")):
                        raise RuntimeError(f"join failed for {conn.name}: {ack!r}")

        t0 = time.monotonic()
        await asyncio.wait_for(asyncio.gather(*(one(c) for c in self.conns)), timeout=600)
        # The clients live for the whole run: keep them out of the generator's collections.
        gc.collect()
        gc.freeze()
        log(
            f"{self.target.name}: {len(self.conns)} clients connected and joined "
            f"{sum(len(c.rooms) for c in self.conns)} rooms in {time.monotonic() - t0:.1f} s"
            + (f" ({self.join_retries} joins refused as busy and tried again)" if self.join_retries else "")
        )

    async def close(self) -> None:
        async def one(conn: Conn) -> None:
            if conn.client is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(conn.client.disconnect(), timeout=10)
                conn.client = None

        await asyncio.gather(*(one(c) for c in self.conns))
        if self.http is not None:
            await self.http.close()
            self.http = None

    def _own_cpu(self) -> tuple[float | None, float | None, float, float | None, int | None]:
        return (
            cpu_seconds(self.target.server_pid),
            cpu_seconds(self.target.db_pid),
            time.process_time(),
            runqueue_wait_seconds(self.target.server_pid),
            wakeups(self.target.server_pid),
        )

    def _other_load(
        self, c0: tuple[Any, ...], c1: tuple[Any, ...], b0: dict[int, float], b1: dict[int, float], span: float
    ) -> dict[int, float]:
        """% of the server's and the generator's cores used by anything but us (a shared machine)."""
        mine: Counter[int] = Counter()
        a = self.args
        if a.server_core is not None and c0[0] is not None and c1[0] is not None:
            mine[a.server_core] += c1[0] - c0[0]
        if self.target.db_core is not None and c0[1] is not None and c1[1] is not None:
            mine[self.target.db_core] += c1[1] - c0[1]
        if a.generator_core is not None:
            mine[a.generator_core] += c1[2] - c0[2]
        return {
            core: max(0.0, (b1[core] - b0[core]) - mine[core]) / span * 100.0
            for core in sorted(mine)
            if core in b0 and core in b1
        }

    async def idle_cpu(self, secs: float) -> tuple[float | None, float | None]:
        """CPU % of the server and the database with every client connected and nobody talking."""
        if secs <= 0:
            return None, None
        c0, t0 = self._own_cpu(), time.perf_counter()
        await asyncio.sleep(secs)
        c1, span = self._own_cpu(), time.perf_counter() - t0

        def p(a: float | None, b: float | None) -> float | None:
            return None if a is None or b is None else (b - a) / span * 100.0

        return p(c0[0], c1[0]), p(c0[1], c1[1])

    def quiet(self, other: dict[int, float]) -> bool:
        """Nothing else on the server's core, and not much on the generator's."""
        gen = self.args.generator_core
        return all(v <= (QUIET_GENERATOR_CORE_PCT if core == gen else QUIET_PCT) for core, v in other.items())

    async def wait_quiet(self, limit_secs: float) -> None:
        """Wait (at most `limit_secs`) until other processes leave our cores nearly idle for 3 s."""
        if limit_secs <= 0:
            return
        deadline = time.monotonic() + limit_secs
        quiet_for = 0
        last_log = 0.0
        while time.monotonic() < deadline:
            c0, b0, t0 = self._own_cpu(), core_busy_seconds(), time.perf_counter()
            await asyncio.sleep(1.0)
            other = self._other_load(c0, self._own_cpu(), b0, core_busy_seconds(), time.perf_counter() - t0)
            quiet_for = quiet_for + 1 if self.quiet(other) else 0
            if quiet_for >= 3:
                return
            if time.monotonic() - last_log > 15:
                last_log = time.monotonic()
                log(
                    f"{self.target.name}: waiting for a quiet machine; others use "
                    + ", ".join(f"{v:.0f} % of core {k}" for k, v in other.items())
                )
        log(f"{self.target.name}: the machine did not get quiet in {limit_secs:.0f} s; measuring anyway")

    async def step(self, rate: float, duration: float, warmup: float) -> StepResult:
        """Send at `rate` for warmup + duration seconds; measure the last `duration` seconds."""
        args = self.args
        rng = random.Random(args.seed)
        order = [c.index for c in self.conns]
        rng.shuffle(order)
        n = len(order)
        rec = self.rec
        start = time.perf_counter() + 0.05
        win0, win1 = start + warmup, start + warmup + duration
        rec.reset(window=(win0, win1))
        res = StepResult(
            target=self.target.name, rate=rate, duration=duration, clients=len(self.conns), rooms=len(self.rooms)
        )
        max_sends = int(rate * (warmup + duration) * 1.5) + 10
        interval = 1.0 / rate
        poisson = args.arrivals == "poisson"
        at = start
        snap0: tuple[tuple[Any, ...], dict[int, float], int, float] | None = None
        ops0: int | None = None
        for k in range(max_sends):
            now = time.perf_counter()
            if snap0 is None and now >= win0:
                snap0 = (self._own_cpu(), core_busy_seconds(), rec.events, time.perf_counter())
                ops0 = await self.target.db_ops()
            if at >= win1:
                break
            if at - now > 0.0005:
                await asyncio.sleep(at - now)
            elif k % 8 == 0:
                await asyncio.sleep(0)  # behind schedule: still let the receivers run
            counted = win0 <= at < win1
            conn = self.conns[order[k % n]]
            room = self.rooms[conn.rooms[conn.next_room % len(conn.rooms)]]
            conn.next_room += 1
            receiver = room.officer if conn.role == "user" else room.user
            client_id = f"{self.tag}-{self.sent_total}"
            self.sent_total += 1
            sent_at = time.perf_counter()
            rec.pending[client_id] = (sent_at, receiver, counted)
            if counted:
                rec.lags.append(sent_at - at)
                res.sent += 1
            try:
                await conn.client.emit(
                    "message:send",
                    {"consultation_id": room.cid, "text": self.text, "client_id": client_id},
                    callback=functools.partial(rec.on_ack, sent_at, counted),
                )
            except Exception as exc:  # noqa: BLE001 - a dead connection is a result, not a crash
                rec.errors[f"emit:{type(exc).__name__}"] += 1
                rec.pending.pop(client_id, None)
            at += rng.expovariate(rate) if poisson else interval
        if snap0 is None:
            snap0 = (self._own_cpu(), core_busy_seconds(), rec.events, time.perf_counter())
            ops0 = await self.target.db_ops()
        if win1 - time.perf_counter() > 0:
            await asyncio.sleep(win1 - time.perf_counter())
        cpu1, busy1, events1, t1 = self._own_cpu(), core_busy_seconds(), rec.events, time.perf_counter()
        ops1 = await self.target.db_ops()
        if ops0 is not None and ops1 is not None:
            res.db_ops = ops1 - ops0 - 1  # less our own serverStatus
        cpu0, busy0, events0, t0 = snap0
        res.span = max(t1 - t0, 1e-3)
        with contextlib.suppress(OSError):
            res.loadavg = " ".join(Path("/proc/loadavg").read_text().split()[:3])  # noqa: ASYNC240 - procfs
        res.server_rss_mb, res.db_rss_mb = rss_mb(self.target.server_pid), rss_mb(self.target.db_pid)
        # Let what is in flight arrive; bounded.
        drain_until = time.perf_counter() + args.drain_secs
        # The handlers are plain callbacks: polling is enough.
        while time.perf_counter() < drain_until and any(e[2] for e in rec.pending.values()):  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        res.lost = sum(1 for e in rec.pending.values() if e[2])
        res.delivered = len(rec.latencies)
        res.errors = dict(rec.errors)
        res.delivered_per_sec = rec.delivered_in_window / duration
        res.events_per_sec = (events1 - events0) / res.span
        res.p50_ms, res.p95_ms, res.p99_ms, res.max_ms = (pct(rec.latencies, q) * 1e3 for q in (50, 95, 99, 100))
        res.ack_p50_ms, res.ack_p99_ms = (pct(rec.ack_latencies, q) * 1e3 for q in (50, 99))
        res.gen_lag_p99_ms, res.gen_lag_max_ms = (pct(rec.lags, q) * 1e3 for q in (99, 100))
        if cpu0[0] is not None and cpu1[0] is not None:
            res.server_cpu_s = cpu1[0] - cpu0[0]
        if cpu0[1] is not None and cpu1[1] is not None:
            res.db_cpu_s = cpu1[1] - cpu0[1]
        res.gen_cpu_s = cpu1[2] - cpu0[2]
        if cpu0[3] is not None and cpu1[3] is not None:
            res.server_wait_ms_per_s = (cpu1[3] - cpu0[3]) / res.span * 1e3
        if cpu0[4] is not None and cpu1[4] is not None:
            res.server_wakeups = cpu1[4] - cpu0[4]
        res.other_load_pct = self._other_load(cpu0, cpu1, busy0, busy1, res.span)
        rec.pending.clear()
        return res


# --- our server ---------------------------------------------------------------------------------


class OurServer(Target):
    name = "ours"

    def __init__(self, args: argparse.Namespace, workdir: Path) -> None:
        self.args = args
        self.workdir = workdir
        self.data_dir = workdir / "pst-data"
        self.db_name = "pst" if not args.mongodb_uri else f"pst_bench_{secrets.token_hex(4)}"
        self.secret = secrets.token_urlsafe(32)
        self.child: Child | None = None
        self.mongo: AsyncMongoClient[dict[str, Any]] | None = None
        self.db_uri = ""
        self.db_label = ""
        self.svc: Any = None
        self.ops_failed = False

    def auth(self, conn: Conn) -> dict[str, Any]:
        return {"token": conn.token}

    async def db_ops(self) -> int | None:
        if self.mongo is None:
            return None
        try:
            status = await self.mongo.admin.command("serverStatus")
        except Exception as exc:  # noqa: BLE001 - a database without serverStatus: no count
            if not self.ops_failed:
                self.ops_failed = True
                log(f"ours: no operation counts: serverStatus failed: {exc!r}")
            return None
        counters = status.get("opcounters") or {}
        return sum(int(v) for v in counters.values() if isinstance(v, int))

    async def start(self, *, setup: bool = False) -> None:
        """Start `pst serve`; for the set-up phase with its mail and scheduler loops effectively off."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("PST_")}
        for name in ("MONGODB_URI", "REDIS_URL", "SMTP_URL"):
            env.pop(name, None)
        env.update(PST_LOG_LEVEL="WARNING", PST_DB_NAME=self.db_name, PST_SECRET_KEY=self.secret)
        if setup:
            # A thousand registrations queue a thousand e-mails and more; the notifier would be writing
            # them while we set up and measure. They are cancelled before the measured server starts.
            env.update(PST_NOTIFIER_INTERVAL_SECS="3600", PST_SCHEDULER_INTERVAL_SECS="3600")
            # Every account signs in from this one address: the per-address sign-in limit would refuse most.
            env["PST_RATE_LIMITS"] = "false"
        if self.args.mongodb_uri:
            env["MONGODB_URI"] = self.args.mongodb_uri
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        cmd = [
            sys.executable,
            "-m",
            "server",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--data-dir",
            str(self.data_dir),
        ]
        self.child = Child("pst serve", cmd, env, self.workdir / "server.log", self.args.server_core)
        self.server_pid = self.child.pid
        await wait_http_ok(f"{self.url}/healthz", self.child)
        if self.args.mongodb_uri:
            self.db_uri = self.args.mongodb_uri
            self.db_pid = self.args.db_pid
            self.db_core = None
        else:
            info = json.loads((self.data_dir / ".db.pid").read_text())
            self.db_pid = int(info["pid"])
            self.db_uri = f"mongodb://127.0.0.1:{int(info['port'])}/?directConnection=true"
            if self.args.db_core is not None:
                pin_all_threads(self.db_pid, self.args.db_core)
            cores = os.sched_getaffinity(self.db_pid)
            self.db_core = next(iter(cores)) if len(cores) == 1 else None
        if self.mongo is None:
            self.mongo = AsyncMongoClient(self.db_uri, tz_aware=True, serverSelectionTimeoutMS=5000)
        version = (await self.mongo[self.db_name].command("buildInfo")).get("version", "?")
        if self.args.mongodb_uri:
            host = urlsplit(self.args.mongodb_uri).hostname
            self.db_label = f"external MongoDB-wire server at {host}, buildInfo version {version}"
        else:
            try:
                pkg = importlib.metadata.version("secantusdb")
            except importlib.metadata.PackageNotFoundError:
                pkg = "?"
            self.db_label = (
                f"embedded SecantusDB {pkg} (buildInfo version {version}), started by pst serve, "
                f"on core(s) {sorted(os.sched_getaffinity(self.db_pid))}"
            )
        log(
            f"ours: pst serve pid {self.server_pid} on {self.url}{' (set-up)' if setup else ''}; "
            f"database: {self.db_label}"
        )

    async def restart(self) -> None:
        """A fresh `pst serve` with the product's defaults over the same data: the one we measure."""
        if self.child is not None:
            self.child.stop()
        if not self.args.mongodb_uri and self.mongo is not None:
            await self.mongo.close()  # the embedded database went with the server
            self.mongo = None
            self.svc = None
        await self.start()

    def services(self) -> Any:
        """The product's own domain services on the same database (set-up only)."""
        if self.svc is None:
            from server.domain.clock import SystemClock
            from server.services import Services
            from server.settings import load_settings

            assert self.mongo is not None
            settings = load_settings(
                mongodb_uri=self.db_uri,
                pst_db_name=self.db_name,
                pst_data_dir=self.workdir / "bench-side",
                public_base_url=self.url,
            )
            self.svc = Services(settings=settings, db=self.mongo[self.db_name], clock=SystemClock())
        return self.svc

    async def close(self) -> None:
        if self.mongo is not None:
            if self.args.mongodb_uri and not self.args.keep_data:
                with contextlib.suppress(Exception):
                    await self.mongo.drop_database(self.db_name)
            await self.mongo.close()
            self.mongo = None
        if self.child is not None:
            self.child.stop()


async def _http(http: aiohttp.ClientSession, method: str, url: str, body: Any = None, token: str | None = None) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    for attempt in range(5):
        async with http.request(method, url, json=body, headers=headers) as resp:
            data = await resp.json(content_type=None)
            if resp.status in (200, 201, 202):
                return data
            if resp.status == 503 and attempt < 4:
                await asyncio.sleep(0.5 * (attempt + 1))
                continue
            raise RuntimeError(f"{method} {url} -> {resp.status} {data}")
    raise RuntimeError(f"{method} {url} kept failing")


async def _bounded(items: list[Any], fn: Callable[[Any], Awaitable[None]], what: str, concurrency: int) -> None:
    sem = asyncio.Semaphore(concurrency)
    done = 0
    t0 = last = time.monotonic()

    async def one(item: Any) -> None:
        nonlocal done, last
        async with sem:
            await fn(item)
        done += 1
        if time.monotonic() - last > 15:
            last = time.monotonic()
            log(f"  {what}: {done}/{len(items)}")

    await asyncio.gather(*(one(i) for i in items))
    log(f"  {what}: {len(items)} in {time.monotonic() - t0:.1f} s")


async def setup_accounts(ours: OurServer, conns: list[Conn], rooms: list[Room], args: argparse.Namespace) -> None:
    """Staff and users, and the users' consultations claimed by their officers, through the API."""
    from server.domain import accounts, security

    svc = ours.services()
    db = svc.db
    api = f"{ours.url}/api/v1"
    mode = args.accounts
    if mode == "auto":
        mode = "api" if len(conns) <= 250 else "direct"
    if mode == "direct":
        # argon2 at its default cost is ~130 ms of CPU a hash here: a thousand accounts would take minutes.
        from argon2 import PasswordHasher

        security._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    log(f"ours: creating {len(conns)} accounts ({mode}) and {len(rooms)} consultations")

    # --staff-per-office officers an office: offices beyond the five seeds are copies of them.
    staff = [c for c in conns if c.role == "officer"]
    users = [c for c in conns if c.role == "user"]
    seeds = [o async for o in db.offices.find({}).sort("code", 1)]
    if not seeds:
        raise RuntimeError("no offices seeded")
    codes = [o["code"] for o in seeds]
    for i in range(len(codes), math.ceil(len(staff) / args.staff_per_office)):
        code = f"{9000 + i:04d}"
        clone = {k: v for k, v in seeds[i % len(seeds)].items() if k != "_id"}
        clone.update(code=code, name=f"Bench office {code}")
        await db.offices.update_one({"code": code}, {"$setOnInsert": clone}, upsert=True)
        codes.append(code)
    for i, c in enumerate(staff):
        c.office = codes[i // args.staff_per_office]
    for room in rooms:
        conns[room.user].office = conns[room.officer].office
    tag = secrets.token_hex(3)
    for c in conns:
        c.email = f"bench-{tag}-{c.index}@bench.example.org"

    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120)) as http:

        async def login(c: Conn) -> None:
            if mode == "api":
                c.token = (await _http(http, "POST", f"{api}/auth/login", {"email": c.email, "password": PASSWORD}))[
                    "token"
                ]
            else:
                c.token, account = await accounts.login(svc, email=c.email, password=PASSWORD)
                c.user_id = account["_id"]

        async def make_staff(c: Conn) -> None:
            # What `pst admin create-user` does.
            await accounts.create_staff(
                svc, email=c.email, name=c.name, role="officer", office=c.office, password=PASSWORD
            )
            await login(c)

        async def verify_token(email: str) -> str:
            for _ in range(50):
                doc = await db.outbox.find_one({"kind": "verify_email", "to": email}, sort=[("created_at", -1)])
                m = TOKEN_RE.search((doc or {}).get("text") or "")
                if m:
                    return m.group(1)
                await asyncio.sleep(0.1)
            raise RuntimeError(f"no verification mail for {email}")

        async def make_user(c: Conn) -> None:
            if mode == "api":
                await _http(
                    http, "POST", f"{api}/auth/register", {"email": c.email, "password": PASSWORD, "name": c.name}
                )
                await _http(http, "POST", f"{api}/auth/verify", {"token": await verify_token(c.email)})
            await login(c)

        async def open_and_claim(room: Room) -> None:
            user, officer = conns[room.user], conns[room.officer]
            opened = await _http(
                http,
                "POST",
                f"{api}/consultations",
                {
                    "office": user.office,
                    "topic": "data",
                    "subject": f"Bench room {room.index}",
                    "text": "Halo, saya membutuhkan data inflasi bulanan.",
                },
                token=user.token,
            )
            room.cid = opened["id"]
            await _http(http, "POST", f"{api}/consultations/{room.cid}/claim", token=officer.token)

        await _bounded(staff, make_staff, "staff", SETUP_CONCURRENCY)
        if mode == "direct":
            # Verified users in bulk, in the shape accounts.register writes; sessions from accounts.login.
            now = svc.now()
            hashed = await security.hash_password(PASSWORD)
            await db.users.insert_many(
                [
                    {
                        "email": accounts.normalize_email(c.email),
                        "name": c.name,
                        "role": "user",
                        "office": None,
                        "phone": None,
                        "institution": None,
                        "occupation": None,
                        "lang": "id",
                        "password_hash": hashed,
                        "email_verified_at": now,
                        "created_at": now,
                        "updated_at": now,
                    }
                    for c in users
                ]
            )
        await _bounded(users, make_user, "users", SETUP_CONCURRENCY)
        if mode == "direct":
            await insert_claimed_rooms(svc, conns, rooms)
            rooms = []
        # The first consultation of an office in a year creates its number counter with an upsert;
        # SecantusDB answers None to one of two racing upserts and POST /consultations fails with a 500
        # (consultations._next_number). So the first one of each office goes alone.
        firsts: dict[str, Room] = {}
        for room in rooms:
            firsts.setdefault(conns[room.user].office, room)
        await _bounded(list(firsts.values()), open_and_claim, "first consultation of each office", 1)
        rest = [r for r in rooms if firsts[conns[r.user].office] is not r] if rooms else []
        await _bounded(rest, open_and_claim, "consultations opened and claimed", SETUP_CONCURRENCY)
    res = await db.outbox.update_many(
        {"status": "pending"},
        {
            "$set": {
                "status": "failed",
                "lease_until": None,
                "last_error": "not sent: bench/chat_latency.py set-up mail",
            }
        },
    )
    log(f"ours: {res.modified_count} set-up e-mails cancelled (the measured notifier has nothing to send)")


async def insert_claimed_rooms(svc: Any, conns: list[Conn], rooms: list[Room]) -> None:
    """--accounts direct: each room's consultation as POST /consultations then /claim leave it (active,
    assigned, its first message stored), written in bulk: thousands of rooms opened one by one through
    the API kept SecantusDB busy for many minutes (and once stopped it answering)."""
    from server.domain import sla

    db = svc.db
    now = svc.now()
    offices = {o["code"]: o async for o in db.offices.find({})}
    tag = secrets.token_hex(2)
    docs = []
    for room in rooms:
        user, officer = conns[room.user], conns[room.officer]
        off = offices[user.office]
        first = {
            "seq": 1,
            "kind": "text",
            "text": "Halo, saya membutuhkan data inflasi bulanan.",
            "author_name": user.name,
            "created_at": now,
        }
        docs.append(
            {
                "number": f"{user.office}-B{tag}-{room.index:06d}",
                "office": user.office,
                "time_zone": off["time_zone"],
                "channel": "online",
                "topic": "data",
                "subject": f"Bench room {room.index}",
                "user_id": user.user_id,
                "user_name": user.name,
                "user_email": user.email,
                "user_lang": "id",
                "status": "active",
                "close_reason": None,
                "assigned_to": officer.user_id,
                "assigned_name": officer.name,
                "claimed_at": now,
                "created_at": now,
                "updated_at": now,
                "last_seq": 1,
                "last_visible_seq": 1,
                "last_message": first,
                "last_visible_message": first,
                "last_message_at": now,
                "last_user_message_at": now,
                "reads": {str(user.user_id): 1},
                "sla": {**sla.sla_plan(off, now), "margin": 1},
                "kb_query": None,
                "kb_opened": [],
                "transfers": [],
            }
        )
    for i in range(0, len(docs), 1000):
        part = docs[i : i + 1000]
        res = await db.consultations.insert_many(part)
        await db.messages.insert_many(
            [
                {
                    "consultation_id": cid,
                    "kind": "text",
                    "text": doc["last_message"]["text"],
                    "created_at": now,
                    "author_id": doc["user_id"],
                    "author_name": doc["user_name"],
                    "author_role": "user",
                    "seq": 1,
                }
                for cid, doc in zip(res.inserted_ids, part, strict=True)
            ]
        )
        for room, cid in zip(rooms[i : i + 1000], res.inserted_ids, strict=True):
            room.cid = str(cid)
    log(f"ours: {len(docs)} consultations inserted, active and claimed")


# --- the bare relay -----------------------------------------------------------------------------


class BareRelay(Target):
    name = "bare"

    def __init__(self, args: argparse.Namespace, workdir: Path) -> None:
        self.args = args
        self.workdir = workdir
        self.child: Child | None = None

    def auth(self, conn: Conn) -> dict[str, Any]:
        return {"name": conn.name}

    async def start(self) -> None:
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        cmd = [sys.executable, str(REPO / "bench" / "bare_relay.py"), "--host", "127.0.0.1", "--port", str(port)]
        self.child = Child("bare relay", cmd, dict(os.environ), self.workdir / "bare.log", self.args.server_core)
        self.server_pid = self.child.pid
        await wait_http_ok(f"{self.url}/socket.io/?EIO=4&transport=polling", self.child)
        log(f"bare: relay pid {self.server_pid} on {self.url}")

    async def close(self) -> None:
        if self.child is not None:
            self.child.stop()


# --- reporting ----------------------------------------------------------------------------------


def _f(v: float | None, fmt: str = "{:.1f}") -> str:
    return "n/a" if v is None or math.isnan(v) else fmt.format(v)


def _ratio(a: float | None, b: float | None) -> str:
    if a is None or b is None or not b or math.isnan(a) or math.isnan(b):
        return "n/a"
    return f"{a / b:.2f}x"


def _other(r: StepResult) -> str:
    return ", ".join(f"core {k}: {v:.0f}" for k, v in r.other_load_pct.items()) or "n/a"


def print_comparison(ours: StepResult | None, bare: StepResult | None, db_label: str) -> None:
    cols = [r for r in (ours, bare) if r is not None]
    both = ours is not None and bare is not None
    head = ["", *("ours (pst serve)" if r.target == "ours" else "bare relay" for r in cols)]
    if both:
        head.append("ours/bare")
    rows: list[list[str]] = []

    def add(label: str, cells: list[str], ratio: str = "") -> None:
        rows.append([label, *cells, *([ratio] if both else [])])

    def num(label: str, get: Callable[[StepResult], float | None], fmt: str = "{:.1f}", ratio: bool = False) -> None:
        add(label, [_f(get(r), fmt) for r in cols], _ratio(get(ours), get(bare)) if ratio and ours and bare else "")

    add("clients / rooms", [f"{r.clients} / {r.rooms}" for r in cols])
    num("offered rate, msg/s", lambda r: r.rate, "{:.0f}")
    add("sent / delivered / lost", [f"{r.sent} / {r.delivered} / {r.lost}" for r in cols])
    add("error acks", [", ".join(f"{k}={v}" for k, v in r.errors.items()) or "none" for r in cols])
    num("delivered msg/s", lambda r: r.delivered_per_sec, ratio=True)
    num("latency p50, ms", lambda r: r.p50_ms, "{:.2f}", ratio=True)
    num("latency p95, ms", lambda r: r.p95_ms, "{:.2f}", ratio=True)
    num("latency p99, ms", lambda r: r.p99_ms, "{:.2f}", ratio=True)
    num("latency max, ms", lambda r: r.max_ms, "{:.2f}", ratio=True)
    add("ack p50 / p99, ms", [f"{_f(r.ack_p50_ms, '{:.2f}')} / {_f(r.ack_p99_ms, '{:.2f}')}" for r in cols])
    num("server CPU, % of a core", lambda r: r.server_cpu_pct, ratio=True)
    num("server CPU per message, us", lambda r: r.server_us_per_msg, "{:.0f}", ratio=True)
    num("  server idle CPU before, %", lambda r: r.idle_server_cpu_pct)
    num("  per message net of idle, us", lambda r: r.server_us_per_msg_net_idle, "{:.0f}", ratio=True)
    num("database CPU, % of a core", lambda r: r.db_cpu_pct)
    num("database CPU per message, us", lambda r: r.db_us_per_msg, "{:.0f}")
    num("database operations per message", lambda r: r.db_ops_per_msg, "{:.2f}")
    num("  database idle CPU before, %", lambda r: r.idle_db_cpu_pct)
    num(
        "server + database per message, us",
        lambda r: None if r.server_us_per_msg is None else r.server_us_per_msg + (r.db_us_per_msg or 0.0),
        "{:.0f}",
        ratio=True,
    )
    num("server RSS, MB", lambda r: r.server_rss_mb, "{:.0f}", ratio=True)
    num("database RSS, MB", lambda r: r.db_rss_mb, "{:.0f}")
    num("events received by clients /s", lambda r: r.events_per_sec, "{:.0f}")
    num("generator CPU, % of a core", lambda r: r.gen_cpu_pct, "{:.0f}")
    add(
        "generator send lag p99 / max, ms",
        [f"{_f(r.gen_lag_p99_ms, '{:.2f}')} / {_f(r.gen_lag_max_ms, '{:.1f}')}" for r in cols],
    )
    add("other processes, % of core", [_other(r) for r in cols])
    num("server waited for a CPU, ms/s", lambda r: r.server_wait_ms_per_s)
    num("server wake-ups per message", lambda r: r.wakeups_per_msg, "{:.2f}", ratio=True)
    add("load average 1/5/15 min", [r.loadavg or "n/a" for r in cols])
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    print()
    print("  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for line in rows:
        print(
            "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(line, widths, strict=True)))
        )
    if ours is not None:
        print(f"\ndatabase: {db_label}")
    for r in cols:
        if r.generator_saturated:
            print(
                f"WARNING: the load generator used {r.gen_cpu_pct:.0f} % of its core during the {r.target} "
                "run: latencies include its own queueing; throughput is a lower bound of the server's."
            )
        elif r.generator_late:
            print(
                f"WARNING: the load generator sent late during the {r.target} run (lag p99 "
                f"{r.gen_lag_p99_ms:.1f} ms at {r.gen_cpu_pct:.0f} % CPU): something else held its core."
            )
        busy = {k: v for k, v in r.other_load_pct.items() if v > OTHER_LOAD_WARN_PCT}
        if busy:
            print(
                f"WARNING: other processes used {', '.join(f'{v:.0f} % of core {k}' for k, v in busy.items())} "
                f"during the {r.target} window: its latencies are inflated by CPU contention; CPU time per "
                "message (utime + stime) is affected much less."
            )
    if ours is None or bare is None:
        return
    print()
    a, b = ours.server_us_per_msg, bare.server_us_per_msg
    if a is not None and b:
        verdict = "meets" if a / b <= CPU_RATIO_TARGET else "MISSES"
        print(
            f"server CPU per message: {a / b:.2f}x the bare relay's ({verdict} the <= {CPU_RATIO_TARGET:.0f}x "
            "target of shared/PERFORMANCE.md; the database's CPU not included)"
        )
        an, bn = ours.server_us_per_msg_net_idle, bare.server_us_per_msg_net_idle
        if an is not None and bn:
            print(f"  net of idle CPU: {an / bn:.2f}x")
        if ours.db_us_per_msg is not None:
            print(f"  with the database's CPU: {(a + ours.db_us_per_msg) / b:.2f}x")
    verdict = "meets" if ours.p99_ms <= P99_TARGET_MS else "MISSES"
    note = "" if ours.clients >= 1000 else f"; the target is stated for 1,000 clients, this run has {ours.clients}"
    print(
        f"p99 send->delivery: {ours.p99_ms:.1f} ms ({verdict} the <= {P99_TARGET_MS:.0f} ms target at "
        f"{ours.rate:.0f} msg/s{note})"
    )


def _median_run(results: list[StepResult]) -> StepResult:
    """The run whose server CPU a message is the median (the lower middle one of an even count)."""
    ranked = sorted(results, key=lambda r: r.server_us_per_msg if r.server_us_per_msg is not None else float("inf"))
    return ranked[(len(ranked) - 1) // 2]


def print_repeats(out: dict[str, list[StepResult]]) -> None:
    """Every run's server CPU a message, one line a server, and the ratio of the medians."""
    print("\nserver CPU per message of each run, us (the comparison below takes each server's median run):")
    medians: dict[str, float | None] = {}
    for name, results in out.items():
        figures = [r.server_us_per_msg for r in results]
        medians[name] = _median_run(results).server_us_per_msg
        runs = "  ".join(_f(v, "{:.0f}") for v in figures)
        print(f"  {name:5s} {runs}   median {_f(medians[name], '{:.0f}')}")
    ours, bare = medians.get("ours"), medians.get("bare")
    if ours and bare:
        print(f"  ours / bare, medians: {ours / bare:.2f}x")


def print_ladder(results: list[StepResult]) -> None:
    print(f"\nfind-max ladder, {results[0].target} (fails at p99 > {FIND_MAX_P99_MS:.0f} ms, a loss or an error ack):")
    print(
        f"  {'rate':>6} {'sent':>6} {'deliv/s':>8} {'lost':>5} {'err':>4} {'p50 ms':>8} {'p99 ms':>8} "
        f"{'max ms':>8} {'srv us/msg':>10} {'db us/msg':>9} {'srv %':>5} {'db %':>5} {'gen %':>5} "
        f"{'others %':>8}  verdict"
    )
    for r in results:
        verdict = "ok" if r.passes(FIND_MAX_P99_MS) else "FAIL"
        if r.generator_saturated:
            verdict += " (generator saturated)"
        elif r.generator_late:
            verdict += " (generator sent late)"
        if any(v > OTHER_LOAD_WARN_PCT for v in r.other_load_pct.values()):
            verdict += " (other processes busy)"
        others = "/".join(f"{v:.0f}" for v in r.other_load_pct.values())
        print(
            f"  {r.rate:>6.0f} {r.sent:>6} {r.delivered_per_sec:>8.1f} {r.lost:>5} {sum(r.errors.values()):>4} "
            f"{_f(r.p50_ms, '{:.2f}'):>8} {_f(r.p99_ms, '{:.2f}'):>8} {_f(r.max_ms, '{:.1f}'):>8} "
            f"{_f(r.server_us_per_msg, '{:.0f}'):>10} {_f(r.db_us_per_msg, '{:.0f}'):>9} "
            f"{_f(r.server_cpu_pct, '{:.0f}'):>5} {_f(r.db_cpu_pct, '{:.0f}'):>5} {r.gen_cpu_pct:>5.0f} "
            f"{others:>8}  {verdict}"
        )
    ok = [r for r in results if r.passes(FIND_MAX_P99_MS) and not r.generator_saturated]
    best = f"{ok[-1].rate:.0f} msg/s" if ok else "none"
    tail = ""
    if results[-1].generator_saturated:
        tail = "; the load generator saturated first, so the server's limit is higher"
    elif len(ok) == len(results):
        tail = "; the ladder ended before a failure (raise --find-limit)"
    print(f"  sustained: {best}{tail}")


# --- main ---------------------------------------------------------------------------------------


def start_profiler(args: argparse.Namespace, pid: int) -> subprocess.Popen[bytes] | None:
    """py-spy over the measured window of the first step (needs ptrace rights over the server)."""
    exe = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(exe).exists():
        log("py-spy not found (pip install py-spy): no profile")
        return None
    fmt = {".txt": "raw", ".json": "speedscope"}.get(Path(args.py_spy).suffix, "flamegraph")
    cmd = [
        exe,
        "record",
        "--pid",
        str(pid),
        "--duration",
        str(max(1, int(args.duration))),
        "--rate",
        "250",
        "--format",
        fmt,
        "--output",
        args.py_spy,
        "--nonblocking",
    ]
    log(f"py-spy records the server for {args.duration:.0f} s into {args.py_spy}")
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: S603


async def run_target(
    target: Target, conns: list[Conn], rooms: list[Room], args: argparse.Namespace, rates: list[float]
) -> list[StepResult]:
    """Connect, then one step per rate (the find-max ladder stops at its first failure)."""
    load = Load(target, conns, rooms, args)
    results: list[StepResult] = []
    profilers: list[subprocess.Popen[bytes] | None] = []
    try:
        await load.connect()
        idle_srv, idle_db = await load.idle_cpu(args.idle_secs)
        for i, rate in enumerate(rates):
            per_conn = rate / len(conns)
            if target.name == "ours" and per_conn > 0.8 * SERVER_MSG_PER_CONN_LIMIT:
                log(
                    f"ours: {per_conn:.1f} msg/s a connection is near the server's limit of "
                    f"{SERVER_MSG_PER_CONN_LIMIT:.0f}: add clients"
                )
            log(
                f"{target.name}: {rate:.0f} msg/s for {args.warmup:.0f} + {args.duration:.0f} s "
                f"({per_conn:.2f} msg/s a connection, {args.arrivals} arrivals)"
            )
            if i == 0 and args.py_spy and isinstance(target, OurServer) and target.server_pid is not None:

                def profile(pid: int = target.server_pid) -> None:
                    profilers.append(start_profiler(args, pid))

                asyncio.get_running_loop().call_later(args.warmup + 0.05, profile)
            for attempt in range(args.retry_busy + 1):
                await load.wait_quiet(args.wait_quiet)
                res = await load.step(rate, args.duration, args.warmup)
                if load.quiet(res.other_load_pct) or attempt == args.retry_busy:
                    break
                log(
                    f"{target.name}: other processes used {_other(res)} % of our cores; measuring again "
                    f"({attempt + 1}/{args.retry_busy})"
                )
            res.idle_server_cpu_pct, res.idle_db_cpu_pct = idle_srv, idle_db
            results.append(res)
            log(
                f"{target.name}: {rate:.0f} msg/s -> delivered {res.delivered_per_sec:.1f}/s, "
                f"p50 {res.p50_ms:.2f} ms, p99 {res.p99_ms:.2f} ms, lost {res.lost}, errors {res.errors or 0}, "
                f"server {_f(res.server_us_per_msg, '{:.0f}')} us/msg, "
                f"{_f(res.wakeups_per_msg, '{:.2f}')} wake-ups/msg, "
                f"generator {res.gen_cpu_pct:.0f} % CPU, "
                f"others {_other(res)} %"
            )
            if args.find_max:
                if not res.passes(FIND_MAX_P99_MS) or res.generator_saturated:
                    break
                await asyncio.sleep(args.pause_secs)
    finally:
        await load.close()
        for proc in profilers:
            if proc is not None:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(args.duration + 30)
                if proc.poll() is None:
                    proc.kill()
    return results


def ladder(args: argparse.Namespace) -> list[float]:
    rates: list[float] = []
    r = args.find_start
    while r <= args.find_limit and len(rates) < 40:
        rates.append(float(round(r)))
        r *= args.find_factor
    return rates


async def amain(args: argparse.Namespace) -> int:
    main_task = asyncio.current_task()
    if main_task is not None:
        # SIGTERM (and SIGINT where the shell left it ignored) unwinds like Ctrl-C: servers stopped, dirs kept.
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                asyncio.get_running_loop().add_signal_handler(sig, main_task.cancel)
    if (os.cpu_count() or 1) < 2:
        args.server_core = args.generator_core = None
    if args.generator_core is not None:
        os.sched_setaffinity(0, {args.generator_core})
    workdir = Path(tempfile.mkdtemp(prefix="pst-bench-"))
    conns, rooms = build_topology(args.pairs, args.officers, args.rooms_per_officer)
    log(
        f"{len(conns)} clients: {args.pairs} user/officer pairs + {args.officers} officers x "
        f"{args.rooms_per_officer} rooms with their users; {len(rooms)} rooms; work dir {workdir}"
    )
    rates = ladder(args) if args.find_max else [args.rate] * args.repeat
    out: dict[str, list[StepResult]] = {}
    db_label = ""
    started = time.monotonic()
    failed = True
    try:
        if args.target in ("ours", "both"):
            ours = OurServer(args, workdir)
            try:
                await ours.start(setup=True)
                await setup_accounts(ours, conns, rooms, args)
                await ours.restart()
                db_label = ours.db_label
                out["ours"] = await run_target(ours, conns, rooms, args, rates)
            finally:
                await ours.close()
        if args.target in ("bare", "both"):
            bare = BareRelay(args, workdir)
            for c in conns:
                c.next_room = 0
            try:
                await bare.start()
                out["bare"] = await run_target(bare, conns, rooms, args, rates)
            finally:
                await bare.close()
        failed = False
    finally:
        if failed:
            for name in ("server.log", "bare.log"):
                path = workdir / name
                if path.exists() and path.stat().st_size:
                    tail = "\n".join(path.read_text(errors="replace").splitlines()[-40:])
                    log(f"the run failed; the end of {path}:\n{tail}")
            log(f"work dir kept: {workdir}")
        elif not args.keep_data:
            shutil.rmtree(workdir, ignore_errors=True)
    print(
        f"\n== bench/chat_latency.py: {len(conns)} clients ({args.pairs} pairs + {args.officers} officers x "
        f"{args.rooms_per_officer} rooms), {len(rooms)} rooms, {args.staff_per_office} officers an office, "
        f"{args.text_bytes}-byte messages, {args.arrivals} arrivals, {args.duration:.0f} s measured after "
        f"{args.warmup:.0f} s warm-up; server on core {args.server_core}, generator on core "
        f"{args.generator_core}; run took {time.monotonic() - started:.0f} s"
    )
    if args.find_max:
        for results in out.values():
            if results:
                print_ladder(results)
        ours_ok = [r for r in out.get("ours", []) if r.passes(FIND_MAX_P99_MS)]
        bare_at = {r.rate: r for r in out.get("bare", [])}
        if ours_ok and ours_ok[-1].rate in bare_at:
            print(f"\nboth at ours' highest sustained rate, {ours_ok[-1].rate:.0f} msg/s:")
            print_comparison(ours_ok[-1], bare_at[ours_ok[-1].rate], db_label)
    else:
        # With --repeat, each server's run of median CPU a message (the machine's noise moves single runs by ±20 %).
        chosen = {name: _median_run(results) for name, results in out.items() if results}
        if args.repeat > 1:
            print_repeats(out)
        print_comparison(chosen.get("ours"), chosen.get("bare"), db_label)
    if args.json:
        doc: dict[str, Any] = {"argv": sys.argv[1:], "database": db_label}
        for name, results in out.items():
            doc[name] = [
                dataclasses.asdict(r) | {"server_us_per_msg": r.server_us_per_msg, "db_us_per_msg": r.db_us_per_msg}
                for r in results
            ]
        Path(args.json).write_text(json.dumps(doc, indent=1))  # noqa: ASYNC240 - after the measurements
    return 0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--pairs", type=int, default=40, help="user/officer pairs, one room each (40)")
    p.add_argument(
        "--officers", type=int, default=1, help="officers holding --rooms-per-officer rooms each, with their users (1)"
    )
    p.add_argument("--rooms-per-officer", type=int, default=20)
    p.add_argument(
        "--staff-per-office",
        type=int,
        default=5,
        help="officers an office (5); each message also goes to its office's staff as room:activity",
    )
    p.add_argument(
        "--rate",
        type=float,
        default=30.0,
        help="total messages a second (30: well inside the ~45 msg/s the embedded SecantusDB sustains here)",
    )
    p.add_argument("--duration", type=float, default=20.0, help="measured seconds a step (20)")
    p.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="without --find-max: measure each server N times at --rate and compare their median runs (1)",
    )
    p.add_argument("--warmup", type=float, default=3.0, help="seconds of load before measuring (3)")
    p.add_argument("--idle-secs", type=float, default=3.0, help="idle CPU measured before the load (3)")
    p.add_argument("--drain-secs", type=float, default=5.0, help="wait for in-flight messages after a step (5)")
    p.add_argument("--pause-secs", type=float, default=2.0, help="pause between find-max steps (2)")
    p.add_argument(
        "--wait-quiet",
        type=float,
        default=0.0,
        metavar="SECS",
        help=f"before each step wait up to SECS for other processes to use <= {QUIET_PCT:.0f} %% "
        f"of the server's core and <= {QUIET_GENERATOR_CORE_PCT:.0f} %% of the generator's "
        "(a shared machine)",
    )
    p.add_argument(
        "--retry-busy",
        type=int,
        default=0,
        metavar="N",
        help="measure a step again, up to N times, when other processes used more of our cores "
        "during it than --wait-quiet allows",
    )
    p.add_argument("--arrivals", choices=["even", "poisson"], default="even")
    p.add_argument("--text-bytes", type=int, default=100)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--target", choices=["both", "ours", "bare"], default="both")
    p.add_argument(
        "--find-max",
        action="store_true",
        help=f"step the rate up until p99 > {FIND_MAX_P99_MS:.0f} ms, a loss or an error, for each",
    )
    p.add_argument("--find-start", type=float, default=20.0)
    p.add_argument("--find-factor", type=float, default=1.5)
    p.add_argument("--find-limit", type=float, default=20000.0)
    p.add_argument("--mongodb-uri", default=None, help="an external MongoDB (loopback) instead of the embedded one")
    p.add_argument("--db-pid", type=int, default=None, help="with --mongodb-uri: a local database pid to measure")
    p.add_argument(
        "--db-core",
        type=int,
        default=None,
        help="move the embedded database to this core (default: it inherits the server's)",
    )
    p.add_argument(
        "--accounts",
        choices=["auto", "api", "direct"],
        default="auto",
        help="api: register, verify (token read from the outbox) and log in over HTTP; direct: "
        "verified users inserted in bulk, accounts.login in this process, a cheap password "
        "hash, the rooms' consultations inserted in bulk as opened and claimed (auto: api up to 250 clients)",
    )
    p.add_argument("--server-core", type=int, default=0)
    p.add_argument("--generator-core", type=int, default=1)
    p.add_argument(
        "--py-spy",
        default=None,
        metavar="FILE",
        help="record our server with py-spy over the first measured window (.svg, .txt raw, .json)",
    )
    p.add_argument("--json", default=None, metavar="FILE", help="also write the results as JSON")
    p.add_argument("--keep-data", action="store_true", help="keep the work dir (logs, database)")
    args = p.parse_args(argv)
    if args.mongodb_uri and (urlsplit(args.mongodb_uri).hostname or "") not in ("127.0.0.1", "localhost", "::1"):
        p.error("--mongodb-uri: loopback addresses only")
    if min(args.pairs, args.officers) < 0 or args.pairs + args.officers == 0 or args.rooms_per_officer < 1:
        p.error("need at least one pair or one officer")
    if args.rate <= 0 or args.duration <= 0 or args.staff_per_office < 1:
        p.error("--rate, --duration and --staff-per-office must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    try:
        return asyncio.run(amain(args))
    except (KeyboardInterrupt, asyncio.CancelledError):
        log("interrupted")
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
