"""One scheduler loop per process: each job finds due work by an indexed query and claims items atomically."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from server.services import Services

log = logging.getLogger(__name__)

Job = Callable[[Services], Awaitable[int]]


def default_jobs() -> list[tuple[str, Job]]:
    from schedulers import jobs

    return jobs.JOBS


class Scheduler:
    """Runs every job in turn; safe to run in several processes at once (claims are atomic)."""

    def __init__(self, svc: Services, jobs: list[tuple[str, Job]] | None = None) -> None:
        self.svc = svc
        self.jobs = jobs if jobs is not None else default_jobs()
        self._lock = asyncio.Lock()

    async def run_once(self) -> dict[str, int]:
        """Run each job until it finds nothing more that is due; returns items handled per job."""
        async with self._lock:
            done: dict[str, int] = {}
            for name, job in self.jobs:
                total = 0
                for _ in range(1000):  # a job returns 0 when nothing is left that is due
                    try:
                        n = await job(self.svc)
                    except Exception:
                        log.exception("scheduler job %s failed", name)
                        break
                    total += n
                    if n == 0:
                        break
                done[name] = total
            return done

    async def run(self, stop: asyncio.Event, interval_secs: float) -> None:
        while not stop.is_set():
            await self.run_once()
            try:
                await asyncio.wait_for(stop.wait(), timeout=interval_secs)
            except TimeoutError:
                pass
