"""The bundle of adapters every domain action receives: database, clock, events, settings."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from server.domain.ports import Clock, EventSink, NullEvents
from server.integrations.meeting_backends import MeetingBackends
from server.settings import Settings

Doc = dict[str, Any]


@dataclass
class Services:
    """What actions need from the outside world; built once per process by create_app or the CLI."""

    settings: Settings
    db: AsyncDatabase[Doc]
    clock: Clock
    events: EventSink = field(default_factory=NullEvents)
    # Filled by the parts that own them (search index, presence, ...).
    extras: dict[str, Any] = field(default_factory=dict)
    # The meeting providers. create_app puts its own here in a cleanup context and closes them; for
    # anything else that builds Services (CLI, tests) this default connects to nothing until used.
    meetings: MeetingBackends = field(init=False)

    def __post_init__(self) -> None:
        self.meetings = MeetingBackends(self.settings, self.clock)

    def now(self) -> datetime:
        return self.clock.now()
