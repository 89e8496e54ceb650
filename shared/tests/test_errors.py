from __future__ import annotations

import logging
from pathlib import Path

import pytest
from flask import Blueprint

from tests.support import AppFactory

PROBLEM = "application/problem+json"


def test_not_found_is_problem_json_for_a_json_service(make_app: AppFactory) -> None:
    response = make_app("problem").test_client().get("/nowhere")
    assert response.status_code == 404
    assert response.mimetype == PROBLEM
    body = response.get_json()
    assert body["status"] == 404
    assert body["title"] == "Not Found"
    assert body["type"] == "about:blank"
    assert body["instance"] == "/nowhere"
    assert body["request_id"] == response.headers["X-Request-ID"]


def test_a_problem_names_the_url_with_the_prefix_the_app_is_mounted_at(
    make_app: AppFactory,
) -> None:
    client = make_app("problem").test_client()
    response = client.get("/nowhere", base_url="http://localhost/api")
    assert response.get_json()["instance"] == "/api/nowhere"


def test_method_not_allowed_keeps_allow(make_app: AppFactory) -> None:
    response = make_app("problem").test_client().delete("/hello")
    assert response.status_code == 405
    assert response.mimetype == PROBLEM
    assert set(response.headers["Allow"].split(", ")) >= {"GET", "HEAD", "OPTIONS"}


def test_body_over_the_limit_gets_413(make_app: AppFactory) -> None:
    app = make_app("problem", environ={"MAX_CONTENT_LENGTH": "2048"})
    response = app.test_client().post("/echo", data=b"x" * 4096)
    assert response.status_code == 413
    assert response.mimetype == PROBLEM
    assert app.test_client().post("/echo", data=b"x" * 100).status_code == 200


@pytest.mark.parametrize("status", [400, 401, 409, 412, 415, 428, 429])
def test_every_status_renders_as_problem(make_app: AppFactory, status: int) -> None:
    app = make_app("problem")

    @app.get("/status")
    def fail() -> str:
        from flask import abort

        abort(status)

    response = app.test_client().get("/status")
    assert response.status_code == status
    assert response.get_json()["status"] == status


def test_problem_extensions_and_headers(make_app: AppFactory) -> None:
    response = make_app("problem").test_client().get("/invalid")
    assert response.status_code == 422
    body = response.get_json()
    assert body["detail"] == "Some fields are invalid."
    assert body["errors"] == {"title": ["Required."]}


def test_problem_headers_reach_the_client(make_app: AppFactory) -> None:
    from servicekit.errors import Problem

    app = make_app("problem")

    @app.get("/limited")
    def limited() -> str:
        raise Problem(429, "Slow down.", title="Too many", headers={"Retry-After": "30"})

    response = app.test_client().get("/limited")
    assert response.headers["Retry-After"] == "30"
    assert response.get_json()["title"] == "Too many"


def test_unhandled_error_is_logged_with_request_id_and_hidden(
    make_app: AppFactory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR)
    response = make_app("problem").test_client().get("/boom", headers={"X-Request-ID": "boom-1234"})
    assert response.status_code == 500
    text = response.get_data(as_text=True)
    assert "secret internals" not in text
    assert "Traceback" not in text
    assert response.get_json()["request_id"] == "boom-1234"
    logged = [r for r in caplog.records if r.name == "servicekit.errors"]
    assert any(r.exc_info and "secret internals" in str(r.exc_info[1]) for r in logged)


def test_browser_service_gets_html_pages(make_app: AppFactory) -> None:
    client = make_app("html").test_client()
    response = client.get("/nowhere", headers={"Accept": "text/html"})
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    assert "404 Not Found" in response.get_data(as_text=True)


def test_html_500_page_shows_the_request_id_only(make_app: AppFactory) -> None:
    response = make_app("html").test_client().get("/boom", headers={"X-Request-ID": "page-5678"})
    page = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "page-5678" in page
    assert "secret internals" not in page


def test_html_service_answers_json_to_json_clients(make_app: AppFactory) -> None:
    response = (
        make_app("html").test_client().get("/forbidden", headers={"Accept": "application/json"})
    )
    assert response.status_code == 403
    assert response.mimetype == PROBLEM


def test_html_service_json_blueprint(make_app: AppFactory) -> None:
    app = make_app("html")
    api = Blueprint("tokens", __name__)

    @api.get("/tokens/fail")
    def fail() -> str:
        from flask import abort

        abort(401)

    app.register_blueprint(api)
    app.config["PROBLEM_JSON_BLUEPRINTS"].add("tokens")
    response = app.test_client().get("/tokens/fail")
    assert response.status_code == 401
    assert response.mimetype == PROBLEM


def test_service_templates_override_the_fallback_page(make_app: AppFactory, tmp_path: Path) -> None:
    app = make_app("html")
    folder = tmp_path / "templates" / "errors"
    folder.mkdir(parents=True)
    (folder / "404.html").write_text("custom missing page {{ request_id }}")
    from jinja2 import ChoiceLoader, FileSystemLoader

    app.jinja_loader = ChoiceLoader([FileSystemLoader(str(tmp_path / "templates"))])  # type: ignore[assignment]
    assert "custom missing page" in app.test_client().get("/nowhere").get_data(as_text=True)


def test_redirects_from_routing_are_not_errors(make_app: AppFactory) -> None:
    app = make_app("problem")

    @app.get("/folder/")
    def folder() -> str:
        return "folder"

    assert app.test_client().get("/folder").status_code == 308
