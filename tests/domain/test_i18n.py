"""server/i18n.py: one catalog per language, the same keys and params in each, every entry renders."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from jinja2 import Environment, meta

from server import i18n

START = datetime(2026, 11, 24, 6, 0, tzinfo=UTC)
# Params a caller passes for each group of keys (the tests of the callers check the texts themselves).
SAMPLES: dict[str, dict[str, Any]] = {
    "consultation.": {
        "officer": "Budi",
        "office": "BPS Bombana",
        "by": "Budi",
        "summary": "selesai",
        "user": "Sari",
        "close_at": START,
        "tz": "Asia/Makassar",
    },
    "rating.": {"score": 4, "max": 5, "comment": "cepat"},
    "meeting.": {
        "provider": "link",
        "start": START,
        "tz": "Asia/Makassar",
        "duration": 45,
        "join_url": "https://meet.example/x",
        "passcode": "1234",
    },
    "visit.": {
        "start": START,
        "tz": "Asia/Makassar",
        "code": "AB12",
        "place": "Perpustakaan",
        "address": "Jl. Pemuda",
        "requirements": ["KTP"],
    },
    "walk_in.": {"number": "A-001", "desk": 2, "officer": "Budi", "purpose": "Data IHK", "institution": "Univ"},
    "survey.": {"link": "https://pst.test/survey?consultation=c1&token=x"},
    "channel.": {
        "filename": "tabel.pdf",
        "reason": "terlalu besar",
        "type": "audio",
        "number": "7406-2026-00001",
        "office": "BPS Bombana",
        "officer": "Budi",
        "text": "Halo",
        "summary": "selesai",
        "link": "https://pst.test/rate?token=x",
        "close_at": START,
        "start": START,
        "tz": "Asia/Makassar",
        "join_url": "https://meet.example/x",
        "passcode": "1234",
        "code": "AB12",
        "subject": "Data",
        "max_mb": 10,
    },
}


def _params(key: str) -> dict[str, Any]:
    [params] = [p for prefix, p in SAMPLES.items() if key.startswith(prefix)]
    return params


def _names(template: str) -> set[str]:
    """The params an entry reads, its included pieces' too."""
    env = Environment()
    env.filters["local_date"] = str  # parsing checks that the filter exists; it is not run here
    found = set(meta.find_undeclared_variables(env.parse(template)))
    for piece in meta.find_referenced_templates(env.parse(template)):
        assert piece is not None
        found |= _names(i18n.ID[piece])
    return found - {"provider_labels"}


def test_both_languages_hold_the_same_keys_reading_the_same_params() -> None:
    assert set(i18n.ID) == set(i18n.EN)
    for key in i18n.ID:
        assert _names(i18n.ID[key]) == _names(i18n.EN[key]), key


@pytest.mark.parametrize("key", sorted(k for k in i18n.ID if not k.startswith("_")))
def test_every_entry_renders_in_both_languages(key: str) -> None:
    texts = {lang: i18n.t(key, lang, **_params(key)) for lang in i18n.CATALOGS}
    assert all(texts.values()) and texts["id"] != texts["en"]
    assert "{{" not in texts["id"] + texts["en"] and "{%" not in texts["id"] + texts["en"]


def test_moments_are_written_in_the_catalog_s_language_and_zone() -> None:
    params = {"start": START, "tz": "Asia/Makassar", "code": "AB12"}
    assert (
        i18n.t("visit.cancelled", "id", **params)
        == "Kunjungan tatap muka Selasa, 24 November 2026 14.00 WITA (kode AB12) dibatalkan."
    )
    assert (
        i18n.t("visit.cancelled", "en", **params)
        == "In-person visit Tuesday, 24 November 2026 14:00 WITA (code AB12) cancelled."
    )


def test_optional_lines_and_lists() -> None:
    base = {"provider": "zoom", "start": None, "tz": "Asia/Jakarta", "duration": 30}
    assert (
        i18n.t("meeting.created", **base, join_url=None, passcode=None) == "Pertemuan daring (Zoom) dimulai sekarang."
    )
    assert i18n.t("meeting.created", **base, join_url="https://z.example/j/1", passcode=None) == (
        "Pertemuan daring (Zoom) dimulai sekarang.\nTautan bergabung: https://z.example/j/1"
    )
    visit = {"start": START, "tz": "Asia/Makassar", "code": "AB12", "place": "Perpustakaan", "address": None}
    assert "Persyaratan" not in i18n.t("visit.booked", **visit, requirements=[])
    assert "Persyaratan kunjungan:\n- KTP\n- Surat pengantar\nTunjukkan" in i18n.t(
        "visit.booked", **visit, requirements=["KTP", "Surat pengantar"]
    )


def test_params_are_text_not_template() -> None:
    assert (
        i18n.t("consultation.reopened", user="{{ 7 * 7 }} {% raw %}")
        == "Konsultasi dibuka kembali oleh {{ 7 * 7 }} {% raw %}."
    )


def test_unknown_language_falls_back_to_indonesian_unknown_key_fails() -> None:
    assert i18n.t("consultation.sla_resumed", "fr") == i18n.t("consultation.sla_resumed", "id")
    with pytest.raises(KeyError):
        i18n.t("consultation.nope")
    with pytest.raises(Exception, match="officer"):
        i18n.t("consultation.claimed")  # a missing param is an error, not an empty hole
