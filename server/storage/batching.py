"""Group commit: database calls that arrive while one is in flight go together in the next.

Chat traffic is many small writes to different rooms. Sent one by one, each costs a round trip and
the database's per-command overhead (SecantusDB: ~580 single writes a second, ~1,700 in batches);
a real MongoDB too spends far less per document in one `insert_many` than in many `insert_one`.

The batching is natural, with no timer: when nothing is in flight a call goes out at once, alone
(no latency added at low rates); the calls that arrive while it is in flight wait for it to come
back and then go together. Each caller gets its own outcome: its document's id, its own error (a
duplicate key is refused for that document only), or the error of the whole call. A read queued
after a write was acknowledged is sent after it, so it sees it.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import logging
import time
from collections.abc import Mapping, Sequence
from typing import Any, Generic, TypeVar

import pymongo
from pymongo import UpdateOne
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import BulkWriteError, DuplicateKeyError, WriteError

from server.storage.bson_order import greater
from server.storage.write_watch import SELF_APPLIED

log = logging.getLogger(__name__)

Doc = dict[str, Any]
T = TypeVar("T")
R = TypeVar("R")

MAX_BATCH = 500
TRAILING_BATCH = 50
# How long trailing updates that landed are still shown by Trailing.overlay (longer than a read takes).
RECENT_SECS = 5.0
RECENT_PRUNE_AT = 50_000
CALL_TIMEOUT = 10.0
MESSAGE_MAX_WAIT = 1.0
READ_MAX_WAIT = 0.5


class Overloaded(Exception):
    """The database has fallen behind: what waits has waited longer than the batcher's `max_wait`."""


class _Batcher(Generic[T, R]):
    """Queue items; one flusher sends whatever is queued whenever the previous call returned.

    `max_wait`: past saturation, refuse new items (Overloaded) while the oldest queued one has waited
    longer than this, so callers hear "busy" at once instead of waiting ever longer.
    """

    # How long one grouped call may take (the request deadline's length: server.settings.pst_db_timeout_secs).
    call_timeout = CALL_TIMEOUT

    def __init__(self, max_batch: int = MAX_BATCH, max_wait: float | None = None) -> None:
        self.max_batch = max_batch
        self.max_wait = max_wait
        self._pending: list[tuple[T, asyncio.Future[R]]] = []
        self._queued_at: dict[int, float] = {}
        self._flusher: asyncio.Task[None] | None = None
        # What the benchmarks print: calls sent and items they carried.
        self.calls = 0
        self.items = 0
        self.refused = 0

    async def submit(self, item: T) -> R:
        return await self.enqueue(item)

    def enqueue(self, item: T) -> asyncio.Future[R]:
        """Queue `item` now (its place in the order is taken here, before any await); its outcome comes in the
        future. Raises Overloaded past saturation."""
        loop = asyncio.get_running_loop()
        if self.max_wait is not None and self._pending:
            oldest = self._queued_at.get(id(self._pending[0][1]))
            if oldest is not None and loop.time() - oldest > self.max_wait:
                self.refused += 1
                raise Overloaded(f"{len(self._pending)} waiting, the oldest for over {self.max_wait} s")
        fut: asyncio.Future[R] = loop.create_future()
        self._pending.append((item, fut))
        if self.max_wait is not None:
            self._queued_at[id(fut)] = loop.time()
            fut.add_done_callback(lambda f: self._queued_at.pop(id(f), None))
        if self._flusher is None or self._flusher.done():
            # A context of its own: created in the first caller's, the flusher carried that request's
            # deadline (server.storage.db.request_deadline), and under sustained load every call it
            # made 10 s later failed with ExecutionTimeout. Each call has its own CALL_TIMEOUT instead.
            self._flusher = asyncio.create_task(
                self._flush(), name=f"group-commit-{type(self).__name__}", context=contextvars.Context()
            )
        return fut

    def _take(self) -> list[tuple[T, asyncio.Future[R]]]:
        batch, self._pending = self._pending[: self.max_batch], self._pending[self.max_batch :]
        return batch

    async def _flush(self) -> None:
        while self._pending:
            batch = self._take()
            live = [(item, fut) for item, fut in batch if not fut.cancelled()]
            if not live:
                continue
            self.calls += 1
            self.items += len(live)
            try:
                with pymongo.timeout(self.call_timeout):
                    outcomes = await self.run([item for item, _ in live])
            except Exception as exc:  # the whole call failed: every caller sees why
                outcomes = [exc] * len(live)
            for (_, fut), outcome in zip(live, outcomes, strict=True):
                if fut.done():
                    continue
                if isinstance(outcome, BaseException):
                    fut.set_exception(outcome)
                else:
                    fut.set_result(outcome)

    async def run(self, items: list[T]) -> Sequence[R | BaseException]:
        raise NotImplementedError


