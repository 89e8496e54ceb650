"""``card_html``: a list's cards, each rendered once for as long as its row stays the same.

Rendering the ten cards of a list page was most of its template's cost (links, byline, tags,
escaping). A card shows its row and nothing else: every column :func:`blog_service.queries.cards`
selects, and the links, which depend on where the blog is mounted (the request's script root).
So the HTML is remembered per (script root, row): a row that changes in any column (a new
comment count, a retitled post, another tag) is a new key and renders afresh, and nothing is
ever served stale. The memo belongs to the app (several apps share a process in the embedded
runner and in tests) and is bounded: when full it starts again empty.

An ORM ``Post`` (a post page's own object, not a list row) is rendered every time.
"""

from __future__ import annotations

from typing import Any, cast

from flask import current_app, request
from markupsafe import Markup
from sqlalchemy.engine import Row

#: How many rendered cards an app keeps (a few kilobytes each).
MEMO_SIZE = 2048
_EXTENSION_KEY = "blog.cards"


def _render(post: Any) -> Markup:
    card = current_app.jinja_env.get_template("posts/_parts.html").module.card  # type: ignore[attr-defined]
    # A macro of an autoescaped (.html) template returns Markup: its values are escaped.
    return cast(Markup, card(post))


def _key(row: Row[Any]) -> tuple[Any, ...]:
    # A list (the tag names) cannot be part of a key; its tuple can.
    values = tuple(tuple(value) if isinstance(value, list) else value for value in row)
    return (request.script_root, values)


def card_html(post: Any) -> Markup:
    """The card of ``post`` (a row of ``queries.cards``, or a ``Post``), as HTML."""
    if not isinstance(post, Row):
        return _render(post)
    memo: dict[tuple[Any, ...], Markup] = current_app.extensions.setdefault(_EXTENSION_KEY, {})
    key = _key(post)
    html = memo.get(key)
    if html is None:
        if len(memo) >= MEMO_SIZE:
            memo.clear()  # simpler than an LRU, and a list page refills it in one request
        html = memo[key] = _render(post)
    return html
