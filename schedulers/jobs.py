"""The scheduler's jobs, gathered from the modules that own them.

Each job is `async def job(svc) -> int`: it claims and handles a batch of due items and returns how
many it handled (0 when nothing is due), so the runner can call it until it drains.
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable

from server.services import Services

Job = Callable[[Services], Awaitable[int]]

# Modules exposing `JOBS: list[tuple[str, Job]]`.
_MODULES = ("schedulers.consultation_jobs", "schedulers.meeting_jobs")


def _collect() -> list[tuple[str, Job]]:
    out: list[tuple[str, Job]] = []
    for name in _MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        out.extend(module.JOBS)
    return out


JOBS: list[tuple[str, Job]] = _collect()
