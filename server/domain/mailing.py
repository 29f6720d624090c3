"""Temporary alias of server.mail.mailing while domain/escalation.py is being split (removed after)."""

from server.mail.mailing import consultation_closed as consultation_closed
from server.mail.mailing import consultation_received as consultation_received
from server.mail.mailing import idle_warning as idle_warning
from server.mail.mailing import officer_replied as officer_replied
from server.mail.mailing import queue_mail as queue_mail
from server.mail.mailing import rating_reminder as rating_reminder
from server.mail.mailing import recipient as recipient
from server.mail.mailing import sla_alert as sla_alert
from server.mail.mailing import transcript as transcript
from server.mail.mailing import transcript_again as transcript_again
