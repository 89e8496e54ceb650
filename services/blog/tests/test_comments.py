"""Comments: signed-in users comment on published posts; who may delete a comment."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from blog_service.extensions import db
from blog_service.models import Comment, Post
from tests.support import (
    comment_count,
    csrf_token,
    make_comment,
    make_post,
)


def test_reader_comments_on_a_published_post(app: Flask, carol: FlaskClient) -> None:
    with app.app_context():
        make_post("Open")
    token = csrf_token(carol, "/posts/open")
    response = carol.post("/posts/open/comments", data={"csrf_token": token, "body": "<b>Hi</b>"})
    assert response.status_code == 302
    assert response.location.startswith("/posts/open#comment-")
    page = carol.get("/posts/open").get_data(as_text=True)
    assert "&lt;b&gt;Hi&lt;/b&gt;" in page  # plain text, escaped
    assert "Comments (1)" in page


def test_empty_comment_shows_the_message(app: Flask, carol: FlaskClient) -> None:
    with app.app_context():
        make_post("Open")
    token = csrf_token(carol, "/posts/open")
    response = carol.post("/posts/open/comments", data={"csrf_token": token, "body": ""})
    assert response.status_code == 422
    assert "This field is required." in response.get_data(as_text=True)
    assert comment_count(app) == 0


def test_comment_needs_csrf_and_sign_in(
    app: Flask, client: FlaskClient, carol: FlaskClient
) -> None:
    with app.app_context():
        make_post("Open")
    assert carol.post("/posts/open/comments", data={"body": "hi"}).status_code == 400
    anonymous = client.post("/posts/open/comments", data={"body": "hi"})
    assert anonymous.status_code == 400
    assert "Sign in</a> to comment" in client.get("/posts/open").get_data(as_text=True)
    assert comment_count(app) == 0


def test_no_comments_on_drafts(app: Flask, alice: FlaskClient, carol: FlaskClient) -> None:
    with app.app_context():
        make_post("Draft", published=False)
        make_post("Open")
    token = csrf_token(alice, "/posts/open")
    assert (
        alice.post("/posts/draft/comments", data={"csrf_token": token, "body": "x"}).status_code
        == 403
    )
    token = csrf_token(carol, "/posts/open")
    assert (
        carol.post("/posts/draft/comments", data={"csrf_token": token, "body": "x"}).status_code
        == 404
    )
    assert comment_count(app) == 0


def test_who_may_delete_a_comment(
    app: Flask,
    alice: FlaskClient,
    bob: FlaskClient,
    carol: FlaskClient,
    admin: FlaskClient,
) -> None:
    with app.app_context():
        post = make_post("Alice post")  # by alice
        ids = [make_comment(post, f"comment {n}").id for n in range(3)]  # by carol
    # bob is neither the comment's author nor the post's author.
    bob_token = csrf_token(bob, "/posts/alice-post")
    assert "Delete comment" not in bob.get("/posts/alice-post").get_data(as_text=True)
    assert bob.post(f"/comments/{ids[0]}/delete", data={"csrf_token": bob_token}).status_code == 403
    for client, comment_id in ((carol, ids[0]), (alice, ids[1]), (admin, ids[2])):
        token = csrf_token(client, "/posts/alice-post")
        response = client.post(f"/comments/{comment_id}/delete", data={"csrf_token": token})
        assert response.status_code == 302
    assert comment_count(app) == 0
    assert bob.post("/comments/999/delete", data={"csrf_token": bob_token}).status_code == 404


def test_deleting_a_post_deletes_its_comments(app: Flask, alice: FlaskClient) -> None:
    with app.app_context():
        post = make_post("Alice post")
        make_comment(post)
    token = csrf_token(alice, "/posts/alice-post")
    assert alice.post("/posts/alice-post/delete", data={"csrf_token": token}).status_code == 302
    assert comment_count(app) == 0


def test_comments_are_rate_limited_per_user(
    app: Flask, carol: FlaskClient, alice: FlaskClient
) -> None:
    app.config["BLOG_WRITE_RATE_LIMIT"] = "2 per minute"
    with app.app_context():
        make_post("Open")
    token = csrf_token(carol, "/posts/open")
    for _ in range(2):
        assert (
            carol.post("/posts/open/comments", data={"csrf_token": token, "body": "hi"}).status_code
            == 302
        )
    refused = carol.post("/posts/open/comments", data={"csrf_token": token, "body": "hi"})
    assert refused.status_code == 429
    assert "Slow down a little" in refused.get_data(as_text=True)
    assert "Retry-After" in refused.headers
    # Another user is counted separately.
    token = csrf_token(alice, "/posts/open")
    assert (
        alice.post("/posts/open/comments", data={"csrf_token": token, "body": "hi"}).status_code
        == 302
    )
    assert comment_count(app) == 3


def stored_post(app: Flask, slug: str) -> Post:
    with app.app_context():
        post: Post = db.session.scalars(select(Post).where(Post.slug == slug)).one()
        db.session.expunge(post)
        return post


def test_the_post_keeps_its_comment_count_as_comments_come_and_go(
    app: Flask, carol: FlaskClient, client: FlaskClient
) -> None:
    with app.app_context():
        make_post("Open")
    before = stored_post(app, "open")
    token = csrf_token(carol, "/posts/open")
    for body in ("One", "Two"):
        carol.post("/posts/open/comments", data={"csrf_token": token, "body": body})
    assert stored_post(app, "open").comment_count == 2
    assert "2 comments" in client.get("/").get_data(as_text=True)

    with app.app_context():
        first = db.session.scalars(select(Comment.id).order_by(Comment.id)).first()
    carol.post(f"/comments/{first}/delete", data={"csrf_token": token})
    after = stored_post(app, "open")
    assert after.comment_count == 1
    assert "1 comment<" in client.get("/").get_data(as_text=True).replace("\n", "<")
    # A comment is not an edit: the post's version (an editor's conflict check) and its
    # "updated" time (the feed's) stay as they were.
    assert (after.version, after.updated_at) == (before.version, before.updated_at)


def test_a_comment_that_fails_to_commit_is_not_counted(
    app: Flask, carol: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    with app.app_context():
        make_post("Open")
    token = csrf_token(carol, "/posts/open")

    def refuse(*_args: object, **_kwargs: object) -> None:
        db.session.flush()  # the count's UPDATE runs here, in the comment's transaction...
        raise OperationalError("COMMIT", {}, Exception("the database went away"))

    monkeypatch.setattr(db.session, "commit", refuse)
    response = carol.post("/posts/open/comments", data={"csrf_token": token, "body": "Lost"})
    monkeypatch.undo()
    assert response.status_code >= 500
    with app.app_context():
        db.session.rollback()
    assert stored_post(app, "open").comment_count == 0  # ...and is rolled back with it
    assert comment_count(app) == 0
