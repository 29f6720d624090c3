"""Knowledge-base Markdown: safe HTML for display and plain text for the search index."""

from __future__ import annotations

from functools import cache, lru_cache

import nh3
from markdown_it import MarkdownIt
from markdown_it.token import Token

# fmt: off
ALLOWED_TAGS: frozenset[str] = frozenset(
    {
        "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "strong", "em", "s", "del", "code", "pre",
        "blockquote", "ul", "ol", "li", "a", "img", "table", "thead", "tbody", "tr", "th", "td",
    }
)
ALLOWED_ATTRIBUTES: dict[str, set[str]] = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title"},
    "ol": {"start"},
}
# fmt: on
LINK_SCHEMES: tuple[str, ...] = ("http://", "https://", "mailto:")
# Images load without a click, so they may only come over https (no tracking over plain http, no data:).
IMAGE_SCHEMES: tuple[str, ...] = ("https://",)
LINK_REL = "noopener noreferrer nofollow"

# Blocks whose end separates text, so that "judul" and "paragraf" do not run together in the index.
# fmt: off
_BLOCK_ENDS = frozenset(
    {
        "paragraph_close", "heading_close", "list_item_close", "blockquote_close", "tr_close",
        "bullet_list_close", "ordered_list_close", "table_close",
    }
)
# fmt: on
_CELL_ENDS = frozenset({"th_close", "td_close"})


@cache
def _parser() -> MarkdownIt:
    # Raw HTML is off: an author's "<script>" is shown as text, never passed through.
    return MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable(
        ["table", "strikethrough"]
    )


def _filter_attribute(tag: str, attr: str, value: str) -> str | None:
    """Keep a URL attribute only with an allowed absolute scheme; relative and `//host` URLs are dropped."""
    if attr == "href":
        return value if value.strip().lower().startswith(LINK_SCHEMES) else None
    if attr == "src":
        return value if value.strip().lower().startswith(IMAGE_SCHEMES) else None
    return value


def render_markdown(md: str) -> str:
    """Markdown -> HTML that is safe to insert into a page (allow-listed tags, attributes and URLs)."""
    html = _parser().render(md)
    return nh3.clean(
        html,
        tags=set(ALLOWED_TAGS),
        clean_content_tags={"script", "style"},
        attributes=ALLOWED_ATTRIBUTES,
        attribute_filter=_filter_attribute,
        url_schemes={"http", "https", "mailto"},
        link_rel=LINK_REL,
        strip_comments=True,
    )


def _inline_text(token: Token, out: list[str]) -> None:
    for child in token.children or ():
        if child.type in ("text", "code_inline", "html_inline"):
            out.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            out.append(" ")
        elif child.type == "image":
            # The alt text is what a reader of the article sees in place of the picture.
            _inline_text(child, out)


@lru_cache(maxsize=1024)
def markdown_to_text(md: str) -> str:
    """Markdown -> plain text (no markup, no URLs), blocks separated by newlines (the last texts kept:
    every process start converts every article again)."""
    out: list[str] = []
    for token in _parser().parse(md):
        if token.type == "inline":
            _inline_text(token, out)
        elif token.type in ("fence", "code_block", "html_block"):
            out.append(token.content)
            out.append("\n")
        elif token.type in _BLOCK_ENDS:
            out.append("\n")
        elif token.type in _CELL_ENDS:
            out.append(" ")
    lines = (" ".join(line.split()) for line in "".join(out).splitlines())
    return "\n".join(line for line in lines if line)
