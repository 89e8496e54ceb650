"""Posts: the public pages, drafts, writing and editing, and who may do what."""

# length: one feature's tests (write, edit, publish, delete, conflicts, pages), kept together.
from __future__ import annotations

import html
import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from blog_service.extensions import db
from blog_service.models import Post
from tests.support import csrf_token, make_comment, make_post


def post_data(client: FlaskClient, url: str = "/posts/new", **fields: object) -> dict[str, object]:
    data: dict[str, object] = {
        "csrf_token": csrf_token(client, url),
        "title": "Hello world",
        "summary": "A first post.",
        "body": "Hello **world**.",
        "tags": "Flask, Python",
        "published": "y",
    }
    data.update(fields)
    return {key: value for key, value in data.items() if value is not None}


def test_home_lists_published_posts_newest_first(app: Flask, client: FlaskClient) -> None:
    with app.app_context():
        make_post("Older post", age_minutes=10)
        make_post("Newer post", age_minutes=1)
        make_post("Secret draft", published=False)
    page = client.get("/").get_data(as_text=True)
    assert page.index("Newer post") < page.index("Older post")
    assert "Secret draft" not in page


def test_home_is_paginated(app: Flask, client: FlaskClient) -> None:
    app.config["BLOG_POSTS_PER_PAGE"] = 2
    with app.app_context():
        for minutes in range(5):
            make_post(f"Post aged {minutes}", age_minutes=minutes)
    first = client.get("/").get_data(as_text=True)
    assert "Post aged 0" in first
    assert "Post aged 2" not in first
    assert "Newer posts" not in first
    second = client.get(older_link(first)).get_data(as_text=True)
    assert "Post aged 2" in second
    assert "Post aged 1" not in second
    third = client.get(older_link(second)).get_data(as_text=True)
    assert "Post aged 4" in third
    assert "Older posts" not in third
    # And back: the newer link of the last page is the second page again.
    back = client.get(newer_link(third)).get_data(as_text=True)
    assert back.count("<article") == 2
    assert "Post aged 2" in back
    assert "Post aged 3" in back
    assert "Newer posts" in back


def older_link(page: str) -> str:
    """The "Older posts" link of a list page."""
    match = re.search(r'<a rel="next" href="([^"]+)">Older posts', page)
    assert match is not None, "no older link"
    return html.unescape(match.group(1))


def newer_link(page: str) -> str:
    """The "Newer posts" link of a list page."""
    match = re.search(r'<a rel="prev" href="([^"]+)">Newer posts', page)
    assert match is not None, "no newer link"
    return html.unescape(match.group(1))


def test_post_page_shows_rendered_markdown(app: Flask, client: FlaskClient) -> None:
    with app.app_context():
        make_post("Rendered", body="Some **bold** text.\n\n```python\nprint(1)\n```", tags=["py"])
    page = client.get("/posts/rendered").get_data(as_text=True)
    assert "<strong>bold</strong>" in page
    assert '<code class="language-python"><span class="nb">print</span>' in page
    assert 'href="/tags/py"' in page


def test_unknown_post_is_a_friendly_404(client: FlaskClient) -> None:
    response = client.get("/posts/nothing-here")
    assert response.status_code == 404
    assert "Page not found" in response.get_data(as_text=True)


def test_drafts_are_hidden_from_everyone_but_their_author_and_admins(
    app: Flask, client: FlaskClient, alice: FlaskClient, bob: FlaskClient, admin: FlaskClient
) -> None:
    with app.app_context():
        make_post("Alice draft", published=False)
    assert client.get("/posts/alice-draft").status_code == 404
    assert bob.get("/posts/alice-draft").status_code == 404
    assert bob.get("/posts/alice-draft/edit").status_code == 404
    assert alice.get("/posts/alice-draft").status_code == 200
    assert admin.get("/posts/alice-draft").status_code == 200
    drafts = alice.get("/drafts").get_data(as_text=True)
    assert "Alice draft" in drafts
    assert "Alice draft" not in bob.get("/drafts").get_data(as_text=True)


def test_drafts_are_paged_by_last_change(app: Flask, alice: FlaskClient) -> None:
    app.config["BLOG_POSTS_PER_PAGE"] = 2
    with app.app_context():
        for number in range(3):
            make_post(f"Draft {number}", published=False)
    first = alice.get("/drafts").get_data(as_text=True)
    assert first.index("Draft 2") < first.index("Draft 1")
    assert "Draft 0" not in first
    second = alice.get(older_link(first)).get_data(as_text=True)
    assert "Draft 0" in second
    assert "Draft 1" in alice.get(newer_link(second)).get_data(as_text=True)


def test_anonymous_user_is_sent_to_sign_in(client: FlaskClient) -> None:
    response = client.get("/posts/new")
    assert response.status_code == 302
    assert response.location == "/auth/login?next=/posts/new"


