"""The offices of this process, read once and kept: every message, SLA and idle step reads its office.

Offices change rarely (an admin edits a policy or a channel) and are few. A change made here is
forgotten here at once and, with REDIS_URL, published so every other process forgets it too
(server.cluster). What no process can hear of (a CLI edit, a write while Redis is down) is read again
at most KEEP_SECS later.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

Doc = dict[str, Any]

KEEP_SECS = 30.0


class OfficeCache:
    """code -> office document. Callers treat what they get as read-only (it is shared)."""

    def __init__(self, keep_secs: float = KEEP_SECS) -> None:
        self.keep_secs = keep_secs
        self._docs: dict[str, tuple[float, Doc]] = {}
        # Set by server.cluster with REDIS_URL: tell the other processes that an office changed.
        self.publish: Callable[[str], Awaitable[None]] | None = None

    def get(self, code: str) -> Doc | None:
        entry = self._docs.get(code)
        if entry is None or time.monotonic() - entry[0] > self.keep_secs:
            return None
        return entry[1]

    def put(self, code: str, doc: Doc) -> None:
        self._docs[code] = (time.monotonic(), doc)

    def forget(self, code: str | None = None) -> None:
        """Read `code` (every office when None) from the database next time."""
        if code is None:
            self._docs.clear()
        else:
            self._docs.pop(code, None)

    async def changed(self, code: str) -> None:
        """This process changed office `code`: forget it here and in every other process."""
        self.forget(code)
        if self.publish is not None:
            await self.publish(code)
