"""Which e-mail goes out when: the actions call these, they render and queue (never send inline).

This is the only module that decides mail: accounts, consultations, ratings, meetings and visits
all end in a `<what happened>(svc, ...)` here. Rendering is `mails` / `transcript` / `ics`, the
write is `server.storage.outbox.enqueue`, the sending is notifier/'s business.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from email.utils import parseaddr
from typing import Any
from urllib.parse import urlsplit

from server import i18n
from server.domain import calendar
from server.domain.security import sign
from server.mail import channel_out as wa
from server.mail import mails
from server.mail.ics import build_invite
from server.mail.transcript import render_transcript
from server.services import Services
from server.storage import files as file_store
from server.storage.outbox import enqueue

log = logging.getLogger(__name__)

Doc = dict[str, Any]

RATING_LINK_TTL = timedelta(days=30)
SURVEY_LINK_TTL = timedelta(days=60)
# Every e-mail's footer names the public complaint page next to the office's own channels and LAPOR!.
COMPLAINT_PAGE = "/complaints/new"
# Consultations whose every staff message (text, file) goes to the user by their own channel.
CHANNEL_REPLIES = ("whatsapp", "email")
REFERENCES_KEPT = 10
# What the user may see of a stored meeting, in a language (the meetings domain's whitelist).
MeetingView = Callable[[Doc, str], Doc]
# What the user may see of a visit at an office, in a language (the visits domain's view).
VisitView = Callable[[Doc, Doc, str], Doc]


def with_footer(svc: Services, office: Doc | None) -> Doc:
    """The office as the mail templates take it: with the link of its public complaint page for the footer
    (no office: the page where one picks the office)."""
    page = f"{svc.settings.base_url}{COMPLAINT_PAGE}"
    if not office or not office.get("code"):
        return {**(office or {}), "complaint_page": page}
    return {**office, "complaint_page": f"{page}?office={office['code']}"}


async def _office(svc: Services, code: str) -> Doc:
    found = await svc.db.offices.find_one({"code": code}) or {"code": code, "name": code, "time_zone": "Asia/Jakarta"}
    return with_footer(svc, found)


async def recipient(svc: Services, c: Doc) -> Doc:
    """The user of a consultation, as a mail recipient."""
    user = await svc.db.users.find_one({"_id": c["user_id"]})
    return user or {
        "_id": c["user_id"],
        "name": c.get("user_name", ""),
        "email": c.get("user_email"),
        "lang": c.get("user_lang", "id"),
    }


def room_link(svc: Services, c: Doc) -> str:
    return f"{svc.settings.base_url}/app/#/c/{c['_id']}"


def survey_link(svc: Services, c: Doc) -> str:
    """A signed link to the SKM survey of this consultation (no sign-in needed; the survey is once per service)."""
    exp = int((svc.now() + SURVEY_LINK_TTL).timestamp())
    token = sign({"c": str(c["_id"]), "u": str(c["user_id"]), "exp": exp, "p": "skm"}, svc.settings.secret_key)
    return f"{svc.settings.base_url}/survey?consultation={c['_id']}&token={token}"


async def _survey_link_if_unanswered(svc: Services, c: Doc) -> str | None:
    if await svc.db.skm_responses.find_one({"consultation_id": c["_id"]}, {"_id": 1}):
        return None
    return survey_link(svc, c)


def rating_link(svc: Services, c: Doc) -> str:
    """A signed one-click link that lets the user rate without logging in (expires; one rating only)."""
    exp = int((svc.now() + RATING_LINK_TTL).timestamp())
    token = sign({"c": str(c["_id"]), "u": str(c["user_id"]), "exp": exp, "p": "rate"}, svc.settings.secret_key)
    return f"{svc.settings.base_url}/rate?token={token}"


async def queue_mail(
    svc: Services,
    user: Doc,
    c: Doc | None,
    kind: str,
    rendered: tuple[str, str, str],
    *,
    dedupe_key: str | None = None,
    attachments: list[Doc] | None = None,
) -> Doc | None:
    if not user.get("email"):
        return None
    subject, text, html = rendered
    thread = await _mail_thread(svc, c) if c is not None and c.get("channel") == "email" else None
    doc = await enqueue(
        svc.db,
        svc.now(),
        kind=kind,
        to=user["email"],
        to_name=user.get("name"),
        lang=user.get("lang", "id"),
        subject=subject,
        text=text,
        html=html,
        consultation_id=c["_id"] if c else None,
        office=c["office"] if c else None,
        user_id=user.get("_id"),
        dedupe_key=dedupe_key,
        attachments=attachments,
        thread=thread,
    )
    if svc.outbox_worker is not None:
        svc.outbox_worker.kick()  # send now rather than at the worker's next poll
    return doc


async def _mail_thread(svc: Services, c: Doc) -> Doc:
    """An e-mail consultation's mails: from the office's address, in reply to the user's last mail."""
    office = await _office(svc, c["office"])
    contact = c.get("contact") or {}
    refs = [str(r) for r in contact.get("references") or []][-REFERENCES_KEPT:]
    return {
        "from": ((office.get("channels") or {}).get("email") or {}).get("address"),
        "from_name": f"PST {office.get('name') or c['office']}",
        "in_reply_to": contact.get("last_message_id"),
        "references": " ".join(refs),
    }


