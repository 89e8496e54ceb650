"""The Atom feed of the latest published posts."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template

from blog_service.extensions import db
from blog_service.models import utcnow
from blog_service.queries import published_posts

bp = Blueprint("feed", __name__)

FEED_LENGTH = 20


@bp.get("/feed.xml")
def atom() -> tuple[str, int, dict[str, str]]:
    """The 20 newest published posts as an Atom 1.0 feed."""
    statement = published_posts().limit(FEED_LENGTH)
    posts = list(db.session.scalars(statement))
    body = render_template(
        "feed/atom.xml", posts=posts, title=current_app.config["BLOG_TITLE"], now=utcnow()
    )
    return body, 200, {"Content-Type": "application/atom+xml; charset=utf-8"}
