"""The scheduler jobs (filled in by the service-standard work)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from server.services import Services

JOBS: list[tuple[str, Callable[[Services], Awaitable[int]]]] = []
