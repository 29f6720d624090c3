"""The e-mails, in Indonesian by default or English: each returns (subject, text, html).

Rendered when queued so that a retry sends the very same message.
"""

from __future__ import annotations

from html import escape
from typing import Any

Doc = dict[str, Any]


def _lang(user: Doc | None) -> str:
    return "en" if user and user.get("lang") == "en" else "id"


def office_footer(office: Doc | None, lang: str) -> tuple[str, str]:
    """The office's name, contacts and complaint channels, as text and as HTML."""
    if not office:
        line = "PST Konsultasi — Badan Pusat Statistik"
        return line, f'<p style="color:#555;font-size:12px">{escape(line)}</p>'
    c = office.get("contacts") or {}
    rows: list[str] = [office.get("name", "")]
    if office.get("address"):
        rows.append(office["address"])
    if c.get("whatsapp"):
        rows.append("WhatsApp: " + ", ".join(c["whatsapp"]))
    if c.get("phone"):
        rows.append(("Telepon: " if lang == "id" else "Phone: ") + ", ".join(c["phone"]))
    if c.get("email"):
        rows.append("E-mail: " + ", ".join(c["email"]))
    complaint = [*c.get("complaint_links", [])]
    if c.get("complaint_email"):
        complaint.append(c["complaint_email"])
    if complaint:
        rows.append(("Pengaduan: " if lang == "id" else "Complaints: ") + ", ".join(complaint))
    rows.append("Layanan ini tidak dipungut biaya." if lang == "id" else "This service is free of charge.")
    text = "\n".join(rows)
    html = '<p style="color:#555;font-size:12px">' + "<br>".join(escape(r) for r in rows) + "</p>"
    return text, html


def layout(
    title: str,
    paragraphs: list[str],
    *,
    link: tuple[str, str] | None = None,
    office: Doc | None = None,
    lang: str = "id",
    extra_html: str = "",
    extra_text: str = "",
) -> tuple[str, str]:
    """Plain text and HTML bodies from the same parts; all text is escaped in the HTML."""
    foot_text, foot_html = office_footer(office, lang)
    text_parts = [title, "", *paragraphs]
    html_parts = [f'<h2 style="font-family:sans-serif">{escape(title)}</h2>']
    html_parts += [f'<p style="font-family:sans-serif">{escape(p)}</p>' for p in paragraphs]
    if link:
        label, url = link
        text_parts += ["", f"{label}: {url}"]
        html_parts.append(
            f'<p><a href="{escape(url, quote=True)}" style="font-family:sans-serif">{escape(label)}</a></p>'
        )
    if extra_text:
        text_parts += ["", extra_text]
    if extra_html:
        html_parts.append(extra_html)
    text_parts += ["", "--", foot_text]
    html_parts.append("<hr>" + foot_html)
    html = "<!doctype html><html><body>" + "\n".join(html_parts) + "</body></html>"
    return "\n".join(text_parts) + "\n", html


def verify_email(user: Doc, link: str) -> tuple[str, str, str]:
    """The account verification mail with its one-time link."""
    if _lang(user) == "en":
        subject = "Verify your e-mail for PST Konsultasi"
        text, html = layout(
            "Verify your e-mail",
            [
                f"Hello {user['name']},",
                "Open the link below to activate your PST Konsultasi account. The link is valid for 3 days.",
            ],
            link=("Verify e-mail", link),
            lang="en",
        )
    else:
        subject = "Verifikasi e-mail Anda untuk PST Konsultasi"
        text, html = layout(
            "Verifikasi e-mail Anda",
            [
                f"Halo {user['name']},",
                "Buka tautan di bawah untuk mengaktifkan akun PST Konsultasi Anda. Tautan berlaku 3 hari.",
            ],
            link=("Verifikasi e-mail", link),
        )
    return subject, text, html


def reset_password(user: Doc, link: str) -> tuple[str, str, str]:
    """The password reset mail with its one-time link."""
    if _lang(user) == "en":
        subject = "Reset your PST Konsultasi password"
        text, html = layout(
            "Reset your password",
            [
                f"Hello {user['name']},",
                "Someone asked to reset the password of your account. If it was you, open the link below "
                "(valid for 2 hours). If not, ignore this e-mail.",
            ],
            link=("Choose a new password", link),
            lang="en",
        )
    else:
        subject = "Atur ulang kata sandi PST Konsultasi"
        text, html = layout(
            "Atur ulang kata sandi",
            [
                f"Halo {user['name']},",
                "Ada permintaan untuk mengatur ulang kata sandi akun Anda. "
                "Jika itu Anda, buka tautan di bawah (berlaku 2 jam). Jika bukan, abaikan e-mail ini.",
            ],
            link=("Buat kata sandi baru", link),
        )
    return subject, text, html