def _whatsapp(c: Doc | None) -> bool:
    return c is not None and c.get("channel") == "whatsapp"


async def channel_reply(svc: Services, c: Doc, msg: Doc) -> Doc | None:
    """A staff text or file in a WhatsApp or e-mail consultation goes to the user that way (notes never).

    Returns the delivery state to store on the room message (WhatsApp), or None.
    """
    if msg.get("kind") not in ("text", "file"):
        return None
    office = await _office(svc, c["office"])
    office_name = str(office.get("name") or c["office"])
    att = msg.get("attachment") or None
    data: bytes | None = None
    if att:
        data = await file_store.read(svc.db, att["id"])
        if data is None:
            log.warning("consultation %s: the file of message %s is gone; not sent", c["_id"], msg["_id"])
            return None
    text = str(msg.get("text") or "")
    if _whatsapp(c):
        if att and data is not None:
            caption = text if text and text != att.get("filename") else None
            payload = wa.media_payload(str(att["content_type"]), str(att["filename"]), caption)
            media: Doc | None = {"data": data, "filename": att["filename"], "content_type": att["content_type"]}
        else:
            body = wa.render(c, "channel.wa_reply", officer=msg.get("author_name"), office=office_name, text=text)
            payload, media = wa.text_payload(body), None
        status = await wa.send_free_form(
            svc, c, "officer_replied", payload, media=media, room_message_id=msg["_id"], dedupe_key=f"wa:{msg['_id']}"
        )
        return {"channel": "whatsapp", "status": status, "at": svc.now()} if status else None
    user = await recipient(svc, c)
    attachments = (
        [{"filename": att["filename"], "content_type": att["content_type"], "data": data}] if att and data else None
    )
    await queue_mail(
        svc,
        user,
        c,
        "officer_replied",
        wa.mail_reply(c, office_name, str(msg.get("author_name") or ""), text),
        attachments=attachments,
        dedupe_key=f"mail:{msg['_id']}",
    )
    return None


async def channel_refused(
    svc: Services, c: Doc | None, office: Doc, *, to: str, subject: str, reason: str, thread: Doc | None = None
) -> None:
    """Tell someone who wrote through WhatsApp or e-mail why their message or file was not taken."""
    max_mb = 10
    if c is not None and _whatsapp(c):
        text = wa.render(c, "channel.wa_file_refused", filename=subject, reason=reason)
        await wa.send_free_form(svc, c, "channel_refused", wa.text_payload(text))
        return
    lang = str((c or {}).get("user_lang") or "id")
    name = str(office.get("name") or office.get("code"))
    body = i18n.t("channel.mail_refused", lang, office=name, reason=reason, max_mb=max_mb)
    await enqueue(
        svc.db,
        svc.now(),
        kind="channel_refused",
        to=to,
        lang=lang,
        subject=i18n.t("channel.mail_refused_subject", lang, subject=subject[:150]),
        text=body,
        consultation_id=c["_id"] if c else None,
        office=office.get("code"),
        thread=thread,
    )
    if svc.outbox_worker is not None:
        svc.outbox_worker.kick()


