"""Test data, written straight to the database (call inside an app context)."""

from __future__ import annotations

import itertools
from datetime import timedelta

from blog_service.extensions import db
from blog_service.markdown import render_markdown
from blog_service.models import Comment, Post, Tag
from servicekit.clock import utcnow

_numbers = itertools.count(1)


def make_post(
    title: str | None = None,
    *,
    body: str = "Some *Markdown* text.",
    author_id: str = "1",
    author_name: str = "alice",
    published: bool = True,
    tags: list[str] | None = None,
    age_minutes: int = 0,
    commit: bool = True,
) -> Post:
    """A post (published unless told otherwise), ``age_minutes`` old."""
    number = next(_numbers)
    title = title or f"Post number {number}"
    post = Post(
        slug=Post.unique_slug(title),
        title=title,
        body=body,
        body_html=render_markdown(body),
        author_id=author_id,
        author_name=author_name,
        tags=Tag.get_or_create(tags or []),
    )
    post.publish(published)
    if published:
        post.published_at = utcnow() - timedelta(minutes=age_minutes)
    db.session.add(post)
    if commit:
        db.session.commit()
    return post


def make_comment(
    post: Post, body: str = "Nice post.", *, author_id: str = "3", author_name: str = "carol"
) -> Comment:
    """A comment on ``post``."""
    comment = Comment(post_id=post.id, body=body, author_id=author_id, author_name=author_name)
    db.session.add(comment)
    db.session.commit()
    return comment
