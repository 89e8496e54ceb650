"""Bad bodies: malformed JSON, wrong types, huge strings, unknown fields. Nothing is stored."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask import Flask

from api_service.extensions import db
from api_service.models import Project, Task
from api_service.v1 import http
from api_service.v1.resources import TASK_LIST_QUERY
from tests.support import ApiClient, create_project, create_task


def counts(app: Flask) -> tuple[int, int]:
    with app.app_context():
        return db.session.query(Project).count(), db.session.query(Task).count()


def test_malformed_json_is_400_problem(app: Flask, alice: ApiClient) -> None:
    response = alice.post(
        "/v1/projects", data='{"name": "x",', headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    assert response.json["status"] == 400
    assert "JSON" in response.json["detail"]
    assert counts(app) == (0, 0)


def test_deeply_nested_json_is_400_not_a_crash(app: Flask, alice: ApiClient) -> None:
    body = "[" * 30_000 + "]" * 30_000  # well under the size limit
    response = alice.post("/v1/projects", data=body, content_type="application/json")
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    assert counts(app) == (0, 0)


def test_a_body_that_is_not_json_is_415(app: Flask, alice: ApiClient) -> None:
    response = alice.post(
        "/v1/projects", data="name=x", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 415
    assert response.mimetype == "application/problem+json"
    assert alice.post("/v1/projects").status_code == 415  # no body, no content type
    assert counts(app) == (0, 0)


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({}, {"name": ["Missing data for required field."]}),
        ({"name": 5}, {"name": ["Not a valid string."]}),
        ({"name": "   "}, {"name": ["Must not be blank."]}),
        ({"name": "x" * 201}, {"name": ["Length must be between 1 and 200."]}),
        (
            {"name": "x", "description": "d" * 5001},
            {"description": ["Longer than maximum length 5000."]},
        ),
        ({"name": "x", "archived": "yes"}, {"archived": ["Not a valid boolean."]}),
        ({"name": "x", "archived": 1}, {"archived": ["Not a valid boolean."]}),
        ({"name": "x", "owner_id": "2"}, {"owner_id": ["Unknown field."]}),
        ({"name": "x", "id": 7}, {"id": ["Unknown field."]}),
        ({"name": "a\u0000b"}, {"name": ["Must not contain NUL characters."]}),
        ({"name": "\ud800"}, {"name": ["Must be valid Unicode text."]}),
        ([1, 2], {"_schema": ["Invalid input type."]}),
        (None, {"_schema": ["Invalid input type."]}),
    ],
)
def test_invalid_project_bodies_are_422_with_each_fields_message(
    app: Flask, alice: ApiClient, body: Any, errors: dict[str, list[str]]
) -> None:
    response = alice.post("/v1/projects", data=json.dumps(body), content_type="application/json")

    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert response.json["errors"] == errors
    assert counts(app) == (0, 0)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"title": "t", "status": "blocked"}, "status"),
        ({"title": "t", "priority": "1"}, "priority"),
        ({"title": "t", "priority": 9}, "priority"),
        ({"title": "t", "priority": 1.5}, "priority"),
        ({"title": "t", "due_date": "tomorrow"}, "due_date"),
        ({"title": "t", "tags": "a,b"}, "tags"),
        ({"title": "t", "tags": ["ok", "Not OK"]}, "tags"),
        ({"title": "t", "tags": [f"t{n}" for n in range(21)]}, "tags"),
        ({"title": "t", "notes": "n" * 10001}, "notes"),
        ({"title": "t", "project_id": 2}, "project_id"),
    ],
)
def test_invalid_task_bodies_are_422(
    app: Flask, alice: ApiClient, body: dict[str, Any], field: str
) -> None:
    project = create_project(alice)

    response = alice.post(f"/v1/projects/{project['id']}/tasks", json=body)

    assert response.status_code == 422
    assert list(response.json["errors"]) == [field]
    assert counts(app) == (1, 0)


def test_every_invalid_field_is_reported_at_once(alice: ApiClient) -> None:
    project = create_project(alice)
    response = alice.post(
        f"/v1/projects/{project['id']}/tasks",
        json={"status": "x", "priority": 0, "tags": ["ok", "BAD"], "colour": "red"},
    )
    assert response.status_code == 422
    errors = response.json["errors"]
    assert set(errors) == {"title", "status", "priority", "tags", "colour"}
    assert errors["tags"] == {"1": ["String does not match expected pattern."]}


def test_invalid_update_leaves_the_object_unchanged(app: Flask, alice: ApiClient) -> None:
    task = create_task(alice, create_project(alice)["id"])
    url = f"/v1/tasks/{task['id']}"

    response = alice.patch(
        url, json={"title": "", "priority": 2}, headers={"If-Match": task["etag"]}
    )

    assert response.status_code == 422
    current = alice.get(url)
    assert current.json["priority"] == 3
    assert current.headers["ETag"] == task["etag"]


def test_a_body_over_the_size_limit_is_413(app: Flask, alice: ApiClient) -> None:
    limit = app.config["MAX_CONTENT_LENGTH"]
    response = alice.post("/v1/projects", json={"name": "x", "description": "d" * limit})
    assert response.status_code == 413
    assert response.mimetype == "application/problem+json"
    assert counts(app) == (0, 0)


def test_invalid_query_parameters_are_422(alice: ApiClient) -> None:
    project = create_project(alice)
    url = f"/v1/projects/{project['id']}/tasks"
    for query in (
        "per_page=101",
        "page=0",
        "status=later",
        "due_before=soon",
        "sort=notes",
        "colour=red",
    ):
        response = alice.get(f"{url}?{query}")
        assert response.status_code == 422, query
        assert response.mimetype == "application/problem+json"


def test_a_valid_query_string_is_validated_once_and_an_invalid_one_every_time(
    alice: ApiClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = create_project(alice)
    create_task(alice, project["id"], title="Repot the fern", priority=2)
    url = f"/v1/projects/{project['id']}/tasks"
    validated: list[Any] = []
    load = TASK_LIST_QUERY.load

    def counted(data: Any, **kwargs: Any) -> Any:
        validated.append(dict(data))
        return load(data, **kwargs)

    monkeypatch.setattr(TASK_LIST_QUERY, "load", counted)
    query = "priority=2&sort=title&q=fern-check"
    for _ in range(3):
        assert alice.get(f"{url}?{query}").status_code == 200
    assert alice.get(f"{url}?{query}&page=2").status_code == 200  # another text: validated
    assert len(validated) == 2
    for _ in range(2):
        assert alice.get(f"{url}?priority=9").status_code == 422
    assert len(validated) == 4


def test_the_remembered_query_strings_are_bounded(
    alice: ApiClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(http, "QUERIES_KEPT", 1)
    url = f"/v1/projects/{create_project(alice)['id']}/tasks"
    for query in ("sort=title&per_page=7", "sort=title&per_page=8", "sort=title&per_page=7"):
        response = alice.get(f"{url}?{query}")
        assert response.json["per_page"] == int(query[-1])