async def verification_requested(svc: Services, user: Doc, token: str) -> None:
    """The account verification mail, carrying the link of a single-use token."""
    link = f"{svc.settings.base_url}/verify?token={token}"
    await queue_mail(svc, user, None, "verify_email", mails.verify_email(user, link, footer=with_footer(svc, None)))


async def password_reset_requested(svc: Services, user: Doc, token: str) -> None:
    """The password reset mail, carrying the link of a single-use token."""
    link = f"{svc.settings.base_url}/reset?token={token}"
    await queue_mail(svc, user, None, "reset_password", mails.reset_password(user, link, footer=with_footer(svc, None)))


async def register_attempted(svc: Services, user: Doc) -> None:
    """Someone registered with the address of this existing account: its owner hears of it (the caller
    got the same answer as for a new address), with a way to reset a forgotten password."""
    link = f"{svc.settings.base_url}/app/#/forgot"
    await queue_mail(
        svc, user, None, "register_attempted", mails.register_attempted(user, link, footer=with_footer(svc, None))
    )


async def consultation_received(svc: Services, c: Doc, office: Doc) -> None:
    if _whatsapp(c):
        text = wa.render(c, "channel.wa_received", office=office.get("name"), number=c.get("number"))
        await wa.send_free_form(
            svc, c, "consultation_received", wa.text_payload(text), dedupe_key=f"received:{c['_id']}"
        )
        return
    user = await recipient(svc, c)
    office = with_footer(svc, office)
    due = c["sla"]["due_at"]
    due_text = calendar.local_date_str(due, office["time_zone"], user.get("lang", "id"))
    await queue_mail(
        svc,
        user,
        c,
        "consultation_received",
        mails.consultation_received(user, c, office, due_text),
        dedupe_key=f"received:{c['_id']}",
    )


async def officer_replied(svc: Services, c: Doc, msg: Doc) -> None:
    user = await recipient(svc, c)
    office = await _office(svc, c["office"])
    excerpt = (msg.get("text") or "")[:300]
    mail = mails.officer_replied(user, c, office, room_link(svc, c), excerpt)
    await queue_mail(svc, user, c, "officer_replied", mail)


async def transcript(svc: Services, c: Doc, lang: str) -> tuple[Doc, str, str]:
    """(office, text, html) of a consultation's transcript: every visible message in order, never notes."""
    office = await _office(svc, c["office"])
    msgs = [
        m async for m in svc.db.messages.find({"consultation_id": c["_id"], "kind": {"$ne": "note"}}).sort("seq", 1)
    ]
    text, html = render_transcript(c, msgs, office, lang, base_url=svc.settings.base_url)
    return office, text, html


async def consultation_closed(svc: Services, c: Doc) -> None:
    """The transcript e-mail and the rating request, queued together at close (WhatsApp: by WhatsApp)."""
    if _whatsapp(c):
        await _whatsapp_closed(svc, c)
        return
    user = await recipient(svc, c)
    office, t_text, t_html = await transcript(svc, c, user.get("lang", "id"))
    n = int(c.get("close_count", 0))
    await queue_mail(
        svc,
        user,
        c,
        "consultation_closed",
        mails.consultation_closed(user, c, office, t_text, t_html, c.get("close_reason") or "resolved"),
        dedupe_key=f"closed:{c['_id']}:{c['closed_at'].isoformat()}:{n}",
    )
    if not c.get("rating"):
        await queue_mail(
            svc,
            user,
            c,
            "rating_request",
            mails.rating_request(
                user, c, office, rating_link(svc, c), survey_link=await _survey_link_if_unanswered(svc, c)
            ),
            dedupe_key=f"rating_request:{c['_id']}:{c['closed_at'].isoformat()}",
        )


