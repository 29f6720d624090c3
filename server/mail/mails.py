"""The e-mails, in Indonesian by default or English: each returns (subject, text, html).

Rendered when queued so that a retry sends the very same message. The words and the markup are in
`templates/<mail>.txt.j2` and `<mail>.html.j2`; these functions only pick the language and hand
the templates one-line values. Each takes the recipient (its "lang" picks the language unless `lang`
is given); the subject is a single line, the HTML escapes everything it shows.
"""

from __future__ import annotations

from typing import Any

from markupsafe import Markup

from server.mail.render import Mail, render_mail

Doc = dict[str, Any]

EXCERPT_CHARS = 300
_PROVIDER_NAMES = {"zoom": "Zoom", "jitsi": "Jitsi Meet", "link": "", "google_meet": "Google Meet"}
MEETING_ACTIONS = ("created", "updated", "cancelled")


def _lang(user: Doc | None) -> str:
    return "en" if user and user.get("lang") == "en" else "id"


def _pick_lang(user: Doc | None, lang: str | None) -> str:
    if lang is not None:
        return "en" if lang == "en" else "id"
    return _lang(user)


def _one_line(value: Any) -> str:
    return " ".join(str(value or "").split())


def _excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    flat = _one_line(text)
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def _common(user: Doc | None, consultation: Doc | None, office: Doc | None, lang: str | None) -> Doc:
    """What every template gets: the language, the recipient's name, the consultation, the office."""
    c = consultation or {}
    return {
        "en": _pick_lang(user, lang) == "en",
        "name": _one_line((user or {}).get("name")),
        "number": _one_line(c.get("number")),
        "about": _one_line(c.get("subject")),
        "office": office or {},
    }


# --- accounts -----------------------------------------------------------------------------------


def verify_email(user: Doc, link: str, *, footer: Doc | None = None) -> Mail:
    """The account verification mail with its one-time link (`footer`: the complaint page for the footer)."""
    return render_mail("verify_email", **_common(user, None, footer, None), account_name=user["name"], link=link)


def reset_password(user: Doc, link: str, *, footer: Doc | None = None) -> Mail:
    """The password reset mail with its one-time link."""
    return render_mail("reset_password", **_common(user, None, footer, None), account_name=user["name"], link=link)


def register_attempted(user: Doc, link: str, *, footer: Doc | None = None) -> Mail:
    """To the owner of an address someone tried to register again: nothing changed; sign in, or reset."""
    return render_mail("register_attempted", **_common(user, None, footer, None), account_name=user["name"], link=link)


# --- consultations ------------------------------------------------------------------------------


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
    return render_mail(
        "consultation_received",
        **_common(user, consultation, office, lang),
        office_name=_one_line(office.get("name")),
        due_text=due_text,
        link=link or None,
    )


def officer_replied(
    user: Doc, consultation: Doc, office: Doc, link: str, excerpt: str, *, lang: str | None = None
) -> Mail:
    """Tells the user an officer answered, with the start of the answer and a link back."""
    return render_mail(
        "officer_replied",
        **_common(user, consultation, office, lang),
        office_name=_one_line(office.get("name")),
        quote=_excerpt(excerpt),
        link=link,
    )


def idle_warning(
    user: Doc, consultation: Doc, office: Doc, close_text: str, link: str, *, lang: str | None = None
) -> Mail:
    """Warns that a quiet consultation will be closed automatically at `close_text`."""
    return render_mail("idle_warning", **_common(user, consultation, office, lang), close_text=close_text, link=link)


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
    return render_mail(
        "consultation_closed",
        **_common(user, consultation, office, lang),
        reason=_one_line(reason),
        transcript_text=transcript_text,
        # Rendered by our own transcript template, which escaped every value it holds.
        transcript_html=Markup(transcript_html),  # noqa: S704
        link=link or None,
    )


def rating_request(
    user: Doc,
    consultation: Doc,
    office: Doc,
    rating_link: str,
    *,
    survey_link: str | None = None,
    lang: str | None = None,
) -> Mail:
    """Asks for a 1–5 rating through a signed one-click link, and offers the SKM survey (its own link)."""
    return render_mail(
        "rating_request", **_common(user, consultation, office, lang), link=rating_link, survey_link=survey_link
    )


def rating_reminder(
    user: Doc,
    consultation: Doc,
    office: Doc,
    rating_link: str,
    *,
    survey_link: str | None = None,
    lang: str | None = None,
) -> Mail:
    """A single reminder for a rating not given yet (and the survey, if not answered)."""
    return render_mail(
        "rating_reminder", **_common(user, consultation, office, lang), link=rating_link, survey_link=survey_link
    )


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
    return render_mail(
        "sla_alert",
        **_common(staff_user, consultation, office, lang),
        state=_one_line(state),
        due_text=due_text,
        link=link,
    )


