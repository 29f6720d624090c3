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
from collections.abc import Mapping, Sequence
from typing import Any, Generic, TypeVar

import pymongo
from pymongo import UpdateOne
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import BulkWriteError, DuplicateKeyError, WriteError

from server.storage.write_watch import SELF_APPLIED

log = logging.getLogger(__name__)

Doc = dict[str, Any]
T = TypeVar("T")
R = TypeVar("R")

MAX_BATCH = 500
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
        return await fut

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
                sets[path] = value if sets[path] is None or value > sets[path] else sets[path]
            elif path in unsets:  # removed, then $max of a missing field: the value
                del unsets[path]
                sets[path] = value
            else:
                maxes[path] = value if path not in maxes or value > maxes[path] else maxes[path]
    except TypeError:
        return None
    paths = [*sets, *maxes, *unsets]
    if any(p != q and q.startswith(p + ".") for p in paths for q in paths):
        return None
    out: Doc = {}
    for op, part in (("$set", sets), ("$max", maxes), ("$unset", unsets)):
        if part:
            out[op] = part
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
    """`update_one` as a group (one `bulk_write`). Updates of one document queued together are merged
    into one (merge_updates: what they would do one after the other); when they cannot be, the later
    ones wait for the next call, so one document's updates always apply in the order asked. Each call
    carries its updates in futures of its own, so an update whose caller gave up is still applied."""

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
            key = repr(flt.get("_id"))
            i = where.get(key)
            if i is not None and key not in blocked:
                (first_filter, first_update), carrier = batch[i]
                merged = merge_updates(first_update, upd) if first_filter == flt else None
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
        self.consultations = FindById(db.consultations, max_wait=READ_MAX_WAIT)
        self.sessions = FindById(db.sessions, max_wait=READ_MAX_WAIT)
        for batcher in (self.messages, self.consultation_updates, self.consultations, self.sessions):
            batcher.call_timeout = call_timeout
