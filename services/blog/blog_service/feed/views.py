"""The Atom feed of the latest published posts."""

from __future__ import annotations

import re

from flask import Blueprint, current_app, render_template

from blog_service.caching import cacheable_page
from blog_service.queries import newest_published
from servicekit.clock import utcnow

bp = Blueprint("feed", __name__)

FEED_LENGTH = 20

#: What XML 1.0 does not allow in a document at all, escaped or not: most control characters,
#: lone surrogates, U+FFFE and U+FFFF.
NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


@bp.app_template_filter("xml_text")
def xml_text(text: str) -> str:
    """``text`` without the characters XML forbids (then escaped by Jinja as usual).

    The post form refuses control characters, but a row saved before that check, or an author
    name from a token, may still hold one: one such character makes the whole feed unreadable.
    """
    return NOT_XML.sub("", text)


@bp.get("/feed.xml")
@cacheable_page
def atom() -> tuple[str, int, dict[str, str]]:
    """The 20 newest published posts as an Atom 1.0 feed (a feed reader gets 304s)."""
    posts = newest_published(FEED_LENGTH)
    body = render_template(
        "feed/atom.xml", posts=posts, title=current_app.config["BLOG_TITLE"], now=utcnow()
    )
    return body, 200, {"Content-Type": "application/atom+xml; charset=utf-8"}
