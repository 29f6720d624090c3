"""The bundle of adapters every domain action receives: database, clock, events, settings."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from server.domain.ports import Clock, EventSink, NullEvents
from server.settings import Settings

Doc = dict[str, Any]


@dataclass
class Services:
    """What actions need from the outside world; built once per process by create_app or the CLI."""

    settings: Settings
    db: AsyncDatabase[Doc]
    clock: Clock
    events: EventSink = field(default_factory=NullEvents)
    # Filled by the parts that own them (search index, meeting providers, presence, ...).
    extras: dict[str, Any] = field(default_factory=dict)

    def now(self) -> datetime:
        return self.clock.now()
