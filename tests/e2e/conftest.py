"""Browser tests: Debian's Chromium, headless and off the network, driven by Playwright.

They run against a started production-like stack only (``nox -s e2e``, which runs
``python deploy/native.py -- pytest tests/e2e -m e2e``); without ``SMOKE_BASE_URL`` nothing here
is collected, so ``pytest tests`` never needs Playwright or a browser.

    SMOKE_BASE_URL        the gateway (set by deploy/native.py)
    SMOKE_ADMIN_USERNAME  an admin created by deploy/native.py with auth's create-admin
    SMOKE_ADMIN_PASSWORD
    CHROMIUM              the browser binary (default /usr/bin/chromium: `apt-get install chromium`)
    E2E_RESULTS           where failures leave a screenshot per open page and a Playwright trace
                          (default test-results/ at the repository root; open a trace with
                          `playwright show-trace test-results/<test>/trace.zip`), and where
                          the ``look`` fixture leaves its screenshots (look/)
    AXE_SCRIPT            axe-core's axe.min.js (``nox -s e2e`` fetches it with npm); the
                          ``look`` fixture fails without it

Every test fails on a console error, an uncaught page error, a request that leaves the origin
under test, or a Content-Security-Policy violation: ``csp_listener.js`` (added to every page
before its own scripts) reports each ``securitypolicyviolation`` event to the test through an
exposed function.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.e2e.support import BASE_URL, BrowserFactory, Look, Problems

if TYPE_CHECKING:  # Playwright is installed by `nox -s e2e` only
    from playwright.sync_api import BrowserContext, Page, Playwright

if not BASE_URL:
    collect_ignore_glob = ["test_*.py"]

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
RESULTS = Path(os.environ.get("E2E_RESULTS") or ROOT / "test-results")
AXE_SCRIPT = os.environ.get("AXE_SCRIPT", "")
#: How every page is looked at: a laptop and a small phone, and the laptop in the dark scheme.
VIEWS = ((1280, "light"), (360, "light"), (1280, "dark"))
#: axe-core's rules by WCAG 2.1 A and AA, and its best practices (landmarks, one h1...);
#: only the violations it rates serious or critical fail a test.
AXE_RUN = """async () => {
    const result = await axe.run(document, {
        runOnly: {
            type: "tag",
            values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"],
        },
        resultTypes: ["violations"],
    });
    return result.violations
        .filter(violation => ["serious", "critical"].includes(violation.impact))
        .map(violation => `${violation.impact} ${violation.id}: ${violation.help} at ` +
             violation.nodes.slice(0, 3).map(node => node.target.join(" ")).join(", "));
}"""
DUPLICATE_IDS = """() => {
    const seen = new Map();
    for (const element of document.querySelectorAll("[id]")) {
        seen.set(element.id, (seen.get(element.id) || 0) + 1);
    }
    return [...seen].filter(([, count]) => count > 1).map(([id]) => id);
}"""
HORIZONTAL_OVERFLOW = "() => document.documentElement.scrollWidth - window.innerWidth"

#: Headless and quiet: no sandbox (containers and root), and nothing that reaches the network on
#: its own (updates, metrics, safe browsing, sync, DNS prefetching), so a test talks only to the
#: stack under test.
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-quic",
    "--disable-default-apps",
    "--disable-domain-reliability",
    "--disable-client-side-phishing-detection",
    "--disable-breakpad",
    "--disable-crash-reporter",
    "--metrics-recording-only",
    "--safebrowsing-disable-auto-update",
    "--disable-features=OptimizationHints,MediaRouter,Translate,AutofillServerCommunication,"
    "CertificateTransparencyComponentUpdater,InterestFeedContentSuggestions",
    "--dns-prefetch-disable",
    "--password-store=basic",
    "--use-mock-keychain",
]


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Keep each phase's report on the test item, so fixtures know whether the test failed."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


def _failed(request: pytest.FixtureRequest) -> bool:
    node = request.node
    return any(
        getattr(node, f"report_{when}", None) is not None and getattr(node, f"report_{when}").failed
        for when in ("setup", "call")
    )


@pytest.fixture(scope="session")
def admin_credentials() -> tuple[str, str]:
    """The admin deploy/native.py created with auth's create-admin."""
    names = ("SMOKE_ADMIN_USERNAME", "SMOKE_ADMIN_PASSWORD")
    username, password = (os.environ.get(name, "") for name in names)
    if not (username and password):
        pytest.fail(f"the harness must create an admin and set {' and '.join(names)}")
    return username, password


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"no Chromium at {CHROMIUM}: `apt-get install chromium` (nox -s e2e does)")
    with sync_playwright() as driver:
        yield driver