def test_reader_cannot_create_posts(app: Flask, carol: FlaskClient) -> None:
    assert carol.get("/posts/new").status_code == 403
    with app.app_context():
        make_post("Open post")
    token = csrf_token(carol, "/posts/open-post")  # the comment form's token
    response = carol.post("/posts/new", data={"csrf_token": token, "title": "x", "body": "y"})
    assert response.status_code == 403
    assert "You may not do that" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count(Post.id))) == 1


def test_author_creates_a_post(app: Flask, alice: FlaskClient) -> None:
    response = alice.post("/posts/new", data=post_data(alice))
    assert response.status_code == 302
    assert response.location == "/posts/hello-world"
    page = alice.get(response.location).get_data(as_text=True)
    assert "Post created." in page
    assert "<strong>world</strong>" in page
    with app.app_context():
        post = db.session.scalar(select(Post))
        assert post is not None
        assert (post.author_id, post.author_name) == ("1", "alice")
        assert [tag.name for tag in post.tags] == ["flask", "python"]
        assert post.is_published
        assert post.published_at is not None
        assert post.version == 1


def test_slugs_are_unique_and_stable(app: Flask, alice: FlaskClient) -> None:
    alice.post("/posts/new", data=post_data(alice))
    second = alice.post("/posts/new", data=post_data(alice))
    assert second.location == "/posts/hello-world-2"
    edit = alice.post(
        "/posts/hello-world/edit",
        data=post_data(alice, "/posts/hello-world/edit", title="A new title", version="1"),
    )
    assert edit.location == "/posts/hello-world"


def test_a_slug_another_author_took_a_moment_before_becomes_the_next_free_one(
    app: Flask, alice: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    chosen = Post.unique_slug
    raced: list[str] = []

    def taken_meanwhile(title: str) -> str:
        slug = chosen(title)
        if not raced:  # another request commits a post of the same title right after our read
            raced.append(slug)
            with app.app_context():
                make_post(title, author_id="2", author_name="bob")
        return slug

    monkeypatch.setattr(Post, "unique_slug", staticmethod(taken_meanwhile))
    response = alice.post("/posts/new", data=post_data(alice, tags=""))

    assert response.status_code == 302
    assert response.location == "/posts/hello-world-2"
    with app.app_context():
        slugs = db.session.scalars(select(Post.slug).order_by(Post.id)).all()
    assert slugs == ["hello-world", "hello-world-2"]


def test_invalid_post_shows_messages_next_to_fields(alice: FlaskClient) -> None:
    response = alice.post("/posts/new", data=post_data(alice, title="", tags="a,b,c,d,e,f,g,h,i"))
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="title-errors"' in page
    assert "This field is required." in page
    assert "Use at most 8 tags." in page
    assert "Hello **world**." in page  # what the user typed is kept


def test_missing_csrf_token_is_refused(app: Flask, alice: FlaskClient) -> None:
    data = post_data(alice)
    del data["csrf_token"]
    response = alice.post("/posts/new", data=data)
    assert response.status_code == 400
    assert "CSRF" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count(Post.id))) == 0


def test_author_edits_own_post(app: Flask, alice: FlaskClient) -> None:
    with app.app_context():
        make_post("Mine", tags=["one"])
    form = alice.get("/posts/mine/edit").get_data(as_text=True)
    assert 'name="version" type="hidden" value="1"' in form
    assert 'value="one"' in form
    data = post_data(alice, "/posts/mine/edit", title="Mine, edited", version="1", published=None)
    response = alice.post("/posts/mine/edit", data=data)
    assert response.location == "/posts/mine"
    with app.app_context():
        post = db.session.scalar(select(Post))
        assert post is not None
        assert (post.title, post.version, post.is_published) == ("Mine, edited", 2, False)


def test_author_cannot_edit_someone_elses_post(app: Flask, bob: FlaskClient) -> None:
    with app.app_context():
        make_post("Alice post")
    assert bob.get("/posts/alice-post/edit").status_code == 403
    token = csrf_token(bob, "/posts/new")
    data = {"csrf_token": token, "title": "Hijacked", "body": "x", "version": "1"}
    assert bob.post("/posts/alice-post/edit", data=data).status_code == 403
    assert bob.post("/posts/alice-post/delete", data={"csrf_token": token}).status_code == 403
    with app.app_context():
        assert db.session.scalar(select(Post.title)) == "Alice post"


def test_admin_may_edit_any_post(app: Flask, admin: FlaskClient) -> None:
    with app.app_context():
        make_post("Alice post")
    data = post_data(admin, "/posts/alice-post/edit", title="Moderated", version="1")
    assert admin.post("/posts/alice-post/edit", data=data).status_code == 302
    with app.app_context():
        post = db.session.scalar(select(Post))
        assert post is not None
        assert (post.title, post.author_name) == ("Moderated", "alice")


