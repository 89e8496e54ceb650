"""What the browser tests share besides fixtures: the stack's address, the record of what went
wrong in a browser (``Problems``), and the types of the ``browsers`` and ``look`` fixtures."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import pytest

if TYPE_CHECKING:  # Playwright is installed by `nox -s e2e` only
    from playwright.sync_api import BrowserContext, ConsoleMessage, Page, Request

BASE_URL = os.environ.get("SMOKE_BASE_URL", "").rstrip("/")
ORIGIN = urlsplit(BASE_URL)

#: ``browsers("alice")`` opens a Chromium of its own; ``look(page, "02-login")`` checks a page.
BrowserFactory = Callable[[str], "BrowserContext"]
Look = Callable[["Page", str], None]


#: Console errors that are known defects, reported and waiting for a fix elsewhere; each entry
#: names the resource and why. Keep this empty whenever possible.
KNOWN_DEFECTS: list[re.Pattern[str]] = []


@dataclass
class Problems:
    """Console errors, page errors and CSP violations seen in a browser, with where they were."""

    seen: list[str] = field(default_factory=list)
    #: patterns of console errors a test expects at this moment (see :meth:`expected`)
    allowed: list[re.Pattern[str]] = field(default_factory=list)

    def console(self, page: Page, message: ConsoleMessage) -> None:
        if message.type != "error":
            return
        if any(pattern.search(message.text) for pattern in self.allowed):
            return
        source = message.location.get("url") or page.url
        if any(known.match(source) for known in KNOWN_DEFECTS):
            return
        self.seen.append(f"console error on {page.url} ({source}): {message.text}")

    def page_error(self, page: Page, error: Any) -> None:
        self.seen.append(f"uncaught error on {page.url}: {error}")

    def csp_violation(self, source: dict[str, Any], report: str) -> None:
        page = source.get("page")
        where = page.url if page is not None else "?"
        self.seen.append(f"CSP violation on {where}: {report}")

    def request(self, request: Request) -> None:
        """Pages load everything from the origin under test: no CDN, no tracker, no font host."""
        url = urlsplit(request.url)
        if url.scheme in ("http", "https", "ws", "wss") and url.netloc != ORIGIN.netloc:
            self.seen.append(f"off-site request from {request.frame.url}: {request.url}")

    def expected(self, pattern: str) -> _Allowance:
        """``with problems.expected("status of 409"):`` a console error the test provokes."""
        return _Allowance(self, re.compile(pattern))

    def check(self) -> None:
        """Fail the test if anything went wrong in the browser so far."""
        if self.seen:
            problems, self.seen = self.seen, []
            pytest.fail("the browser reported problems:\n" + "\n".join(problems))


@dataclass
class _Allowance:
    problems: Problems
    pattern: re.Pattern[str]

    def __enter__(self) -> None:
        self.problems.allowed.append(self.pattern)

    def __exit__(self, *_exc: object) -> None:
        self.problems.allowed.remove(self.pattern)