# --- meetings and visits ------------------------------------------------------------------------


def _meeting(meeting: Doc, *, with_join: bool) -> Doc:
    # start_url is the host's key to the meeting: it never reaches a template. The join link is
    # the mail's button (the text part prints it too).
    return {
        "provider": _PROVIDER_NAMES.get(str(meeting.get("provider") or ""), _one_line(meeting.get("provider"))),
        "topic": _one_line(meeting.get("topic")),
        "passcode": _one_line(meeting.get("passcode")) if with_join else "",
    }


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
    if action not in MEETING_ACTIONS:
        raise ValueError("action must be created, updated or cancelled")
    active = action != "cancelled"
    return render_mail(
        "meeting_invite",
        **_common(user, consultation, office, lang),
        action=action,
        meeting=_meeting(meeting, with_join=active),
        when_text=when_text,
        link=(_one_line(meeting.get("join_url")) if active else "") or None,
    )


def meeting_reminder(
    user: Doc, consultation: Doc, office: Doc, meeting: Doc, when_text: str, *, lang: str | None = None
) -> Mail:
    """Reminds of an upcoming online meeting."""
    return render_mail(
        "meeting_reminder",
        **_common(user, consultation, office, lang),
        meeting=_meeting(meeting, with_join=True),
        when_text=when_text,
        link=_one_line(meeting.get("join_url")) or None,
    )


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
    common = _common(user, consultation, office, lang)
    walk_in = office.get("walk_in") or {}
    return render_mail(
        "visit_confirmation",
        **common,
        code=_one_line(visit.get("code")),
        when_text=when_text,
        place=_one_line(walk_in.get("place") or office.get("name")),
        address=_one_line(office.get("address")),
        requirements=visit_requirements(office, "en" if common["en"] else "id"),
        link=None,
    )


def visit_cancelled(
    user: Doc, consultation: Doc, office: Doc, visit: Doc, when_text: str, *, lang: str | None = None
) -> Mail:
    """Tells the user an in-person visit was cancelled (by the user or by staff)."""
    return render_mail(
        "visit_cancelled",
        **_common(user, consultation, office, lang),
        code=_one_line(visit.get("code")),
        when_text=when_text,
        link=None,
    )


# --- complaints ---------------------------------------------------------------------------------

COMPLAINT_QUOTE_CHARS = 1000
COMPLAINT_ALERTS = ("received", "at_risk", "overdue")


def _complainant(complaint: Doc) -> Doc:
    return {"name": complaint.get("name"), "lang": complaint.get("lang")}


def _complaint(complaint: Doc, office: Doc) -> Doc:
    return {
        "complaint_number": _one_line(complaint.get("number")),
        "office_name": _one_line(office.get("name") or complaint.get("office")),
        "consultation_number": _one_line(complaint.get("consultation_number")),
        "ticket_number": _one_line(complaint.get("ticket_number")),
        "source": _one_line(complaint.get("source")),
    }


def complaint_received(
    complaint: Doc, office: Doc, due_text: str, received_text: str, *, lang: str | None = None
) -> Mail:
    """To the complainant: the complaint is recorded, with its number, what they wrote and the answer's deadline."""
    return render_mail(
        "complaint_received",
        **_common(_complainant(complaint), None, office, lang),
        **_complaint(complaint, office),
        due_text=due_text,
        received_text=received_text,
        quote=str(complaint.get("text") or ""),
        link=None,
    )


def complaint_alert(
    staff_user: Doc, complaint: Doc, office: Doc, state: str, due_text: str, link: str, *, lang: str | None = None
) -> Mail:
    """To the office's supervisors: a complaint arrived, or is near or past its deadline."""
    if state not in COMPLAINT_ALERTS:
        raise ValueError(f"state must be one of {COMPLAINT_ALERTS}")
    return render_mail(
        "complaint_alert",
        **_common(staff_user, None, office, lang),
        **_complaint(complaint, office),
        state=state,
        complainant=_one_line(complaint.get("name")),
        complainant_email=_one_line(complaint.get("email")),
        due_text=due_text,
        quote=_excerpt(str(complaint.get("text") or "")),
        link=link,
    )


def complaint_answered(complaint: Doc, office: Doc, received_text: str, *, lang: str | None = None) -> Mail:
    """To the complainant: the office's response (resolved), or why it cannot follow the complaint up (rejected)."""
    outcome = complaint.get("status")
    if outcome not in ("resolved", "rejected"):
        raise ValueError("a complaint is answered when resolved or rejected")
    return render_mail(
        "complaint_answered",
        **_common(_complainant(complaint), None, office, lang),
        **_complaint(complaint, office),
        outcome=outcome,
        received_text=received_text,
        response=str(complaint.get("response") or ""),
        link=None,
    )
