"""ZoomClient against the fake Zoom server: tokens, meeting bodies, retries and errors."""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import aiohttp
import pytest

from server.domain.clock import TestClock
from server.domain.errors import Unavailable, ValidationFailed
from server.embedded import free_port
from server.integrations.zoom import ZoomClient, public_meeting_fields
from tests.fakes.fake_zoom import FakeZoom, fake_zoom_server  # noqa: F401

MAKASSAR = ZoneInfo("Asia/Makassar")


class RecordingSleep:
    """Stands in for asyncio.sleep: remembers each back-off without waiting."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


@pytest.fixture
def zoom_clock() -> TestClock:
    # Monday 23 November 2026, 09:00 in Makassar.
    return TestClock(datetime(2026, 11, 23, 9, 0, tzinfo=MAKASSAR))


@pytest.fixture
def sleeps() -> RecordingSleep:
    return RecordingSleep()


def make_client(fake: FakeZoom, clock: TestClock, sleep: RecordingSleep, **kw: object) -> ZoomClient:
    return ZoomClient(
        fake.account_id,
        fake.client_id,
        fake.client_secret,
        fake.api_base,
        fake.oauth_url,
        clock=clock,
        sleep=sleep,
        **kw,  # type: ignore[arg-type]
    )


@pytest.fixture
async def zoom(
    fake_zoom: FakeZoom, zoom_clock: TestClock, sleeps: RecordingSleep
) -> AsyncIterator[ZoomClient]:
    client = make_client(fake_zoom, zoom_clock, sleeps)
    yield client
    await client.close()


def tomorrow_10_makassar() -> datetime:
    return datetime(2026, 11, 24, 10, 0, tzinfo=MAKASSAR)


# --- meeting bodies and the normalized result ---------------------------------------------------


async def test_scheduled_meeting_sends_local_time_with_its_zone(
    zoom: ZoomClient, fake_zoom: FakeZoom
) -> None:
    start = tomorrow_10_makassar().astimezone(UTC)  # given in UTC on purpose: the client must convert
    m = await zoom.create_meeting(
        topic="Konsultasi IHK",
        start=start,
        duration_min=45,
        tz="Asia/Makassar",
        agenda="Data inflasi kabupaten",
    )

    body = fake_zoom.created[-1].body
    assert fake_zoom.created[-1].content_type == "application/json"
    assert body["type"] == 2
    assert body["start_time"] == "2026-11-24T10:00:00"
    assert body["timezone"] == "Asia/Makassar"
    assert body["duration"] == 45
    assert body["topic"] == "Konsultasi IHK"
    assert body["agenda"] == "Data inflasi kabupaten"
    assert body["settings"] == {"waiting_room": True, "join_before_host": False}

    stored = fake_zoom.meetings[int(m["external_id"])]
    assert stored["start_time"] == "2026-11-24T02:00:00Z"  # Zoom read 10:00 WITA as 02:00 GMT
    assert m == {
        "provider": "zoom",
        "external_id": str(stored["id"]),
        "join_url": stored["join_url"],
        "start_url": stored["start_url"],
        "passcode": stored["password"],
        "start_time": datetime(2026, 11, 24, 2, 0, tzinfo=UTC),
        "duration": 45,
        "timezone": "Asia/Makassar",
        "topic": "Konsultasi IHK",
    }
    assert m["start_time"].tzinfo is not None
    assert "zak=" in m["start_url"]


async def test_instant_meeting_has_no_start_time(zoom: ZoomClient, fake_zoom: FakeZoom) -> None:
    m = await zoom.create_meeting(topic="Sekarang", start=None, duration_min=30, tz="Asia/Jakarta")
    body = fake_zoom.created[-1].body
    assert body["type"] == 1
    assert "start_time" not in body
    assert body["settings"]["waiting_room"] is True
    assert m["start_time"] is None
    assert m["duration"] == 30
    assert m["join_url"].startswith("https://")


async def test_long_topic_is_cut_to_zoom_limit(zoom: ZoomClient, fake_zoom: FakeZoom) -> None:
    m = await zoom.create_meeting(topic="Statistik " * 40, start=None, duration_min=30, tz="Asia/Jakarta")
    assert len(fake_zoom.created[-1].body["topic"]) == 200
    assert len(m["topic"]) == 200


def test_public_meeting_fields_drops_the_host_link() -> None:
    m = {
        "provider": "zoom",
        "external_id": "1",
        "join_url": "https://j",
        "start_url": "https://s?zak=x",
        "passcode": "abc",
        "start_time": None,
        "duration": 30,
        "timezone": "Asia/Jakarta",
        "topic": "t",
    }
    public = public_meeting_fields(m)
    assert "start_url" not in public
    assert public["join_url"] == "https://j"
    assert "zak=x" not in repr(public)
    assert m["start_url"] == "https://s?zak=x"  # the input is not changed


# --- officer input is checked before Zoom is called ------------------------------------------


async def test_start_in_the_past_is_refused_in_plain_words(
    zoom: ZoomClient, fake_zoom: FakeZoom, zoom_clock: TestClock
) -> None:
    with pytest.raises(ValidationFailed) as err:
        await zoom.create_meeting(
            topic="x", start=zoom_clock.now() - timedelta(minutes=1), duration_min=30, tz="Asia/Makassar"
        )
    assert err.value.code == "start_in_past"
    assert err.value.status == 422
    assert err.value.message == "Waktu mulai harus di masa depan / Start time must be in the future"
    assert fake_zoom.token_requests == 0 and fake_zoom.api_requests == 0


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"start": datetime(2026, 11, 24, 10, 0)}, "invalid_start_time"),  # noqa: DTZ001 - naive on purpose
        ({"tz": "Asia/Atlantis"}, "invalid_timezone"),
        ({"duration_min": 0}, "invalid_duration"),
        ({"topic": "   "}, "invalid_topic"),
    ],
)
async def test_bad_input_is_refused(
    zoom: ZoomClient, fake_zoom: FakeZoom, kwargs: dict[str, object], code: str
) -> None:
    args: dict[str, object] = {
        "topic": "t",
        "start": tomorrow_10_makassar(),
        "duration_min": 30,
        "tz": "Asia/Makassar",
        **kwargs,
    }
    with pytest.raises(ValidationFailed) as err:
        await zoom.create_meeting(**args)  # type: ignore[arg-type]
    assert err.value.code == code
    assert " / " in err.value.message
    assert fake_zoom.api_requests == 0


# --- the access token ---------------------------------------------------------------------------


async def test_token_is_cached_until_shortly_before_expiry(
    zoom: ZoomClient, fake_zoom: FakeZoom, zoom_clock: TestClock
) -> None:
    for _ in range(3):
        await zoom.create_meeting(topic="t", start=None, duration_min=30, tz="Asia/Jakarta")
    assert fake_zoom.token_requests == 1
    zoom_clock.advance(3599 - 300 - 10)
    await zoom.create_meeting(topic="t", start=None, duration_min=30, tz="Asia/Jakarta")
    assert fake_zoom.token_requests == 1
    zoom_clock.advance(20)  # now inside the 5-minute margin
    await zoom.create_meeting(topic="t", start=None, duration_min=30, tz="Asia/Jakarta")
    assert fake_zoom.token_requests == 2


async def test_twenty_concurrent_calls_fetch_the_token_once(zoom: ZoomClient, fake_zoom: FakeZoom) -> None:
    fake_zoom.new_token_revokes_old = True  # parallel fetches would break each other here
    results = await asyncio.gather(
        *(
            zoom.create_meeting(topic=f"Konsultasi {i}", start=None, duration_min=30, tz="Asia/Jakarta")
            for i in range(20)
        )
    )
    assert fake_zoom.token_requests == 1
    assert fake_zoom.api_requests == 20
    assert len({m["external_id"] for m in results}) == 20


async def test_401_refetches_the_token_once_and_retries(zoom: ZoomClient, fake_zoom: FakeZoom) -> None:
    await zoom.create_meeting(topic="t", start=None, duration_min=30, tz="Asia/Jakarta")
    fake_zoom.expire_tokens()
    m = await zoom.create_meeting(topic="after expiry", start=None, duration_min=30, tz="Asia/Jakarta")
    assert m["topic"] == "after expiry"
    assert fake_zoom.token_requests == 2
    assert fake_zoom.api_requests == 3


async def test_concurrent_401s_share_one_refetch(zoom: ZoomClient, fake_zoom: FakeZoom) -> None:
    await zoom.create_meeting(topic="t", start=None, duration_min=30, tz="Asia/Jakarta")
    fake_zoom.expire_tokens()
    await asyncio.gather(
        *(zoom.create_meeting(topic="t", start=None, duration_min=30, tz="Asia/Jakarta") for _ in range(10))
    )
    assert fake_zoom.token_requests == 2


async def test_401_twice_gives_up_with_a_clear_error(zoom: ZoomClient, fake_zoom: FakeZoom) -> None:
    fake_zoom.fail_401_next = 5
    with pytest.raises(Unavailable) as err:
        await zoom.create_meeting(topic="t", start=None, duration_min=30, tz="Asia/Jakarta")
    assert err.value.code == "zoom_unavailable"
    assert err.value.status == 503
    assert fake_zoom.token_requests == 2
    assert fake_zoom.api_requests == 2


async def test_wrong_credentials_say_zoom_is_misconfigured(
    fake_zoom: FakeZoom, zoom_clock: TestClock, sleeps: RecordingSleep
) -> None:
    fake_zoom.client_secret = "rotated-secret"
    client = ZoomClient(
        fake_zoom.account_id,
        fake_zoom.client_id,
        "old-secret",
        fake_zoom.api_base,
        fake_zoom.oauth_url,
        clock=zoom_clock,
        sleep=sleeps,
    )
    try:
        with pytest.raises(Unavailable) as err:
            await client.create_meeting(topic="t", start=None, duration_min=30, tz="Asia/Jakarta")
        assert err.value.code == "zoom_not_configured"
        assert "ZOOM_CLIENT_SECRET" in err.value.message
        assert fake_zoom.api_requests == 0
    finally:
        await client.close()


async def test_missing_credentials_never_call_zoom(fake_zoom: FakeZoom, zoom_clock: TestClock) -> None:
    client = ZoomClient(None, None, None, fake_zoom.api_base, fake_zoom.oauth_url, clock=zoom_clock)
    try:
        assert not client.configured
        with pytest.raises(Unavailable) as err:
            await client.create_meeting(topic="t", start=None, duration_min=30, tz="Asia/Jakarta")
        assert err.value.code == "zoom_not_configured"
        assert fake_zoom.token_requests == 0
    finally:
        await client.close()


async def test_token_endpoint_down_is_unavailable(zoom: ZoomClient, fake_zoom: FakeZoom) -> None:
    fake_zoom.fail_oauth_500_next = 1
    with pytest.raises(Unavailable) as err:
        await zoom.create_meeting(topic="t", start=None, duration_min=30, tz="Asia/Jakarta")
    assert err.value.code == "zoom_unavailable"
    # The failure is not cached: the next call fetches a token and works.
    await zoom.create_meeting(topic="t", start=None, duration_min=30, tz="Asia/Jakarta")
    assert fake_zoom.token_requests == 2


# --- rate limits ------------------------------------------------------------------------------


async def test_429_waits_for_retry_after_then_succeeds(
    zoom: ZoomClient, fake_zoom: FakeZoom, sleeps: RecordingSleep
) -> None:
    fake_zoom.fail_429_next = 1
    fake_zoom.retry_after = "2"
    m = await zoom.create_meeting(topic="t", start=None, duration_min=30, tz="Asia/Jakarta")
    assert m["provider"] == "zoom"
    assert sleeps.delays == [2.0]
    assert len(fake_zoom.meetings) == 1


async def test_429_without_retry_after_backs_off_exponentially(
    zoom: ZoomClient, fake_zoom: FakeZoom, sleeps: RecordingSleep
) -> None:
    fake_zoom.fail_429_next = 3
    fake_zoom.retry_after = None
    await zoom.create_meeting(topic="t", start=None, duration_min=30, tz="Asia/Jakarta")
    assert sleeps.delays == [0.5, 1.0, 2.0]


async def test_429_that_never_ends_gives_up(
    zoom: ZoomClient, fake_zoom: FakeZoom, sleeps: RecordingSleep
) -> None:
    fake_zoom.fail_429_next = 100
    fake_zoom.retry_after = None
    with pytest.raises(Unavailable) as err:
        await zoom.create_meeting(topic="t", start=None, duration_min=30, tz="Asia/Jakarta")
    assert err.value.code == "zoom_rate_limited"
    assert len(sleeps.delays) == 3
    assert fake_zoom.api_requests == 4


async def test_429_with_a_daily_retry_after_fails_at_once(
    zoom: ZoomClient, fake_zoom: FakeZoom, sleeps: RecordingSleep
) -> None:
    fake_zoom.fail_429_next = 1
    fake_zoom.retry_after = "36000"
    with pytest.raises(Unavailable) as err:
        await zoom.create_meeting(topic="t", start=None, duration_min=30, tz="Asia/Jakarta")
    assert err.value.code == "zoom_rate_limited"
    assert sleeps.delays == []


async def test_real_backoff_is_fast_with_a_small_base(fake_zoom: FakeZoom, zoom_clock: TestClock) -> None:
    fake_zoom.fail_429_next = 2
    fake_zoom.retry_after = None
    client = ZoomClient(
        fake_zoom.account_id,
        fake_zoom.client_id,
        fake_zoom.client_secret,
        fake_zoom.api_base,
        fake_zoom.oauth_url,
        clock=zoom_clock,
        backoff_base=0.001,
    )
    try:
        await client.create_meeting(topic="t", start=None, duration_min=30, tz="Asia/Jakarta")
        assert fake_zoom.api_requests == 3
    finally:
        await client.close()


# --- errors -----------------------------------------------------------------------------------


async def test_zoom_validation_error_is_shown_to_the_officer(zoom: ZoomClient, fake_zoom: FakeZoom) -> None:
    fake_zoom.fail_400_next = 1
    fake_zoom.fail_400_message = "Meeting start time is too far in the future."
    with pytest.raises(ValidationFailed) as err:
        await zoom.create_meeting(
            topic="t", start=tomorrow_10_makassar(), duration_min=30, tz="Asia/Makassar"
        )
    assert err.value.code == "zoom_rejected"
    assert err.value.status == 422
    assert err.value.message.startswith("Zoom menolak permintaan: Meeting start time is too far")
    assert "Zoom rejected the request: Meeting start time is too far in the future." in err.value.message
    assert err.value.details["zoom_code"] == 300


async def test_server_error_is_unavailable_and_not_retried(zoom: ZoomClient, fake_zoom: FakeZoom) -> None:
    fake_zoom.fail_500_next = 1
    with pytest.raises(Unavailable) as err:
        await zoom.create_meeting(topic="t", start=None, duration_min=30, tz="Asia/Jakarta")
    assert err.value.code == "zoom_unavailable"
    assert fake_zoom.api_requests == 1  # a POST that may have half-happened is not repeated
    assert fake_zoom.meetings == {}


async def test_slow_zoom_times_out(fake_zoom: FakeZoom, zoom_clock: TestClock) -> None:
    fake_zoom.delay_secs = 0.3
    client = ZoomClient(
        fake_zoom.account_id,
        fake_zoom.client_id,
        fake_zoom.client_secret,
        fake_zoom.api_base,
        fake_zoom.oauth_url,
        clock=zoom_clock,
        timeout_secs=0.05,
    )
    try:
        with pytest.raises(Unavailable) as err:
            await client.create_meeting(topic="t", start=None, duration_min=30, tz="Asia/Jakarta")
        assert err.value.code == "zoom_unavailable"
    finally:
        await client.close()


async def test_unreachable_zoom_is_unavailable(zoom_clock: TestClock) -> None:
    port = free_port()  # nothing listens there
    client = ZoomClient(
        "a", "b", "c", f"http://127.0.0.1:{port}/v2", f"http://127.0.0.1:{port}/oauth/token", clock=zoom_clock
    )
    try:
        with pytest.raises(Unavailable) as err:
            await client.create_meeting(topic="t", start=None, duration_min=30, tz="Asia/Jakarta")
        assert err.value.code == "zoom_unavailable"
    finally:
        await client.close()


async def test_secrets_and_tokens_never_reach_the_log(
    zoom: ZoomClient, fake_zoom: FakeZoom, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    await zoom.create_meeting(topic="t", start=None, duration_min=30, tz="Asia/Jakarta")
    issued = list(fake_zoom.tokens)
    fake_zoom.fail_401_next = 1
    fake_zoom.fail_429_next = 1
    await zoom.create_meeting(topic="t", start=None, duration_min=30, tz="Asia/Jakarta")
    issued += list(fake_zoom.tokens)
    assert caplog.records  # the client did log something
    for secret in [fake_zoom.client_secret, *issued]:
        assert secret not in caplog.text
    assert fake_zoom.client_secret not in repr(zoom)


# --- update and delete ------------------------------------------------------------------------


async def test_update_moves_the_meeting(zoom: ZoomClient, fake_zoom: FakeZoom) -> None:
    m = await zoom.create_meeting(
        topic="t", start=tomorrow_10_makassar(), duration_min=30, tz="Asia/Makassar"
    )
    await zoom.update_meeting(
        m["external_id"],
        start=tomorrow_10_makassar() + timedelta(hours=3),
        duration_min=60,
        tz="Asia/Makassar",
        topic="Dipindah",
    )
    patch = [r for r in fake_zoom.requests if r.method == "PATCH"][-1]
    assert patch.body == {
        "start_time": "2026-11-24T13:00:00",
        "timezone": "Asia/Makassar",
        "duration": 60,
        "topic": "Dipindah",
    }
    stored = fake_zoom.meetings[int(m["external_id"])]
    assert stored["start_time"] == "2026-11-24T05:00:00Z"
    assert stored["duration"] == 60
    assert stored["topic"] == "Dipindah"


async def test_update_of_a_missing_meeting_is_rejected(zoom: ZoomClient, fake_zoom: FakeZoom) -> None:
    with pytest.raises(ValidationFailed) as err:
        await zoom.update_meeting(
            "12345678901", start=tomorrow_10_makassar(), duration_min=30, tz="Asia/Makassar"
        )
    assert err.value.code == "zoom_rejected"
    assert "Meeting does not exist" in err.value.message


async def test_delete_twice_is_fine(zoom: ZoomClient, fake_zoom: FakeZoom) -> None:
    m = await zoom.create_meeting(topic="t", start=None, duration_min=30, tz="Asia/Jakarta")
    assert await zoom.delete_meeting(m["external_id"]) is True
    assert fake_zoom.meetings == {}
    assert await zoom.delete_meeting(m["external_id"]) is False


async def test_meeting_id_cannot_reach_another_path(zoom: ZoomClient, fake_zoom: FakeZoom) -> None:
    for bad in ("../users/me", "123/recordings", "", "１２３"):
        with pytest.raises(ValidationFailed) as err:
            await zoom.delete_meeting(bad)
        assert err.value.code == "invalid_meeting_id"
    assert fake_zoom.api_requests == 0


# --- session ownership ------------------------------------------------------------------------


async def test_close_leaves_a_borrowed_session_open(fake_zoom: FakeZoom, zoom_clock: TestClock) -> None:
    async with aiohttp.ClientSession() as session:
        client = ZoomClient(
            fake_zoom.account_id,
            fake_zoom.client_id,
            fake_zoom.client_secret,
            fake_zoom.api_base,
            fake_zoom.oauth_url,
            session=session,
            clock=zoom_clock,
        )
        await client.create_meeting(topic="t", start=None, duration_min=30, tz="Asia/Jakarta")
        await client.close()
        assert not session.closed


# --- the fake itself is strict (so the tests above can fail) ----------------------------------


async def test_fake_zoom_rejects_what_real_zoom_rejects(fake_zoom: FakeZoom) -> None:
    basic = {
        "Authorization": "Basic "
        + base64.b64encode(f"{fake_zoom.client_id}:{fake_zoom.client_secret}".encode()).decode()
    }
    async with aiohttp.ClientSession() as http:
        async with http.get(fake_zoom.oauth_url) as r:
            assert r.status == 405
        async with http.post(
            fake_zoom.oauth_url,
            params={"grant_type": "client_credentials", "account_id": fake_zoom.account_id},
            headers=basic,
        ) as r:
            assert r.status == 400
        async with http.post(
            fake_zoom.oauth_url,
            params={"grant_type": "account_credentials", "account_id": fake_zoom.account_id},
            headers=basic,
        ) as r:
            token = (await r.json())["access_token"]
        meetings = f"{fake_zoom.api_base}/users/me/meetings"
        async with http.post(meetings, json={"topic": "t", "type": 1, "duration": 30}) as r:
            assert r.status == 401
            assert (await r.json())["code"] == 124
        auth = {"Authorization": f"Bearer {token}"}
        bad_bodies = [
            {
                "topic": "t",
                "type": 2,
                "duration": 30,
                "start_time": "2026-11-24T10:00:00+08:00",
                "timezone": "Asia/Makassar",
            },
            {"topic": "t", "type": 2, "duration": 30, "start_time": "2026-11-24T10:00:00"},
            {"topic": "t", "type": 2, "duration": "30", "start_time": "2026-11-24T10:00:00Z"},
            {"topic": "t", "type": 3, "duration": 30},
            {"type": 1, "duration": 30},
        ]
        for body in bad_bodies:
            async with http.post(meetings, json=body, headers=auth) as r:
                assert r.status == 400, body
                assert (await r.json())["code"] == 300
        async with http.post(meetings, data="topic=t", headers=auth) as r:
            assert r.status == 400