@pytest.fixture
def problems() -> Iterator[Problems]:
    """What went wrong in the browsers of this test; checked when the test ends."""
    found = Problems()
    yield found
    found.check()


@pytest.fixture
def browsers(
    playwright: Playwright,
    tmp_path: Path,
    request: pytest.FixtureRequest,
    problems: Problems,
) -> Iterator[BrowserFactory]:
    """``browsers("alice")``: a Chromium of its own (a new profile in a temporary folder).

    Every page is watched for console errors, page errors and CSP violations; on a failure each
    open page leaves a screenshot and each browser a Playwright trace under test-results/.
    """
    opened: dict[str, BrowserContext] = {}

    def watch(page: Page) -> None:
        page.on("console", lambda message: problems.console(page, message))
        page.on("pageerror", lambda error: problems.page_error(page, error))

    def launch(name: str) -> BrowserContext:
        context = playwright.chromium.launch_persistent_context(
            tmp_path / f"profile-{name}",
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_FLAGS,
            base_url=BASE_URL,
            locale="en-GB",
            timezone_id="UTC",
        )
        context.set_default_timeout(15_000)
        title = f"{request.node.nodeid} ({name})"
        context.tracing.start(title=title, screenshots=True, snapshots=True, sources=True)
        context.expose_binding("__reportCspViolation", problems.csp_violation)
        context.add_init_script(path=HERE / "csp_listener.js")
        context.on("page", watch)
        context.on("request", problems.request)
        for page in context.pages:  # the persistent context opens with one blank page
            watch(page)
        opened[name] = context
        return context

    yield launch

    failed = _failed(request) or bool(problems.seen)
    folder = RESULTS / re.sub(r"[^\w.-]+", "-", request.node.nodeid).strip("-")
    for name, context in opened.items():
        if failed:
            folder.mkdir(parents=True, exist_ok=True)
            for number, page in enumerate(context.pages):
                if not page.is_closed():
                    page.screenshot(path=folder / f"{name}-page{number}.png", full_page=True)
            context.tracing.stop(path=folder / f"{name}-trace.zip")
        else:
            context.tracing.stop()
        context.close()
    if failed:
        (folder / "problems.json").write_text(json.dumps(problems.seen, indent=2))


@pytest.fixture(scope="session")
def axe_source() -> str:
    """axe-core's script, to run in pages (see ``look``)."""
    if not AXE_SCRIPT or not Path(AXE_SCRIPT).is_file():
        pytest.fail("AXE_SCRIPT must name axe-core's axe.min.js (`nox -s e2e` installs it)")
    return Path(AXE_SCRIPT).read_text()


@pytest.fixture
def look(axe_source: str) -> Look:
    """``look(page, "02-login")``: check the page as people meet it, and keep a picture of it.

    Fails on an id used twice, on a serious or critical accessibility violation (axe-core,
    at 1280 px and 360 px, and at 1280 px in the dark scheme) and on a page wider than a 360 px
    phone. Leaves a screenshot of each in test-results/look/ (``<name>-1280.png``,
    ``<name>-360.png``, ``<name>-1280-dark.png``).

    axe is run through Playwright's evaluate, which the page's Content-Security-Policy does
    not apply to; a ``<script>`` tag (add_script_tag) would be refused, as it should be.
    """
    folder = RESULTS / "look"
    folder.mkdir(parents=True, exist_ok=True)

    def check(page: Page, name: str) -> None:
        page.wait_for_load_state("load")
        duplicates = page.evaluate(DUPLICATE_IDS)
        assert duplicates == [], f"ids used twice on {name} ({page.url}): {duplicates}"
        size = page.viewport_size or {"width": 1280, "height": 720}
        try:
            for width, scheme in VIEWS:
                page.set_viewport_size({"width": width, "height": size["height"]})
                page.emulate_media(color_scheme=scheme)
                suffix = f"{width}" if scheme == "light" else f"{width}-{scheme}"
                page.screenshot(path=folder / f"{name}-{suffix}.png", full_page=True)
                overflow = page.evaluate(HORIZONTAL_OVERFLOW)
                assert overflow <= 0, f"{name} is {overflow} px wider than {width} px"
                if not page.evaluate("() => typeof axe !== 'undefined'"):
                    page.evaluate(axe_source)
                violations = page.evaluate(AXE_RUN)
                assert violations == [], f"axe-core on {name} ({page.url}) at {suffix}:\n" + (
                    "\n".join(violations)
                )
        finally:
            page.set_viewport_size(size)
            page.emulate_media(color_scheme="light")

    return check
