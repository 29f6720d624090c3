"""The bundle of adapters every domain action receives: database, clock, events, settings, per-process state."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from server.domain.ports import Clock, EventSink, NoPresence, NullEvents, OutboxWorker, PresenceRegistry, RoomSeqState
from server.integrations.meeting_backends import MeetingBackends
from server.integrations.whatsapp import WhatsAppClient
from server.search.live import KbIndex
from server.settings import Settings
from server.storage.batching import GroupCommit
from server.storage.consultation_cache import ConsultationCache
from server.storage.office_cache import OfficeCache
from server.storage.room_seq import LocalRoomSeqState
from server.storage.write_watch import watch_of

Doc = dict[str, Any]


@dataclass
class Services:
    """What actions need from the outside world; built once per process by create_app or the CLI."""

    settings: Settings
    db: AsyncDatabase[Doc]
    clock: Clock
    events: EventSink = field(default_factory=NullEvents)
    # Per-process state, each behind a port so several processes can share it instead. Who is connected
    # (create_app's realtime context puts the socket layer's registry here; elsewhere nobody is).
    presence: PresenceRegistry = field(default_factory=NoPresence)
    # Per-room locks and last seqs of message numbering, bounded.
    rooms: RoomSeqState = field(default_factory=LocalRoomSeqState)
    # The offices read once and kept; forgotten on change, in every process with REDIS_URL (server.cluster).
    offices: OfficeCache = field(default_factory=OfficeCache)
    # The consultations the message path read, forgotten on any write (server.storage.consultation_cache);
    # off unless create_app or server.cluster can tell that every writer is heard.
    consultations: ConsultationCache = field(default_factory=ConsultationCache)
    # The knowledge-base search index of this process (server.domain.kb.start_index), if it keeps one.
    kb_index: KbIndex | None = None
    # The mail worker of this process (create_app's workers context), woken after each enqueue.
    outbox_worker: OutboxWorker | None = None
    # The meeting providers. create_app puts its own here in a cleanup context and closes them; for
    # anything else that builds Services (CLI, tests) this default connects to nothing until used.
    meetings: MeetingBackends = field(init=False)
    # The WhatsApp Cloud API client (media downloads here, sending in notifier/). create_app puts its
    # own here in a cleanup context and closes it; the default opens no connection until used.
    whatsapp: WhatsAppClient = field(init=False)
    # The message path's database calls, grouped while one is in flight (server.storage.batching).
    batch: GroupCommit = field(init=False)

    def __post_init__(self) -> None:
        self.batch = GroupCommit(self.db, call_timeout=self.settings.pst_db_timeout_secs)
        watch = watch_of(self.db.client)
        if watch is not None:
            watch.subscribe(self.db.name, self.consultations.heard_write)
        else:
            # A client that does not show us its writes: no copy can be trusted.
            self.consultations.heard = False
        self.meetings = MeetingBackends(self.settings, self.clock)
        self.whatsapp = WhatsAppClient(self.settings.whatsapp_token, self.settings.whatsapp_api_base)

    def now(self) -> datetime:
        return self.clock.now()
