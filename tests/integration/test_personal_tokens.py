"""Personal access tokens across services: made in auth, exchanged, limited by scope in the api,
refused by the blog as a cookie, and stopped everywhere by revocation, password change and
deactivation."""

from __future__ import annotations

import re

import pytest

from tests.integration.harness import PASSWORD, Browser, System

NEW_TOKEN = re.compile(r'<code id="new-token">([^<]+)</code>')
REVOKE = re.compile(r'action="(/auth/account/tokens/\d+/revoke)"')


def personal_token(browser: Browser, *scopes: str) -> str:
    response = browser.submit(
        "/auth/account/tokens", "/auth/account/tokens", name="script", scopes=list(scopes), days=30
    )
    match = NEW_TOKEN.search(response.get_data(as_text=True))
    assert match, response.get_data(as_text=True)
    return match.group(1)


def exchange(system: System, text: str) -> str:
    response = system.browser().post(
        "/auth/api/token", json={"grant_type": "personal_access_token", "token": text}
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    token: str = response.get_json()["access_token"]
    return token


def test_a_read_only_token_reads_and_is_told_which_scope_it_lacks(
    system: System, alice: Browser
) -> None:
    full = system.token("alice")
    assert system.api("POST", "/v1/projects", full, json={"name": "Garden"}).status_code == 201
    reader = exchange(system, personal_token(alice, "tasks:read"))

    listing = system.api("GET", "/v1/projects", reader)
    assert listing.status_code == 200
    assert [item["name"] for item in listing.get_json()["items"]] == ["Garden"]
    refused = system.api("POST", "/v1/projects", reader, json={"name": "Nope"})
    assert refused.status_code == 403
    assert refused.mimetype == "application/problem+json"
    assert refused.get_json()["missing_scope"] == "tasks:write"

    writer = exchange(system, personal_token(alice, "tasks:read", "tasks:write"))
    assert system.api("POST", "/v1/projects", writer, json={"name": "Yes"}).status_code == 201


def test_a_scoped_token_is_no_browser_session(system: System, alice: Browser) -> None:
    scoped = exchange(system, personal_token(alice, "tasks:read"))
    stranger = system.browser()
    stranger.set_identity(scoped)
    assert stranger.blog_user() is None


def test_revoking_stops_the_derived_tokens_at_once(system: System, alice: Browser) -> None:
    text = personal_token(alice, "tasks:read")
    derived = exchange(system, text)
    assert system.api("GET", "/v1/projects", derived).status_code == 200

    page = alice.get("/auth/account/tokens").get_data(as_text=True)
    action = REVOKE.search(page)
    assert action
    assert alice.submit("/auth/account/tokens", action.group(1)).status_code == 302

    assert system.api("GET", "/v1/projects", derived).status_code == 401
    refused = system.browser().post(
        "/auth/api/token", json={"grant_type": "personal_access_token", "token": text}
    )
    assert refused.status_code == 401


@pytest.mark.parametrize("change", ["password", "deactivate"])
def test_a_password_change_or_deactivation_stops_derived_tokens(
    system: System, alice: Browser, change: str
) -> None:
    derived = exchange(system, personal_token(alice, "tasks:read"))
    if change == "password":
        response = alice.submit(
            "/auth/account",
            "/auth/account/password",
            current_password=PASSWORD,
            password="an entirely new passphrase",
            confirm="an entirely new passphrase",
        )
    else:
        response = alice.submit(
            "/auth/account", "/auth/account/deactivate", current_password=PASSWORD
        )
    assert response.status_code == 302
    assert system.api("GET", "/v1/projects", derived).status_code == 401
