"""Server-side texts, one keyed catalog per language; `t(key, lang, **params)` renders one.

Each entry is a small Jinja2 template (plain text, not escaped: chat messages are shown as text).
The params are values, not prose, so one message renders in any language: moments stay datetimes
(the `local_date(tz)` filter writes them in the catalog's language), meeting providers stay codes.
A system message stores its key and params next to the text rendered in Indonesian
(server.domain.messages.post_system_message), so a client may show it in the reader's language.
Entries starting with "_" are pieces the others include.

Both catalogs hold the same keys (tests/domain/test_i18n.py checks it); a key missing from one
language falls back to Indonesian.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any

from jinja2 import DictLoader, Environment, StrictUndefined

from server.domain.calendar import local_date_str

DEFAULT_LANG = "id"

_MEETING_LABEL = {"zoom": "Zoom", "jitsi": "Jitsi Meet"}

ID: dict[str, str] = {
    # --- the consultation's lifecycle ---
    "consultation.claimed": "Konsultasi diambil oleh {{ officer }}.",
    "consultation.assigned": "Konsultasi ditugaskan kepada {{ officer }}.",
    "consultation.transferred_to_officer": (
        "Konsultasi dialihkan ke {{ officer }}{% if office %} ({{ office }}){% endif %}."
    ),
    "consultation.transferred_to_office": "Konsultasi dialihkan ke {{ office }}.",
    "consultation.taken": (
        "Konsultasi diambil alih oleh supervisor {{ officer }}"
        "{% if previous is defined and previous %} dari {{ previous }}{% endif %}."
    ),
    "consultation.closed": (
        "Konsultasi ditutup oleh {{ by or 'sistem' }}.{% if summary %} Ringkasan: {{ summary }}{% endif %}"
    ),
    "consultation.closed_idle": (
        "Konsultasi ditutup otomatis karena tidak ada balasan dari pengguna."
        "{% if summary %} Ringkasan: {{ summary }}{% endif %}"
    ),
    "consultation.closed_other": "Konsultasi ditutup.{% if summary %} Ringkasan: {{ summary }}{% endif %}",
    "consultation.rating_prompt": "Mohon beri penilaian atas layanan ini (1–5).",
    "survey.offered": (
        "Mohon isi juga Survei Kepuasan Masyarakat (SKM), sembilan pertanyaan singkat tentang layanan ini: {{ link }}"
    ),
    "consultation.reopened": "Konsultasi dibuka kembali oleh {{ user }}.",
    "consultation.sla_paused": (
        "Petugas meminta klarifikasi; batas waktu layanan dihentikan sementara sampai Anda membalas."
    ),
    "consultation.sla_resumed": "Permintaan dinyatakan jelas; batas waktu layanan berjalan kembali.",
    "consultation.idle_warning": (
        "Belum ada balasan dari Anda. Konsultasi ini akan ditutup otomatis pada {{ close_at | local_date(tz) }}"
        " jika tidak ada balasan."
    ),
    "rating.given": (
        "Penilaian layanan: {{ '★' * score }}{{ '☆' * (max - score) }} ({{ score }}/{{ max }})"
        "{% if comment %} — {{ comment }}{% endif %}"
    ),
    # --- online meetings (params: provider, start, tz, duration, join_url, passcode) ---
    "_meeting.label": "{{ provider_labels.get(provider, 'tautan daring' if provider == 'link' else provider) }}",
    "_meeting.when": "{% if start %}{{ start | local_date(tz) }}{% else %}sekarang (pertemuan instan){% endif %}",
    "_meeting.access": (
        "{% if join_url %}\nTautan bergabung: {{ join_url }}{% endif %}"
        "{% if passcode %}\nKode sandi: {{ passcode }}{% endif %}"
    ),
    "meeting.created": (
        "Pertemuan daring ({% include '_meeting.label' %}) "
        "{% if start %}dijadwalkan {% include '_meeting.when' %}, {{ duration }} menit."
        "{% else %}dimulai sekarang.{% endif %}"
        "{% include '_meeting.access' %}"
    ),
    "meeting.updated": (
        "Jadwal pertemuan daring ({% include '_meeting.label' %}) diubah menjadi {% include '_meeting.when' %},"
        " {{ duration }} menit.{% include '_meeting.access' %}"
    ),
    "meeting.reminder": (
        "Pengingat: pertemuan daring ({% include '_meeting.label' %}) dimulai {% include '_meeting.when' %}."
        "{% include '_meeting.access' %}"
    ),
    "meeting.cancelled": (
        "Pertemuan daring ({% include '_meeting.label' %}) "
        "{% if start %}pada {% include '_meeting.when' %} {% endif %}dibatalkan."
    ),
    # --- visits to the office (params: start, tz, code, place, address, requirements) ---
    "visit.booked": (
        "Kunjungan tatap muka terjadwal: {{ start | local_date(tz) }}.\n"
        "Kode pemesanan: {{ code }}\n"
        "Tempat: {{ place }}\n"
        "{% if address %}Alamat: {{ address }}\n{% endif %}"
        "{% if requirements %}Persyaratan kunjungan:\n{% for r in requirements %}- {{ r }}\n{% endfor %}{% endif %}"
        "Tunjukkan kode pemesanan kepada petugas di meja depan untuk melanjutkan konsultasi ini."
    ),
    "visit.cancelled": "Kunjungan tatap muka {{ start | local_date(tz) }} (kode {{ code }}) dibatalkan.",
    # --- the walk-in desk (params: number, desk, officer, purpose, institution) ---
    "walk_in.served": (
        "Kunjungan tatap muka: nomor antrean {{ number }}, meja {{ desk or '-' }}, dilayani oleh {{ officer }}."
        "{% if purpose %}\nKeperluan: {{ purpose }}{% endif %}"
        "{% if institution %}\nInstansi: {{ institution }}{% endif %}"
    ),
    # --- WhatsApp and e-mail (server/domain/channels.py, server/mail/channel_out.py) ---
    "channel.file_refused": "Berkas {{ filename }} dari pengguna tidak diterima: {{ reason }}",
    "channel.unsupported": (
        "Pengguna mengirim pesan WhatsApp jenis {{ type }} yang tidak dapat ditampilkan di sini."
    ),
    "channel.wa_received": (
        "Terima kasih, pesan Anda diterima oleh PST {{ office }}. Nomor konsultasi: {{ number }}."
        " Petugas akan membalas di percakapan ini."
    ),
    "channel.wa_reply": "*{{ officer }}* ({{ office }}) menulis:\n{{ text }}",
    "channel.wa_file": "*{{ officer }}* ({{ office }}) mengirim berkas {{ filename }}.",
    "channel.wa_closed": (
        "Konsultasi {{ number }} telah ditutup.{% if summary %} Ringkasan: {{ summary }}{% endif %}"
        " Transkrip percakapan kami kirimkan sebagai dokumen."
    ),
    "channel.wa_rating": "Mohon beri penilaian atas layanan konsultasi {{ number }}: {{ link }}",
    "channel.wa_idle": (
        "Belum ada balasan dari Anda. Konsultasi {{ number }} akan ditutup otomatis pada"
        " {{ close_at | local_date(tz) }} jika tidak ada balasan."
    ),
    "channel.wa_meeting": (
        "Pertemuan daring untuk konsultasi {{ number }}{% if start %}, {{ start | local_date(tz) }}{% endif %}:"
        " {{ join_url }}{% if passcode %} (kode sandi {{ passcode }}){% endif %}"
    ),
    "channel.wa_meeting_cancelled": "Pertemuan daring untuk konsultasi {{ number }} dibatalkan.",
    "channel.wa_visit": "Kunjungan tatap muka {{ start | local_date(tz) }}, kode pemesanan {{ code }}.",
    "channel.wa_file_refused": "Maaf, berkas {{ filename }} tidak dapat kami terima: {{ reason }}",
    "channel.mail_refused_subject": "Tidak terkirim: {{ subject }}",
    "channel.mail_refused": (
        "Pesan Anda ke PST {{ office }} tidak dapat kami terima: {{ reason }}\n\n"
        "Kirim berkas paling besar {{ max_mb }} MB per lampiran (PDF, XLSX, CSV, DOCX, PNG, JPG), atau kirim"
        " tautan unduhan. Pesan ini dikirim otomatis."
    ),
    "channel.too_large": "ukurannya melebihi {{ max_mb }} MB",
}

EN: dict[str, str] = {
    "consultation.claimed": "{{ officer }} took this consultation.",
    "consultation.assigned": "The consultation was assigned to {{ officer }}.",
    "consultation.transferred_to_officer": (
        "The consultation was transferred to {{ officer }}{% if office %} ({{ office }}){% endif %}."
    ),
    "consultation.transferred_to_office": "The consultation was transferred to {{ office }}.",
    "consultation.taken": (
        "Supervisor {{ officer }} took over this consultation"
        "{% if previous is defined and previous %} from {{ previous }}{% endif %}."
    ),
    "consultation.closed": (
        "The consultation was closed by {{ by or 'the system' }}.{% if summary %} Summary: {{ summary }}{% endif %}"
    ),
    "consultation.closed_idle": (
        "The consultation was closed automatically: the user did not reply."
        "{% if summary %} Summary: {{ summary }}{% endif %}"
    ),
    "consultation.closed_other": "The consultation was closed.{% if summary %} Summary: {{ summary }}{% endif %}",
    "consultation.rating_prompt": "Please rate this service (1–5).",
    "survey.offered": (
        "Please also answer the Community Satisfaction Survey (SKM), nine short questions about this service:"
        " {{ link }}"
    ),
    "consultation.reopened": "{{ user }} reopened the consultation.",
    "consultation.sla_paused": ("The officer asked for clarification; the service deadline is paused until you reply."),
    "consultation.sla_resumed": "The request is clear; the service deadline runs again.",
    "consultation.idle_warning": (
        "No reply yet: this consultation will close automatically on {{ close_at | local_date(tz) }} unless you reply."
    ),
    "rating.given": (
        "Service rating: {{ '★' * score }}{{ '☆' * (max - score) }} ({{ score }}/{{ max }})"
        "{% if comment %} — {{ comment }}{% endif %}"
    ),
    "_meeting.label": "{{ provider_labels.get(provider, 'online link' if provider == 'link' else provider) }}",
    "_meeting.when": "{% if start %}{{ start | local_date(tz) }}{% else %}now (instant meeting){% endif %}",
    "_meeting.access": (
        "{% if join_url %}\nJoin link: {{ join_url }}{% endif %}{% if passcode %}\nPasscode: {{ passcode }}{% endif %}"
    ),
    "meeting.created": (
        "{% if start %}Online meeting ({% include '_meeting.label' %}) scheduled for {% include '_meeting.when' %},"
        " {{ duration }} minutes.{% else %}Online meeting ({% include '_meeting.label' %}) starting now.{% endif %}"
        "{% include '_meeting.access' %}"
    ),
    "meeting.updated": (
        "Online meeting ({% include '_meeting.label' %}) moved to {% include '_meeting.when' %},"
        " {{ duration }} minutes.{% include '_meeting.access' %}"
    ),
    "meeting.reminder": (
        "Reminder: online meeting ({% include '_meeting.label' %}) starts {% include '_meeting.when' %}."
        "{% include '_meeting.access' %}"
    ),
    "meeting.cancelled": (
        "Online meeting ({% include '_meeting.label' %}) {% if start %}on {% include '_meeting.when' %} {% endif %}"
        "cancelled."
    ),
    "visit.booked": (
        "In-person visit booked: {{ start | local_date(tz) }}.\n"
        "Booking code: {{ code }}\n"
        "Place: {{ place }}\n"
        "{% if address %}Address: {{ address }}\n{% endif %}"
        "{% if requirements %}Visit requirements:\n{% for r in requirements %}- {{ r }}\n{% endfor %}{% endif %}"
        "Show the booking code to the officer at the front desk to continue this consultation."
    ),
    "visit.cancelled": "In-person visit {{ start | local_date(tz) }} (code {{ code }}) cancelled.",
    "walk_in.served": (
        "Walk-in visit: queue number {{ number }}, desk {{ desk or '-' }}, served by {{ officer }}."
        "{% if purpose %}\nPurpose: {{ purpose }}{% endif %}"
        "{% if institution %}\nInstitution: {{ institution }}{% endif %}"
    ),
    "channel.file_refused": "The file {{ filename }} from the user was refused: {{ reason }}",
    "channel.unsupported": "The user sent a WhatsApp message of type {{ type }}, which cannot be shown here.",
    "channel.wa_received": (
        "Thank you, PST {{ office }} has received your message. Consultation number: {{ number }}."
        " An officer will reply in this chat."
    ),
    "channel.wa_reply": "*{{ officer }}* ({{ office }}) wrote:\n{{ text }}",
    "channel.wa_file": "*{{ officer }}* ({{ office }}) sent the file {{ filename }}.",
    "channel.wa_closed": (
        "Consultation {{ number }} is closed.{% if summary %} Summary: {{ summary }}{% endif %}"
        " The transcript follows as a document."
    ),
    "channel.wa_rating": "Please rate the service of consultation {{ number }}: {{ link }}",
    "channel.wa_idle": (
        "No reply from you yet. Consultation {{ number }} will close automatically on"
        " {{ close_at | local_date(tz) }} unless you reply."
    ),
    "channel.wa_meeting": (
        "Online meeting for consultation {{ number }}{% if start %}, {{ start | local_date(tz) }}{% endif %}:"
        " {{ join_url }}{% if passcode %} (passcode {{ passcode }}){% endif %}"
    ),
    "channel.wa_meeting_cancelled": "The online meeting for consultation {{ number }} was cancelled.",
    "channel.wa_visit": "In-person visit {{ start | local_date(tz) }}, booking code {{ code }}.",
    "channel.wa_file_refused": "Sorry, we cannot accept the file {{ filename }}: {{ reason }}",
    "channel.mail_refused_subject": "Not delivered: {{ subject }}",
    "channel.mail_refused": (
        "We could not accept your message to PST {{ office }}: {{ reason }}\n\n"
        "Send files of at most {{ max_mb }} MB each (PDF, XLSX, CSV, DOCX, PNG, JPG), or send a download"
        " link. This message was sent automatically."
    ),
    "channel.too_large": "it is over {{ max_mb }} MB",
}

CATALOGS: dict[str, dict[str, str]] = {"id": ID, "en": EN}


@cache
def _environment(lang: str) -> Environment:
    """The templates of one language (the Indonesian entry stands in for a missing one)."""

    def local_date(moment: datetime, tz: str, in_lang: str = lang) -> str:
        return local_date_str(moment, tz, in_lang)

    env = Environment(
        loader=DictLoader({**ID, **CATALOGS[lang]}),
        autoescape=False,  # plain text: the clients show messages as text, never as HTML
        undefined=StrictUndefined,
        keep_trailing_newline=False,
        auto_reload=False,
    )
    env.filters["local_date"] = local_date
    env.globals["provider_labels"] = _MEETING_LABEL
    return env


def texts(key: str, params: dict[str, Any] | None) -> dict[str, str] | None:
    """`key` rendered in every language ({"id": …, "en": …}), or None when it no longer renders.

    A stored system message is shown in its reader's language from these; one written under an
    older catalog whose params no longer fit keeps its stored text (the caller's fallback).
    """
    try:
        return {lang: t(key, lang, **(params or {})) for lang in CATALOGS}
    except Exception:  # noqa: BLE001 - an unknown key or params of an older catalog
        return None


def t(key: str, lang: str = DEFAULT_LANG, /, **params: Any) -> str:
    """The text of `key` in `lang` (Indonesian when the language is unknown); KeyError for an unknown key."""
    env = _environment(lang if lang in CATALOGS else DEFAULT_LANG)
    if key not in ID:
        raise KeyError(key)
    return env.get_template(key).render(params)
