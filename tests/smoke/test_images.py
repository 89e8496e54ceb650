"""Cover images across replicas and through the gateway's cache, over real HTTP.

With `nox -s smoke` the native stack runs two blog servers (SMOKE_BLOG_REPLICAS=2: separate
gunicorn masters, separate instance folders, one PostgreSQL database): an image written through
one is read through the other. Through the gateway, the second read of an image is answered from
nginx's cache (X-Cache-Status: HIT) and never reaches a blog server.
"""

from __future__ import annotations

import hashlib
import os
import secrets

import httpx
import pytest

from tests.smoke.support import LogReader, wait_for, write_post

pytestmark = pytest.mark.smoke

BLOG_URLS = [url for url in os.environ.get("SMOKE_BLOG_URLS", "").split(",") if url]


@pytest.mark.skipif(len(BLOG_URLS) < 2, reason="needs two blog replicas (SMOKE_BLOG_REPLICAS=2)")
def test_an_image_written_through_one_replica_is_served_by_another(
    author: httpx.Client, unique: str
) -> None:
    first, second = BLOG_URLS[:2]
    sha256 = write_post(author, first, f"Replicas {unique}")

    with httpx.Client(timeout=30) as anonymous:  # another reader, on the other replica
        image = anonymous.get(f"{second}/images/{sha256}")
        assert image.status_code == 200
        assert hashlib.sha256(image.content).hexdigest() == sha256
        assert image.headers["content-type"] == "image/png"
        assert image.headers["etag"] == f'"{sha256}"'
        cache_control = {part.strip() for part in image.headers["cache-control"].split(",")}
        assert cache_control == {"public", "max-age=31536000", "immutable"}

        again = anonymous.get(f"{first}/images/{sha256}", headers={"If-None-Match": f'"{sha256}"'})
        assert again.status_code == 304
        assert again.content == b""


def test_the_gateway_caches_public_images(
    author: httpx.Client, read_logs: LogReader, unique: str
) -> None:
    sha256 = write_post(author, "", f"Cached {unique}")  # through the gateway
    url = f"/images/{sha256}"

    with httpx.Client(base_url=str(author.base_url), timeout=30) as anonymous:
        first = anonymous.get(url)
        assert first.status_code == 200
        assert first.headers["x-cache-status"] == "MISS"
        assert hashlib.sha256(first.content).hexdigest() == sha256

        marker = f"from-cache-{secrets.token_hex(6)}"
        second = anonymous.get(url, headers={"X-Request-ID": f"{marker}-200"})
        assert second.status_code == 200
        assert second.headers["x-cache-status"] == "HIT"
        assert second.content == first.content
        assert second.headers["etag"] == f'"{sha256}"'

        conditional = {"If-None-Match": f'"{sha256}"', "X-Request-ID": f"{marker}-304"}
        not_modified = anonymous.get(url, headers=conditional)
        assert not_modified.status_code == 304
        assert not_modified.headers["x-cache-status"] == "HIT"

    # The gateway answered both; no blog server saw them.
    wait_for(lambda: f"{marker}-304" in read_logs("gateway"), message="gateway log line")
    blogs = ["blog"] + [f"blog-{number}" for number in range(2, len(BLOG_URLS) + 1)]
    for blog in blogs:
        assert marker not in read_logs(blog), f"{blog} was asked for a cached image"


def test_a_drafts_image_is_never_cached_by_the_gateway(
    author: httpx.Client, base_url: str, unique: str
) -> None:
    sha256 = write_post(author, "", f"Draft {unique}", published=False)
    url = f"/images/{sha256}"
    for _ in range(2):
        own = author.get(url)
        assert own.status_code == 200
        assert own.headers["x-cache-status"] != "HIT"
        assert "private" in own.headers["cache-control"]
    with httpx.Client(base_url=base_url, timeout=30) as anonymous:
        refused = anonymous.get(url)
        assert refused.status_code == 404
        assert refused.headers["x-cache-status"] != "HIT"
