"""A bare python-socketio relay: the floor our chat server is compared against in bench/chat_latency.py.

No authentication, no storage: a client joins rooms and every `message:send` is acknowledged and
re-emitted as `message:new` to its room (the sender included, as our server does). It is tuned the
way `pst serve` is (uvloop, permessage-deflate off, gc frozen after start-up with raised
thresholds) so that the ratio measures what our server adds, not tuning differences.

    python bench/bare_relay.py --port 8765 [--host 127.0.0.1] [--untuned]
"""

from __future__ import annotations

import argparse
import gc
import itertools
import sys
from datetime import UTC, datetime
from typing import Any

import socketio
from aiohttp import web
from engineio.async_drivers import aiohttp as eio_aiohttp


class _NoCompressWebSocket(eio_aiohttp.WebSocket):  # type: ignore[misc]
    """The same override as server/realtime/sio.py: no permessage-deflate."""

    async def __call__(self, environ: dict[str, Any]) -> web.WebSocketResponse:
        request = environ["aiohttp.request"]
        self._sock = web.WebSocketResponse(max_msg_size=self.server.max_http_buffer_size, compress=False)
        await self._sock.prepare(request)
        self.environ = environ
        await self.handler(self)
        return self._sock


def make_app(*, compress: bool = False) -> web.Application:
    """The relay: the same AsyncServer options as our server (server/realtime/sio.py:attach)."""
    sio = socketio.AsyncServer(
        async_mode="aiohttp",
        cors_allowed_origins=[],
        http_compression=False,
        max_http_buffer_size=64 * 1024,
        ping_interval=25,
        ping_timeout=20,
        logger=False,
        engineio_logger=False,
    )
    if not compress:
        sio.eio._async = dict(sio.eio._async, websocket=_NoCompressWebSocket)
    app = web.Application()
    sio.attach(app, socketio_path="socket.io")
    ids = itertools.count(1)
    seqs: dict[str, int] = {}
    names: dict[str, str] = {}

    @sio.event  # type: ignore[untyped-decorator]
    async def connect(sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        name = auth.get("name") if isinstance(auth, dict) else None
        names[sid] = str(name or sid)

    @sio.event  # type: ignore[untyped-decorator]
    async def disconnect(sid: str, reason: Any = None) -> None:
        names.pop(sid, None)

    @sio.on("consultation:join")  # type: ignore[untyped-decorator]
    async def join(sid: str, data: Any = None) -> dict[str, Any]:
        if not isinstance(data, dict) or not isinstance(data.get("consultation_id"), str):
            return {"ok": False, "error": {"code": "invalid_payload", "message": "consultation_id"}}
        await sio.enter_room(sid, "c:" + data["consultation_id"])
        return {"ok": True, "messages": []}

    @sio.on("message:send")  # type: ignore[untyped-decorator]
    async def send(sid: str, data: Any = None) -> dict[str, Any]:
        if not isinstance(data, dict) or not isinstance(data.get("consultation_id"), str):
            return {"ok": False, "error": {"code": "invalid_payload", "message": "consultation_id"}}
        cid = data["consultation_id"]
        seq = seqs[cid] = seqs.get(cid, 0) + 1
        # About the shape and size of our server's message:new payload (server/domain/models.py).
        msg = {
            "id": f"{next(ids):024x}",
            "consultation_id": cid,
            "seq": seq,
            "kind": "text",
            "author": {"id": sid, "name": names.get(sid, sid), "role": "user"},
            "text": str(data.get("text", "")),
            "created_at": datetime.now(UTC).isoformat(),
            "client_id": data.get("client_id"),
        }
        await sio.emit("message:new", msg, room="c:" + cid)
        return {"ok": True, "message": msg}

    return app


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument(
        "--untuned", action="store_true", help="python-socketio defaults: asyncio loop, ws compression on, default gc"
    )
    args = parser.parse_args(argv)
    if args.host not in ("127.0.0.1", "::1", "localhost"):
        print("bare_relay: loopback addresses only", file=sys.stderr)
        return 2
    app = make_app(compress=args.untuned)
    if not args.untuned:
        try:
            import uvloop

            uvloop.install()
        except ImportError:
            pass

        async def freeze_gc(_: web.Application) -> None:
            # The same as server/cli.py: the start-up heap stays out of every collection.
            gc.collect()
            gc.freeze()
            gc.set_threshold(50_000, 20, 100)

        app.on_startup.append(freeze_gc)
    web.run_app(app, host=args.host, port=args.port, access_log=None, print=None, handle_signals=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
