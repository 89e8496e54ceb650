"""The site around the posts: layout, static files, feed, error pages, health."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.support import make_comment, make_post

ATOM = "{http://www.w3.org/2005/Atom}"


def test_layout_links_to_sign_in_for_visitors(client: FlaskClient) -> None:
    page = client.get("/search?q=x").get_data(as_text=True)
    assert 'href="/auth/login?next=/search%3Fq%3Dx"' in page
    assert "Write a post" not in page
    assert '<main id="content">' in page
    assert "<script" not in page


def test_layout_for_signed_in_users(alice: FlaskClient, carol: FlaskClient) -> None:
    page = alice.get("/").get_data(as_text=True)
    assert 'Signed in as <strong class="user-name">alice</strong>' in page
    assert 'href="/auth/logout">Sign out</a>' in page
    assert "Write a post" in page
    assert "Write a post" not in carol.get("/").get_data(as_text=True)


def test_static_urls_carry_a_content_hash(client: FlaskClient) -> None:
    page = client.get("/").get_data(as_text=True)
    match = re.search(r'href="(/static/blog\.css\?v=[0-9a-f]{12})"', page)
    assert match is not None
    with client.get(match.group(1)) as response:
        assert response.status_code == 200
        assert "max-age=31536000" in response.headers["Cache-Control"]


def test_atom_feed(app: Flask, client: FlaskClient) -> None:
    with app.app_context():
        post = make_post("Fresh & new", body="Some <b>text</b> **bold**", tags=["flask"])
        make_comment(post)
        make_post("Hidden draft", published=False)
    response = client.get("/feed.xml")
    assert response.status_code == 200
    assert response.mimetype == "application/atom+xml"
    feed = ET.fromstring(response.data)  # noqa: S314 - our own output
    entries = feed.findall(f"{ATOM}entry")
    assert [entry.findtext(f"{ATOM}title") for entry in entries] == ["Fresh & new"]
    entry = entries[0]
    assert entry.findtext(f"{ATOM}id") == "http://localhost/posts/fresh-new"
    assert entry.find(f"{ATOM}category").get("term") == "flask"  # type: ignore[union-attr]
    assert "<strong>bold</strong>" in (entry.findtext(f"{ATOM}content") or "")


def test_empty_feed_is_valid(client: FlaskClient) -> None:
    feed = ET.fromstring(client.get("/feed.xml").data)  # noqa: S314
    assert feed.findall(f"{ATOM}entry") == []
    assert feed.findtext(f"{ATOM}updated")


def test_friendly_403_404(app: Flask, bob: FlaskClient, client: FlaskClient) -> None:
    with app.app_context():
        make_post("Alice post")
    forbidden = bob.get("/posts/alice-post/edit")
    assert forbidden.status_code == 403
    assert "Only the post&#39;s author or an admin may change it." in forbidden.get_data(
        as_text=True
    )
    missing = client.get("/no/such/page")
    assert missing.status_code == 404
    text = missing.get_data(as_text=True)
    assert "Page not found" in text
    assert 'role="search"' in text
    assert "Request id" in text


def test_friendly_500(app: Flask, client: FlaskClient) -> None:
    def broken() -> str:
        raise RuntimeError("boom")

    app.add_url_rule("/broken", view_func=broken)
    response = client.get("/broken")
    assert response.status_code == 500
    page = response.get_data(as_text=True)
    assert "Something went wrong on our side" in page
    assert "boom" not in page
    assert "Traceback" not in page


def test_problem_json_for_programs(client: FlaskClient) -> None:
    response = client.get("/missing", headers={"Accept": "application/json"})
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_health(client: FlaskClient, path: str) -> None:
    assert client.get(path).json["status"] == "ok"  # type: ignore[index]


def test_security_headers(client: FlaskClient) -> None:
    headers = client.get("/").headers
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"


def test_the_site_icon_is_served_at_the_root(client: FlaskClient) -> None:
    with client.get("/favicon.ico") as response:
        assert response.status_code == 200
        assert response.mimetype in {"image/vnd.microsoft.icon", "image/x-icon"}
        assert response.get_data()[:4] == b"\x00\x00\x01\x00"  # an ICO file's signature
        assert "max-age=604800" in response.headers["Cache-Control"]
