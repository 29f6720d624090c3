"""The knowledge base: articles in MongoDB, searched through an in-memory index kept in every process."""

from __future__ import annotations

import logging
from typing import Any

from server.services import Services

log = logging.getLogger(__name__)


async def start_index(svc: Services) -> None:
    """Build the search index from MongoDB (filled in by the knowledge-base work)."""
    svc.extras["kb_index"] = None


async def stop_index(svc: Services) -> None:
    svc.extras.pop("kb_index", None)


def index_of(svc: Services) -> Any:
    return svc.extras.get("kb_index")
