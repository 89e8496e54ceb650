"""The OpenAPI document and the validation say the same thing (schemathesis found three places
where they did not): trailing newlines in tags, integer-valued numbers, NUL characters."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask

from servicekit.inputs import MAX_ID
from tests.support import ApiClient, create_project


def document(app: Flask) -> dict[str, Any]:
    body: dict[str, Any] = app.test_client().get("/openapi.json").json  # type: ignore[assignment]
    return body


def properties(app: Flask, schema: str) -> dict[str, Any]:
    found: dict[str, Any] = document(app)["components"]["schemas"][schema]["properties"]
    return found


def ecma_fullmatch(pattern: str, value: str) -> bool:
    """What a JSON Schema validator decides: ``^...$`` in ECMA-262 spans the whole string."""
    assert pattern.startswith("^")
    assert pattern.endswith("$")
    return re.fullmatch(pattern[1:-1], value) is not None


@pytest.mark.parametrize("tag", ["abc\n", "abc\r\n", "\nabc", "ab c", "ABC"])
def test_a_tag_the_pattern_refuses_is_refused(app: Flask, alice: ApiClient, tag: str) -> None:
    project = create_project(alice)
    pattern = properties(app, "TaskInput")["tags"]["items"]["pattern"]
    assert not ecma_fullmatch(pattern, tag)
    response = alice.post(f"/v1/projects/{project['id']}/tasks", json={"title": "t", "tags": [tag]})
    assert response.status_code == 422
    assert list(response.json["errors"]) == ["tags"]


def test_a_tag_the_pattern_accepts_is_stored(app: Flask, alice: ApiClient) -> None:
    project = create_project(alice)
    pattern = properties(app, "TaskInput")["tags"]["items"]["pattern"]
    assert ecma_fullmatch(pattern, "a-b_1")
    response = alice.post(
        f"/v1/projects/{project['id']}/tasks", json={"title": "t", "tags": ["a-b_1"]}
    )
    assert response.status_code == 201
    assert response.json["tags"] == ["a-b_1"]


@pytest.mark.parametrize(("sent", "stored"), [(4, 4), (4.0, 4), (1e0, 1)])
def test_an_integer_valued_priority_is_an_integer(
    alice: ApiClient, sent: float, stored: int
) -> None:
    project = create_project(alice)
    response = alice.post(
        f"/v1/projects/{project['id']}/tasks", json={"title": "t", "priority": sent}
    )
    assert response.status_code == 201
    assert response.json["priority"] == stored
    assert type(response.json["priority"]) is int


@pytest.mark.parametrize("priority", [4.5, "4", True, 1e300, None])
def test_a_priority_that_is_not_an_integer_is_refused(alice: ApiClient, priority: Any) -> None:
    project = create_project(alice)
    response = alice.post(
        f"/v1/projects/{project['id']}/tasks", json={"title": "t", "priority": priority}
    )
    assert response.status_code == 422
    assert list(response.json["errors"]) == ["priority"]


def test_the_document_says_priority_is_an_integer(app: Flask) -> None:
    assert properties(app, "TaskInput")["priority"]["type"] == "integer"


@pytest.mark.parametrize(
    ("schema", "field"),
    [
        ("ProjectInput", "name"),
        ("ProjectInput", "description"),
        ("TaskInput", "title"),
        ("TaskInput", "notes"),
    ],
)
def test_the_document_refuses_nul_like_the_validation(
    app: Flask, alice: ApiClient, schema: str, field: str
) -> None:
    pattern = properties(app, schema)[field]["pattern"]
    assert ecma_fullmatch(pattern.replace("\\u0000", "\\x00"), "fine text\nover lines")
    assert not ecma_fullmatch(pattern.replace("\\u0000", "\\x00"), "a\x00b")
    body = {"name": "n", "title": "t", field: "a\x00b"}
    if schema == "ProjectInput":
        del body["title"]
        url = "/v1/projects"
    else:
        del body["name"]
        url = f"/v1/projects/{create_project(alice)['id']}/tasks"
    response = alice.post(url, json=body)
    assert response.status_code == 422
    assert response.json["errors"] == {field: ["Must not contain NUL characters."]}


def test_blank_names_are_refused_by_both(app: Flask, alice: ApiClient) -> None:
    pattern = properties(app, "ProjectInput")["name"]["pattern"]
    pattern = pattern.replace("\\u0000", "\\x00")
    assert not ecma_fullmatch(pattern, " \t\n")
    assert ecma_fullmatch(pattern, "  x  ")
    assert alice.post("/v1/projects", json={"name": " \t\n"}).status_code == 422


@pytest.mark.parametrize("object_id", [MAX_ID + 1, 99999999999999999999])
def test_an_id_larger_than_the_document_allows_is_a_404(alice: ApiClient, object_id: int) -> None:
    assert alice.get(f"/v1/projects/{object_id}").status_code == 404
    assert alice.get(f"/v1/tasks/{object_id}").status_code == 404
    assert alice.get(f"/v1/projects/{object_id}/tasks").status_code == 404
