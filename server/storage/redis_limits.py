"""Rate-limit counters shared by every process through Redis (behind server.http.ratelimit's Limiter).

Each rule counts per key in fixed windows of its length in Redis (INCRBY + EXPIRE: `pst:rl:<rule>:<key
digest>:<window number>`), and reads the count of a key as a sliding window: this window's count plus the
previous window's, weighted by how much of it the sliding window still covers.

The routes ask synchronously, so a process decides from what it knows now: its own exact, in-process
sliding window (which alone is the one-process behaviour) and the shared count as of Redis's last reply
plus what it has counted since. Counts go to Redis in the background, batched in one pipeline, each
reply bringing back what every process counted. A process does not hear of what the others counted
since its last answer about that key, so the limit over N processes can be overshot by about N - 1
(plus what is in flight within one round trip); once a process has heard that a key is over, it
refuses it. When Redis is down the shared counts go stale and then fall away, and each process
limits alone (at most N times the limit in all, as before Redis).
Keys are digested: e-mail addresses and client addresses do not appear in Redis.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import math
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Protocol

from server.storage.redis_link import PREFIX, REDIS_ERRORS, RedisLink

# Keys remembered per rule (least recently seen forgotten first), as the in-process limiter.
MAX_SHARED_KEYS = 10_000
# A key not counted by this process is reread from Redis when asked about, at most this often.
REFRESH_SECS = 1.0


class Window(Protocol):
    """One rule's counter (server.http.ratelimit.Limiter)."""

    def allow(self, key: str) -> bool: ...

    def exceeded(self, key: str) -> bool: ...

    def record(self, key: str) -> None: ...

    def retry_after(self, key: str) -> float: ...


class _Seen:
    """The shared count of one key: Redis's counts for window `n` and `n - 1` as last replied, what this
    process counted in window `n` since (`pending`), and when Redis last answered about it."""

    __slots__ = ("n", "cur", "prev", "pending", "read_at")

    def __init__(self, n: int) -> None:
        self.n = n
        self.cur = 0
        self.prev = 0
        self.pending = 0
        self.read_at = -math.inf

    def roll(self, n: int) -> None:
        """Move to window `n` (what was counted in `n - 1`, sent or not, becomes the previous window)."""
        if n == self.n:
            return
        self.prev = self.cur + self.pending if n == self.n + 1 else 0
        self.cur = 0
        self.pending = 0
        self.n = n


class SharedLimiter:
    """At most `limit` events per `window_secs` per key over every process, and per process as `local`."""

    def __init__(self, counters: RedisCounters, name: str, limit: int, window_secs: float, local: Window) -> None:
        self.counters = counters
        self.name = name
        self.limit = limit
        self.window_secs = window_secs
        self.local = local
        self._seen: OrderedDict[str, _Seen] = OrderedDict()

    # --- Limiter ----------------------------------------------------------------------------------

    def allow(self, key: str) -> bool:
        """Count one event; False when over here or over everywhere (the refused one is not counted)."""
        if self.shared_count(key) + 1 > self.limit:
            return False
        if not self.local.allow(key):
            return False
        self._count(key)
        return True

    def exceeded(self, key: str) -> bool:
        """True when `key` used up its window here or everywhere (counting nothing)."""
        if self.local.exceeded(key):
            return True
        self._want_read(key)
        return self.shared_count(key) >= self.limit

    def record(self, key: str) -> None:
        """Count one event whether or not it is over."""
        self.local.record(key)
        self._count(key)

    def retry_after(self, key: str) -> float:
        """Seconds until `key` may go again, here and everywhere."""
        return max(self.local.retry_after(key), self._shared_retry_after(key))

    # --- the shared count -------------------------------------------------------------------------

    def _window(self) -> tuple[int, float]:
        now = self.counters.clock()
        n = math.floor(now / self.window_secs)
        return n, (now - n * self.window_secs) / self.window_secs

    def _state(self, key: str, create: bool) -> _Seen | None:
        n, _ = self._window()
        seen = self._seen.get(key)
        if seen is None:
            if not create:
                return None
            if len(self._seen) >= MAX_SHARED_KEYS:
                self._seen.popitem(last=False)
            seen = self._seen[key] = _Seen(n)
        else:
            self._seen.move_to_end(key)
        seen.roll(n)
        return seen

    def shared_count(self, key: str) -> float:
        """Events of `key` in the sliding window over every process, as far as this one knows."""
        seen = self._state(key, create=False)
        if seen is None:
            return 0.0
        _, into = self._window()
        return seen.cur + seen.pending + seen.prev * (1.0 - into)

    def _shared_retry_after(self, key: str) -> float:
        seen = self._state(key, create=False)
        if seen is None or self.shared_count(key) < self.limit:
            return 0.0
        _, into = self._window()
        cur = seen.cur + seen.pending
        left_in_window = (1.0 - into) * self.window_secs
        if cur >= self.limit:
            # Past this window, `cur` becomes the previous one and must fade below the limit.
            return left_in_window + self.window_secs * max(0.0, 1.0 - self.limit / cur)
        # The previous window's share fades as the window slides on.
        need_into = 1.0 - (self.limit - cur) / seen.prev
        return max(0.0, (need_into - into) * self.window_secs)

    def _count(self, key: str) -> None:
        seen = self._state(key, create=True)
        assert seen is not None
        seen.pending += 1
        self.counters.want(self, key)

    def _want_read(self, key: str) -> None:
        seen = self._seen.get(key)
        if seen is None or self.counters.clock() - seen.read_at >= REFRESH_SECS:
            self._state(key, create=True)
            self.counters.want(self, key)

    def redis_key(self, key: str, n: int) -> str:
        digest = hashlib.blake2b(key.encode("utf-8", "surrogatepass"), digest_size=12).hexdigest()
        return f"{PREFIX}rl:{self.name}:{digest}:{n}"

    def seen(self, key: str) -> _Seen | None:
        return self._seen.get(key)


