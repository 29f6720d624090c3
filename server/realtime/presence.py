"""Who is connected to this process: the socket layer's presence registry (svc.presence)."""

from __future__ import annotations

from collections import defaultdict


class Presence:
    """Who is connected to this process (server.domain.ports.PresenceRegistry): user id -> socket ids,
    and staff per office. create_app's realtime context puts one in `svc.presence`."""

    def __init__(self) -> None:
        self.sids: dict[str, set[str]] = defaultdict(set)
        self.staff_office: dict[str, str] = {}

    def add(self, user_id: str, sid: str, office: str | None, staff: bool) -> None:
        self.sids[user_id].add(sid)
        if staff and office:
            self.staff_office[user_id] = office

    def remove(self, user_id: str, sid: str) -> None:
        s = self.sids.get(user_id)
        if s is None:
            return
        s.discard(sid)
        if not s:
            del self.sids[user_id]
            self.staff_office.pop(user_id, None)

    def is_online(self, user_id: str) -> bool:
        return bool(self.sids.get(user_id))

    def online_staff(self, office: str) -> list[str]:
        return [uid for uid, off in self.staff_office.items() if off == office and self.sids.get(uid)]
