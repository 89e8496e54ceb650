"""link_for gives the very links url_for gives, whatever the value and the script root."""

from __future__ import annotations

import pytest
from flask import Flask, url_for

from blog_service.links import link_for

VALUES = ["flask", "post-2", "7 & 8", "a/b", "?#%", "Zoë", 'quote\'s "here"', "<tag>"]


@pytest.mark.parametrize("base_url", ["http://localhost/", "http://localhost/blog/"])
@pytest.mark.parametrize(
    ("endpoint", "argument"),
    [
        ("posts.detail", "slug"),
        ("posts.tag", "name"),
        ("posts.author", "author_id"),
        ("posts.image", "sha256"),
        ("posts.edit", "slug"),  # the argument is not the end of the path: url_for itself
    ],
)
def test_link_for_is_url_for(app: Flask, base_url: str, endpoint: str, argument: str) -> None:
    with app.test_request_context("/", base_url=base_url):
        for value in VALUES:
            assert link_for(endpoint, **{argument: value}) == url_for(endpoint, **{argument: value})