class RedisCounters:
    """The shared counters of one process: builds each rule's SharedLimiter and sends their counts."""

    def __init__(self, link: RedisLink, *, clock: Callable[[], float] = time.time) -> None:
        self.link = link
        # Wall time (the windows are numbered alike on every host), real time: never the test clock.
        self.clock = clock
        self._wanted: dict[tuple[SharedLimiter, str], None] = {}
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def limiter(self, name: str, limit: int, window_secs: float, local: Window) -> SharedLimiter:
        """The rule `name` counted across processes, with `local` as this process's own limit."""
        return SharedLimiter(self, name, limit, window_secs, local)

    def want(self, limiter: SharedLimiter, key: str) -> None:
        self._wanted[(limiter, key)] = None
        self._wake.set()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="rate-limit-counters")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            await self.flush()

    async def flush(self) -> None:
        """Send what was counted and read back every process's counts, in one pipeline."""
        wanted, self._wanted = list(self._wanted), {}
        if not wanted:
            return
        # (seen, its window, how many sent, where the reply of this window's count is, and the previous one's)
        sent: list[tuple[_Seen, int, int, int, int]] = []
        try:
            async with self.link.client.pipeline(transaction=False) as pipe:
                queued = 0
                for limiter, key in wanted:
                    seen = limiter.seen(key)
                    if seen is None:
                        continue
                    count = seen.pending
                    current = limiter.redis_key(key, seen.n)
                    cur_at = queued
                    if count:
                        pipe.incrby(current, count)
                        pipe.expire(current, math.ceil(2 * limiter.window_secs) + 1)
                        queued += 2
                    else:
                        pipe.get(current)
                        queued += 1
                    pipe.get(limiter.redis_key(key, seen.n - 1))
                    queued += 1
                    sent.append((seen, seen.n, count, cur_at, queued - 1))
                replies = await pipe.execute()
        except REDIS_ERRORS as exc:
            self.link.failed("rate limits", exc)
            # What was not sent stays counted here (the local limiter), not in Redis: drop it.
            for seen, n, count, _, _ in sent:
                if seen.n == n:
                    seen.pending = max(0, seen.pending - count)
            return
        self.link.succeeded()
        now = self.clock()
        for seen, n, count, cur_at, prev_at in sent:
            cur = int(replies[cur_at] or 0)
            prev = int(replies[prev_at] or 0)
            if seen.n == n:
                seen.cur = cur
                seen.prev = prev
                seen.pending = max(0, seen.pending - count)
            elif seen.n == n + 1:
                # The window turned while this was on its way: Redis's count of it is the previous one now.
                seen.prev = max(seen.prev, cur)
            seen.read_at = now
