"""The Jinja2 environment of the mail templates (`server/mail/templates/`).

Every mail is a pair: `<mail>.txt.j2` (the plain-text part, which also sets `subject`) and
`<mail>.html.j2` (autoescaped). Both extend their layout and take the same context; the language
comes in as `en` (True for English, else Indonesian); every mail passes `office` (`{}` when there is
none: the footer then names BPS) and `link` (None when the mail has no button).

Never import a macro from a `.txt.j2` file into an `.html.j2` one: Jinja compiles escaping per file,
so a text macro called from HTML would return its arguments unescaped. Shared pieces live in
`_parts.txt.j2` and `_parts.html.j2`, one per format.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

Mail = tuple[str, str, str]


@cache
def environment() -> Environment:
    """Built on first use, not at import; HTML templates autoescape, text templates do not."""
    return Environment(
        loader=PackageLoader("server.mail", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html.j2",), disabled_extensions=("txt.j2",), default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )


def render_mail(mail: str, /, **context: Any) -> Mail:
    """(subject, text, html) of `mail` from its two templates; the subject is one line."""
    env = environment()
    text = env.get_template(f"{mail}.txt.j2").make_module(context)
    html = env.get_template(f"{mail}.html.j2").render(context)
    subject = " ".join(str(getattr(text, "subject")).split())  # noqa: B009 - set by the template
    return subject, str(text), html


def render_template(template: str, /, **context: Any) -> str:
    """One template rendered as text or HTML (its file name decides whether it is escaped)."""
    return environment().get_template(template).render(context)
