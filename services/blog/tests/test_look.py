"""The site's look as the blog uses it: header links, post cards, the page a missing role gets,
and ids that are unique on every page."""

from __future__ import annotations

import io
import re
from collections import Counter
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from PIL import Image

from servicekit.testing import TestTokenIssuer
from tests.support import csrf_token, make_app, make_comment, make_post

ID = re.compile(r'\sid="([^"]+)"')


def duplicate_ids(page: str) -> list[str]:
    return [name for name, count in Counter(ID.findall(page)).items() if count > 1]


def png() -> bytes:
    output = io.BytesIO()
    Image.new("RGB", (16, 9), (200, 40, 40)).save(output, format="PNG")
    return output.getvalue()


def test_visitors_are_offered_register_beside_sign_in(client: FlaskClient) -> None:
    page = client.get("/tags/flask").get_data(as_text=True)
    assert 'href="/auth/register?next=/tags/flask">Register</a>' in page
    assert 'href="/auth/login?next=/tags/flask">Sign in</a>' in page


def test_signed_in_users_are_not_offered_register(carol: FlaskClient) -> None:
    assert "Register</a>" not in carol.get("/").get_data(as_text=True)


def test_the_page_uses_the_sites_stylesheet_and_the_blogs(client: FlaskClient) -> None:
    page = client.get("/").get_data(as_text=True)
    for sheet in (r"/static/servicekit/site\.css", r"/static/blog\.css"):
        match = re.search(rf'href="({sheet}\?v=[0-9a-f]{{12}})"', page)
        assert match is not None, sheet
        with client.get(match.group(1)) as response:
            assert response.status_code == 200
            assert response.mimetype == "text/css"


def test_a_post_card_shows_its_cover(alice: FlaskClient, client: FlaskClient) -> None:
    data = {
        "csrf_token": csrf_token(alice, "/posts/new"),
        "title": "With a cover",
        "body": "Text.",
        "cover": (io.BytesIO(png()), "cover.png"),
        "cover_alt": "A red rectangle",
        "published": "y",
    }
    assert alice.post("/posts/new", data=data).status_code == 302
    page = client.get("/").get_data(as_text=True)
    card = page[page.index('<article class="card has-cover">') :]
    match = re.search(r'<img class="card-cover" src="(/images/[0-9a-f]{64})"\s+alt="([^"]*)"', card)
    assert match is not None
    assert match.group(2) == "A red rectangle"
    assert client.get(match.group(1)).status_code == 200


def test_a_reader_who_needs_a_role_learns_what_it_is_and_who_gives_it(carol: FlaskClient) -> None:
    response = carol.get("/posts/new")
    assert response.status_code == 403
    page = response.get_data(as_text=True)
    assert "The author role" in page
    assert "Authors write posts" in page
    assert "An administrator gives roles" in page
    assert "grant-role" not in page  # the command is shown in development only


def test_in_development_the_page_names_the_command_that_grants_the_role(
    tmp_path: Path, token_issuer: TestTokenIssuer
) -> None:
    app = make_app(tmp_path, token_issuer, APP_ENV="development")
    client = app.test_client()
    client.set_cookie("identity", token_issuer.mint(sub="3", name="carol", roles=("reader",)))
    page = client.get("/posts/new").get_data(as_text=True)
    assert "nox -s dev -- auth grant-role carol author" in page


def test_every_page_has_unique_ids(app: Flask, alice: FlaskClient, client: FlaskClient) -> None:
    with app.app_context():
        post = make_post("Ids", tags=["flask"])
        make_comment(post)
        make_comment(post)
    pages = [
        (client, "/"),
        (client, "/posts/ids"),
        (client, "/search?q=ids"),
        (client, "/nowhere"),
        (alice, "/"),
        (alice, "/posts/ids"),  # comment form, delete buttons, search: one page, many forms
        (alice, "/posts/new"),
        (alice, "/posts/ids/edit"),
        (alice, "/drafts"),
    ]
    for who, url in pages:
        page = who.get(url).get_data(as_text=True)
        assert ID.search(page), url
        assert duplicate_ids(page) == [], url
