"""The consultations the message path of this process keeps, so a message does not read its room again.

Every message needs its consultation (who may write, whether it is open, its SLA state). Read once,
the copy is kept and forgotten when anything writes the consultation:
- in this process, heard from the driver (server.storage.write_watch): every write command on
  `consultations`, whoever sent it; the message path's own updates are applied to the copy instead
  (`apply`), they are marked SELF_APPLIED;
- in another process, heard over Redis (server.cluster publishes the ids this process wrote, and
  forgets what the others wrote). While the link is not known to be up the copies are not used at all
  (`shared_ok`), and they are all forgotten when it comes back (messages may have been missed).
Without REDIS_URL the copies are used only when this process is the whole product (role "all"); a
write no process hears of (`pst admin seed-demo`, mongosh) is seen at most KEEP_SECS later.

A read that overlaps a write keeps nothing: `generation` is taken before the read and `put` keeps the
copy only if no write of that consultation was heard since.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

Doc = dict[str, Any]

# A bound for writes no process hears of (`pst admin seed-demo`, a hand edit in mongosh): the product's
# own writes are all heard. 30 s made the copies useless at 10,000 clients, where a room writes about
# every 100 s (bench/chat_latency.py --pairs 0 --officers 100 --rooms-per-officer 99).
KEEP_SECS = 300.0
MAX_DOCS = 20_000


class ConsultationCache:
    """_id -> consultation. What `get` returns is shared: callers copy before changing it."""

    def __init__(self, keep_secs: float = KEEP_SECS, max_docs: int = MAX_DOCS) -> None:
        self.keep_secs = keep_secs
        self.max_docs = max_docs
        self._docs: OrderedDict[Any, tuple[float, Doc]] = OrderedDict()
        # Writes heard: per id, and for every id (a write whose filter names no ids).
        self._gens: dict[Any, int] = {}
        self._all_gen = 0
        # Whether copies may be used: set by create_app / server.cluster (off until they say so).
        self.enabled = False
        # False when the database client has no write watch (Services): then never used.
        self.heard = True
        self.shared_ok: Callable[[], bool] = lambda: True
        # Set by server.cluster with REDIS_URL: tell the other processes which consultations changed.
        self.publish: Callable[[frozenset[Any] | None], Awaitable[None]] | None = None
        self._to_publish: set[Any] = set()
        self._publish_all = False
        self._publishing = False

    # --- reading ----------------------------------------------------------------------------------

    def usable(self) -> bool:
        return self.enabled and self.heard and self.shared_ok()

    def get(self, _id: Any) -> Doc | None:
        if not self.usable():
            return None
        entry = self._docs.get(_id)
        if entry is None or time.monotonic() - entry[0] > self.keep_secs:
            return None
        return entry[1]

    def generation(self, _id: Any) -> tuple[int, int]:
        """Taken before reading `_id` from the database; `put` compares it."""
        return (self._all_gen, self._gens.get(_id, 0))

    def put(self, _id: Any, doc: Doc, generation: tuple[int, int]) -> None:
        """Keep `doc` as read, unless a write of it was heard since `generation` was taken."""
        if not self.usable() or generation != self.generation(_id):
            return
        self._docs[_id] = (time.monotonic(), doc)
        self._docs.move_to_end(_id)
        while len(self._docs) > self.max_docs:
            self._docs.popitem(last=False)

    def apply(self, _id: Any, change: Callable[[Doc], Doc]) -> None:
        """The message path updated `_id` itself: change our copy the same way (if we keep one)."""
        entry = self._docs.get(_id)
        if entry is not None:
            self._docs[_id] = (entry[0], change(entry[1]))

    # --- forgetting -------------------------------------------------------------------------------

    def forget(self, ids: frozenset[Any] | None = None) -> None:
        """Read these consultations (every one when None) from the database next time."""
        if ids is None:
            self._docs.clear()
            self._gens.clear()
            self._all_gen += 1
            return
        for _id in ids:
            self._docs.pop(_id, None)
            self._gens[_id] = self._gens.get(_id, 0) + 1
        if len(self._gens) > 2 * self.max_docs:
            # Bounded: forgetting the counts makes every read in flight keep nothing, which is safe.
            self._gens.clear()
            self._all_gen += 1

    def heard_write(self, ids: frozenset[Any] | None, local: bool, done: bool) -> None:
        """server.storage.write_watch: a write of `ids` started or ended in this process."""
        if local:
            self.forget(ids)
        if done and self.publish is not None:
            if ids is None:
                self._publish_all = True
            else:
                self._to_publish |= ids
            self._schedule_publish()

    def _schedule_publish(self) -> None:
        if self._publishing:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        self._publishing = True
        loop.create_task(self._publish_pending(), name="consultations-changed")

    async def _publish_pending(self) -> None:
        """One message for what was written meanwhile; later writes wait for the next one."""
        try:
            while (self._to_publish or self._publish_all) and self.publish is not None:
                ids: frozenset[Any] | None = None if self._publish_all else frozenset(self._to_publish)
                self._to_publish = set()
                self._publish_all = False
                await self.publish(ids)
        finally:
            self._publishing = False