def test_stale_edit_is_refused_and_keeps_the_text(
    app: Flask, alice: FlaskClient, admin: FlaskClient
) -> None:
    with app.app_context():
        make_post("Shared")
    # Both open the form at version 1; the admin saves first.
    admin_data = post_data(admin, "/posts/shared/edit", title="Admin's title", version="1")
    alice_data = post_data(
        alice, "/posts/shared/edit", title="Alice's title", body="My careful rewrite", version="1"
    )
    assert admin.post("/posts/shared/edit", data=admin_data).status_code == 302
    response = alice.post("/posts/shared/edit", data=alice_data)
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "Someone else saved this post while you were editing it." in page
    assert "My careful rewrite" in page
    assert "Alice&#39;s title" in page
    assert 'name="version" type="hidden" value="2"' in page
    with app.app_context():
        assert db.session.scalar(select(Post.title)) == "Admin's title"
    # Saving again after seeing the conflict is a deliberate choice, and works.
    alice_data["version"] = "2"
    assert alice.post("/posts/shared/edit", data=alice_data).status_code == 302
    with app.app_context():
        assert db.session.scalar(select(Post.title)) == "Alice's title"


def test_tampered_version_is_a_conflict_not_an_overwrite(app: Flask, alice: FlaskClient) -> None:
    with app.app_context():
        make_post("Mine")
    data = post_data(alice, "/posts/mine/edit", title="Changed", version="not a number")
    assert alice.post("/posts/mine/edit", data=data).status_code == 409
    with app.app_context():
        assert db.session.scalar(select(Post.title)) == "Mine"


def test_author_deletes_own_post(app: Flask, alice: FlaskClient) -> None:
    with app.app_context():
        make_post("Doomed")
    token = csrf_token(alice, "/posts/doomed")
    response = alice.post("/posts/doomed/delete", data={"csrf_token": token})
    assert response.location == "/"
    assert alice.get("/posts/doomed").status_code == 404


def test_delete_needs_a_post_with_csrf(app: Flask, alice: FlaskClient) -> None:
    with app.app_context():
        make_post("Kept")
    assert alice.get("/posts/kept/delete").status_code == 405
    assert alice.post("/posts/kept/delete").status_code == 400
    assert alice.get("/posts/kept").status_code == 200


def test_tag_page(app: Flask, client: FlaskClient) -> None:
    with app.app_context():
        make_post("Tagged", tags=["flask"])
        make_post("Untagged")
        make_post("Tagged draft", tags=["flask"], published=False)
    page = client.get("/tags/flask").get_data(as_text=True)
    assert "Posts tagged “flask”" in page
    assert "Tagged" in page
    assert "Untagged" not in page
    assert "Tagged draft" not in page
    assert client.get("/tags/unknown").status_code == 404


def test_a_tag_with_only_drafts_is_an_empty_page(app: Flask, client: FlaskClient) -> None:
    with app.app_context():
        make_post("Not yet", tags=["later"], published=False)
    response = client.get("/tags/later")
    assert response.status_code == 200
    assert "No posts here yet." in response.get_data(as_text=True)


def test_a_card_shows_the_post_its_author_count_and_tags(app: Flask, client: FlaskClient) -> None:
    with app.app_context():
        post = make_post("Carded", author_id="7 & 8", author_name="Zoë", tags=["zeta", "alpha"])
        make_comment(post)
        make_post("Bare", author_id="2", author_name="bob", age_minutes=5)
    page = client.get("/").get_data(as_text=True)
    card = page[page.index('<article class="card">') : page.index("</article>")]
    assert '<a href="/posts/carded">Carded</a>' in card
    assert '<a href="/authors/7%20&amp;%208">Zoë</a>' in card
    assert "1 comment" in card
    # Tags in name order, each linking to its page.
    assert card.index('<a href="/tags/alpha">alpha</a>') < card.index('href="/tags/zeta"')
    assert "0 comments" in page


def test_author_page(app: Flask, client: FlaskClient) -> None:
    with app.app_context():
        make_post("By alice")
        make_post("By bob", author_id="2", author_name="bob")
    page = client.get("/authors/2").get_data(as_text=True)
    assert "Posts by bob" in page
    assert "By bob" in page
    assert "By alice" not in page
    assert client.get("/authors/404").status_code == 404


def test_search_over_title_and_body(app: Flask, client: FlaskClient) -> None:
    with app.app_context():
        make_post("Flask tips", body="Use blueprints.")
        make_post("Cooking", body="Flask of soup.")
        make_post("Other", body="Nothing 100% relevant.")
        make_post("Flask draft", published=False)
    page = client.get("/search?q=flask").get_data(as_text=True)
    assert "Flask tips" in page
    assert "Cooking" in page
    assert "Other" not in page
    assert "Flask draft" not in page
    # % is a literal character, not a wildcard.
    assert "Other" in client.get("/search?q=100%25").get_data(as_text=True)
    assert "Cooking" not in client.get("/search?q=%25").get_data(as_text=True)
    assert client.get("/search").status_code == 200


def test_post_form_is_accessible_and_carries_csrf(alice: FlaskClient) -> None:
    page = alice.get("/posts/new").get_data(as_text=True)
    for name in ("title", "summary", "body", "tags", "cover", "cover_alt", "published"):
        assert f'<label for="{name}">' in page, name
    assert 'enctype="multipart/form-data"' in page
    assert 'aria-describedby="body-help"' in page
    assert 'name="csrf_token"' in page
