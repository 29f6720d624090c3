"""Request limits per client address and per account, counting real (monotonic) time, never the test clock.

One limiter implementation (`RateLimiter`, a sliding window per key) serves every rule; `RateLimits`
names the rules in one table and is kept on the app. Both are per process; with REDIS_URL each rule is
also counted across processes (`RateLimits.share`, server/storage/redis_limits.py) behind the same
`Limiter` interface.

Behind a reverse proxy every request comes from the proxy's address; `client_address` believes
`X-Forwarded-For` only when the connection comes from one of PST_TRUSTED_PROXIES.
"""

from __future__ import annotations

import ipaddress
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from aiohttp import web

from server.domain.errors import RateLimited
from server.keys import SETTINGS

# Keys remembered at once per rule; the least recently seen is forgotten first (bounded memory).
MAX_TRACKED_ADDRESSES = 10_000


class Limiter(Protocol):
    """What the routes need of one rule's counter (in-process here; Redis for several processes)."""

    def allow(self, key: str) -> bool: ...

    def exceeded(self, key: str) -> bool: ...

    def record(self, key: str) -> None: ...

    def retry_after(self, key: str) -> float: ...


class RateLimiter:
    """At most `limit` requests per `window_secs` from one key (a sliding window)."""

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

    def _window(self, key: str, now: float) -> deque[float]:
        hits = self._hits.get(key)
        if hits is None:
            if len(self._hits) >= self._max_keys:
                self._hits.popitem(last=False)
            hits = self._hits[key] = deque()
        else:
            self._hits.move_to_end(key)
        while hits and now - hits[0] >= self.window_secs:
            hits.popleft()
        return hits

    def allow(self, key: str) -> bool:
        """Count one request from `key`; False when it is over the limit (the refused one is not counted)."""
        now = self._clock()
        hits = self._window(key, now)
        if len(hits) >= self.limit:
            return False
        hits.append(now)
        return True

    def exceeded(self, key: str) -> bool:
        """True when `key` has used up its window (nothing is counted)."""
        hits = self._hits.get(key)
        if not hits:
            return False
        return len(self._window(key, self._clock())) >= self.limit

    def record(self, key: str) -> None:
        """Count one event of `key` whether or not it is over (e.g. a failed sign-in)."""
        now = self._clock()
        self._window(key, now).append(now)

    def retry_after(self, key: str) -> float:
        """Seconds until `key` may go again (0 when it may now)."""
        hits = self._hits.get(key)
        if not hits or len(hits) < self.limit:
            return 0.0
        return max(0.0, self.window_secs - (self._clock() - hits[-self.limit]))

    def check(self, request: web.Request) -> None:
        """Raise 429 `rate_limited` when the request's client address is over the limit."""
        key = client_address(request)
        if not self.allow(key):
            raise _too_many("rate_limited", self.name, self.retry_after(key))


def _too_many(code: str, what: str, retry_after: float) -> RateLimited:
    return RateLimited(
        code,
        f"too many {what} from here; wait a moment / terlalu banyak permintaan, tunggu sebentar",
        retry_after_secs=max(1, round(retry_after + 0.5)),
    )


@dataclass(frozen=True)
class Rule:
    """`limit` events per `window_secs` per key; `what` names them in the error message."""

    limit: int
    window_secs: float
    what: str


# Every limit in one table. Keys are the client address unless said otherwise. CONTRACT: at least 60
# requests a minute from one address for login, register, KB search and the kiosk (the kiosk's own
# RateLimiter lives with its routes, server/http/routes_walkin.py).
RULES: dict[str, Rule] = {
    "login": Rule(60, 60.0, "sign-in attempts"),
    # Per (address, e-mail): guessing one account's password from one place. Someone elsewhere (the
    # rightful owner) is not locked out by it.
    "login_failures": Rule(10, 15 * 60.0, "failed sign-ins"),
    "register": Rule(60, 60.0, "registrations"),
    # Reset and verification e-mails: requests per address, and mails per target e-mail (past that
    # the answer is the same 202, but no mail goes out: nobody can flood a mailbox).
    "account_mail": Rule(20, 3600.0, "e-mail requests"),
    "account_mail_to": Rule(3, 3600.0, "e-mails to this address"),
    "kb_search": Rule(180, 60.0, "searches"),
    # Per account: the socket's 10 a second per connection, over HTTP.
    "message": Rule(10, 1.0, "messages"),
    # Per account, and per address for many accounts at one place.
    "open": Rule(20, 3600.0, "new consultations"),
    "open_address": Rule(60, 3600.0, "new consultations"),
}


