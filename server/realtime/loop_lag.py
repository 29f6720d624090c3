"""How late this process's event loop runs what is due: the sign that the CPU, not the database, is the limit.

Past that point work queues in the loop itself (sockets' frames wait to be read, handlers to be run) before
any of our code sees it, so the group commit's own refusal (server.storage.batching: what waited over a
second in its queue) never fires, and every message taken waits longer than the one before. While the loop
runs late the socket layer refuses new messages with `busy` at once, which costs a fraction of taking them:
the messages it does take keep their latency, the refused ones are sent again by the pages.
"""

from __future__ import annotations

import asyncio
import contextlib

# How often the loop is asked to wake a sleeper, and noted how much later it did. Each ask wakes an idle
# loop: at 0.05 s this watcher made a fifth of the server's wake-ups at 30 msg/s, each dearer than a
# message's own code. At 0.2 s a loop late by 0.2 s on every ask passes 0.1 s of `late` in 4 asks.
INTERVAL_SECS = 0.2
# Each measurement counts for this share of `late` (a moving average): one stall (a collection, a slow
# report) moves it a little, a loop late on every wake-up (the CPU saturated) moves it all the way.
WEIGHT = 0.2


class LoopLag:
    """`late`: how many seconds after their time the loop has been running its timers (a moving average)."""

    def __init__(self, interval: float = INTERVAL_SECS) -> None:
        self.interval = interval
        self.late = 0.0
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._watch(), name="loop-lag")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _watch(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            asked = loop.time()
            await asyncio.sleep(self.interval)
            late = max(0.0, loop.time() - asked - self.interval)
            self.late += WEIGHT * (late - self.late)
