"""Account security in a real browser: two-factor sign-in and a personal token for the API.

Register, turn on two-factor sign-in by computing codes from the secret the page shows (as an
authenticator app would), keep the recovery codes, sign out and back in with a code, create a
read-only personal access token, and use it with the API through the gateway: reads pass, a
write is refused with a problem naming the missing scope.
"""

from __future__ import annotations

import json
import re
import secrets
import time
import urllib.error
import urllib.request
from typing import TYPE_CHECKING, Any

import pytest
from playwright.sync_api import expect

if TYPE_CHECKING:
    from tests.e2e.support import BrowserFactory, Problems

pytestmark = pytest.mark.e2e

PASSWORD = "correct horse battery staple 42"


def call(method: str, path: str, body: Any = None, token: str | None = None) -> tuple[int, Any]:
    """A JSON request to the gateway, as an API client outside the browser sends it."""
    from tests.e2e.support import BASE_URL

    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    # The gateway under test, over http: no file: or other scheme can get in here.
    url = BASE_URL + path
    request = urllib.request.Request(url, data=data, headers=headers, method=method)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def test_two_factor_sign_in_and_a_personal_token_for_the_api(
    browsers: BrowserFactory, problems: Problems
) -> None:
    import pyotp

    username = f"careful{secrets.token_hex(3)}"
    page = browsers("careful").pages[0]
    page.goto("/auth/register")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Email").fill(f"{username}@example.com")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Repeat the password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("status")).to_contain_text("Your account is ready")

    # --- turn on two-factor: scan (here: read) the secret, confirm with a code --------------
    page.get_by_role("link", name="Manage two-factor sign-in").click()
    page.get_by_role("button", name="Set up two-factor sign-in").click()
    expect(page.locator("figure.qr-code svg")).to_be_visible()  # inline SVG, allowed by the CSP
    secret = page.locator("#totp-secret").inner_text()
    totp = pyotp.TOTP(secret)
    # The previous step's code (accepted: clocks drift), so the current one stays unused.
    page.get_by_label("6-digit code from your app").fill(totp.at(time.time() - 30))
    page.get_by_label("Current password").fill(PASSWORD)
    page.get_by_role("button", name="Turn on two-factor sign-in").click()
    expect(page.locator("#recovery-codes li")).to_have_count(10)
    page.get_by_role("link", name="I have saved them").click()
    expect(page.locator("#activity")).to_contain_text("Two-factor sign-in turned on")
    problems.check()

    # --- sign out; signing in now takes the password and then a code ------------------------
    page.get_by_role("button", name="Sign out").first.click()
    expect(page.get_by_role("status")).to_contain_text("You are signed out")
    page.get_by_label("Username or email").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/auth/login/two-factor$"))
    page.get_by_label("Code from your app, or a recovery code").fill(totp.now())
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your account")
    expect(page.locator("#sessions")).to_contain_text("(this device)")
    problems.check()

    # --- a read-only personal token, used by a program with the API -------------------------
    page.get_by_role("link", name="Personal access tokens").click()
    page.get_by_label("Name").fill("e2e script")
    page.get_by_label("tasks:read: Read your projects and tasks").check()
    page.get_by_label("Expires after").select_option("7")
    page.get_by_role("button", name="Create token").click()
    personal = page.locator("#new-token").inner_text()
    assert personal.startswith("fsat_")
    problems.check()

    status, body = call(
        "POST", "/auth/api/token", {"grant_type": "personal_access_token", "token": personal}
    )
    assert status == 200, body
    bearer = body["access_token"]
    status, body = call("GET", "/api/v1/projects", token=bearer)
    assert status == 200, body
    status, body = call("POST", "/api/v1/projects", {"name": "Nope"}, token=bearer)
    assert status == 403
    assert body["missing_scope"] == "tasks:write"

    # The password alone no longer gets a token: the API asks for the code too.
    status, body = call("POST", "/auth/api/token", {"username": username, "password": PASSWORD})
    assert status == 401
    assert "otp" in body["errors"]
