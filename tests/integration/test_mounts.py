"""Each service at its prefix: health endpoints, and the URLs it builds with url_for.

The apps define their routes without a prefix; the dispatcher (like nginx in production) mounts
them at /, /auth and /api, and every URL a page, a redirect or a header carries must include
the prefix, or the browser ends up at another service.
"""

from __future__ import annotations

import re

import pytest

from tests.integration.harness import Browser, System

MOUNTS = [("", "blog"), ("/auth", "auth"), ("/api", "api")]


@pytest.mark.parametrize(("prefix", "service"), MOUNTS)
def test_each_service_answers_health_checks_at_its_prefix(
    system: System, prefix: str, service: str
) -> None:
    browser = system.browser()
    health = browser.get(f"{prefix}/healthz")
    assert health.status_code == 200
    assert health.get_json() == {"status": "ok", "service": service}

    ready = browser.get(f"{prefix}/readyz")
    assert ready.status_code == 200
    assert ready.get_json()["service"] == service
    assert ready.get_json()["status"] == "ok"


def linked_paths(html: str) -> list[str]:
    """Every href, src and form action of a page."""
    return re.findall(r'(?:href|src|action)="([^"#][^"]*)"', html)


def assert_served(browser: Browser, paths: list[str]) -> None:
    """Every same-origin path on a page answers (through the dispatcher) without a 404."""
    for path in paths:
        if path.startswith("/"):
            with browser.get(path.replace("&amp;", "&")) as response:  # closes the file it sent
                status = response.status_code
            assert status in (200, 302, 405), f"{path} answered {status}"


def test_blog_pages_link_to_auth_and_to_their_own_static_files(system: System) -> None:
    browser = system.browser()
    html = browser.get("/").get_data(as_text=True)
    paths = linked_paths(html)

    assert "/auth/login?next=/" in paths
    assert any(re.fullmatch(r"/static/blog\.css\?v=\w+", path) for path in paths)
    assert any(re.fullmatch(r"/static/servicekit/site\.css\?v=\w+", path) for path in paths)
    assert_served(browser, paths)


def test_auth_pages_and_redirects_carry_the_auth_prefix(system: System, alice: Browser) -> None:
    response = alice.get("/auth/")
    assert response.status_code == 302
    assert response.headers["Location"] == "/auth/account"

    html = alice.get("/auth/account").get_data(as_text=True)
    paths = linked_paths(html)
    assert "/auth/logout" in paths
    assert any(re.fullmatch(r"/auth/static/auth\.css\?v=\w+", path) for path in paths)
    assert any(re.fullmatch(r"/auth/static/servicekit/site\.css\?v=\w+", path) for path in paths)
    assert not [path for path in paths if path.startswith("/static/")]
    assert_served(alice, paths)


def test_api_locations_and_links_carry_the_api_prefix(system: System, alice: Browser) -> None:
    token = system.token("alice")
    for number in range(3):
        response = system.api("POST", "/v1/projects", token, json={"name": f"P{number}"})
        assert response.status_code == 201
    assert re.fullmatch(r"(http://localhost)?/api/v1/projects/\d+", response.headers["Location"])

    response = system.api("GET", "/v1/projects", token, query_string={"per_page": 1})
    links = re.findall(r"<([^>]+)>", response.headers["Link"])
    assert links
    assert all(re.match(r"(http://localhost)?/api/v1/projects\?", link) for link in links)

    docs = system.browser().get("/api/docs").get_data(as_text=True)
    assert all(path.startswith("/api/") for path in linked_paths(docs) if path.startswith("/"))
    assert_served(system.browser(), linked_paths(docs))


def test_the_jwks_the_verifiers_use_is_published_by_auth(system: System) -> None:
    keys = system.browser().get("/auth/.well-known/jwks.json").get_json()["keys"]
    assert keys
    assert all(key["kty"] == "OKP" and "d" not in key for key in keys)


@pytest.mark.parametrize("path", ["/api", "/api/"])
def test_the_api_root_points_to_its_documentation(system: System, path: str) -> None:
    response = system.browser().get(path, follow_redirects=True)
    assert response.status_code == 200
    index = response.get_json()
    assert index["documentation"] == "/api/docs"
    assert index["openapi"] == "/api/openapi.json"
    for link in (index["documentation"], index["openapi"], index["health"]):
        assert system.browser().get(link).status_code == 200


def test_a_problem_names_the_url_with_its_mount_prefix(system: System) -> None:
    response = system.browser().get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.get_json()["instance"] == "/api/v1/nothing-here"
