"""A per-client-address request limiter counting real (monotonic) time, never the test clock."""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable

from aiohttp import web

from server.domain.errors import RateLimited

# Addresses remembered at once; the least recently seen is forgotten first (bounded memory).
MAX_TRACKED_ADDRESSES = 10_000


class RateLimiter:
    """At most `limit` requests per `window_secs` from one address (a sliding window)."""

    def __init__(
        self,
        limit: int,
        window_secs: float = 60.0,
        *,
        name: str = "requests",
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = MAX_TRACKED_ADDRESSES,
    ) -> None:
        self.limit = limit
        self.window_secs = window_secs
        self.name = name
        self._clock = clock
        self._max_keys = max_keys
        self._hits: OrderedDict[str, deque[float]] = OrderedDict()

    def allow(self, key: str) -> bool:
        """Count one request from `key`; False when it is over the limit (the refused one is not counted)."""
        now = self._clock()
        hits = self._hits.get(key)
        if hits is None:
            if len(self._hits) >= self._max_keys:
                self._hits.popitem(last=False)
            hits = self._hits[key] = deque()
        else:
            self._hits.move_to_end(key)
        while hits and now - hits[0] >= self.window_secs:
            hits.popleft()
        if len(hits) >= self.limit:
            return False
        hits.append(now)
        return True

    def check(self, request: web.Request) -> None:
        """Raise 429 `rate_limited` when the request's client address is over the limit."""
        if not self.allow(client_address(request)):
            raise RateLimited(
                "rate_limited",
                f"too many {self.name} from this device; wait a minute / terlalu banyak permintaan, tunggu sebentar",
            )


def client_address(request: web.Request) -> str:
    """The peer address of the connection (a reverse proxy in front is one client to us)."""
    return request.remote or "unknown"