# --- consultation mails -------------------------------------------------------------------------
# Each takes the recipient (its "lang" picks the language unless `lang` is given) and returns
# (subject, text, html); the subject is a single line, the HTML escapes everything it shows.

Mail = tuple[str, str, str]
EXCERPT_CHARS = 300


def _pick_lang(user: Doc | None, lang: str | None) -> str:
    if lang is not None:
        return "en" if lang == "en" else "id"
    return _lang(user)


def _one_line(value: Any) -> str:
    return " ".join(str(value or "").split())


def _about(consultation: Doc, lang: str) -> str:
    number = _one_line(consultation.get("number"))
    subject = _one_line(consultation.get("subject"))
    if lang == "en":
        return f"Consultation number: {number}" + (f" — {subject}" if subject else "")
    return f"Nomor konsultasi: {number}" + (f" — {subject}" if subject else "")


def _hello(user: Doc | None, lang: str) -> str:
    name = _one_line((user or {}).get("name"))
    if lang == "en":
        return f"Hello {name}," if name else "Hello,"
    return f"Halo {name}," if name else "Halo,"


def _excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    flat = _one_line(text)
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def consultation_received(
    user: Doc,
    consultation: Doc,
    office: Doc,
    due_text: str,
    *,
    link: str | None = None,
    lang: str | None = None,
) -> Mail:
    """Confirms a new online consultation with its number and the answer deadline."""
    lg = _pick_lang(user, lang)
    number = _one_line(consultation.get("number"))
    office_name = _one_line(office.get("name"))
    if lg == "en":
        subject = f"Consultation {number} received"
        paragraphs = [
            _hello(user, lg),
            f"Your consultation has been received by {office_name}.",
            _about(consultation, lg),
            f"It will be answered no later than {due_text}.",
            "You will get an e-mail when an officer replies.",
        ]
        link_part = ("Open the consultation", link) if link else None
        title = "Consultation received"
    else:
        subject = f"Konsultasi {number} telah diterima"
        paragraphs = [
            _hello(user, lg),
            f"Konsultasi Anda telah diterima oleh {office_name}.",
            _about(consultation, lg),
            f"Pertanyaan Anda akan dijawab paling lambat {due_text}.",
            "Anda akan menerima e-mail ketika petugas membalas.",
        ]
        link_part = ("Buka konsultasi", link) if link else None
        title = "Konsultasi diterima"
    text, html = layout(title, paragraphs, link=link_part, office=office, lang=lg)
    return subject, text, html


def officer_replied(
    user: Doc, consultation: Doc, office: Doc, link: str, excerpt: str, *, lang: str | None = None
) -> Mail:
    """Tells the user an officer answered, with the start of the answer and a link back."""
    lg = _pick_lang(user, lang)
    number = _one_line(consultation.get("number"))
    quote = _excerpt(excerpt)
    if lg == "en":
        subject = f"New reply to consultation {number}"
        title = "An officer replied"
        paragraphs = [
            _hello(user, lg),
            f"An officer of {_one_line(office.get('name'))} replied to your consultation.",
            _about(consultation, lg),
            f"“{quote}”",
        ]
        link_part = ("Read and reply", link)
    else:
        subject = f"Balasan baru untuk konsultasi {number}"
        title = "Petugas telah membalas"
        paragraphs = [
            _hello(user, lg),
            f"Petugas {_one_line(office.get('name'))} telah membalas konsultasi Anda.",
            _about(consultation, lg),
            f"“{quote}”",
        ]
        link_part = ("Baca dan balas", link)
    text, html = layout(title, paragraphs, link=link_part, office=office, lang=lg)
    return subject, text, html


def idle_warning(
    user: Doc, consultation: Doc, office: Doc, close_text: str, link: str, *, lang: str | None = None
) -> Mail:
    """Warns that a quiet consultation will be closed automatically at `close_text`."""
    lg = _pick_lang(user, lang)
    number = _one_line(consultation.get("number"))
    if lg == "en":
        subject = f"Consultation {number} will be closed soon"
        title = "Your consultation will be closed"
        paragraphs = [
            _hello(user, lg),
            _about(consultation, lg),
            f"There has been no reply for a while. The consultation will be closed automatically "
            f"on {close_text} unless you reply before then.",
            "If your question has been answered, you need not do anything.",
        ]
        link_part = ("Reply now", link)
    else:
        subject = f"Konsultasi {number} akan segera ditutup"
        title = "Konsultasi Anda akan ditutup"
        paragraphs = [
            _hello(user, lg),
            _about(consultation, lg),
            f"Belum ada balasan untuk beberapa waktu. Konsultasi akan ditutup otomatis pada "
            f"{close_text} jika tidak ada balasan sebelum itu.",
            "Jika pertanyaan Anda sudah terjawab, Anda tidak perlu melakukan apa pun.",
        ]
        link_part = ("Balas sekarang", link)
    text, html = layout(title, paragraphs, link=link_part, office=office, lang=lg)
    return subject, text, html


