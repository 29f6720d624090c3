"""The scheduler's jobs, listed explicitly: a missing module is an import error, not a silent gap.

Each job is `async def job(svc) -> int`: it claims and handles a batch of due items and returns how
many it handled (0 when nothing is due), so the runner can call it until it drains.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from schedulers import complaint_jobs, consultation_jobs, meeting_jobs
from server.domain import privacy
from server.services import Services

Job = Callable[[Services], Awaitable[int]]

# Every job of every module, in the order the runner runs them.
JOBS: list[tuple[str, Job]] = [
    *consultation_jobs.JOBS,
    *meeting_jobs.JOBS,
    *complaint_jobs.JOBS,
    ("retention", privacy.retention),
]
