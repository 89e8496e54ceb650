"""same_origin_path: a ``next`` target stays on this origin."""

from __future__ import annotations

import pytest

from servicekit.redirects import same_origin_path


@pytest.mark.parametrize("target", ["/", "/posts/a?page=2#c", "/search?q=%2F%2Fx"])
def test_a_path_on_this_origin_is_kept(target: str) -> None:
    assert same_origin_path(target) == target


@pytest.mark.parametrize(
    "target",
    [None, "", "posts", "https://evil.example/", "//evil.example", "/\\evil.example",
     "/\tevil", "/a\x7f"],
)  # fmt: skip
def test_anything_else_is_refused(target: str | None) -> None:
    assert same_origin_path(target) is None
