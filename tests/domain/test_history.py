"""History pages read seq windows; a user's pages skip notes yet stay full and in order."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from server.domain import messages


async def _room(svc: Any, n: int, note_every: int) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    now = datetime(2026, 11, 23, tzinfo=UTC)
    user = {"name": "U", "email": "u@example.id", "role": "user", "created_at": now, "email_verified_at": now}
    user["_id"] = (await svc.db.users.insert_one(dict(user))).inserted_id
    staff = {"_id": None, "name": "S", "role": "officer", "office": "7406"}
    c = {"number": "7406-2026-00001", "office": "7406", "channel": "online", "user_id": user["_id"],
         "status": "active", "created_at": now, "last_seq": n, "last_visible_seq": n, "reads": {}}
    c["_id"] = (await svc.db.consultations.insert_one(dict(c))).inserted_id
    await svc.db.messages.insert_many([
        {"consultation_id": c["_id"], "seq": s, "kind": "note" if s % note_every == 0 else "text",
         "text": f"m{s}", "created_at": now} for s in range(1, n + 1)])
    return c, user, staff


async def test_user_pages_skip_notes_and_stay_full(svc: Any) -> None:
    c, user, staff = await _room(svc, 300, note_every=3)
    visible = [s for s in range(1, 301) if s % 3]
    _, first = await messages.history(svc, user, c["_id"], after_seq=0, limit=50)
    assert [m["seq"] for m in first] == visible[:50]
    _, nxt = await messages.history(svc, user, c["_id"], after_seq=first[-1]["seq"], limit=50)
    assert [m["seq"] for m in nxt] == visible[50:100]
    _, last_page = await messages.history(svc, user, c["_id"], before_seq=301, limit=50)
    assert [m["seq"] for m in last_page] == visible[-50:]
    _, older = await messages.history(svc, user, c["_id"], before_seq=last_page[0]["seq"], limit=50)
    assert [m["seq"] for m in older] == visible[-100:-50]
    _, staff_page = await messages.history(svc, staff, c["_id"], before_seq=301, limit=50)
    assert [m["seq"] for m in staff_page] == list(range(251, 301))
    _, tail = await messages.history(svc, user, c["_id"], after_seq=295, limit=50)
    assert [m["seq"] for m in tail] == [s for s in visible if s > 295]


async def test_a_message_whose_room_update_lags_is_still_returned(svc: Any) -> None:
    c, user, _ = await _room(svc, 10, note_every=1000)
    # Stored, but the consultation's last_seq not yet moved (the update is in flight).
    await svc.db.messages.insert_one({"consultation_id": c["_id"], "seq": 11, "kind": "text", "text": "m11",
                                      "created_at": datetime(2026, 11, 23, tzinfo=UTC)})
    _, page = await messages.history(svc, user, c["_id"], after_seq=8, limit=50)
    assert [m["seq"] for m in page] == [9, 10, 11]
