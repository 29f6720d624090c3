"""The SLA is met by an answer, not by a greeting (issue 17): the first staff reply is the first response,
the first reply marked as the answer (or the close) stops the clock; over HTTP and the socket."""

from __future__ import annotations

from typing import Any

from server.domain import reports
from tests.conftest import Api


async def _open(user: Api, officer: Api) -> Any:
    c = await user.post(
        "/consultations", {"office": "7406", "topic": "data", "subject": "Upah", "text": "Berapa?"}, expect=201
    )
    await officer.post(f"/consultations/{c['id']}/claim", expect=200)
    return c


async def test_an_acknowledgement_is_a_first_response_not_the_answer(
    make_user: Any, make_staff: Any, connect: Any
) -> None:
    officer = await make_staff("officer", "7406")
    user = await make_user()
    c = await _open(user, officer)
    ack = await officer.post(
        f"/consultations/{c['id']}/messages",
        {"text": "Sedang kami pelajari.", "client_id": "g1", "answer": False},
        expect=201,
    )
    assert ack["answer"] is False
    after = await officer.get(f"/consultations/{c['id']}")
    assert after["first_response_at"] and after["answered_at"] is None
    assert after["sla"]["state"] != "met" and after["sla"]["met_at"] is None
    # Still unanswered: a clarification may be asked for.
    await officer.post(f"/consultations/{c['id']}/clarification", {"awaiting": True}, expect=200)
    await officer.post(f"/consultations/{c['id']}/clarification", {"awaiting": False}, expect=200)
    # The answer over the socket: an ordinary reply is the answer by default.
    sock = await connect(officer)
    assert (await sock.call("consultation:join", {"consultation_id": c["id"]}))["ok"]
    sent = await sock.call("message:send", {"consultation_id": c["id"], "text": "Rp2,9 juta.", "client_id": "a1"})
    assert sent["ok"] and sent["message"]["answer"] is True
    done = await officer.get(f"/consultations/{c['id']}")
    assert done["sla"]["state"] == "met" and done["answered_at"] == done["sla"]["met_at"]
    assert done["first_response_at"] == after["first_response_at"]  # the first reply stays the first response
    await officer.call("POST", f"/consultations/{c['id']}/clarification", {"awaiting": True}, expect=409)
    # A user's message never carries the flag.
    mine = await user.post(
        f"/consultations/{c['id']}/messages", {"text": "Terima kasih", "client_id": "u", "answer": True}, expect=201
    )
    assert "answer" not in mine


async def test_the_close_stops_the_clock_when_no_answer_did(make_user: Any, make_staff: Any) -> None:
    officer = await make_staff("officer", "7406")
    user = await make_user()
    c = await _open(user, officer)
    await officer.post(
        f"/consultations/{c['id']}/messages",
        {"text": "Halo, selamat pagi.", "client_id": "g1", "answer": False},
        expect=201,
    )
    closed = await officer.post(f"/consultations/{c['id']}/close", {"summary": "Dijawab lewat telepon."}, expect=200)
    assert closed["sla"]["state"] == "met" and closed["sla"]["met_at"] == closed["closed_at"]
    assert closed["answered_at"] is None


def test_the_reports_count_the_clock_stop_not_the_greeting() -> None:
    from datetime import UTC, datetime, timedelta

    due = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
    greeting = due - timedelta(days=2)
    now = due + timedelta(days=1)
    running = {"sla": {"due_at": due, "state": "on_track"}, "first_response_at": greeting}
    assert reports.sla_outcome(running, now) == "breached"
    assert reports.sla_outcome(running, due - timedelta(days=1)) == "pending"
    stopped = {
        "sla": {"due_at": due, "state": "met", "met_at": due - timedelta(hours=1)},
        "first_response_at": greeting,
    }
    assert reports.sla_outcome(stopped, now) == "met"
    # Stored before the rule: met at the first reply.
    legacy = {"sla": {"due_at": due, "state": "met"}, "first_response_at": greeting}
    assert reports.sla_outcome(legacy, now) == "met"


async def test_the_summary_counts_a_greeting_only_consultation_as_breached(
    make_user: Any, make_staff: Any, anon: Api
) -> None:
    officer = await make_staff("officer", "7406")
    supervisor = await make_staff("supervisor", "7406")
    user = await make_user()
    greeted = await _open(user, officer)
    await officer.post(
        f"/consultations/{greeted['id']}/messages", {"text": "Halo.", "client_id": "g", "answer": False}, expect=201
    )
    answered = await _open(user, officer)
    await officer.post(f"/consultations/{answered['id']}/messages", {"text": "Jawaban.", "client_id": "a"}, expect=201)
    await anon.call("POST", "/_test/clock", {"set": "2026-12-10T09:00:00+07:00"}, expect=200)
    out = await supervisor.get("/reports/summary?office=7406&from=2026-11-01&to=2026-11-30")
    assert out["sla"]["met"] == 1 and out["sla"]["breached"] == 1 and out["sla"]["pending"] == 0
