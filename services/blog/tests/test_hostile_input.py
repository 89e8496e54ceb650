"""Replays of what an external review sent the blog: each was a 500 or a broken feed.

Each must pass on SQLite and on PostgreSQL (``nox -s postgres``), where a NUL byte in a query
used to reach the database as a DataError.
"""

from __future__ import annotations

import threading
import xml.etree.ElementTree as ET
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, func, select
from sqlalchemy.orm import ORMExecuteState

from blog_service.extensions import db
from blog_service.models import Post, Tag
from tests.support import Clients, csrf_token, make_comment, make_post

ATOM = "{http://www.w3.org/2005/Atom}"
HUGE = "99999999999999999999"


#: The oldest place a page link can name: nothing is older.
OLDEST = "00010101T000000.000000Z-1"


@pytest.mark.parametrize(
    "url",
    [
        f"/?before={OLDEST}",
        f"/?after=99991231T235959.999999Z-{2**31 - 1}",
        f"/search?q=post&before={OLDEST}",
        f"/tags/common?before={OLDEST}",
    ],
)
def test_a_page_past_the_end_is_a_404(app: Flask, client: FlaskClient, url: str) -> None:
    with app.app_context():
        make_post("A post", tags=["common"])
    assert client.get(url).status_code == 404


def test_a_page_of_drafts_past_the_end_is_a_404(alice: FlaskClient) -> None:
    assert alice.get(f"/drafts?before={OLDEST}").status_code == 404


@pytest.mark.parametrize(
    "cursor",
    [
        HUGE,
        f"20260101T000000.000000Z-{HUGE}",  # an id longer than any
        f"20260101T000000.000000Z-{2**31}",  # larger than an INTEGER column holds
        "20261301T000000.000000Z-1",  # month 13
        "20260101T000000.000000Z-1" + HUGE * 300,
        "20260101T000000Z-1",
        "",
    ],
)
def test_a_forged_page_link_is_a_400(app: Flask, client: FlaskClient, cursor: str) -> None:
    with app.app_context():
        make_post("A post", tags=["common"])
    for url in (
        f"/?before={cursor}",
        f"/tags/common?after={cursor}",
        f"/search?q=a&before={cursor}",
    ):
        response = client.get(url)
        assert response.status_code == 400, url
        assert "page link is not valid" in response.get_data(as_text=True)


@pytest.mark.parametrize("comment_id", [HUGE, str(2**31), "9" * 5000])
def test_a_huge_comment_id_is_a_404(app: Flask, carol: FlaskClient, comment_id: str) -> None:
    with app.app_context():
        make_comment(make_post("Open"))
    token = csrf_token(carol, "/posts/open")
    response = carol.post(f"/comments/{comment_id}/delete", data={"csrf_token": token})
    assert response.status_code == 404


@pytest.mark.parametrize(
    "url",
    ["/search?q=a%00b", "/tags/a%00b", "/posts/a%00b", "/authors/a%00b", "/images/a%00b"],
)
def test_a_nul_byte_is_a_400_not_a_database_error(client: FlaskClient, url: str) -> None:
    response = client.get(url)
    assert response.status_code == 400
    assert "cannot be stored" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "query", ["endpoint=x", "_method=POST", "_external=1", "_anchor=x", "_scheme=javascript"]
)
def test_pagination_links_keep_hostile_arguments_as_arguments(
    app: Flask, client: FlaskClient, query: str
) -> None:
    app.config["BLOG_POSTS_PER_PAGE"] = 1
    with app.app_context():
        make_post("First", tags=["common"])
        make_post("Second", tags=["common"])
    for url in (f"/?{query}", f"/tags/common?{query}", f"/search?q=markdown&{query}"):
        response = client.get(url)
        assert response.status_code == 200, url
        page = response.get_data(as_text=True)
        assert f"{query}&amp;before=" in page, url


