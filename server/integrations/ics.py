"""Temporary alias of server.mail.ics while domain/escalation.py is being split (removed after)."""

from server.mail.ics import build_invite as build_invite
