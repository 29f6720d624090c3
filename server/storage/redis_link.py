"""One process's link to Redis (REDIS_URL): commands, one subscriber loop, and Redis's health logged once.

Everything this process shares with the others through Redis (presence, rate limits, wake-ups, the test
clock) talks through one RedisLink. Redis is a helper here, never a dependency: a command that fails
answers "not now" to its caller, who falls back to what this process knows alone; the link logs the
outage once (and the recovery once) and its subscriber reconnects by itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
from collections.abc import AsyncIterator, Callable
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

# A Redis call slower than this counts as Redis being down (loopback or LAN answers in well under 1 ms).
REDIS_TIMEOUT_SECS = 1.0
# The subscriber's reconnect back-off: from the first to the last, doubling.
RECONNECT_FIRST_SECS = 0.2
RECONNECT_MAX_SECS = 3.0

# Every key and channel of the product starts with this, so one Redis can serve other things too.
PREFIX = "pst:"
# The channels every process listens to (handlers are looked up when a message comes, so a part of the
# process that starts later can still register for one).
PRESENCE_CHANNEL = PREFIX + "presence"
OUTBOX_WAKE_CHANNEL = PREFIX + "wake:outbox"
CLOCK_CHANNEL = PREFIX + "clock"
# An office changed: each process forgets its copy (server.storage.office_cache).
OFFICES_CHANNEL = PREFIX + "offices"
# Consultations written by a process: the others forget their copies (server.storage.consultation_cache).
CONSULTATIONS_CHANNEL = PREFIX + "consultations"
CHANNELS = (PRESENCE_CHANNEL, OUTBOX_WAKE_CHANNEL, CLOCK_CHANNEL, OFFICES_CHANNEL, CONSULTATIONS_CHANNEL)

# What a failed Redis call raises: the client's own errors, a refused or reset socket, a timeout.
REDIS_ERRORS: tuple[type[BaseException], ...] = (RedisError, OSError, TimeoutError)

# A subscriber that heard nothing this long pings Redis; no answer within as long again, and it reconnects
# (a Redis that stopped answering without closing the connection would otherwise go unnoticed).
PING_IDLE_SECS = 5.0

Handler = Callable[[str], None]


async def published(pubsub: PubSub) -> AsyncIterator[dict[str, Any]]:
    """The messages published to a subscribed `pubsub` (of a client that does not decode responses),
    forever; raises when the connection dies, or goes silent (no answer to a ping within PING_IDLE_SECS)."""
    loop = asyncio.get_running_loop()
    heard = loop.time()
    pinged: float | None = None
    while True:
        message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
        now = loop.time()
        if message is not None:
            heard, pinged = now, None
            if message.get("type") == "message":
                yield message
            continue
        if pinged is not None and now - pinged > PING_IDLE_SECS:
            raise TimeoutError("redis did not answer a ping")
        if pinged is None and now - heard > PING_IDLE_SECS:
            await pubsub.ping(b"pst")
            pinged = now


def new_process_id() -> str:
    """host-pid-random: names this process in Redis keys (unique even for two apps in one process)."""
    return f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"


def make_client(url: str, *, decode: bool = True) -> Redis:
    """A client that fails fast: no retries, short timeouts (the caller falls back instead of waiting).
    A failed call leaves no broken connection behind: the next one connects again."""
    return Redis.from_url(
        url,
        decode_responses=decode,
        socket_connect_timeout=REDIS_TIMEOUT_SECS,
        socket_timeout=REDIS_TIMEOUT_SECS,
        retry=Retry(NoBackoff(), 0),
    )


class RedisLink:
    """This process's Redis: `client` for commands, `on(channel, handler)` for messages, `up` for health."""

    def __init__(self, url: str, *, process_id: str | None = None) -> None:
        self.url = url
        self.process_id = process_id or new_process_id()
        self.client = make_client(url)
        # The subscriber's own client, undecoded: redis-py misreads a subscribed connection's PONG when it
        # decodes responses, and the subscriber needs that PONG to tell a live connection from a dead one.
        self._sub_client = make_client(url, decode=False)
        self.up = False
        # Whether a call has told us anything yet: the first answer, up or down, sets the state to log from.
        self._known = False
        self._handlers: dict[str, list[Handler]] = {}
        self._listener: asyncio.Task[None] | None = None
        # Whether the subscriber is subscribed now (messages published meanwhile reach us), and who is
        # told each time it (re)subscribes: what was published while it was not is lost.
        self.subscribed = False
        self.on_subscribed: list[Callable[[], None]] = []

    # --- health -----------------------------------------------------------------------------------

    def failed(self, what: str, exc: BaseException) -> None:
        """Note a failed call; the first failure of an outage is logged, the rest are not."""
        if self.up or not self._known:
            log.warning(
                "redis unavailable (%s: %s); this process serves its own clients alone until it is back",
                what,
                type(exc).__name__,
            )
        self.up = False
        self._known = True

    def succeeded(self) -> None:
        """Note a call that worked; the first after an outage is logged."""
        if not self.up:
            if self._known:
                log.info("redis reachable again")
            self.up = True
            self._known = True

    # --- messages ---------------------------------------------------------------------------------

    def on(self, channel: str, handler: Handler) -> None:
        """Call `handler(data)` for every message on `channel` (one of CHANNELS)."""
        if channel not in CHANNELS:
            raise ValueError(f"not a channel of the product: {channel}")
        self._handlers.setdefault(channel, []).append(handler)

    async def publish(self, channel: str, data: str) -> bool:
        """Publish `data`; False (and nothing raised) when Redis is not reachable."""
        try:
            await self.client.publish(channel, data)
        except REDIS_ERRORS as exc:
            self.failed("publish", exc)
            return False
        self.succeeded()
        return True

    async def start(self) -> None:
        """Start the subscriber; returns at once (it connects, and reconnects, by itself)."""
        if self._listener is None:
            self._listener = asyncio.create_task(self._listen(), name="redis-subscriber")

    async def close(self) -> None:
        """Stop the subscriber and close the connections."""
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
            self._listener = None
        with contextlib.suppress(*REDIS_ERRORS):
            await self.client.aclose()
        with contextlib.suppress(*REDIS_ERRORS):
            await self._sub_client.aclose()

    async def _listen(self) -> None:
        delay = RECONNECT_FIRST_SECS
        while True:
            pubsub: PubSub | None = None
            try:
                pubsub = self._sub_client.pubsub(ignore_subscribe_messages=True)
                await pubsub.subscribe(*CHANNELS)
                self.succeeded()
                self.subscribed = True
                for hook in self.on_subscribed:
                    hook()
                delay = RECONNECT_FIRST_SECS
                async for message in published(pubsub):
                    self._dispatch(message["channel"], message["data"])
            except asyncio.CancelledError:
                self.subscribed = False
                raise
            except REDIS_ERRORS as exc:
                self.subscribed = False
                self.failed("subscribe", exc)
            except Exception:  # noqa: BLE001 - the subscriber must outlive any surprise
                self.subscribed = False
                log.exception("redis subscriber failed; reconnecting")
            finally:
                if pubsub is not None:
                    with contextlib.suppress(Exception):
                        await pubsub.aclose()  # type: ignore[no-untyped-call]  # redis-py leaves it unannotated
            await asyncio.sleep(delay)
            delay = min(RECONNECT_MAX_SECS, delay * 2)

    def _dispatch(self, channel: bytes, data: bytes) -> None:
        text = data.decode("utf-8", "replace")
        for handler in self._handlers.get(channel.decode("utf-8", "replace"), ()):
            try:
                handler(text)
            except Exception:  # noqa: BLE001 - one bad message or handler must not stop the others
                log.exception("handler of %s failed", channel)


class RedisWakeup:
    """The outbox worker of a process without one (`svc.outbox_worker` of a web process): kick() asks the
    notifier processes to look at the outbox now, over Redis. Kicks that come while a wake-up is on its
    way cost one more wake-up after it (so the last one always follows the last enqueue), never a pile;
    if Redis is down the notifier still finds the mail at its next poll."""

    def __init__(self, link: RedisLink, channel: str = OUTBOX_WAKE_CHANNEL) -> None:
        self.link = link
        self.channel = channel
        self._again = False
        self._task: asyncio.Task[None] | None = None

    def kick(self) -> None:
        """Wake the notifiers soon (no await needed)."""
        self._again = True
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._publish(), name="outbox-wakeup")

    async def _publish(self) -> None:
        while self._again:
            self._again = False
            await self.link.publish(self.channel, "1")

    async def close(self) -> None:
        """Let a wake-up on its way finish."""
        if self._task is not None:
            with contextlib.suppress(Exception):
                await self._task