class RateLimits:
    """One limiter per rule of RULES, for one process; `enabled=False` lets everything through."""

    def __init__(self, *, enabled: bool = True, clock: Callable[[], float] = time.monotonic) -> None:
        self.enabled = enabled
        # Read through _now, so a test can move every rule's time at once (real time, never the test clock).
        self.clock = clock
        self.limiters: dict[str, Limiter] = {
            name: RateLimiter(rule.limit, rule.window_secs, name=rule.what, clock=self._now)
            for name, rule in RULES.items()
        }

    def _now(self) -> float:
        return self.clock()

    def share(self, shared: Callable[[str, int, float, Limiter], Limiter]) -> None:
        """Count every rule across processes too: each limiter becomes `shared(name, limit, window_secs,
        this process's limiter)` (server.storage.redis_limits, when REDIS_URL is set)."""
        self.limiters = {
            name: shared(name, RULES[name].limit, RULES[name].window_secs, local)
            for name, local in self.limiters.items()
        }

    def hit(self, rule: str, key: str, *, code: str = "rate_limited") -> None:
        """Count one event of `key` under `rule`; 429 when it is over."""
        limiter = self.limiters[rule]
        if self.enabled and not limiter.allow(key):
            raise _too_many(code, RULES[rule].what, limiter.retry_after(key))

    def allow(self, rule: str, key: str) -> bool:
        """Count one event; False when over (for limits that refuse silently)."""
        return not self.enabled or self.limiters[rule].allow(key)

    def refuse_if_exceeded(self, rule: str, key: str, *, code: str = "rate_limited") -> None:
        """429 when `key` has used up `rule` (counting nothing: pair with `record`)."""
        limiter = self.limiters[rule]
        if self.enabled and limiter.exceeded(key):
            raise _too_many(code, RULES[rule].what, limiter.retry_after(key))

    def record(self, rule: str, key: str) -> None:
        self.limiters[rule].record(key)


RATE_LIMITS = web.AppKey("rate_limits", RateLimits)


def rate_limits(request: web.Request) -> RateLimits:
    """The app's limits (built by create_app)."""
    return request.app[RATE_LIMITS]


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _parse_ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = text.strip()
    if text.startswith("[") and "]" in text:  # "[2001:db8::1]:443"
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # "203.0.113.5:51234"
        text = text.split(":", 1)[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _trusted(ip: ipaddress.IPv4Address | ipaddress.IPv6Address | None, proxies: tuple[Network, ...]) -> bool:
    return ip is not None and any(ip in net for net in proxies)


def client_address(request: web.Request) -> str:
    """The client's address: the peer, or from a trusted proxy the nearest untrusted `X-Forwarded-For` hop."""
    peer = request.remote or "unknown"
    settings = request.app.get(SETTINGS)
    proxies = settings.trusted_proxies if settings is not None else ()
    if not proxies or not _trusted(_parse_ip(peer), proxies):
        return peer
    hops = [h for header in request.headers.getall("X-Forwarded-For", []) for h in header.split(",") if h.strip()]
    client = peer
    # Right to left: each trusted proxy vouches for the hop before it; the first untrusted one is the client.
    for hop in reversed(hops):
        ip = _parse_ip(hop)
        if ip is None:
            break  # garbage: nobody vouches for what lies beyond, keep the last trusted hop
        client = str(ip)
        if not _trusted(ip, proxies):
            break
    return client