async def _whatsapp_transcript(svc: Services, c: Doc, kind: str, dedupe_key: str | None) -> None:
    """The transcript as a text document in the WhatsApp chat."""
    _, t_text, _ = await transcript(svc, c, wa.lang_of(c))
    name = f"transkrip-{c.get('number') or c['_id']}.txt"
    await wa.send_free_form(
        svc,
        c,
        kind,
        wa.media_payload("text/plain", name, None),
        media={"data": t_text.encode("utf-8"), "filename": name, "content_type": "text/plain"},
        dedupe_key=dedupe_key,
    )


async def _whatsapp_closed(svc: Services, c: Doc) -> None:
    """Closing a WhatsApp consultation: a notice and the transcript, then the rating request."""
    stamp = f"{c['_id']}:{c['closed_at'].isoformat()}:{int(c.get('close_count', 0))}"
    text = wa.render(c, "channel.wa_closed", number=c.get("number"), summary=c.get("summary"))
    await wa.send_free_form(svc, c, "consultation_closed", wa.text_payload(text), dedupe_key=f"closed:{stamp}")
    await _whatsapp_transcript(svc, c, "transcript", f"transcript:{stamp}")
    if not c.get("rating"):
        await _whatsapp_rating(svc, c, "rating_request", f"rating_request:{c['_id']}:{c['closed_at'].isoformat()}")


async def _whatsapp_rating(svc: Services, c: Doc, kind: str, dedupe_key: str) -> None:
    link = rating_link(svc, c)
    await wa.send_text_or_template(
        svc,
        c,
        kind,
        wa.render(c, "channel.wa_rating", number=c.get("number"), link=link),
        svc.settings.whatsapp_template_rating,
        [str(c.get("number") or ""), link],
        dedupe_key=dedupe_key,
    )


async def transcript_again(svc: Services, c: Doc) -> Doc | None:
    """The user asked for the transcript again from the page."""
    if _whatsapp(c):
        await _whatsapp_transcript(svc, c, "transcript", None)
        return None
    user = await recipient(svc, c)
    office, t_text, t_html = await transcript(svc, c, user.get("lang", "id"))
    return await queue_mail(
        svc,
        user,
        c,
        "transcript",
        mails.consultation_closed(user, c, office, t_text, t_html, c.get("close_reason") or "resolved"),
    )


async def rating_reminder(svc: Services, c: Doc) -> None:
    if _whatsapp(c):
        await _whatsapp_rating(svc, c, "rating_reminder", f"rating_reminder:{c['_id']}")
        return
    user = await recipient(svc, c)
    office = await _office(svc, c["office"])
    await queue_mail(
        svc,
        user,
        c,
        "rating_reminder",
        mails.rating_reminder(
            user, c, office, rating_link(svc, c), survey_link=await _survey_link_if_unanswered(svc, c)
        ),
        dedupe_key=f"rating_reminder:{c['_id']}",
    )


async def idle_warning(svc: Services, c: Doc, close_at: Any) -> None:
    if _whatsapp(c):
        office = await _office(svc, c["office"])
        tz = str(office.get("time_zone") or "Asia/Jakarta")
        await wa.send_text_or_template(
            svc,
            c,
            "idle_warning",
            wa.render(c, "channel.wa_idle", number=c.get("number"), close_at=close_at, tz=tz),
            svc.settings.whatsapp_template_idle,
            [str(c.get("number") or ""), calendar.local_date_str(close_at, tz, wa.lang_of(c))],
            dedupe_key=f"idle_warning:{c['_id']}:{close_at.isoformat()}",
        )
        return
    user = await recipient(svc, c)
    office = await _office(svc, c["office"])
    close_text = calendar.local_date_str(close_at, office["time_zone"], user.get("lang", "id"))
    await queue_mail(
        svc,
        user,
        c,
        "idle_warning",
        mails.idle_warning(user, c, office, close_text, room_link(svc, c)),
        dedupe_key=f"idle_warning:{c['_id']}:{close_at.isoformat()}",
    )


