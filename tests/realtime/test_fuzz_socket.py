"""Hypothesis on socket payloads: every client event (server.domain.events.RECEIVED) with generated payloads
(any JSON, the right keys with the wrong types, huge numbers, lone surrogates, long strings, bytes), from a
member of the public, an officer and an anonymous board watcher. Every answer is an ack; none is
`internal_error`; the connection stays up and still works afterwards.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections import Counter
from typing import Any

import hypothesis.strategies as st
import pytest
import socketio
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hsettings

from server.domain import events as ev
from server.domain import walkin_board
from tests.conftest import Api
from tests.http import world as world_mod

SOCKET_EXAMPLES = int(os.environ.get("PST_FUZZ_SOCKET_EXAMPLES", "60"))
CALL_TIMEOUT_SECS = 15
# Under server/realtime/sio.py's max_http_buffer_size (64 KB): a bigger frame closes the connection by design.
FRAME_MAX_BYTES = 60_000

_surrogates = st.text(st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), min_size=1, max_size=4)
_text = st.one_of(
    st.text(max_size=40),
    st.text(st.characters(codec="utf-8"), max_size=40),
    st.builds(lambda a, s, b: a + s + b, st.text(max_size=5), _surrogates, st.text(max_size=5)),
    # Long strings, cheap to make: one character repeated past every field's limit, but within a frame of
    # server/realtime/sio.py's max_http_buffer_size (64 KB), past which Engine.IO closes the connection by
    # design (a character outside ASCII takes up to 12 bytes as JSON).
    st.builds(lambda c, n: c * n, st.characters(max_codepoint=0x7F), st.integers(1_000, 40_000)),
    st.builds(lambda c, n: c * n, st.characters(), st.integers(500, 3_000)),
    st.sampled_from(["", " ", "\x00", "000000000000000000000000", "ffffffffffffffffffffffff", "7406", "note"]),
)
_number = st.one_of(
    st.integers(),
    st.integers(min_value=2**53, max_value=2**200),
    st.integers(min_value=-(2**200), max_value=-1),
    st.floats(allow_nan=False),
    st.sampled_from([0, -1, 10**9, 10**9 + 1, 2**63, 2**64, 1e308, -0.0]),
)
_scalar = st.one_of(st.none(), st.booleans(), _number, _text, st.binary(max_size=64))
_json = st.recursive(
    _scalar,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=10), inner, max_size=4)),
    max_leaves=12,
)


def _payloads(event: str, real_ids: list[str]) -> st.SearchStrategy[Any]:
    """Anything at all, or the event's own keys (and a real consultation id) with any values."""
    fields = list(ev.RECEIVED[event].model_fields)
    keyed = st.fixed_dictionaries({}, optional={name: _json for name in fields})
    with_real = (
        st.builds(lambda d, cid: {**d, "consultation_id": cid}, keyed, st.sampled_from(real_ids))
        if "consultation_id" in fields
        else keyed
    )
    return st.one_of(_json, keyed, with_real).filter(lambda p: _frame_bytes(p) < FRAME_MAX_BYTES)


def _frame_bytes(payload: Any) -> int:
    """About what the payload takes on the wire as JSON (bytes travel as binary attachments)."""
    return len(json.dumps(payload, default=lambda b: "x" * len(b)))


def _fuzz_event(
    loop: asyncio.AbstractEventLoop,
    sock: Any,
    event: str,
    strategy: st.SearchStrategy[Any],
    acks: Counter[str],
    bad: list[str],
) -> int:
    """Run one event's examples from this thread, each call on the test's loop; the number of examples."""
    count = 0
    last: Any = None

    @hsettings(
        max_examples=SOCKET_EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(payload=strategy)
    def run(payload: Any) -> None:
        nonlocal count, last
        count += 1
        if not sock.sio.connected:
            bad.append(f"{event}: the connection closed after {last!r:.300}")
            raise AssertionError(bad[-1])
        last = payload
        ack = asyncio.run_coroutine_threadsafe(
            sock.sio.call(event, payload, namespace=sock.namespace, timeout=CALL_TIMEOUT_SECS), loop
        ).result()
        code = "ok" if isinstance(ack, dict) and ack.get("ok") else str(((ack or {}).get("error") or {}).get("code"))
        acks[code] += 1
        if not isinstance(ack, dict) or code == "internal_error" or not sock.sio.connected:
            bad.append(f"{event} {payload!r:.300} -> {ack!r:.300} (connected: {sock.sio.connected})")
            raise AssertionError(bad[-1])

    try:
        run()
    except AssertionError:
        pass  # recorded in `bad` (the shrunk example last)
    return count


class _Sock:
    def __init__(self, sio: Any, namespace: str = "/") -> None:
        self.sio = sio
        self.namespace = namespace


# A failing example of 200,000 characters makes Hypothesis warn about its repr: the failure is what counts.
@pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisWarning")
async def test_socket_events_with_generated_payloads_never_fail_inside(
    client: Any, anon: Api, make_user: Any, make_staff: Any, connect: Any
) -> None:
    w = await world_mod.build(anon, make_user, make_staff)
    real_ids = [w.ids["consultation"], w.ids["queued"], w.ids["closed"]]
    loop = asyncio.get_running_loop()
    acks: Counter[str] = Counter()
    bad: list[str] = []
    examples = 0
    user_sock = await connect(w.user_a)
    officer_sock = await connect(w.officer)
    main_events = [e for e in ev.RECEIVED if e != ev.BOARD_WATCH]
    for sc in (user_sock, officer_sock):
        for event in main_events:
            examples += await asyncio.to_thread(
                _fuzz_event, loop, _Sock(sc.sio), event, _payloads(event, real_ids), acks, bad
            )
    # The board namespace: no login.
    board = socketio.AsyncClient(reconnection=False)
    await board.connect(str(client.make_url("/")), namespaces=[walkin_board.BOARD_NAMESPACE], transports=["websocket"])
    try:
        examples += await asyncio.to_thread(
            _fuzz_event,
            loop,
            _Sock(board, walkin_board.BOARD_NAMESPACE),
            ev.BOARD_WATCH,
            _payloads(ev.BOARD_WATCH, real_ids),
            acks,
            bad,
        )
        assert board.connected, bad
        watched = await board.call(ev.BOARD_WATCH, {"office": "7406"}, namespace=walkin_board.BOARD_NAMESPACE)
        assert watched["ok"] is True
    finally:
        await board.disconnect()
    print(f"\nsocket fuzzing: {examples} payloads over {len(ev.RECEIVED)} events; acks {dict(acks.most_common())}")
    assert not bad, "\n".join(bad)
    # Both connections still work.
    for sc, api in ((user_sock, w.user_a), (officer_sock, w.officer)):
        assert sc.sio.connected
        joined = await sc.call(ev.CONSULTATION_JOIN, {"consultation_id": w.ids["consultation"]})
        assert joined["ok"] is True, (api.user, joined)
    assert examples >= SOCKET_EXAMPLES * len(ev.RECEIVED)
