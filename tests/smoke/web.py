"""Small helpers of the smoke tests: reading forms, waiting for something to happen."""

from __future__ import annotations

import re
import time
from collections.abc import Callable

CSRF_INPUT = re.compile(r'<input[^>]*name="csrf_token"[^>]*>')
VALUE = re.compile(r'value="([^"]*)"')


def csrf_token(html: str) -> str:
    """The CSRF token of the first form on a page."""
    match = CSRF_INPUT.search(html)
    assert match, "the page has no form with a CSRF token"
    value = VALUE.search(match.group(0))
    assert value, "the CSRF input has no value"
    return value.group(1)


def wait_for(predicate: Callable[[], bool], timeout: float = 10, message: str = "") -> None:
    """Poll until ``predicate()`` is true (log lines and respawned workers take a moment)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(message or "condition not met in time")
        time.sleep(0.2)