async def sla_alert(svc: Services, c: Doc, state: str) -> None:
    """At risk / breached: the assigned officer and the office's supervisors, once each."""
    office = await _office(svc, c["office"])
    due_text = calendar.local_date_str(c["sla"]["due_at"], office["time_zone"], "id")
    recipients: list[Doc] = []
    if c.get("assigned_to"):
        officer = await svc.db.users.find_one({"_id": c["assigned_to"]})
        if officer:
            recipients.append(officer)
    async for sup in svc.db.users.find({"office": c["office"], "role": "supervisor"}):
        if all(sup["_id"] != r["_id"] for r in recipients):
            recipients.append(sup)
    link = f"{svc.settings.base_url}/console/#/c/{c['_id']}"
    for staff in recipients:
        await queue_mail(
            svc,
            staff,
            c,
            "sla_alert",
            mails.sla_alert(staff, c, office, state, due_text, link),
            dedupe_key=f"sla:{c['_id']}:{state}:{staff['_id']}",
        )


# --- meetings and visits: invitations with an .ics -----------------------------------------------


def mail_domain(svc: Services) -> str:
    """The host name in calendar UIDs (meetings and visits)."""
    return (urlsplit(svc.settings.base_url).hostname or "pst.localhost").lower()


def organizer(svc: Services, office: Doc) -> tuple[str, str]:
    """(address, name) of the organizer in calendar invites (meetings and visits)."""
    _, addr = parseaddr(svc.settings.mail_from)
    if not re.fullmatch(r"[^\s@<>\"\\,;:]+@[^\s@<>\"\\,;:]+", addr or ""):
        addr = "no-reply@pst.localhost"
    return addr, str(office.get("name") or "PST Konsultasi")


def _meeting_ics(svc: Services, m: Doc, parts: Doc, office: Doc, user: Doc, *, cancel: bool) -> Doc | None:
    """The .ics attachment for the meeting's current SEQUENCE: REQUEST, or CANCEL after a cancel."""
    email = str(user.get("email") or "")
    if not email:
        return None
    org_email, org_name = organizer(svc, office)
    start: datetime = m.get("start_time") or m["created_at"]
    lines = [f"Konsultasi / Consultation: {m.get('topic')}"]
    if parts.get("join_url"):
        lines.append(f"Tautan bergabung / Join link: {parts['join_url']}")
    if parts.get("passcode"):
        lines.append(f"Kode sandi / Passcode: {parts['passcode']}")
    try:
        data = build_invite(
            uid=str(m["uid"]),
            sequence=int(m.get("sequence", 0)),
            method="CANCEL" if cancel else "REQUEST",
            summary=str(m.get("topic") or "PST Konsultasi"),
            description="\n".join(lines),
            start=start,
            duration_min=int(m["duration"]),
            tz=str(m["timezone"]),
            location_url=None if cancel else str(m["join_url"]),
            organizer_email=org_email,
            organizer_name=org_name,
            attendee_email=email,
            attendee_name=user.get("name"),
            now=svc.now(),
        )
    except ValueError:
        log.warning("no calendar invite for meeting %s: the attendee address is not usable", m["_id"])
        return None
    method = "CANCEL" if cancel else "REQUEST"
    return {
        "filename": "cancel.ics" if cancel else "invite.ics",
        "content_type": "text/calendar",
        "method": method,
        "data": data,
    }


async def meeting_changed(svc: Services, c: Doc, office: Doc, m: Doc, action: str, view: MeetingView) -> None:
    """A meeting was created, updated or cancelled: the invitation, change or cancellation, with its .ics."""
    if _whatsapp(c):
        await _whatsapp_meeting(svc, c, office, m, view, action, f"meeting:{m['_id']}:{m.get('sequence', 0)}:{action}")
        return
    user = await recipient(svc, c)
    if not user.get("email"):
        return
    office = with_footer(svc, office)
    parts = view(m, user.get("lang", "id"))
    attachment = _meeting_ics(svc, m, parts, office, user, cancel=action == "cancelled")
    await queue_mail(
        svc,
        user,
        c,
        "meeting",
        mails.meeting_invite(user, c, office, parts, parts["when_text"], action),
        attachments=[attachment] if attachment else None,
        dedupe_key=f"meeting:{m['_id']}:{m.get('sequence', 0)}:{action}",
    )


