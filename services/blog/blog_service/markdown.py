"""Turning a post's Markdown into HTML that is safe to show.

Two steps, each doing one job: markdown-it-py renders CommonMark with raw HTML switched off, then
nh3 keeps only the tags, attributes and URL schemes on an explicit allow-list. The second step
would catch anything the first let through (a ``javascript:`` link, an event handler), so the
output is safe even if a Markdown option is changed later.
"""

from __future__ import annotations

import re

import nh3
from markdown_it import MarkdownIt

_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})

ALLOWED_TAGS = frozenset(
    {
        "a", "blockquote", "br", "code", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr",
        "img", "li", "ol", "p", "pre", "strong", "ul",
    }
)  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title"},
    "code": {"class"},
    "ol": {"start"},
}
ALLOWED_URL_SCHEMES = frozenset({"http", "https", "mailto"})
#: markdown-it marks fenced code as ``<code class="language-python">``; keep only that shape.
_LANGUAGE_CLASS = re.compile(r"language-[A-Za-z0-9_+-]{1,32}")


def _keep_attribute(tag: str, attribute: str, value: str) -> str | None:
    if tag == "code" and attribute == "class":
        return value if _LANGUAGE_CLASS.fullmatch(value) else None
    return value


def sanitize_html(html: str) -> str:
    """Keep only allow-listed markup; links get ``rel="noopener nofollow"``."""
    return nh3.clean(
        html,
        tags=set(ALLOWED_TAGS),
        clean_content_tags={"script", "style"},
        attributes={tag: set(names) for tag, names in ALLOWED_ATTRIBUTES.items()},
        attribute_filter=_keep_attribute,
        url_schemes=set(ALLOWED_URL_SCHEMES),
        link_rel="noopener nofollow",
    )


def render_markdown(text: str) -> str:
    """The sanitized HTML for Markdown ``text``."""
    return sanitize_html(_markdown.render(text))
