"""Which documents of a watched collection a write touched, heard from the driver itself.

A process keeps copies of some documents (server.storage.consultation_cache) and must forget a copy
whenever anything writes its document: a domain action, a scheduler job, a CLI command in this
process, a test writing directly. Rather than trusting every writer to say so, the client's command
monitoring (pymongo.monitoring.CommandListener, one for each client made by server.storage.db) sees
every write command: for a watched collection it tells the subscribers of that database which `_id`s
the command's filters name, or ALL when a filter does not name them (an update_many by office, say).

Subscribers are told twice: when the command starts and when it ends (done or failed), so a read
that overlapped the write can tell (its copy is not kept: see ConsultationCache.generation).
A write whose comment is SELF_APPLIED is not told to this process (its sender applies the change to
its own copy); it still counts as a write for `on_write(..., local=False)` (the other processes).
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Callable
from typing import Any

from bson import ObjectId
from pymongo import monitoring

log = logging.getLogger(__name__)

# The filter named documents this watcher cannot list: forget every copy.
ALL = None
# The comment of the message path's consultation updates: their sender applies them to its own copy.
SELF_APPLIED = "pst:self-applied"
WATCHED = frozenset({"consultations"})

# ids (None: every document), local (False: the writer applied it itself), done (the command ended)
Subscriber = Callable[[frozenset[Any] | None, bool, bool], None]

_WRITE_COMMANDS = {"update": "updates", "delete": "deletes", "findAndModify": None, "insert": None}


def _ids_of(flt: Any) -> frozenset[Any] | None:
    """The `_id`s a filter restricts to, or ALL."""
    if not isinstance(flt, dict):
        return ALL
    value = flt.get("_id")
    if isinstance(value, ObjectId | str | int):
        return frozenset([value])
    if isinstance(value, dict) and set(value) == {"$in"} and isinstance(value["$in"], list | tuple):
        return frozenset(value["$in"])
    return ALL


def touched(command_name: str, command: Any) -> frozenset[Any] | None:
    """The `_id`s a write command can change (an insert changes no copy anyone keeps: empty)."""
    if command_name == "insert":
        return frozenset()
    if command_name == "findAndModify":
        return _ids_of(command.get("query"))
    key = _WRITE_COMMANDS[command_name]
    ids: set[Any] = set()
    for statement in command.get(key) or ():
        found = _ids_of(statement.get("q") if isinstance(statement, dict) else None)
        if found is ALL:
            return ALL
        ids |= found
    return frozenset(ids)


class WriteWatch(monitoring.CommandListener):
    """The listener of one client; subscribers per database name."""

    def __init__(self) -> None:
        self._subscribers: dict[str, list[weakref.WeakMethod[Subscriber]]] = {}
        # request_id -> (database, ids, local) of a watched write in flight
        self._inflight: dict[int, tuple[str, frozenset[Any] | None, bool]] = {}

    def subscribe(self, database: str, method: Subscriber) -> None:
        """Tell `method` (a bound method: held weakly) about writes to the watched collections of `database`."""
        subs = self._subscribers.setdefault(database, [])
        subs[:] = [ref for ref in subs if ref() is not None]
        subs.append(weakref.WeakMethod(method))

    def _tell(self, database: str, ids: frozenset[Any] | None, local: bool, done: bool) -> None:
        for ref in self._subscribers.get(database, ()):
            method = ref()
            if method is not None:
                try:
                    method(ids, local, done)
                except Exception:  # noqa: BLE001 - a listener must never break the driver's call
                    log.exception("a write subscriber failed")

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        name = event.command_name
        if name not in _WRITE_COMMANDS or event.database_name not in self._subscribers:
            return
        command = event.command
        if command.get(name) not in WATCHED:
            return
        ids = touched(name, command)
        if ids is not ALL and not ids:
            return
        local = command.get("comment") != SELF_APPLIED
        self._inflight[event.request_id] = (event.database_name, ids, local)
        self._tell(event.database_name, ids, local, False)

    def _ended(self, event: Any) -> None:
        found = self._inflight.pop(event.request_id, None)
        if found is not None:
            database, ids, local = found
            self._tell(database, ids, local, True)

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        self._ended(event)

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        self._ended(event)


def listeners() -> list[monitoring.CommandListener]:
    """For a new client's `event_listeners` (server.storage.db.make_client, the tests' client): its own watch."""
    return [WriteWatch()]


def watch_of(client: Any) -> WriteWatch | None:
    """The write watch of a client, if it was made with one."""
    for listener in client.options.event_listeners:
        if isinstance(listener, WriteWatch):
            return listener
    return None