_CLOSE_REASONS = {
    "id": {
        "idle": "ditutup otomatis karena tidak ada aktivitas",
        "user": "ditutup atas permintaan Anda",
        "staff": "ditutup oleh petugas",
        "officer": "ditutup oleh petugas",
        "resolved": "telah selesai",
    },
    "en": {
        "idle": "closed automatically after a period without activity",
        "user": "closed at your request",
        "staff": "closed by an officer",
        "officer": "closed by an officer",
        "resolved": "has been resolved",
    },
}


def consultation_closed(
    user: Doc,
    consultation: Doc,
    office: Doc,
    transcript_text: str,
    transcript_html: str,
    reason: str,
    *,
    link: str | None = None,
    lang: str | None = None,
) -> Mail:
    """The closing notice with the full transcript (text and HTML, the HTML already escaped)."""
    lg = _pick_lang(user, lang)
    number = _one_line(consultation.get("number"))
    why = _CLOSE_REASONS[lg].get(reason, _one_line(reason))
    if lg == "en":
        subject = f"Consultation {number} closed — transcript"
        title = "Consultation closed"
        paragraphs = [
            _hello(user, lg),
            _about(consultation, lg),
            f"The consultation was {why}.",
            "The full transcript is below. You will also be asked to rate the service.",
        ]
        link_part = ("Open the consultation", link) if link else None
    else:
        subject = f"Konsultasi {number} ditutup — transkrip"
        title = "Konsultasi ditutup"
        paragraphs = [
            _hello(user, lg),
            _about(consultation, lg),
            f"Konsultasi ini {why}.",
            "Transkrip lengkap ada di bawah. Anda juga akan diminta menilai layanan ini.",
        ]
        link_part = ("Buka konsultasi", link) if link else None
    text, html = layout(
        title,
        paragraphs,
        link=link_part,
        office=office,
        lang=lg,
        extra_text=transcript_text,
        extra_html=transcript_html,
    )
    return subject, text, html


# Subject, title and the one sentence that differ between the rating request and its reminder.
_RATING_WORDING = {
    ("request", "en"): (
        "How was consultation {n}? Rate our service",
        "Please rate our service",
        "Your rating takes a minute and helps us improve. You can also leave a complaint there.",
    ),
    ("request", "id"): (
        "Bagaimana konsultasi {n}? Beri penilaian layanan kami",
        "Mohon beri penilaian layanan kami",
        "Penilaian Anda hanya perlu satu menit dan membantu kami menjadi lebih baik. "
        "Anda juga dapat menyampaikan pengaduan di sana.",
    ),
    ("reminder", "en"): (
        "Reminder: rate consultation {n}",
        "A reminder to rate our service",
        "You have not rated this consultation yet. This is the only reminder we send.",
    ),
    ("reminder", "id"): (
        "Pengingat: beri penilaian konsultasi {n}",
        "Pengingat penilaian layanan",
        "Anda belum memberi penilaian untuk konsultasi ini. Ini satu-satunya pengingat dari kami.",
    ),
}


def _rating_mail(which: str, user: Doc, consultation: Doc, office: Doc, rating_link: str, lang: str | None) -> Mail:
    lg = _pick_lang(user, lang)
    subject_t, title, sentence = _RATING_WORDING[(which, lg)]
    paragraphs = [_hello(user, lg), _about(consultation, lg), sentence]
    link_part = ("Rate the service" if lg == "en" else "Beri penilaian", rating_link)
    text, html = layout(title, paragraphs, link=link_part, office=office, lang=lg)
    return subject_t.format(n=_one_line(consultation.get("number"))), text, html


def rating_request(user: Doc, consultation: Doc, office: Doc, rating_link: str, *, lang: str | None = None) -> Mail:
    """Asks for a 1–5 rating through a signed one-click link."""
    return _rating_mail("request", user, consultation, office, rating_link, lang)


def rating_reminder(user: Doc, consultation: Doc, office: Doc, rating_link: str, *, lang: str | None = None) -> Mail:
    """A single reminder for a rating not given yet."""
    return _rating_mail("reminder", user, consultation, office, rating_link, lang)


