"""Builds the notifier worker for this process from the settings: SMTP when SMTP_URL is set, files otherwise."""

from __future__ import annotations

from typing import Any

from notifier.sender import make_sink
from notifier.whatsapp_sender import WhatsAppSink
from notifier.worker import Notifier
from server.services import Services


def make_notifier(svc: Services) -> Notifier:
    sink: Any = make_sink(svc.settings.smtp_url, svc.settings.mail_dir, clock=svc.clock)
    return Notifier(
        svc.db, svc.clock, sink, mail_from=svc.settings.mail_from, whatsapp=WhatsAppSink(svc.whatsapp)
    )
