"""Small helpers of the smoke tests: reading forms, waiting for something to happen."""

from __future__ import annotations

import time
from collections.abc import Callable

from servicekit.testing import csrf_token_in


def csrf_token(html: str) -> str:
    """The CSRF token of the first form on a page."""
    token = csrf_token_in(html)
    assert token is not None, "the page has no form with a CSRF token"
    return token


def wait_for(predicate: Callable[[], bool], timeout: float = 10, message: str = "") -> None:
    """Poll until ``predicate()`` is true (log lines and respawned workers take a moment)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(message or "condition not met in time")
        time.sleep(0.2)