def _write_error(err: Mapping[str, Any]) -> Exception:
    code = int(err.get("code") or 0)
    cls = DuplicateKeyError if code == 11000 else WriteError
    return cls(str(err.get("errmsg", "write error")), code, dict(err))


class Inserts(_Batcher[Doc, Any]):
    """`insert_one` as a group: `await inserts.insert(doc)` returns the new _id (also set on `doc`)."""

    def __init__(self, coll: AsyncCollection[Doc], max_batch: int = MAX_BATCH, max_wait: float | None = None) -> None:
        super().__init__(max_batch, max_wait)
        self.coll = coll

    async def insert(self, doc: Doc) -> Any:
        return await self.submit(doc)

    async def run(self, items: list[Doc]) -> Sequence[Any | BaseException]:
        if len(items) == 1:
            try:
                res = await self.coll.insert_one(items[0])
            except DuplicateKeyError as exc:
                return [exc]
            return [res.inserted_id]
        try:
            await self.coll.insert_many(items, ordered=False)
            failed: dict[int, Exception] = {}
        except BulkWriteError as exc:
            failed = {int(e["index"]): _write_error(e) for e in exc.details.get("writeErrors", [])}
            if exc.details.get("writeConcernErrors") and not failed:
                raise
        return [failed.get(i, doc.get("_id")) for i, doc in enumerate(items)]


_MERGEABLE = frozenset({"$set", "$max", "$unset"})


def merge_updates(first: Doc, then: Doc) -> Doc | None:
    """One update doing what `first` then `then` do to a document, or None when it cannot be said as one
    (other operators, values that do not compare, or paths that would conflict, like `a` and `a.b`)."""
    if set(first) - _MERGEABLE or set(then) - _MERGEABLE:
        return None
    sets: Doc = dict(first.get("$set", {}))
    maxes: Doc = dict(first.get("$max", {}))
    unsets: Doc = dict(first.get("$unset", {}))
    try:
        for path in then.get("$unset", {}):
            sets.pop(path, None)
            maxes.pop(path, None)
            unsets[path] = ""
        for path, value in then.get("$set", {}).items():
            unsets.pop(path, None)
            maxes.pop(path, None)
            sets[path] = value
        for path, value in then.get("$max", {}).items():
            if path in sets:
                sets[path] = value if greater(value, sets[path]) else sets[path]
            elif path in unsets:  # removed, then $max of a missing field: the value
                del unsets[path]
                sets[path] = value
            else:
                maxes[path] = value if path not in maxes or greater(value, maxes[path]) else maxes[path]
    except TypeError:
        return None
    paths = {*sets, *maxes, *unsets}
    # A path that is a parent of another (`a` and `a.b`): each path's dotted prefixes looked up, not every pair
    # compared (a busy room merges its updates at every message).
    if any(q[:i] in paths for q in paths for i, ch in enumerate(q) if ch == "."):
        return None
    out: Doc = {}
    for op, part in (("$set", sets), ("$max", maxes), ("$unset", unsets)):
        if part:
            out[op] = part
    return out


def _with_path(doc: Doc, path: str) -> tuple[Doc, str]:
    """The (copied) parent of dotted `path` in `doc`, and the last key; parents are created as needed."""
    *parents, last = path.split(".")
    node = doc
    for key in parents:
        child = node.get(key)
        node[key] = dict(child) if isinstance(child, dict) else {}
        node = node[key]
    return node, last


def _get(doc: Doc, path: str) -> Any:
    node: Any = doc
    for key in path.split("."):
        node = node.get(key) if isinstance(node, dict) else None
    return node