_PROVIDER_NAMES = {"zoom": "Zoom", "jitsi": "Jitsi Meet", "link": "", "google_meet": "Google Meet"}


def _meeting_lines(meeting: Doc, when_text: str, lang: str, *, with_join: bool) -> list[str]:
    # start_url is the host's key to the meeting: it never goes into a user's mail. The join link
    # is the mail's button (layout prints it in the text part too).
    provider = _PROVIDER_NAMES.get(str(meeting.get("provider") or ""), _one_line(meeting.get("provider")))
    en = lang == "en"
    lines = [f"{'Time' if en else 'Waktu'}: {when_text}"]
    if provider:
        lines.append(f"{'Platform' if en else 'Aplikasi'}: {provider}")
    if meeting.get("topic"):
        lines.append(f"{'Topic' if en else 'Topik'}: {_one_line(meeting['topic'])}")
    if with_join and meeting.get("passcode"):
        lines.append(f"{'Passcode' if en else 'Kode sandi'}: {_one_line(meeting['passcode'])}")
    return lines


def meeting_invite(
    user: Doc,
    consultation: Doc,
    office: Doc,
    meeting: Doc,
    when_text: str,
    action: str,
    *,
    lang: str | None = None,
) -> Mail:
    """Invitation, change or cancellation of an online meeting (join link and passcode, never start_url)."""
    if action not in ("created", "updated", "cancelled"):
        raise ValueError("action must be created, updated or cancelled")
    lg = _pick_lang(user, lang)
    number = _one_line(consultation.get("number"))
    active = action != "cancelled"
    join = _one_line(meeting.get("join_url")) if active else ""
    if lg == "en":
        subject, title, intro = {
            "created": (
                f"Online meeting for consultation {number}",
                "Online meeting invitation",
                "An officer has scheduled an online meeting for your consultation.",
            ),
            "updated": (
                f"Changed: online meeting for consultation {number}",
                "Online meeting changed",
                "The online meeting for your consultation has changed. The new details are below.",
            ),
            "cancelled": (
                f"Cancelled: online meeting for consultation {number}",
                "Online meeting cancelled",
                "The online meeting for your consultation has been cancelled.",
            ),
        }[action]
        link_part = ("Join the meeting", join) if join else None
    else:
        subject, title, intro = {
            "created": (
                f"Pertemuan daring untuk konsultasi {number}",
                "Undangan pertemuan daring",
                "Petugas telah menjadwalkan pertemuan daring untuk konsultasi Anda.",
            ),
            "updated": (
                f"Perubahan: pertemuan daring konsultasi {number}",
                "Perubahan pertemuan daring",
                "Pertemuan daring untuk konsultasi Anda berubah. Rincian terbaru ada di bawah.",
            ),
            "cancelled": (
                f"Dibatalkan: pertemuan daring konsultasi {number}",
                "Pertemuan daring dibatalkan",
                "Pertemuan daring untuk konsultasi Anda dibatalkan.",
            ),
        }[action]
        link_part = ("Gabung ke pertemuan", join) if join else None
    paragraphs = [
        _hello(user, lg),
        intro,
        _about(consultation, lg),
        *_meeting_lines(meeting, when_text, lg, with_join=active),
    ]
    text, html = layout(title, paragraphs, link=link_part, office=office, lang=lg)
    return subject, text, html


def meeting_reminder(
    user: Doc, consultation: Doc, office: Doc, meeting: Doc, when_text: str, *, lang: str | None = None
) -> Mail:
    """Reminds of an upcoming online meeting."""
    lg = _pick_lang(user, lang)
    number = _one_line(consultation.get("number"))
    join = _one_line(meeting.get("join_url"))
    if lg == "en":
        subject = f"Reminder: online meeting for consultation {number}, {when_text}"
        title = "Your online meeting starts soon"
        intro = "This is a reminder of your online meeting with an officer."
        link_part = ("Join the meeting", join) if join else None
    else:
        subject = f"Pengingat: pertemuan daring konsultasi {number}, {when_text}"
        title = "Pertemuan daring Anda segera dimulai"
        intro = "Ini pengingat pertemuan daring Anda dengan petugas."
        link_part = ("Gabung ke pertemuan", join) if join else None
    paragraphs = [
        _hello(user, lg),
        intro,
        _about(consultation, lg),
        *_meeting_lines(meeting, when_text, lg, with_join=True),
    ]
    text, html = layout(title, paragraphs, link=link_part, office=office, lang=lg)
    return subject, text, html


