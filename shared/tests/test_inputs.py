"""servicekit.inputs through a small app: bounded ids, page numbers, unstorable text, deep JSON."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask, jsonify, request

from servicekit.errors import invalid_fields
from servicekit.inputs import (
    MAX_ID,
    MAX_PAGE,
    has_control_characters,
    json_body,
    page_number,
    unstorable,
)
from tests.support import AppFactory


def _with_views(app: Flask) -> Flask:
    @app.get("/things/<int:thing_id>")
    def thing(thing_id: int) -> Any:
        return jsonify(id=thing_id)

    @app.get("/list")
    def listing() -> Any:
        return jsonify(page=page_number())

    @app.route("/form", methods=["GET", "POST"])
    def form() -> Any:
        return jsonify(args=request.args.to_dict(), form=request.form.to_dict())

    @app.get("/named/<name>")
    def named(name: str) -> Any:
        return jsonify(name=name)

    @app.post("/json")
    def json_echo() -> Any:
        return jsonify(body=request.get_json())

    @app.post("/api-json")
    def api_json() -> Any:
        body = json_body()
        if not isinstance(body, dict) or "name" not in body:
            raise invalid_fields({"name": ["Required."]})
        return jsonify(body=body)

    @app.post("/json-silent")
    def json_silent() -> Any:
        return jsonify(parsed=request.get_json(silent=True) is not None)

    return app


@pytest.fixture
def app(make_app: AppFactory) -> Flask:
    return _with_views(make_app("problem"))


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/things/1", 200),
        (f"/things/{MAX_ID}", 200),
        (f"/things/{MAX_ID + 1}", 404),
        ("/things/99999999999999999999", 404),
        ("/things/" + "9" * 5000, 404),  # more digits than int() parses
    ],
)
def test_int_routes_match_only_ids_a_column_holds(app: Flask, path: str, status: int) -> None:
    assert app.test_client().get(path).status_code == status


@pytest.mark.parametrize(
    ("query", "page"),
    [
        ("", 1),
        ("?page=3", 3),
        ("?page=0", 1),
        ("?page=-2", 1),
        ("?page=abc", 1),
        ("?page=%C2%B2", 1),  # a Unicode digit is not a page number
        (f"?page={MAX_PAGE}", MAX_PAGE),
        (f"?page={MAX_PAGE + 1}", MAX_PAGE),
        ("?page=99999999999999999999", MAX_PAGE),
    ],
)
def test_page_numbers_are_bounded(app: Flask, query: str, page: int) -> None:
    assert app.test_client().get(f"/list{query}").get_json() == {"page": page}


@pytest.mark.parametrize(
    "request_args",
    [
        {"path": "/form?q=a%00b"},
        {"path": "/form?a%00=b"},
        {"path": "/named/a%00b"},
        {"path": "/form", "method": "POST", "data": {"name": "a\x00b"}},
    ],
)
def test_nul_in_path_query_or_form_is_a_400(app: Flask, request_args: dict[str, Any]) -> None:
    response = app.test_client().open(**request_args)
    assert response.status_code == 400
    assert "cannot be stored" in response.get_json()["detail"]


def test_ordinary_text_passes(app: Flask) -> None:
    client = app.test_client()
    assert client.get("/form?q=caf%C3%A9%09x").get_json()["args"] == {"q": "café\tx"}
    assert client.post("/form", data={"name": "line\r\nbreak"}).status_code == 200
    # A JSON body is left to the view: an API names the field in its own 422.
    assert client.post("/json", json={"name": "a\x00b"}).status_code == 200


def test_deeply_nested_json_is_malformed_json(app: Flask) -> None:
    client = app.test_client()
    deep = "[" * 100_000 + "]" * 100_000
    headers = {"Content-Type": "application/json"}
    response = client.post("/json", data=deep, headers=headers)
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    assert client.post("/json-silent", data=deep, headers=headers).get_json() == {"parsed": False}
    assert client.post("/json", json=[[[1]]]).get_json() == {"body": [[[1]]]}


@pytest.mark.parametrize(
    ("request_args", "status"),
    [
        ({"json": {"name": "x"}}, 200),
        ({"data": '{"name":', "content_type": "application/json"}, 400),
        ({"data": "name=x", "content_type": "application/x-www-form-urlencoded"}, 415),
        ({}, 415),
        ({"json": {"title": "x"}}, 422),
        ({"data": "null", "content_type": "application/json"}, 422),
    ],
)
def test_a_json_api_answers_400_415_and_422_as_the_services_all_do(
    app: Flask, request_args: dict[str, Any], status: int
) -> None:
    response = app.test_client().post("/api-json", **request_args)
    assert response.status_code == status
    if status == 422:
        assert response.mimetype == "application/problem+json"
        assert response.get_json()["errors"] == {"name": ["Required."]}
        assert "'errors' lists the messages of each field" in response.get_json()["detail"]


def test_unstorable_names_nul_and_lone_surrogates() -> None:
    assert unstorable("plain café ☕") is None
    assert unstorable("a\x00b") == "Must not contain NUL characters."
    assert unstorable("\ud800") == "Must be valid Unicode text."
    assert unstorable("😀") is None  # a pair is fine: one code point in Python


def test_control_characters() -> None:
    assert not has_control_characters("Title — with “quotes”")
    assert has_control_characters("bell\x07")
    assert has_control_characters("next line\x85")
    assert has_control_characters("two\nlines")
    assert not has_control_characters("two\r\nlines\tand a tab", multiline=True)
    assert has_control_characters("escape\x1b[31m", multiline=True)
