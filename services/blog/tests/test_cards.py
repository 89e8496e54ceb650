"""A list's cards are rendered once per version of their row, and never shown stale."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient

from blog_service import cards
from blog_service.extensions import db
from blog_service.models import Tag
from tests.support import make_comment, make_post


def _memo(app: Flask) -> dict[object, object]:
    return app.extensions.setdefault("blog.cards", {})


def test_a_card_is_rendered_once_and_the_page_is_the_same(app: Flask, client: FlaskClient) -> None:
    with app.app_context():
        make_post("Remembered card", tags=["flask"])
    first = client.get("/", headers={"Cookie": "reader=1"}).get_data(as_text=True)
    assert len(_memo(app)) == 1
    second = client.get("/", headers={"Cookie": "reader=1"}).get_data(as_text=True)
    assert second == first
    assert len(_memo(app)) == 1  # the same row: the kept HTML


def test_a_changed_row_renders_afresh(app: Flask, client: FlaskClient) -> None:
    with app.app_context():
        post = make_post("Changing card", tags=["flask"])
    assert "0 comments" in client.get("/").get_data(as_text=True)
    with app.app_context():
        post = db.session.merge(post)
        make_comment(post)
    page = client.get("/").get_data(as_text=True)
    assert re.search(r"\b1 comment\b(?!s)", page)
    with app.app_context():
        post = db.session.merge(post)
        post.title = "Renamed card"
        post.tags = Tag.get_or_create(["python"])
        db.session.commit()
    page = client.get("/").get_data(as_text=True)
    assert "Renamed card" in page
    assert "Changing card" not in page
    assert "/tags/python" in page
    assert "/tags/flask" not in page


def test_the_links_follow_the_mount_point(app: Flask, client: FlaskClient) -> None:
    with app.app_context():
        make_post("Mounted card")
    at_root = client.get("/").get_data(as_text=True)
    mounted = client.get("/", environ_overrides={"SCRIPT_NAME": "/blog"}).get_data(as_text=True)
    assert 'href="/posts/mounted-card"' in at_root
    assert 'href="/blog/posts/mounted-card"' in mounted
    assert 'href="/blog/posts/mounted-card"' not in client.get("/").get_data(as_text=True)


def test_the_memo_is_bounded(
    app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cards, "MEMO_SIZE", 3)
    with app.app_context():
        for number in range(5):
            make_post(f"Bounded card {number}")
    client.get("/")
    assert len(_memo(app)) <= 3
