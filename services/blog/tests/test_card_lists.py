"""A list page's card list is rendered once and shared by its readers for a moment: never
anyone's own content, never older than the TTL, and at once up to date after a write made here."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from blog_service import card_lists
from blog_service.cli import add_demo_posts
from blog_service.config import blog_config_from_env
from blog_service.extensions import db
from blog_service.models import Comment
from blog_service.queries import Page
from servicekit.settings import Env
from servicekit.testing import count_queries, csrf_token_in
from tests.support import Clients, csrf_token, make_post

TEMPLATES = Path(card_lists.__file__).parent / "templates"
#: What a template would use to show something of the reader.
READER_NAMES = re.compile(r"current_user|csrf_token|session|get_flashed_messages|\bg\.")
ONE_COMMENT = re.compile(r"\b1 comment\b(?!s)")


@pytest.fixture(autouse=True)
def shared_lists(app: Flask) -> None:
    """The default the suite turns off (support.make_app), back on."""
    app.config["BLOG_FRAGMENT_CACHE_SECONDS"] = 2


def statements_for(app: Flask, client: FlaskClient, url: str) -> tuple[list[str], str]:
    """The SQL statements a GET of ``url`` ran, and the page."""
    with app.app_context(), count_queries(db) as statements:
        response = client.get(url)
    assert response.status_code == 200, url
    return statements, response.get_data(as_text=True)


def cards(page: str) -> list[str]:
    return re.findall(r'<article class="card.*?</article>', page, re.DOTALL)


def test_the_settings_default_is_the_gateways_two_seconds() -> None:
    assert blog_config_from_env(Env("blog", {}))["BLOG_FRAGMENT_CACHE_SECONDS"] == 2


@pytest.mark.parametrize("url", ["/", "/tags/flask", "/authors/1"])
def test_a_second_view_within_the_ttl_reads_nothing(
    app: Flask, client: FlaskClient, url: str
) -> None:
    with app.app_context():
        make_post("First", tags=["flask"])
        make_post("Second", tags=["flask"])
    first_statements, first = statements_for(app, client, url)
    again_statements, again = statements_for(app, client, url)
    assert len(first_statements) == 1
    assert again_statements == []
    assert again == first
    assert len(cards(again)) == 2


def test_after_the_ttl_the_list_is_read_again(
    app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    with app.app_context():
        make_post("Old news")
    clock = [1000.0]
    monkeypatch.setattr(card_lists, "monotonic", lambda: clock[0])
    statements_for(app, client, "/")
    with app.app_context():
        make_post("Written by another process")  # straight into the database: nothing forgot
    clock[0] += 1.9
    statements, page = statements_for(app, client, "/")
    assert statements == []
    assert "Written by another process" not in page
    clock[0] += 0.2
    statements, page = statements_for(app, client, "/")
    assert len(statements) == 1
    assert "Written by another process" in page


def test_a_post_published_here_shows_on_the_next_view(
    app: Flask, client: FlaskClient, alice: FlaskClient
) -> None:
    with app.app_context():
        make_post("Already there")
    assert "Brand new" not in client.get("/").get_data(as_text=True)
    data = {
        "csrf_token": csrf_token(alice, "/posts/new"),
        "title": "Brand new",
        "body": "Text.",
        "tags": "flask",
        "published": "y",
    }
    assert alice.post("/posts/new", data=data).status_code == 302
    for url in ("/", "/tags/flask", "/authors/1"):
        assert "Brand new" in client.get(url).get_data(as_text=True), url


def test_a_writer_sees_their_write_whichever_process_answers(
    app: Flask, client: FlaskClient, alice: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    with app.app_context():
        make_post("Already there")
    client.get("/")  # this process keeps the home's list...
    # ...and the write is made by another one, which cannot make this one forget it.
    monkeypatch.setattr(card_lists, "forget_all", lambda: None)
    data = {
        "csrf_token": csrf_token(alice, "/posts/new"),
        "title": "Brand new",
        "body": "Text.",
        "published": "y",
    }
    assert alice.post("/posts/new", data=data).status_code == 302
    assert "Brand new" not in client.get("/").get_data(as_text=True)  # others: within the TTL
    assert "Brand new" in alice.get("/").get_data(as_text=True)  # the writer: at once
    # The writer's own lists are fresh for the TTL only (this clock moves, the cache's does not).
    later = card_lists.time() + 2.1
    monkeypatch.setattr(card_lists, "time", lambda: later)
    assert "Brand new" not in alice.get("/").get_data(as_text=True)


def test_every_write_here_shows_on_the_next_view(
    app: Flask, client: FlaskClient, alice: FlaskClient, carol: FlaskClient
) -> None:
    with app.app_context():
        make_post("Alice post")
        make_post("Doomed post")
    assert "0 comments" in client.get("/").get_data(as_text=True)

    token = csrf_token(carol, "/posts/alice-post")
    sent = carol.post("/posts/alice-post/comments", data={"csrf_token": token, "body": "Hi"})
    assert sent.status_code == 302
    assert ONE_COMMENT.search(client.get("/").get_data(as_text=True))
    with app.app_context():
        comment_id = db.session.scalar(select(Comment.id))
    deleted = carol.post(f"/comments/{comment_id}/delete", data={"csrf_token": token})
    assert deleted.status_code == 302
    assert not ONE_COMMENT.search(client.get("/").get_data(as_text=True))

    token = csrf_token(alice, "/posts/alice-post/edit")
    edit = {"csrf_token": token, "title": "Renamed", "body": "Text.", "version": "1"}
    assert alice.post("/posts/alice-post/edit", data={**edit, "published": "y"}).status_code == 302
    assert "Renamed" in client.get("/").get_data(as_text=True)

    token = csrf_token(alice, "/posts/doomed-post")
    assert alice.post("/posts/doomed-post/delete", data={"csrf_token": token}).status_code == 302
    assert "Doomed post" not in client.get("/").get_data(as_text=True)


def test_the_demo_posts_show_at_once(app: Flask, client: FlaskClient) -> None:
    """The embedded runner's first start adds them in the process that serves the pages."""
    client.get("/")
    with app.app_context():
        add_demo_posts("7", "ada")
    assert "Welcome to the Flask services blog" in client.get("/").get_data(as_text=True)


