"""Builds the notifier worker for this process from the settings: SMTP when SMTP_URL is set, files otherwise."""

from __future__ import annotations

import logging
from typing import Any

from server.services import Services

log = logging.getLogger(__name__)


def make_sink(svc: Services) -> Any:
    from notifier.sender import FileSink, SmtpSink, parse_smtp_url

    if svc.settings.smtp_url:
        return SmtpSink(parse_smtp_url(svc.settings.smtp_url))
    return FileSink(svc.settings.mail_dir)


def make_notifier(svc: Services) -> Any:
    from notifier.worker import Notifier

    return Notifier(svc.db, svc.clock, make_sink(svc), mail_from=svc.settings.mail_from)