def apply_update(c: Doc, update: Doc) -> Doc:
    """A copy of `c` with `update` ($set, $max, $unset on dotted paths) applied as the database does."""
    out = dict(c)
    for path in update.get("$unset", {}):
        *parents, _ = path.split(".")
        if all(isinstance(_get(out, ".".join(parents[: i + 1])), dict) for i in range(len(parents))):
            node, last = _with_path(out, path)
            node.pop(last, None)
    for path, value in update.get("$set", {}).items():
        node, last = _with_path(out, path)
        node[last] = value
    for path, value in update.get("$max", {}).items():
        node, last = _with_path(out, path)
        if last not in node or greater(value, node[last]):  # MongoDB's order: objects too (bson_order)
            node[last] = value
    return out


def _resolve_all(members: list[asyncio.Future[None]], carrier: asyncio.Future[None]) -> None:
    for fut in members:
        if fut.done():
            continue
        if carrier.cancelled():
            fut.cancel()
        elif carrier.exception() is not None:
            fut.set_exception(carrier.exception())  # type: ignore[arg-type]
        else:
            fut.set_result(None)


class Updates(_Batcher[tuple[Doc, Doc], None]):
    """`update_one` as a group (one `bulk_write`). Updates with the same filter queued together are merged
    into one (merge_updates: what they would do one after the other); when they cannot be, the later
    ones wait for the next call, so they apply in the order asked. Updates of one document under different
    filters may share a call: the message path's are written to give the same result in any order
    (server/domain/messages.py). Each call carries its updates in futures of its own, so an update whose
    caller gave up is still applied."""

    def __init__(self, coll: AsyncCollection[Doc], max_batch: int = MAX_BATCH, comment: str | None = None) -> None:
        super().__init__(max_batch)
        self.coll = coll
        # Sent with every call (the message path marks its updates: server.storage.write_watch.SELF_APPLIED).
        self.comment = comment
        self.merged = 0  # updates folded into another queued update of the same document

    async def update(self, filter: Doc, update: Doc) -> None:
        await self.submit((filter, update))

    def _take(self) -> list[tuple[tuple[Doc, Doc], asyncio.Future[None]]]:
        loop = asyncio.get_running_loop()
        batch: list[tuple[tuple[Doc, Doc], asyncio.Future[None]]] = []
        members: list[list[asyncio.Future[None]]] = []
        where: dict[str, int] = {}
        blocked: set[str] = set()
        later: list[tuple[tuple[Doc, Doc], asyncio.Future[None]]] = []
        for (flt, upd), fut in self._pending:
            # Keyed by the whole filter: a document's updates under other filters may go in the same call
            # (updates that give the same result in any order, like the message path's, need no more).
            key = repr(sorted(flt.items()))
            i = where.get(key)
            if i is not None and key not in blocked:
                (first_filter, first_update), carrier = batch[i]
                merged = merge_updates(first_update, upd)
                if merged is not None:
                    batch[i] = ((first_filter, merged), carrier)
                    members[i].append(fut)
                    self.merged += 1
                    continue
            if i is not None or key in blocked or len(batch) >= self.max_batch:
                blocked.add(key)
                later.append(((flt, upd), fut))
                continue
            where[key] = len(batch)
            batch.append(((flt, upd), loop.create_future()))
            members.append([fut])
        for (_, carrier), futs in zip(batch, members, strict=True):
            carrier.add_done_callback(functools.partial(_resolve_all, futs))
        self._pending = later
        return batch

    async def run(self, items: list[tuple[Doc, Doc]]) -> Sequence[None | BaseException]:
        if len(items) == 1:
            await self.coll.update_one(*items[0], comment=self.comment)
            return [None]
        try:
            await self.coll.bulk_write([UpdateOne(f, u) for f, u in items], ordered=False, comment=self.comment)
            failed: dict[int, Exception] = {}
        except BulkWriteError as exc:
            failed = {int(e["index"]): _write_error(e) for e in exc.details.get("writeErrors", [])}
            if exc.details.get("writeConcernErrors") and not failed:
                raise
        return [failed.get(i) for i in range(len(items))]


class _Shown:
    """A trailing update handed over to be written: shown by `Trailing.overlay` until RECENT_SECS after it
    landed (a read sent before it landed and answered after must still show it)."""

    __slots__ = ("update", "landed_at")

    def __init__(self, update: Doc) -> None:
        self.update = update
        self.landed_at: float | None = None


