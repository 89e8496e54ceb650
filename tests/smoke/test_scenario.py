"""One user's journey through the whole system, over real HTTP, through the gateway.

Register and sign in at /auth/, be recognised by the blog at /, verify the email address from
the message the SMTP server received, get promoted to author by an admin, write a post with a
cover image, comment, get a bearer token, manage a project and its tasks at /api/, sign out,
and be refused with the old cookie and the old token. Each step checks what a user would see
(status, page content, JSON), not only that something answered.
"""

from __future__ import annotations

import httpx
import pytest

from tests.smoke.support import (
    PASSWORD,
    csrf_token,
    log_in,
    png_image,
    promote_to_author,
    register,
    token_claims,
    verify_email,
)

pytestmark = pytest.mark.smoke


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
