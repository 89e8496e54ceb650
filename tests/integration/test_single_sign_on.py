"""Single sign-on across the origin: auth signs the browser in, the blog recognises it.

The blog keeps no login state: it reads the identity cookie auth sets for the whole origin,
sends a browser without one to ``/auth/login?next=<blog URL>``, and auth sends it back. Logging
out in auth signs the browser out of the blog too, even for someone who kept a copy of the
cookie.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.integration.harness import Browser, System


def test_the_blog_knows_who_logged_in_at_auth(system: System) -> None:
    browser = system.browser()
    assert browser.register("alice").status_code == 302
    assert browser.blog_user() == "alice"

    fresh = system.browser()
    assert fresh.blog_user() is None
    response = fresh.log_in("alice")
    assert response.status_code == 302
    assert fresh.blog_user() == "alice"


def test_the_identity_cookie_is_origin_wide_and_out_of_reach_of_scripts(alice: Browser) -> None:
    response = alice.log_in("alice")
    header = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith("identity="))
    attributes = {part.strip().split("=")[0].lower() for part in header.split(";")[1:]}
    assert "path=/" in header.lower().replace(" ", "")
    assert {"httponly", "samesite", "max-age"} <= attributes


def test_a_blog_page_that_needs_sign_in_round_trips_through_auth(system: System) -> None:
    system.make_admin("root")
    browser = system.browser()

    # Anonymous: the blog sends the browser to auth, asking to come back to the same page.
    response = browser.get("/posts/new?from=nav")
    assert response.status_code == 302
    login = urlsplit(response.headers["Location"])
    assert login.path == "/auth/login"
    next_url = parse_qs(login.query)["next"][0]
    assert next_url == "/posts/new?from=nav"

    # The login form carries `next` and auth redirects there after the password.
    form = browser.get(response.headers["Location"]).get_data(as_text=True)
    assert 'name="next" type="hidden" value="/posts/new?from=nav"' in form
    response = browser.log_in("root", next=next_url)
    assert response.status_code == 302
    assert response.headers["Location"] == "/posts/new?from=nav"
    assert browser.get("/posts/new?from=nav").status_code == 200


def test_a_newcomer_who_registers_from_the_login_page_comes_back_to_the_blog(
    system: System,
) -> None:
    browser = system.browser()
    login_url = browser.get("/posts/new").headers["Location"]
    login_page = browser.get(login_url).get_data(as_text=True)
    link = re.search(r'No account yet\? <a href="([^"]*)">Register</a>', login_page)
    assert link, "the login page links to registration"
    register_url = link.group(1)
    assert register_url == "/auth/register?next=/posts/new"
    response = browser.submit(
        register_url,
        "/auth/register",
        username="newcomer",
        email="newcomer@example.com",
        password="purple monkey dishwasher",
        confirm="purple monkey dishwasher",
        next=parse_qs(urlsplit(register_url).query)["next"][0],  # the form's hidden field
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/posts/new"
    assert browser.blog_user() == "newcomer"


def test_an_expired_or_missing_identity_cookie_is_reissued_at_once_while_auth_remembers(
    alice: Browser,
) -> None:
    # The identity cookie is gone (expired in the browser); auth's own session is not.
    alice.client.delete_cookie("identity")
    response = alice.get("/drafts")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/auth/login?next=/drafts")

    # auth answers the round trip without asking for the password again.
    response = alice.get(response.headers["Location"])
    assert response.status_code == 302
    assert response.headers["Location"] == "/drafts"
    assert alice.identity
    assert alice.blog_user() == "alice"


@pytest.mark.parametrize(
    "next_url",
    [
        "https://evil.example/",
        "//evil.example/path",
        "/\\evil.example",
        "http:/evil.example",
        "javascript:alert(1)",
    ],
)
def test_auth_refuses_to_send_the_browser_off_site(system: System, next_url: str) -> None:
    browser = system.browser()
    browser.register("alice")
    browser.log_out()

    response = browser.log_in("alice", next=next_url)
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).netloc in ("", "localhost")
    assert response.headers["Location"] == "/auth/account"

    # the silent re-issue for a signed-in browser refuses it too
    response = browser.get("/auth/login", query_string={"next": next_url})
    assert response.status_code == 302
    assert response.headers["Location"] == "/auth/account"


def test_logging_out_in_auth_signs_the_browser_out_of_the_blog(alice: Browser) -> None:
    captured = alice.identity
    assert captured is not None
    assert alice.blog_user() == "alice"

    response = alice.log_out()
    assert response.status_code == 302
    assert alice.identity is None  # auth cleared the cookie
    assert alice.blog_user() is None

    # Someone who kept a copy of the cookie is refused by the blog.
    alice.set_identity(captured)
    assert alice.blog_user() is None
    response = alice.get("/drafts")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/auth/login")

    # And auth does not re-issue one: its session ended too, so the password is asked again.
    response = alice.get(response.headers["Location"])
    assert response.status_code == 200
    assert 'name="password"' in response.get_data(as_text=True)


def test_a_logout_without_auth_csrf_token_ends_nothing(alice: Browser) -> None:
    captured = alice.identity
    assert captured is not None

    response = alice.post("/auth/logout", data={})  # what a forged cross-site form sends
    assert response.status_code == 400

    # The token was not revoked and auth's session lives on.
    alice.set_identity(captured)
    assert alice.blog_user() == "alice"
    assert alice.get("/auth/account").status_code == 200
