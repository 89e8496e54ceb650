"""Tokens from auth at work in the API and the blog; role changes and revocations everywhere.

auth signs; blog and api verify with its public keys and ask the shared revocation store.
A role change, a logout or a password change in auth must take effect in the other services at
once: earlier tokens refused, new ones carrying the new roles.
"""

from __future__ import annotations

import re

from tests.integration.harness import PASSWORD, Browser, System


def create_project(system: System, token: str, name: str) -> int:
    response = system.api("POST", "/v1/projects", token, json={"name": name})
    assert response.status_code == 201, response.get_data(as_text=True)
    project_id: int = response.get_json()["id"]
    return project_id


def promote(admin: Browser, system: System, username: str, *roles: str) -> None:
    """An admin sets ``username``'s roles on auth's admin pages."""
    listing = admin.get("/auth/admin/users", query_string={"q": username}).get_data(as_text=True)
    match = re.search(r'href="/auth/admin/users/(\d+)"', listing)
    assert match, "the admin list links to the user with a prefixed URL"
    page = f"/auth/admin/users/{match.group(1)}"
    html = admin.get(page).get_data(as_text=True)
    version = re.search(r'name="version" type="hidden" value="(\d+)"', html)
    assert version
    response = admin.submit(page, f"{page}/roles", roles=list(roles), version=version.group(1))
    assert response.status_code == 302, response.get_data(as_text=True)


def test_a_token_from_auth_works_on_the_api(system: System, alice: Browser) -> None:
    token = system.token("alice")

    project_id = create_project(system, token, "Garden")
    response = system.api("GET", f"/v1/projects/{project_id}", token)
    assert response.status_code == 200
    assert response.get_json()["name"] == "Garden"
    listing = system.api("GET", "/v1/projects", token).get_json()
    assert [item["name"] for item in listing["items"]] == ["Garden"]


def test_the_api_refuses_what_auth_did_not_sign_and_never_reads_cookies(
    system: System, alice: Browser
) -> None:
    token = system.token("alice")
    header, payload, signature = token.split(".")
    forged = f"{header}.{payload}.{signature[::-1]}"
    assert system.api("GET", "/v1/projects", forged).status_code == 401
    assert system.api("GET", "/v1/projects", "").status_code == 401

    # The browser's identity cookie is no credential for the API.
    response = alice.get("/api/v1/projects")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.mimetype == "application/problem+json"


def test_auth_refuses_a_token_for_a_wrong_password(system: System, alice: Browser) -> None:
    response = system.browser().post(
        "/auth/api/token", json={"username": "alice", "password": "not the password"}
    )
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"
    assert "access_token" not in response.get_data(as_text=True)


def test_a_role_change_in_auth_takes_effect_in_blog_and_api(system: System) -> None:
    system.make_admin("root")
    admin = system.browser()
    assert admin.log_in("root").status_code == 302
    bob = system.browser()
    bob.register("bob")
    old_cookie = bob.identity
    old_token = system.token("bob")
    root_token = system.token("root")
    root_project = create_project(system, root_token, "Root's")

    # bob, a reader: no writing on the blog, nobody else's project in the API
    assert bob.get("/posts/new").status_code == 403
    assert system.api("GET", f"/v1/projects/{root_project}", old_token).status_code == 404

    system.verify_email("bob")  # unverified users cannot be made authors (UNVERIFIED_AUTHORS)
    promote(admin, system, "bob", "author", "admin")

    # Everything bob held before the change is refused, in both services.
    assert system.api("GET", "/v1/projects", old_token).status_code == 401
    bob.set_identity(old_cookie or "")
    response = bob.get("/posts/new")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/auth/login?next=/posts/new")

    # His auth session ended too: he logs in again and gets his new roles everywhere.
    assert bob.get(response.headers["Location"]).status_code == 200  # the login form
    assert bob.log_in("bob", next="/posts/new").headers["Location"] == "/posts/new"
    assert bob.get("/posts/new").status_code == 200
    new_token = system.token("bob")
    response = system.api("GET", f"/v1/projects/{root_project}", new_token)
    assert response.status_code == 200  # an admin reads everyone's projects
    assert response.get_json()["name"] == "Root's"


def test_a_logout_revokes_bearer_tokens_too(system: System, alice: Browser) -> None:
    token = system.token("alice")
    assert system.api("GET", "/v1/projects", token).status_code == 200

    alice.log_out()

    response = system.api("GET", "/v1/projects", token)
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"
    # A token issued after the logout works: revocation is by time, not by user.
    assert system.api("GET", "/v1/projects", system.token("alice")).status_code == 200


def test_a_password_change_revokes_every_token_everywhere(system: System, alice: Browser) -> None:
    cookie = alice.identity
    token = system.token("alice")
    other_device = system.browser()
    other_device.log_in("alice")

    new_password = "a brand new passphrase 7"
    response = alice.submit(
        "/auth/account",
        "/auth/account/password",
        current_password=PASSWORD,
        password=new_password,
        confirm=new_password,
    )
    assert response.status_code == 302, response.get_data(as_text=True)

    assert system.api("GET", "/v1/projects", token).status_code == 401
    # The other device's cookie and the copy of the old one fail in the blog.
    assert other_device.blog_user() is None
    other_device.set_identity(cookie or "")
    assert other_device.blog_user() is None
    # The browser that changed it got a fresh cookie and stays signed in.
    assert alice.blog_user() == "alice"
    assert system.api("GET", "/v1/projects", system.token("alice", new_password)).status_code == 200


def test_a_deactivated_user_is_refused_everywhere(system: System, alice: Browser) -> None:
    token = system.token("alice")
    cookie = alice.identity
    response = alice.submit("/auth/account", "/auth/account/deactivate", current_password=PASSWORD)
    assert response.status_code == 302

    assert system.api("GET", "/v1/projects", token).status_code == 401
    alice.set_identity(cookie or "")
    assert alice.blog_user() is None
    response = system.browser().post(
        "/auth/api/token", json={"username": "alice", "password": PASSWORD}
    )
    assert response.status_code == 401


def test_an_expired_token_is_refused_by_blog_and_api(system: System, alice: Browser) -> None:
    # Signed by auth, never revoked, but its time is over (well past the verifiers' leeway).
    expired = system.signed_token("alice", issued_ago=3600, lifetime=900)
    # The same token still within its lifetime is accepted: only the expiry differs.
    valid = system.signed_token("alice", issued_ago=0, lifetime=900)
    assert system.api("GET", "/v1/projects", valid).status_code == 200
    visitor = system.browser()
    visitor.set_identity(valid)
    assert visitor.blog_user() == "alice"

    assert system.api("GET", "/v1/projects", expired).status_code == 401
    visitor.set_identity(expired)
    assert visitor.blog_user() is None
    response = visitor.get("/posts/new")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/auth/login?next=/posts/new")
