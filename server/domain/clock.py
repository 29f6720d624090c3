"""Clocks: the real one, and a settable one for tests (PST_TEST_CLOCK)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class SystemClock:
    """Wall-clock time in UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class TestClock:
    """A clock that stands still until set or advanced; never goes with production."""

    __test__ = False  # not a pytest class

    def __init__(self, start: datetime | None = None) -> None:
        self._now = (start or datetime.now(UTC)).astimezone(UTC)

    def now(self) -> datetime:
        return self._now

    def set(self, when: datetime) -> None:
        if when.tzinfo is None:
            raise ValueError("naive datetime")
        self._now = when.astimezone(UTC)

    def advance(self, seconds: float) -> None:
        self._now = self._now + timedelta(seconds=seconds)
