"""Turning a post's Markdown into HTML that is safe to show.

Two steps, each doing one job: markdown-it-py renders CommonMark with raw HTML switched off, then
nh3 keeps only the tags, attributes and URL schemes on an explicit allow-list. The second step
would catch anything the first let through (a ``javascript:`` link, an event handler), so the
output is safe even if a Markdown option is changed later.

Two touches for reading: a fenced block that names its language is highlighted by Pygments here,
on the server, as ``<span class="k">`` tokens that ``static/code.css`` colours (no inline style,
no script, so the Content-Security-Policy stays as it is); and headings start at ``h2``, below
the post's title, which is the page's one ``h1``.
"""

from __future__ import annotations

import re

import nh3
from markdown_it import MarkdownIt
from markdown_it.rules_core import StateCore
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import get_lexer_by_name
from pygments.util import ClassNotFound

#: Token classes only, no wrapper: markdown-it adds <pre><code class="language-x"> around them.
_formatter = HtmlFormatter(nowrap=True)


def _highlight(code: str, language: str, _attributes: str) -> str:
    """Fenced code in a language Pygments knows, as HTML with token classes; "" for the rest."""
    if not language:
        return ""
    try:
        lexer = get_lexer_by_name(language)
    except ClassNotFound:
        return ""  # markdown-it then escapes the code as plain text
    return highlight(code, lexer, _formatter)


def _headings_below_the_title(state: StateCore) -> None:
    """``# A heading`` becomes ``<h2>``: the post's title is the page's ``<h1>``."""
    for token in state.tokens:
        if token.type in ("heading_open", "heading_close"):
            token.tag = f"h{min(int(token.tag[1]) + 1, 6)}"


_markdown = MarkdownIt(
    "commonmark",
    {"html": False, "linkify": False, "typographer": False, "highlight": _highlight},
)
_markdown.core.ruler.push("headings_below_the_title", _headings_below_the_title)

ALLOWED_TAGS = frozenset(
    {
        "a", "blockquote", "br", "code", "em", "h2", "h3", "h4", "h5", "h6", "hr",
        "img", "li", "ol", "p", "pre", "span", "strong", "ul",
    }
)  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title"},
    "code": {"class"},
    "ol": {"start"},
    "span": {"class"},
}
ALLOWED_URL_SCHEMES = frozenset({"http", "https", "mailto"})
#: markdown-it marks fenced code as ``<code class="language-python">``; keep only that shape.
_LANGUAGE_CLASS = re.compile(r"language-[A-Za-z0-9_+-]{1,32}")
#: Pygments' short token classes ("k", "nb", "s2", "err"): a span may carry one, nothing else.
_TOKEN_CLASS = re.compile(r"[a-z]{1,3}[0-9]?")


def _keep_attribute(tag: str, attribute: str, value: str) -> str | None:
    if tag == "code" and attribute == "class":
        return value if _LANGUAGE_CLASS.fullmatch(value) else None
    if tag == "span" and attribute == "class":
        return value if _TOKEN_CLASS.fullmatch(value) else None
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
