"""Helpers the blog suite's tests import: the app, posts, comments, signed-in clients, CSRF.

conftest.py holds only fixtures; a test module imports helpers from here, never from
conftest or from another test module.
"""

from __future__ import annotations

import itertools
import os
from datetime import timedelta
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from blog_service import create_app
from blog_service.extensions import db
from blog_service.markdown import render_markdown
from blog_service.models import Comment, Post, Tag
from servicekit.clock import utcnow
from servicekit.testing import TestTokenIssuer, csrf_token_in

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


def make_app(tmp_path: Path, token_issuer: TestTokenIssuer, **overrides: object) -> Flask:
    """A testing app whose instance folder is ``tmp_path``."""
    environ = {"APP_ENV": "testing", "BLOG_INSTANCE_PATH": str(tmp_path)}
    database_url = os.environ.get("TEST_DATABASE_URL")
    if database_url:
        environ["BLOG_DATABASE_URL"] = database_url
    config = {
        "AUTH_JWKS": token_issuer.jwks(),
        # Tests write rows straight into the database and count each page's statements: a list
        # page must be read every time. tests/test_card_lists.py turns the sharing on.
        "BLOG_FRAGMENT_CACHE_SECONDS": 0,
        **overrides,
    }
    return create_app(config, environ=environ)


class Clients:
    """Makes test clients signed in as someone, the way auth's identity cookie would."""

    def __init__(self, app: Flask, key: TestTokenIssuer) -> None:
        self.app = app
        self.key = key

    def __call__(self, sub: str, name: str, *roles: str) -> FlaskClient:
        client = self.app.test_client()
        token = self.key.mint(sub=sub, name=name, roles=roles or ("reader",))
        client.set_cookie("identity", token)
        return client


def csrf_token(client: FlaskClient, url: str) -> str:
    """The CSRF token in the form on ``url``, as a browser would get it."""
    response = client.get(url)
    token = csrf_token_in(response.get_data(as_text=True))
    assert token is not None, f"no CSRF token on {url} ({response.status_code})"
    return token


def comment_count(app: Flask) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(Comment.id))) or 0