class Trailing:
    """Updates of documents by `_id` that may land a moment after their caller went on: kept per document for
    `delay` seconds, merged with the same document's next ones (merge_updates), then handed to `updates` all
    together (one bulk_write).

    The callers' updates are written to give the same result in whatever order they land, theirs and other
    processes' (server/domain/messages.py: `$max` of counters, times, previews and the idle state ordered by
    seq), so a process's trailing writes and another's cannot undo each other.

    `delay` 0 (the default): nothing trails (the callers check `active`). Off in what has no shutdown to
    flush at (the CLI, benchmarks, the domain tests); create_app turns it on and `flush`es at shutdown.
    A process killed meanwhile loses what was pending: server/domain/messages.py says what may trail
    (counters, previews, read pointers), never what a decision rests on.

    `overlay`: this process reads its own trailing writes (server.domain.access.load).
    """

    RETRY_MAX_SECS = 5.0

    def __init__(self, updates: Updates, urgent: Updates | None = None, delay: float = 0.0) -> None:
        self.updates = updates
        # Where `send` goes: not behind a backlog of trailing updates (they may land in any order).
        self.urgent = urgent if urgent is not None else updates
        self.delay = delay
        # _id -> updates not yet handed over (one, unless an update could not be merged with the one before).
        self._pending: dict[Any, list[Doc]] = {}
        # _id -> updates handed over, in flight or landed in the last RECENT_SECS (applying one again changes
        # nothing: `$max`).
        self._shown: dict[Any, list[_Shown]] = {}
        self._in_flight = 0
        self._pruned_at = 0.0
        self._timer: asyncio.TimerHandle | None = None
        self._retry_secs = 0.0
        self._waiters: set[asyncio.Future[None]] = set()
        # What the benchmarks print.
        self.added = 0
        self.handed = 0
        self.failed = 0

    @property
    def active(self) -> bool:
        return self.delay > 0

    def __len__(self) -> int:
        return sum(len(v) for v in self._pending.values()) + self._in_flight

    def add(self, _id: Any, update: Doc) -> None:
        """An update of document `_id`, written within `delay`."""
        self.added += 1
        self._keep(_id, update)
        self._schedule()

    async def send(self, _id: Any, update: Doc) -> None:
        """An update of `_id` now, with what `_id` has pending; returns once it is applied."""
        self._hand_over(_id)
        await self.urgent.enqueue(({"_id": _id}, update))

    def overlay(self, doc: Doc) -> Doc:
        """`doc` as read from the database, with this process's trailing updates of it applied (the same
        result whether the read saw one of them or not)."""
        _id = doc.get("_id")
        for shown in self._shown.get(_id, ()):
            doc = apply_update(doc, shown.update)
        for update in self._pending.get(_id, ()):
            doc = apply_update(doc, update)
        return doc

    async def flush(self) -> None:
        """Hand everything over now and wait until it is applied (or refused and logged)."""
        self._retry_secs = 0.0
        self._hand_over_all()
        while self._in_flight:
            fut = asyncio.get_running_loop().create_future()
            self._waiters.add(fut)
            try:
                await fut
            finally:
                self._waiters.discard(fut)
            if self._pending:
                raise ConnectionError(f"{len(self)} trailing updates could not be applied")
        # Written, and whoever flushes may change the documents next (an erasure): nothing of them is shown again.
        self._shown.clear()

    # --- keeping and handing over -------------------------------------------------------------------

    def _keep(self, _id: Any, update: Doc, *, first: bool = False) -> None:
        queue = self._pending.setdefault(_id, [])
        if queue:
            i = 0 if first else -1
            merged = merge_updates(update, queue[i]) if first else merge_updates(queue[i], update)
            if merged is not None:
                queue[i] = merged
                return
        if first:
            queue.insert(0, update)
        else:
            queue.append(update)

    def _schedule(self) -> None:
        if self._timer is None:
            loop = asyncio.get_running_loop()
            self._timer = loop.call_later(self.delay + self._retry_secs, self._hand_over_all)

    def _hand_over_all(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = None
        for _id in list(self._pending):
            self._hand_over(_id)

    def _hand_over(self, _id: Any) -> None:
        for update in self._pending.pop(_id, ()):
            self.handed += 1
            self._in_flight += 1
            shown = _Shown(update)
            self._shown.setdefault(_id, []).append(shown)
            fut = self.updates.enqueue(({"_id": _id}, update))
            fut.add_done_callback(functools.partial(self._landed, _id, shown))

    def _prune(self, now: float) -> None:
        self._pruned_at = now
        for key in list(self._shown):
            kept = [s for s in self._shown[key] if s.landed_at is None or now - s.landed_at <= RECENT_SECS]
            if kept:
                self._shown[key] = kept
            else:
                del self._shown[key]

    def _landed(self, _id: Any, shown: _Shown, fut: asyncio.Future[None]) -> None:
        self._in_flight -= 1
        now = time.monotonic()
        exc = fut.exception() if not fut.cancelled() else asyncio.CancelledError()
        if exc is None:
            shown.landed_at = now
            if len(self._shown) > RECENT_PRUNE_AT or now - self._pruned_at > RECENT_SECS:
                self._prune(now)
            if self._retry_secs:
                self._retry_secs = 0.0
                log.info("trailing updates applied again")
        else:
            kept = self._shown.get(_id, [])
            if shown in kept:
                kept.remove(shown)
            if not kept:
                self._shown.pop(_id, None)
            self.failed += 1
            if isinstance(exc, WriteError):  # the document refused it (invalid): there is nothing to retry
                log.error("trailing update of %s refused: %s", _id, exc)
            else:
                # The database is down or slow: keep it and try again later.
                if self._retry_secs == 0:
                    log.warning("trailing updates not applied (%r); trying again", exc)
                self._retry_secs = min(max(self._retry_secs * 2, 0.5), self.RETRY_MAX_SECS)
                self._keep(_id, shown.update, first=True)
                self._schedule()
        if not self._in_flight:
            for waiter in self._waiters:
                if not waiter.done():
                    waiter.set_result(None)


class FindById(_Batcher[Any, Doc | None]):
    """`find_one({_id})` as a group: one `find({_id: {$in: [...]}})` for whatever is asked meanwhile."""

    def __init__(self, coll: AsyncCollection[Doc], max_batch: int = MAX_BATCH, max_wait: float | None = None) -> None:
        super().__init__(max_batch, max_wait)
        self.coll = coll

    async def get(self, _id: Any) -> Doc | None:
        return await self.submit(_id)

    async def run(self, items: list[Any]) -> Sequence[Doc | None | BaseException]:
        if len(items) == 1:
            return [await self.coll.find_one({"_id": items[0]})]
        found = {doc["_id"]: doc async for doc in self.coll.find({"_id": {"$in": list(set(items))}})}
        # Each caller gets its own copy: they change what they got.
        return [dict(found[i]) if i in found else None for i in items]


class GroupCommit:
    """The message path's grouped calls, one set per process (Services.batch)."""

    def __init__(self, db: Any, call_timeout: float = CALL_TIMEOUT) -> None:
        # Past saturation new work is refused as busy at each step a message takes before it is stored
        # (reads READ_MAX_WAIT, the insert MESSAGE_MAX_WAIT), so the queue cannot grow into seconds of
        # latency. The consultation update comes after the insert and is never refused.
        self.messages = Inserts(db.messages, max_wait=MESSAGE_MAX_WAIT)
        # Applied by the message path to its own copy (Services.consultations), so not forgotten by it.
        self.consultation_updates = Updates(db.consultations, comment=SELF_APPLIED)
        # Counters and previews of a room that may land a moment after the message is acknowledged
        # (server/domain/messages.py decides which); off until create_app sets its delay. Their own calls, of
        # at most TRAILING_BATCH statements: one bulk_write of every room of a busy office held SecantusDB for
        # most of a second, and every insert and urgent update waited behind it (seconds at 1,005 clients).
        self.room_updates = Updates(db.consultations, max_batch=TRAILING_BATCH, comment=SELF_APPLIED)
        self.trailing = Trailing(self.room_updates, urgent=self.consultation_updates)
        self.consultations = FindById(db.consultations, max_wait=READ_MAX_WAIT)
        self.sessions = FindById(db.sessions, max_wait=READ_MAX_WAIT)
        for batcher in (self.messages, self.consultation_updates, self.room_updates, self.consultations, self.sessions):
            batcher.call_timeout = call_timeout
