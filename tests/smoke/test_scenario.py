"""One user's journey through the whole system, over real HTTP, through the gateway.

Register and sign in at /auth/, be recognised by the blog at /, verify the email address from
the message the SMTP server received, get promoted to author by an admin, write a post with a
cover image, comment, get a bearer token, manage a project and its tasks at /api/, sign out,
and be refused with the old cookie and the old token. Each step checks what a user would see
(status, page content, JSON), not only that something answered.
"""

from __future__ import annotations

import base64
import json
import struct
import zlib

import httpx
import pytest

from tests.smoke.mailbox import verify_email
from tests.smoke.web import csrf_token

pytestmark = pytest.mark.smoke

PASSWORD = "correct horse battery staple 42"


def png_image(width: int = 8, height: int = 8, color: bytes = b"\x2a\x7f\xd4") -> bytes:
    """A small valid PNG (solid ``color``, three bytes RGB), built with the standard library."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    row = b"\x00" + color * width
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )


def token_claims(token: str) -> dict[str, object]:
    """The (unverified) claims of a JWT: enough to learn our own user id."""
    payload = token.split(".")[1]
    claims: dict[str, object] = json.loads(
        base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    )
    return claims


def log_in(
    client: httpx.Client, username: str, password: str, next_url: str = ""
) -> httpx.Response:
    page = client.get("/auth/login", params={"next": next_url} if next_url else None)
    assert page.status_code == 200
    assert "<form" in page.text
    return client.post(
        "/auth/login",
        data={
            "csrf_token": csrf_token(page.text),
            "username": username,
            "password": password,
            "next": next_url,
        },
    )


def register(client: httpx.Client, username: str) -> None:
    page = client.get("/auth/register")
    assert page.status_code == 200
    response = client.post(
        "/auth/register",
        data={
            "csrf_token": csrf_token(page.text),
            "username": username,
            "email": f"{username}@example.com",
            "password": PASSWORD,
            "confirm": PASSWORD,
        },
    )
    assert response.status_code == 302, response.text[:2000]
    # The prefix survives the gateway: auth redirects inside /auth/, not to /account.
    assert (
        response.headers["location"].startswith("/auth/")
        or "/auth/" in response.headers["location"]
    )
    assert client.cookies.get("identity"), "registration logs in and sets the identity cookie"


def promote_to_author(base_url: str, admin: tuple[str, str], user_id: str) -> None:
    with httpx.Client(base_url=base_url, timeout=30) as admin_client:
        assert log_in(admin_client, *admin).status_code == 302
        page = admin_client.get(f"/auth/admin/users/{user_id}")
        assert page.status_code == 200, page.text[:2000]
        version = page.text.split('name="version"', 1)[1].split('value="', 1)[1].split('"', 1)[0]
        response = admin_client.post(
            f"/auth/admin/users/{user_id}/roles",
            data={"csrf_token": csrf_token(page.text), "roles": ["author"], "version": version},
        )
        assert response.status_code == 302, response.text[:2000]
        assert "author" in admin_client.get(response.headers["location"]).text


def test_a_user_journey_through_every_service(
    browser: httpx.Client, base_url: str, admin_credentials: tuple[str, str], unique: str
) -> None:
    username = f"smoke-{unique}"

    # --- auth: register (logs in), the account page shows who we are ------------------------
    register(browser, username)
    account = browser.get("/auth/account")
    assert account.status_code == 200
    assert username in account.text
    user_id = str(token_claims(browser.cookies["identity"])["sub"])

    # --- blog: the identity cookie signs us in on another service -----------------------------
    home = browser.get("/")
    assert home.status_code == 200
    assert f'Signed in as <strong class="user-name">{username}</strong>' in home.text
    # A reader may not write: the blog refuses (403) rather than showing the form.
    assert browser.get("/posts/new").status_code == 403

    # --- the verification email went through the outbox, the worker and a real SMTP server ----
    verify_email(browser, username)
    assert "not verified" not in browser.get("/auth/account").text

    # --- an admin makes us an author; the role change ends our sessions, we sign in again ------
    promote_to_author(base_url, admin_credentials, user_id)
    assert browser.get("/posts/new").status_code in (302, 303, 401, 403)
    assert log_in(browser, username, PASSWORD, next_url="/posts/new").status_code == 302
    form = browser.get("/posts/new")
    assert form.status_code == 200, form.text[:2000]
    assert 'enctype="multipart/form-data"' in form.text

    # --- blog: a post with a cover image (multipart through nginx to gunicorn) ----------------
    title = f"Smoke test {unique}"
    created = browser.post(
        "/posts/new",
        data={
            "csrf_token": csrf_token(form.text),
            "title": title,
            "summary": "Written by the smoke test.",
            "body": "Hello from **the smoke test**.\n\n<script>alert(1)</script>",
            "tags": "smoke, deploy",
            "cover_alt": "A blue square",
            "published": "y",
        },
        files={"cover": ("cover.png", png_image(), "image/png")},
    )
    assert created.status_code == 302, created.text[:3000]
    post_url = created.headers["location"]
    post = browser.get(post_url)
    assert post.status_code == 200
    assert title in post.text
    assert "<strong>the smoke test</strong>" in post.text
    assert "<script>alert(1)</script>" not in post.text
    cover_src = post.text.split('class="cover" src="', 1)[1].split('"', 1)[0]
    cover = browser.get(cover_src)
    assert cover.status_code == 200
    assert cover.headers["content-type"] == "image/png"
    assert cover.content.startswith(b"\x89PNG")

    # --- blog: a comment ------------------------------------------------------------------------
    comment_text = f"First comment {unique}"
    commented = browser.post(
        f"{post_url.split('#')[0]}/comments",
        # Flask-WTF's token is per session: any form's token on the page will do.
        data={"csrf_token": csrf_token(post.text), "body": comment_text},
    )
    assert commented.status_code == 302, commented.text[:2000]
    assert comment_text in browser.get(commented.headers["location"].split("#")[0]).text

    # --- auth: a bearer token for programs ------------------------------------------------------
    issued = httpx.post(
        f"{base_url}/auth/api/token", json={"username": username, "password": PASSWORD}, timeout=30
    )
    assert issued.status_code == 200, issued.text
    assert issued.json()["token_type"] == "Bearer"
    token = issued.json()["access_token"]
    bearer = {"Authorization": f"Bearer {token}"}

    # --- api: a project and its tasks -------------------------------------------------------------
    with httpx.Client(base_url=f"{base_url}/api", headers=bearer, timeout=30) as api:
        assert api.get("/v1/projects", headers={"Authorization": ""}).status_code == 401
        project = api.post("/v1/projects", json={"name": f"Launch {unique}"})
        assert project.status_code == 201, project.text
        assert project.json()["owner"] == user_id
        project_id = project.json()["id"]
        # Links the API builds carry the /api prefix the gateway stripped.
        assert project.headers["location"].endswith(f"/api/v1/projects/{project_id}")
        for number, status in enumerate(["todo", "doing", "done"], start=1):
            task = api.post(
                f"/v1/projects/{project_id}/tasks",
                json={"title": f"Task {number}", "status": status, "priority": number},
            )
            assert task.status_code == 201, task.text
        tasks = api.get(f"/v1/projects/{project_id}/tasks")
        assert tasks.status_code == 200
        assert tasks.json()["total"] == 3
        assert {item["title"] for item in tasks.json()["items"]} == {"Task 1", "Task 2", "Task 3"}
        invalid = api.post(f"/v1/projects/{project_id}/tasks", json={"title": ""})
        assert invalid.status_code in (400, 422)
        assert invalid.headers["content-type"].startswith("application/problem+json")

    # --- sign out; the old cookie and the old token are refused everywhere ---------------------
    old_identity = browser.cookies["identity"]
    account = browser.get("/auth/account")
    logged_out = browser.post("/auth/logout", data={"csrf_token": csrf_token(account.text)})
    assert logged_out.status_code == 302
    assert not browser.cookies.get("identity")

    with httpx.Client(base_url=base_url, timeout=30, cookies={"identity": old_identity}) as replay:
        page = replay.get("/")
        assert page.status_code == 200
        assert f'Signed in as <strong class="user-name">{username}</strong>' not in page.text
        assert replay.get("/posts/new").status_code in (302, 303, 401)
    refused = httpx.get(f"{base_url}/api/v1/projects", headers=bearer, timeout=30)
    assert refused.status_code == 401
    assert refused.headers["content-type"].startswith("application/problem+json")