def test_the_reader_is_never_part_of_the_shared_cards(app: Flask, sign_in: Clients) -> None:
    with app.app_context():
        make_post("Shared", author_name="alice")
    dora = sign_in("5", "dora", "reader", "author")
    anonymous = app.test_client()
    # dora renders the list first, so the kept cards came from her request...
    mine = dora.get("/").get_data(as_text=True)
    assert 'Signed in as <strong class="user-name">dora</strong>' in mine
    statements, theirs = statements_for(app, anonymous, "/")
    assert statements == []  # ...and the anonymous reader is given those
    assert cards(theirs) == cards(mine)
    assert "dora" not in theirs
    assert "Write a post" not in theirs
    assert csrf_token_in(theirs) is None
    # The other way round: a list kept from an anonymous reader, in dora's own page.
    statements, again = statements_for(app, dora, "/")
    assert statements == []
    assert 'Signed in as <strong class="user-name">dora</strong>' in again
    assert "Write a post" in again


def test_the_shared_templates_mention_no_reader() -> None:
    for name in ("posts/_list.html", "_pagination.html", "posts/_parts.html"):
        source = (TEMPLATES / name).read_text(encoding="utf-8")
        code = re.sub(r"\{#.*?#\}", "", source, flags=re.DOTALL)  # what the comments say aside
        assert not READER_NAMES.search(code), name


def test_each_page_and_mount_point_is_a_list_of_its_own(app: Flask, client: FlaskClient) -> None:
    app.config["BLOG_POSTS_PER_PAGE"] = 1
    with app.app_context():
        make_post("Newest", age_minutes=1)
        make_post("Oldest", age_minutes=2)
    first = client.get("/").get_data(as_text=True)
    older = re.search(r'<a rel="next" href="([^"]+)">', first)
    assert older is not None
    second = client.get(older.group(1).replace("&amp;", "&")).get_data(as_text=True)
    assert "Oldest" in second
    assert "Newest" not in second
    mounted = client.get("/", environ_overrides={"SCRIPT_NAME": "/blog"}).get_data(as_text=True)
    assert 'href="/blog/posts/newest"' in mounted


def test_errors_are_not_kept(app: Flask, client: FlaskClient) -> None:
    assert client.get("/tags/later").status_code == 404
    assert client.get("/authors/1").status_code == 404
    assert client.get("/?before=nonsense").status_code == 400
    with app.app_context():
        make_post("Later", tags=["later"])  # straight into the database: nothing forgot
    assert client.get("/tags/later").status_code == 200
    assert client.get("/authors/1").status_code == 200
    assert client.get("/?before=nonsense").status_code == 400


def test_the_setting_0_reads_the_list_every_time(app: Flask, client: FlaskClient) -> None:
    app.config["BLOG_FRAGMENT_CACHE_SECONDS"] = 0
    with app.app_context():
        make_post("Fresh")
    assert [len(statements_for(app, client, "/")[0]) for _ in range(2)] == [1, 1]


def test_the_cache_is_bounded(
    app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(card_lists, "SIZE", 2)
    with app.app_context():
        make_post("Tagged", tags=["a", "b", "c"])
    for url in ("/tags/a", "/tags/b", "/tags/c"):
        client.get(url)
    assert len(app.extensions["blog.card_lists"]) == 2
    # The oldest went: /tags/a is read again, /tags/c is not.
    assert len(statements_for(app, client, "/tags/c")[0]) == 0
    assert len(statements_for(app, client, "/tags/a")[0]) == 1


def test_a_list_read_while_a_write_forgot_them_is_not_kept(app: Flask) -> None:
    """A request that began before a write may have read the rows before it: it is served, but
    a later request must not be given it."""
    with app.app_context():
        make_post("Before the write")

    def read_during_a_write() -> Page:
        page = Page([])
        card_lists.forget_all()  # another thread commits as this one reads
        return page

    with app.test_request_context("/"):
        card_lists.shared(read_during_a_write)
        assert len(app.extensions["blog.card_lists"]) == 0
        card_lists.shared(lambda: Page([]))
        assert len(app.extensions["blog.card_lists"]) == 1
