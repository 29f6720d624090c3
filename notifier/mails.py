"""Temporary alias of server.mail.mails while domain/escalation.py is being split (removed after).

`layout` is the old f-string layout, kept only for escalation's cancelled-visit mail until it calls
mails.visit_cancelled.
"""

from __future__ import annotations

from html import escape
from typing import Any

from server.mail.mails import meeting_invite as meeting_invite
from server.mail.mails import meeting_reminder as meeting_reminder
from server.mail.mails import visit_confirmation as visit_confirmation
from server.mail.mails import visit_requirements as visit_requirements

Doc = dict[str, Any]


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
