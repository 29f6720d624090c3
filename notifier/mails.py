"""Temporary alias of server.mail.mails while domain/escalation.py is being split (removed after)."""

from server.mail.mails import layout as layout
from server.mail.mails import meeting_invite as meeting_invite
from server.mail.mails import meeting_reminder as meeting_reminder
from server.mail.mails import visit_confirmation as visit_confirmation
from server.mail.mails import visit_requirements as visit_requirements
