"""Presence shared by several processes through Redis (server.domain.ports.PresenceRegistry).

Each process writes who is connected to it into its own Redis hash, `pst:presence:<process id>`
(user id -> "<sockets>\\t<staff office>", and "~" -> the process's description), which expires unless
the process renews it: a killed process's sockets are forgotten PROCESS_TTL_SECS later. Each change is
also published, so the others see a connection within a round trip, and every HEARTBEAT_SECS each
process rereads every other's hash, which repairs anything a lost message left wrong.

The domain asks synchronously (is this user online? which staff of this office?), so lookups read
this process's own registry (always exact) and a mirror of the others' (as fresh as the last message).
When Redis is down the mirror is dropped once it is older than PROCESS_TTL_SECS: lookups then see this
process's connections only, which is the one-process behaviour (a reply e-mail too many, an
auto-assignment among the staff connected here), never an error. Back up, this process rewrites its
hash whole.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable
from typing import Any

from server.realtime.presence import Presence
from server.storage.redis_link import PREFIX, PRESENCE_CHANNEL, REDIS_ERRORS, RedisLink

log = logging.getLogger(__name__)

HEARTBEAT_SECS = 5.0
PROCESS_TTL_SECS = 15
KEY_PREFIX = PREFIX + "presence:"
PROCESSES_KEY = PREFIX + "presence-processes"
# The field of a process's hash that describes it (never a user id: those are ObjectId hex strings).
INFO_FIELD = "~"
VERSION_FIELD = "~v"

# user id -> (sockets, the office if staff else "")
Users = dict[str, tuple[int, str]]


def process_key(process_id: str) -> str:
    return KEY_PREFIX + process_id


def _parse_entry(value: str) -> tuple[int, str] | None:
    count, _, office = value.partition("\t")
    try:
        n = int(count)
    except ValueError:
        return None
    return (n, office) if n > 0 else None


class _Mirror:
    """What this process knows of another: its users as of `version`."""

    __slots__ = ("users", "version")

    def __init__(self, users: Users, version: int) -> None:
        self.users = users
        self.version = version


class RedisPresence:
    """Who is connected to any process: this one's sockets exactly, the others' through Redis."""

    def __init__(
        self, link: RedisLink, *, info: dict[str, Any] | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.link = link
        self.local = Presence()
        self.key = process_key(link.process_id)
        self.info = json.dumps(info or {}, sort_keys=True)
        self._clock = clock
        self._others: dict[str, _Mirror] = {}
        self._others_read_at: float | None = None
        self._dirty: set[str] = set()
        self._version = 0
        self._rewrite = True  # the whole hash, at start and after an outage
        self._wake = asyncio.Event()
        # One write at a time: a whole rewrite must not land after, and undo, a later change.
        self._write_lock = asyncio.Lock()
        self._tasks: list[asyncio.Task[None]] = []
        link.on(PRESENCE_CHANNEL, self._on_message)

    # --- PresenceRegistry -------------------------------------------------------------------------

    def add(self, user_id: str, sid: str, office: str | None, staff: bool) -> None:
        self.local.add(user_id, sid, office, staff)
        self._changed(user_id)

    def remove(self, user_id: str, sid: str) -> None:
        self.local.remove(user_id, sid)
        self._changed(user_id)

    def is_online(self, user_id: str) -> bool:
        if self.local.is_online(user_id):
            return True
        return any(user_id in m.users for m in self._mirrors())

    def online_staff(self, office: str) -> list[str]:
        found = self.local.online_staff(office)
        seen = set(found)
        for m in self._mirrors():
            for uid, (_, off) in m.users.items():
                if off == office and uid not in seen:
                    seen.add(uid)
                    found.append(uid)
        return found

    # --- the mirror -------------------------------------------------------------------------------

    def _mirrors(self) -> list[_Mirror]:
        """The other processes' users, unless the last full read is too old to trust (Redis down)."""
        if self._others_read_at is None or self._clock() - self._others_read_at > PROCESS_TTL_SECS:
            return []
        return list(self._others.values())

    def _on_message(self, data: str) -> None:
        try:
            msg = json.loads(data)
            pid, version = str(msg["p"]), int(msg["v"])
        except (ValueError, KeyError, TypeError):
            log.warning("presence: ignored a malformed message")
            return
        if pid == self.link.process_id:
            return
        if msg.get("gone"):
            self._others.pop(pid, None)
            return
        mirror = self._others.get(pid)
        if mirror is None:
            mirror = self._others[pid] = _Mirror({}, 0)
        elif version <= mirror.version:
            return  # older than what a full read already showed
        mirror.version = version
        if msg.get("all"):
            mirror.users = {}  # a whole rewrite (after an outage): who is not in it has gone
        for uid, entry in dict(msg.get("u") or {}).items():
            if isinstance(entry, list) and len(entry) == 2 and int(entry[0]) > 0:
                mirror.users[str(uid)] = (int(entry[0]), str(entry[1]))
            else:
                mirror.users.pop(str(uid), None)

    # --- writing this process's entry -------------------------------------------------------------

    def _changed(self, user_id: str) -> None:
        self._dirty.add(user_id)
        self._wake.set()

    def _entry(self, user_id: str) -> tuple[int, str] | None:
        n = len(self.local.sids.get(user_id, ()))
        return (n, self.local.staff_office.get(user_id, "")) if n else None

    async def start(self) -> None:
        """Write this process's entry, read the others', and start the writer and the heartbeat (both
        survive outages: if Redis is down now, this process starts alone and joins the others later)."""
        await self.beat()
        self._tasks = [
            asyncio.create_task(self._writer(), name="presence-writer"),
            asyncio.create_task(self._heartbeat(), name="presence-heartbeat"),
        ]

    async def close(self) -> None:
        """Stop, and remove this process's entry at once (a killed process's expires instead)."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        try:
            async with self.link.client.pipeline(transaction=True) as pipe:
                pipe.delete(self.key)
                pipe.srem(PROCESSES_KEY, self.link.process_id)
                pipe.publish(
                    PRESENCE_CHANNEL, json.dumps({"p": self.link.process_id, "v": self._version + 1, "gone": 1})
                )
                await pipe.execute()
        except REDIS_ERRORS:
            pass  # it expires by itself

    async def _writer(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            await self.flush()

    async def flush(self) -> bool:
        """Write what changed (or everything, after an outage); False when Redis did not take it."""
        async with self._write_lock:
            return await self._flush()

    async def _flush(self) -> bool:
        rewrite = self._rewrite
        dirty = set(self.local.sids) if rewrite else self._dirty
        self._dirty = set()
        if not dirty and not rewrite:
            return True
        self._version += 1
        changes: dict[str, list[Any] | None] = {}
        try:
            async with self.link.client.pipeline(transaction=True) as pipe:
                if rewrite:
                    pipe.delete(self.key)
                    pipe.hset(self.key, INFO_FIELD, self.info)
                    pipe.sadd(PROCESSES_KEY, self.link.process_id)
                for uid in dirty:
                    entry = self._entry(uid)
                    if entry is None:
                        pipe.hdel(self.key, uid)
                        changes[uid] = None
                    else:
                        pipe.hset(self.key, uid, f"{entry[0]}\t{entry[1]}")
                        changes[uid] = [entry[0], entry[1]]
                pipe.hset(self.key, VERSION_FIELD, str(self._version))
                pipe.expire(self.key, PROCESS_TTL_SECS)
                message: dict[str, Any] = {"p": self.link.process_id, "v": self._version, "u": changes}
                if rewrite:
                    message["all"] = 1
                pipe.publish(PRESENCE_CHANNEL, json.dumps(message))
                await pipe.execute()
        except REDIS_ERRORS as exc:
            self.link.failed("presence", exc)
            self._rewrite = True  # what changed meanwhile is rewritten whole once Redis is back
            return False
        self.link.succeeded()
        self._rewrite = False
        return True

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT_SECS)
            await self.beat()

    async def beat(self) -> None:
        """Renew this process's entry and reread every other's."""
        if self._rewrite:
            if not await self.flush():
                return
        try:
            async with self.link.client.pipeline(transaction=False) as pipe:
                pipe.expire(self.key, PROCESS_TTL_SECS)
                pipe.sadd(PROCESSES_KEY, self.link.process_id)
                pipe.smembers(PROCESSES_KEY)
                renewed, _, members = await pipe.execute()
            if not renewed:
                # Our hash is gone although we never failed (Redis restarted empty): write it whole.
                self._rewrite = True
                await self.flush()
            others = sorted(str(m) for m in members if m != self.link.process_id)
            hashes: list[dict[str, str]] = []
            if others:
                async with self.link.client.pipeline(transaction=False) as pipe:
                    for pid in others:
                        pipe.hgetall(process_key(pid))
                    hashes = await pipe.execute()
        except REDIS_ERRORS as exc:
            self.link.failed("presence", exc)
            self._rewrite = True
            return
        self.link.succeeded()
        gone = []
        fresh: dict[str, _Mirror] = {}
        for pid, fields in zip(others, hashes, strict=True):
            if not fields:
                gone.append(pid)  # expired: that process is dead
                continue
            version = int(fields.get(VERSION_FIELD, "0") or 0)
            known = self._others.get(pid)
            if known is not None and known.version > version:
                fresh[pid] = known  # a message newer than this read already came
                continue
            users: Users = {}
            for uid, value in fields.items():
                if uid.startswith("~"):
                    continue
                entry = _parse_entry(value)
                if entry is not None:
                    users[uid] = entry
            fresh[pid] = _Mirror(users, version)
        self._others = fresh
        self._others_read_at = self._clock()
        if gone:
            with contextlib.suppress(*REDIS_ERRORS):
                await self.link.client.srem(PROCESSES_KEY, *gone)

    def processes(self) -> dict[str, int]:
        """Sockets per process as this one sees them (for logs and tests)."""
        counts = {self.link.process_id: sum(len(s) for s in self.local.sids.values())}
        for pid, m in self._others.items():
            counts[pid] = sum(n for n, _ in m.users.values())
        return counts
