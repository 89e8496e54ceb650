"""Forgetting a password, in a real browser: the link comes by email through the real stack.

Register, verify the address from the email the SMTP server received, sign out, "Forgot your
password?", open the reset link from the second email, choose a new password, and sign in with
it. Every page is checked for console errors and CSP violations (conftest.py).
"""

from __future__ import annotations

import re
import secrets
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import expect

from tests.smoke.support import wait_for_mail

if TYPE_CHECKING:
    from tests.e2e.support import BrowserFactory, Problems

pytestmark = pytest.mark.e2e

PASSWORD = "correct horse battery staple 42"
NEW_PASSWORD = "lilacs bloom in the late spring"


def test_verify_then_forget_and_reset_the_password(
    browsers: BrowserFactory, problems: Problems
) -> None:
    username = f"forgetful{secrets.token_hex(3)}"
    address = f"{username}@example.com"
    page = browsers("forgetful").pages[0]

    # --- register; the account page says the address is not verified yet ------------------
    page.goto("/auth/register")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Email").fill(address)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Repeat the password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("status")).to_contain_text(f"We sent a link to {address}")
    expect(page.get_by_role("heading", name="Your email address is not verified")).to_be_visible()

    # --- the verification email: open its link, confirm -------------------------------------
    page.goto(wait_for_mail(address, "Confirm your email address").link)
    page.get_by_role("button", name=f"Confirm {address}").click()
    expect(page.get_by_role("status")).to_contain_text(f"{address} is verified")
    expect(page.get_by_text("not verified")).to_have_count(0)
    page.get_by_role("button", name="Sign out", exact=True).click()
    problems.check()

    # --- forgot the password: ask for a link by email -----------------------------------------
    page.goto("/auth/login")
    page.get_by_role("link", name="Forgot your password?").click()
    page.get_by_label("Username or email").fill(address)
    page.get_by_role("button", name="Email me a link").click()
    expect(page.get_by_role("status")).to_contain_text("a link to choose a new password")

    # --- the reset email: a new password, then sign in with it ---------------------------------
    page.goto(wait_for_mail(address, "Reset your password").link)
    expect(page.get_by_role("heading", name="Choose a new password")).to_be_visible()
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Repeat the new password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Set the new password").click()
    expect(page).to_have_url(re.compile(r"/auth/login"))
    expect(page.get_by_role("status")).to_contain_text("Your password was changed")

    page.get_by_label("Username or email").fill(username)
    page.get_by_label("Password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Your account", exact=True)).to_be_visible()
    wait_for_mail(address, "Your password was changed")

    # The link is used up: opening it again says so.
    with problems.expected(r"status of 400"):  # Chromium logs the 400 answer to the console
        page.goto(wait_for_mail(address, "Reset your password").link)
        expect(page.get_by_role("heading", name="This link does not work")).to_be_visible()
    problems.check()
