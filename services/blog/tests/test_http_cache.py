"""HTTP caching: conditional GET on the public pages and the feed, a short shared cache for
anonymous readers only (see blog_service/caching.py)."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.support import make_post

PUBLIC = ["/", "/posts/open", "/tags/common", "/authors/1", "/search?q=open", "/feed.xml"]


@pytest.fixture
def post(app: Flask) -> None:
    with app.app_context():
        make_post("Open", tags=["common"])


@pytest.mark.usefixtures("post")
@pytest.mark.parametrize("url", PUBLIC)
def test_a_page_the_reader_holds_is_a_304(client: FlaskClient, url: str) -> None:
    first = client.get(url)
    assert first.status_code == 200
    assert first.headers["ETag"]
    again = client.get(url, headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    assert again.data == b""
    other = client.get(url, headers={"If-None-Match": 'W/"something else"'})
    assert other.status_code == 200


@pytest.mark.usefixtures("post")
def test_a_changed_page_has_a_new_etag(app: Flask, client: FlaskClient) -> None:
    etag = client.get("/").headers["ETag"]
    with app.app_context():
        make_post("Newer")
    changed = client.get("/", headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert "Newer" in changed.get_data(as_text=True)


@pytest.mark.usefixtures("post")
@pytest.mark.parametrize("url", PUBLIC)
def test_anonymous_pages_may_be_shared_for_two_seconds(client: FlaskClient, url: str) -> None:
    response = client.get(url)
    cache = response.cache_control
    assert cache.public
    assert cache.s_maxage == 2
    assert cache.max_age == 0  # browsers ask again (and get a 304)
    assert "Cookie" in response.vary
    assert "Set-Cookie" not in response.headers


@pytest.mark.usefixtures("post")
@pytest.mark.parametrize("url", PUBLIC)
def test_signed_in_pages_are_never_shared(carol: FlaskClient, url: str) -> None:
    response = carol.get(url)
    assert response.status_code == 200
    cache = response.cache_control
    assert cache.private
    assert cache.no_cache
    assert not cache.public
    assert cache.s_maxage is None


@pytest.mark.usefixtures("post")
def test_errors_and_private_pages_carry_no_cache_permission(
    client: FlaskClient, alice: FlaskClient
) -> None:
    assert not client.get("/posts/missing").cache_control.public
    assert not client.get("/?before=nonsense").cache_control.public
    drafts = alice.get("/drafts")
    assert drafts.status_code == 200
    assert not drafts.cache_control.public
    assert drafts.cache_control.s_maxage is None
