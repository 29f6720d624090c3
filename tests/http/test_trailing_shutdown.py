"""The rooms' trailing updates (server.storage.batching.Trailing) seen through the API, and written at shutdown."""

from __future__ import annotations

from typing import Any

import pytest
from bson import ObjectId

from server.settings import Settings


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # Long enough that nothing lands by itself during the test.
    return settings.model_copy(update={"pst_trailing_secs": 2.0})


async def test_the_api_shows_its_own_trailing_writes_and_shutdown_writes_them(
    client: Any, make_user: Any, make_staff: Any, db: Any
) -> None:
    officer = await make_staff("officer", "7406")
    user = await make_user()
    c = await user.post(
        "/consultations", {"office": "7406", "topic": "data", "subject": "Inflasi", "text": "Halo"}, expect=201
    )
    cid = c["id"]
    await officer.post(f"/consultations/{cid}/claim", expect=200)
    await officer.post(f"/consultations/{cid}/messages", {"text": "Jawaban", "client_id": "o1"}, expect=201)
    sent = await user.post(f"/consultations/{cid}/messages", {"text": "Terima kasih", "client_id": "u1"}, expect=201)
    await officer.post(f"/consultations/{cid}/read", {"seq": sent["seq"]}, expect=200)
    stored = await db.consultations.find_one({"_id": ObjectId(cid)})
    assert stored["last_seq"] < sent["seq"]  # still on its way
    # Whoever asks this process sees it already: the detail, the lists, the unread counts.
    detail = await officer.get(f"/consultations/{cid}")
    assert detail["last_seq"] == sent["seq"] and detail["last_message"]["text"] == "Terima kasih"
    mine = await officer.get("/consultations?assigned=me")
    assert [x["last_seq"] for x in mine["consultations"] if x["id"] == cid] == [sent["seq"]]
    # Shutting down writes them before the database closes.
    await client.close()
    stored = await db.consultations.find_one({"_id": ObjectId(cid)})
    assert stored["last_seq"] == sent["seq"] and stored["last_message"]["text"] == "Terima kasih"
    assert stored["reads"][officer.user["id"]] == sent["seq"]