async def meeting_reminder(svc: Services, c: Doc, office: Doc, m: Doc, view: MeetingView) -> None:
    """A meeting starts soon: the reminder, once per meeting and SEQUENCE."""
    if _whatsapp(c):
        key = f"meeting_reminder:{m['_id']}:{m.get('sequence', 0)}"
        await _whatsapp_meeting(svc, c, office, m, view, "reminder", key)
        return
    user = await recipient(svc, c)
    if not user.get("email"):
        return
    office = with_footer(svc, office)
    parts = view(m, user.get("lang", "id"))
    await queue_mail(
        svc,
        user,
        c,
        "meeting_reminder",
        mails.meeting_reminder(user, c, office, parts, parts["when_text"]),
        dedupe_key=f"meeting_reminder:{m['_id']}:{m.get('sequence', 0)}",
    )


async def _whatsapp_meeting(
    svc: Services, c: Doc, office: Doc, m: Doc, view: MeetingView, action: str, dedupe_key: str
) -> None:
    """A meeting's link (or its cancellation) in the WhatsApp chat."""
    parts = view(m, wa.lang_of(c))
    if action == "cancelled":
        text = wa.render(c, "channel.wa_meeting_cancelled", number=c.get("number"))
    else:
        text = wa.render(
            c,
            "channel.wa_meeting",
            number=c.get("number"),
            start=m.get("start_time"),
            tz=str(office.get("time_zone") or "Asia/Jakarta"),
            join_url=parts.get("join_url"),
            passcode=parts.get("passcode"),
        )
    await wa.send_free_form(svc, c, "meeting", wa.text_payload(text), dedupe_key=dedupe_key)


