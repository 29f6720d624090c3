"""The knowledge-base search index of one process and how far it has caught up (`svc.kb_index`)."""

from __future__ import annotations

import asyncio
from typing import Any

from server.search.engine import SearchIndex

Doc = dict[str, Any]


class KbIndex:
    """The search index of this process, the article revision it has caught up to, its refresher task."""

    def __init__(self) -> None:
        self.index = SearchIndex()
        self.rev = 0
        self.task: asyncio.Task[None] | None = None

    def apply(self, article: Doc) -> None:
        """Take one changed article: published ones are searchable, any other status is removed."""
        if article.get("status") == "published":
            self.index.upsert(article)
        else:
            self.index.remove(str(article["_id"]))
        self.rev = max(self.rev, int(article.get("rev", 0)))