def visit_requirements(office: Doc, lang: str) -> list[str]:
    """What to bring and do at the walk-in desk; an ID card first where the office requires one."""
    walk_in = office.get("walk_in") or {}
    reqs = [_one_line(r) for r in walk_in.get("requirements") or [] if _one_line(r)]
    if walk_in.get("id_card_required") and not any("identitas" in r.lower() or "id card" in r.lower() for r in reqs):
        reqs.insert(
            0,
            "Bring a valid ID card (KTP, SIM, passport)"
            if lang == "en"
            else "Membawa kartu identitas yang masih berlaku (KTP, SIM, Paspor)",
        )
    return reqs


def visit_confirmation(
    user: Doc, consultation: Doc, office: Doc, visit: Doc, when_text: str, *, lang: str | None = None
) -> Mail:
    """Confirms an in-person follow-up: booking code, place, address and walk-in requirements."""
    lg = _pick_lang(user, lang)
    number = _one_line(consultation.get("number"))
    code = _one_line(visit.get("code"))
    walk_in = office.get("walk_in") or {}
    place = _one_line(walk_in.get("place") or office.get("name"))
    address = _one_line(office.get("address"))
    reqs = visit_requirements(office, lg)
    en = lg == "en"
    if en:
        subject = f"Visit booked: {code} — consultation {number}"
        title = "Your visit is booked"
        paragraphs = [
            _hello(user, lg),
            "Your in-person follow-up visit is booked.",
            _about(consultation, lg),
            f"Booking code: {code}",
            f"Time: {when_text}",
            f"Place: {place}",
        ]
        if address:
            paragraphs.append(f"Address: {address}")
        paragraphs.append("Show the booking code at the front desk.")
        heading = "Before you come"
    else:
        subject = f"Kunjungan terjadwal: {code} — konsultasi {number}"
        title = "Kunjungan Anda telah terjadwal"
        paragraphs = [
            _hello(user, lg),
            "Kunjungan tatap muka lanjutan Anda telah terjadwal.",
            _about(consultation, lg),
            f"Kode pemesanan: {code}",
            f"Waktu: {when_text}",
            f"Tempat: {place}",
        ]
        if address:
            paragraphs.append(f"Alamat: {address}")
        paragraphs.append("Tunjukkan kode pemesanan kepada petugas di meja depan.")
        heading = "Persyaratan kunjungan"
    extra_text = heading + ":\n" + "\n".join(f"- {r}" for r in reqs) if reqs else ""
    extra_html = (
        (
            f'<h3 style="font-family:sans-serif">{escape(heading)}</h3><ul style="font-family:sans-serif">'
            + "".join(f"<li>{escape(r)}</li>" for r in reqs)
            + "</ul>"
        )
        if reqs
        else ""
    )
    text, html = layout(title, paragraphs, office=office, lang=lg, extra_text=extra_text, extra_html=extra_html)
    return subject, text, html


_SLA_STATES = {
    "id": {
        "warning": "mendekati batas waktu",
        "due_soon": "mendekati batas waktu",
        "at_risk": "mendekati batas waktu",
        "breached": "melewati batas waktu",
        "overdue": "melewati batas waktu",
    },
    "en": {
        "warning": "is close to its deadline",
        "due_soon": "is close to its deadline",
        "at_risk": "is close to its deadline",
        "breached": "is past its deadline",
        "overdue": "is past its deadline",
    },
}


def sla_alert(
    staff_user: Doc,
    consultation: Doc,
    office: Doc,
    state: str,
    due_text: str,
    link: str,
    *,
    lang: str | None = None,
) -> Mail:
    """Tells staff a consultation is near or past its answer deadline."""
    lg = _pick_lang(staff_user, lang)
    number = _one_line(consultation.get("number"))
    what = _SLA_STATES[lg].get(state, _one_line(state))
    late = state in ("breached", "overdue")
    if lg == "en":
        subject = f"{'[OVERDUE]' if late else '[Deadline]'} Consultation {number} {what}"
        title = f"Consultation {number} {what}"
        paragraphs = [
            _hello(staff_user, lg),
            _about(consultation, lg),
            f"Answer deadline: {due_text}.",
            "Please answer it or transfer it to a colleague.",
        ]
        link_part = ("Open in the console", link)
    else:
        subject = f"{'[TERLAMBAT]' if late else '[Tenggat]'} Konsultasi {number} {what}"
        title = f"Konsultasi {number} {what}"
        paragraphs = [
            _hello(staff_user, lg),
            _about(consultation, lg),
            f"Batas waktu jawaban: {due_text}.",
            "Mohon segera dijawab atau dialihkan ke rekan lain.",
        ]
        link_part = ("Buka di konsol", link)
    text, html = layout(title, paragraphs, link=link_part, office=office, lang=lg)
    return subject, text, html