def _visit_ics(svc: Services, v: Doc, parts: Doc, office: Doc, user: Doc, *, cancel: bool) -> Doc | None:
    email = str(user.get("email") or "")
    if not email:
        return None
    org_email, org_name = organizer(svc, office)
    description = "\n".join(
        [
            f"Kode pemesanan / Booking code: {v['code']}",
            f"{parts['place']}" + (f", {parts['address']}" if parts.get("address") else ""),
            *parts["requirements"],
        ]
    )
    try:
        data = build_invite(
            uid=f"pst-visit-{v['code']}@{mail_domain(svc)}",
            sequence=int(v.get("sequence", 0)),
            method="CANCEL" if cancel else "REQUEST",
            summary=f"Kunjungan PST {office.get('name')}",
            description=description,
            start=v["slot_start"],
            duration_min=max(1, int((v["slot_end"] - v["slot_start"]).total_seconds() // 60)),
            tz=str(office["time_zone"]),
            location_url=None,
            organizer_email=org_email,
            organizer_name=org_name,
            attendee_email=email,
            attendee_name=user.get("name"),
            now=svc.now(),
        )
    except ValueError:
        return None
    return {
        "filename": "cancel.ics" if cancel else "visit.ics",
        "content_type": "text/calendar",
        "method": "CANCEL" if cancel else "REQUEST",
        "data": data,
    }


async def visit_changed(svc: Services, c: Doc, office: Doc, v: Doc, action: str, view: VisitView) -> None:
    """A visit was booked or cancelled: the confirmation or the cancellation, with its .ics."""
    if _whatsapp(c) and action != "cancelled":
        text = wa.render(c, "channel.wa_visit", start=v["slot_start"], tz=str(office["time_zone"]), code=v["code"])
        await wa.send_free_form(svc, c, "visit", wa.text_payload(text), dedupe_key=f"visit:{v['code']}:{action}")
        return
    user = await recipient(svc, c)
    if not user.get("email"):
        return
    office = with_footer(svc, office)
    parts = view(v, office, "en" if user.get("lang") == "en" else "id")
    cancelled = action == "cancelled"
    ics = _visit_ics(svc, v, parts, office, user, cancel=cancelled)
    rendered = (
        mails.visit_cancelled(user, c, office, v, parts["when_text"])
        if cancelled
        else mails.visit_confirmation(user, c, office, parts, parts["when_text"])
    )
    await queue_mail(
        svc,
        user,
        c,
        "visit",
        rendered,
        attachments=[ics] if ics else None,
        dedupe_key=f"visit:{v['code']}:{action}",
    )


# --- complaints ---------------------------------------------------------------------------------


async def _complaint_managers(svc: Services, office: str) -> list[Doc]:
    """Who is alerted of an office's complaints: its supervisors (its admins when it has none)."""
    found = [u async for u in svc.db.users.find({"office": office, "role": "supervisor"}) if not u.get("disabled")]
    if not found:
        found = [u async for u in svc.db.users.find({"office": office, "role": "admin"}) if not u.get("disabled")]
    return found


async def _complaint_mail(svc: Services, complaint: Doc, kind: str, rendered: tuple[str, str, str], key: str) -> None:
    to = complaint.get("email")
    if not to:
        return
    subject, text, html = rendered
    await enqueue(
        svc.db,
        svc.now(),
        kind=kind,
        to=str(to),
        to_name=complaint.get("name"),
        lang=str(complaint.get("lang") or "id"),
        subject=subject,
        text=text,
        html=html,
        consultation_id=complaint.get("consultation_id"),
        office=complaint.get("office"),
        user_id=complaint.get("user_id"),
        dedupe_key=key,
    )
    if svc.outbox_worker is not None:
        svc.outbox_worker.kick()


async def complaint_received(svc: Services, complaint: Doc, office: Doc) -> None:
    """The acknowledgement to the complainant: the number, what they wrote and the answer's deadline."""
    lang = "en" if complaint.get("lang") == "en" else "id"
    tz = str(office.get("time_zone") or complaint.get("time_zone") or "Asia/Jakarta")
    rendered = mails.complaint_received(
        complaint,
        with_footer(svc, office),
        calendar.local_date_str(complaint["due_at"], tz, lang),
        calendar.local_date_str(complaint["created_at"], tz, lang),
    )
    await _complaint_mail(svc, complaint, "complaint_received", rendered, f"complaint_received:{complaint['_id']}")


async def complaint_answered(svc: Services, complaint: Doc, office: Doc) -> None:
    """The office's response to the complainant (resolved), or the reason it cannot follow it up (rejected)."""
    lang = "en" if complaint.get("lang") == "en" else "id"
    tz = str(office.get("time_zone") or complaint.get("time_zone") or "Asia/Jakarta")
    rendered = mails.complaint_answered(
        complaint, with_footer(svc, office), calendar.local_date_str(complaint["created_at"], tz, lang)
    )
    await _complaint_mail(svc, complaint, "complaint_answered", rendered, f"complaint_answered:{complaint['_id']}")


async def complaint_alert(svc: Services, complaint: Doc, office: Doc, state: str) -> None:
    """A complaint arrived, is at risk or overdue: each of the office's supervisors once per state."""
    tz = str(office.get("time_zone") or complaint.get("time_zone") or "Asia/Jakarta")
    link = f"{svc.settings.base_url}/console/#complaints/{complaint['_id']}"
    footer = with_footer(svc, office)
    for staff in await _complaint_managers(svc, complaint["office"]):
        lang = "en" if staff.get("lang") == "en" else "id"
        await queue_mail(
            svc,
            staff,
            None,
            "complaint_alert",
            mails.complaint_alert(
                staff, complaint, footer, state, calendar.local_date_str(complaint["due_at"], tz, lang), link
            ),
            dedupe_key=f"complaint_alert:{complaint['_id']}:{state}:{staff['_id']}",
        )