def test_pagination_links_keep_the_search(app: Flask, client: FlaskClient) -> None:
    app.config["BLOG_POSTS_PER_PAGE"] = 1
    with app.app_context():
        make_post("Flask one")
        make_post("Flask two")
    page = client.get("/search?q=flask").get_data(as_text=True)
    assert 'href="/search?q=flask&amp;before=' in page


def test_control_characters_in_an_old_row_do_not_break_the_feed(
    app: Flask, client: FlaskClient
) -> None:
    with app.app_context():
        post = make_post("Bell\x07 and escape\x1b[31m", body="Back\x08space\x0c", tags=["x"])
        post.summary = "Vertical\x0btab"
        post.author_name = "nul\x01name"
        db.session.commit()
    response = client.get("/feed.xml")
    assert response.status_code == 200
    feed = ET.fromstring(response.data)  # noqa: S314 - our own output; fails if not well-formed
    entry = feed.find(f"{ATOM}entry")
    assert entry is not None
    assert entry.findtext(f"{ATOM}title") == "Bell and escape[31m"
    assert entry.findtext(f"{ATOM}summary") == "Verticaltab"
    assert "Backspace" in (entry.findtext(f"{ATOM}content") or "")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("title", "Bell\x07"),
        ("title", "Two\nlines"),
        ("summary", "esc\x1b"),
        ("body", "Back\x08space"),
        ("tags", "a\x7f"),
        ("cover_alt", "next\x85line"),
    ],
)
def test_the_post_form_refuses_control_characters(
    app: Flask, alice: FlaskClient, field: str, value: str
) -> None:
    data = {
        "csrf_token": csrf_token(alice, "/posts/new"),
        "title": "Fine",
        "body": "Fine body,\r\nwith\ttabs and lines.",
        field: value,
    }
    response = alice.post("/posts/new", data=data)
    assert response.status_code == 422
    assert "invisible control characters" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count(Post.id))) == 0


def test_a_comment_with_control_characters_gets_a_message(app: Flask, carol: FlaskClient) -> None:
    with app.app_context():
        make_post("Open")
    token = csrf_token(carol, "/posts/open")
    response = carol.post("/posts/open/comments", data={"csrf_token": token, "body": "a\x1bb"})
    assert response.status_code == 422
    assert "invisible control characters" in response.get_data(as_text=True)


def _meet_before_looking_up_tags(parties: int) -> Any:
    """A listener making each request wait for the others just before it looks up the tags.

    So every request runs that SELECT before any of them inserts: the race happens every time.
    """
    barrier = threading.Barrier(parties, timeout=10)
    waited = threading.local()

    def listener(state: ORMExecuteState) -> None:
        if state.is_select and state.bind_mapper is Tag.__mapper__ and not hasattr(waited, "x"):
            waited.x = True
            barrier.wait()

    return listener


def test_two_new_posts_with_the_same_new_tag_at_once(app: Flask, sign_in: Clients) -> None:
    """Both posts are saved with the one new tag (it was a 500 for the second)."""
    writers = [sign_in(str(number), f"writer{number}", "author") for number in (1, 2)]
    forms = [
        {"csrf_token": csrf_token(client, "/posts/new"), "title": f"Post {n}", "body": "Text."}
        for n, client in enumerate(writers)
    ]
    statuses: list[int] = []
    listener = _meet_before_looking_up_tags(len(writers))
    event.listen(db.session, "do_orm_execute", listener)
    try:

        def write(client: FlaskClient, form: dict[str, str]) -> None:
            response = client.post("/posts/new", data={**form, "tags": "brand-new, Flask"})
            statuses.append(response.status_code)

        threads = [
            threading.Thread(target=write, args=pair) for pair in zip(writers, forms, strict=True)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
    finally:
        event.remove(db.session, "do_orm_execute", listener)
    assert statuses == [302, 302]
    with app.app_context():
        assert list(db.session.scalars(select(Tag.name).order_by(Tag.name))) == [
            "brand-new",
            "flask",
        ]
        for post in db.session.scalars(select(Post)):
            assert [tag.name for tag in post.tags] == ["brand-new", "flask"]
