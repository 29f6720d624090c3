"""The queue boards over Socket.IO (namespace /board, no login): watch an office, hear every change."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import socketio
from pydantic import TypeAdapter

from server.domain import events as ev
from tests.conftest import Api
from tests.http.test_walkin import MORNING, clock, take


class BoardClient:
    """A python-socketio client of the /board namespace that records every event."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.sio = socketio.AsyncClient(reconnection=False)
        self.events: list[tuple[str, Any]] = []

        @self.sio.on("*", namespace="/board")
        async def any_event(event: str, data: Any = None) -> None:
            self.events.append((event, data))

    async def connect(self) -> BoardClient:
        await self.sio.connect(
            self.url, namespaces=["/board"], transports=["websocket"], socketio_path="socket.io", wait_timeout=10
        )
        return self

    async def call(self, event: str, data: Any) -> Any:
        return await self.sio.call(event, data, namespace="/board", timeout=10)

    def boards(self, office: str) -> list[Any]:
        return [d for e, d in self.events if e == ev.QUEUE_BOARD and d["office"] == office]

    async def wait_for(self, pred: Any, within: float = 5.0) -> Any:
        deadline = asyncio.get_running_loop().time() + within
        while True:
            for e, d in self.events:
                if e == ev.QUEUE_BOARD and pred(d):
                    return d
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"no matching queue:board; got {self.events}")
            await asyncio.sleep(0.02)


async def board_client(client: Any, opened: list[BoardClient]) -> BoardClient:
    bc = await BoardClient(str(client.make_url("/"))).connect()
    opened.append(bc)
    return bc


async def test_board_watch_then_every_change_without_login(client: Any, anon: Api, make_staff: Any) -> None:
    opened: list[BoardClient] = []
    try:
        await clock(client, at=MORNING)
        officer = await make_staff("officer", "7406", name="Budi")
        tv = await board_client(client, opened)
        other_tv = await board_client(client, opened)
        ack = await tv.call(ev.BOARD_WATCH, {"office": "7406"})
        assert ack["ok"] is True and ack["board"]["waiting"] == [] and ack["board"]["done_today"] == 0
        assert (await other_tv.call(ev.BOARD_WATCH, {"office": "1600"}))["ok"] is True
        bad = await tv.call(ev.BOARD_WATCH, {"office": "9999"})
        assert bad["ok"] is False and bad["error"]["code"] == "office_not_found"
        bad = await tv.call(ev.BOARD_WATCH, {"office": "../x"})
        assert bad["ok"] is False

        entry = await anon.post(
            "/offices/7406/guestbook", {"name": "Rina", "email": "rina@example.org", "purpose": "Data IPM"}, expect=201
        )
        await take(anon, "7406", guestbook_id=entry["entry"]["id"])
        b = await tv.wait_for(lambda d: len(d["waiting"]) == 1)
        assert b["waiting"][0]["number"] == "A-001" and "Rina" not in json.dumps(b)
        t = (await officer.post("/offices/7406/queue/next", {"desk": "2"}, expect=200))["ticket"]
        b = await tv.wait_for(lambda d: d["called"] and d["called"][0]["desk"] == "2")
        assert b["called"][0]["number"] == "A-001" and b["waiting"] == []
        await officer.post(f"/queue/tickets/{t['id']}/recall", {}, expect=200)
        await tv.wait_for(lambda d: d["called"] and d["called"][0]["recalls"] == 1)
        await officer.post(f"/queue/tickets/{t['id']}/serve", expect=200)
        await tv.wait_for(lambda d: [x["number"] for x in d["serving"]] == ["A-001"])
        await officer.post(f"/queue/tickets/{t['id']}/done", {"summary": "Selesai."}, expect=200)
        await tv.wait_for(lambda d: d["done_today"] == 1 and not d["serving"])
        # The other office's board heard nothing of this one.
        assert other_tv.boards("7406") == [] and other_tv.boards("1600") == []
        # Every payload is the contract's QueueBoard.
        for payload in tv.boards("7406"):
            TypeAdapter(ev.EMITTED[ev.QUEUE_BOARD]).validate_python(json.loads(json.dumps(payload)), strict=True)
        # Watching another office leaves the first one.
        assert (await tv.call(ev.BOARD_WATCH, {"office": "1600"}))["ok"] is True
        seen = len(tv.boards("7406"))
        await take(anon, "7406")
        await take(anon, "1600")
        await tv.wait_for(lambda d: d["office"] == "1600" and d["waiting"])
        await asyncio.sleep(0.2)
        assert len(tv.boards("7406")) == seen
    finally:
        for bc in opened:
            await bc.sio.disconnect()
