"""The connection a request's statements run on: reads without an ORM session, and every
connection back in the pool when the request ends."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event
from sqlalchemy.orm import Session

from api_service.extensions import db
from tests.support import ApiClient, create_project, create_task


@contextmanager
def watched(app: Flask) -> Iterator[dict[str, int]]:
    """Count ORM session transactions begun, and connections taken from and given back to the
    pool, inside the block."""
    seen = {"sessions": 0, "checkouts": 0, "checkins": 0}

    def count(name: str) -> Any:
        def counter(*_args: Any) -> None:
            seen[name] += 1

        return counter

    on_begin, on_checkout, on_checkin = count("sessions"), count("checkouts"), count("checkins")
    with app.app_context():
        engine = db.engine
    event.listen(Session, "after_begin", on_begin)
    event.listen(engine, "checkout", on_checkout)
    event.listen(engine, "checkin", on_checkin)
    try:
        yield seen
    finally:
        event.remove(Session, "after_begin", on_begin)
        event.remove(engine, "checkout", on_checkout)
        event.remove(engine, "checkin", on_checkin)


@pytest.mark.parametrize(
    "path",
    [
        "/v1/tasks/{task}",
        "/v1/projects/{project}/tasks",
        "/v1/projects/{project}",
        "/v1/projects",
    ],
)
def test_a_read_takes_one_connection_and_no_session(
    app: Flask, alice: ApiClient, path: str
) -> None:
    project = create_project(alice)["id"]
    task = create_task(alice, project, tags=["a"])["id"]

    with watched(app) as seen:
        response = alice.get(path.format(project=project, task=task))

    assert response.status_code == 200
    assert seen == {"sessions": 0, "checkouts": 1, "checkins": 1}


def test_a_refused_read_gives_its_connection_back(app: Flask, alice: ApiClient) -> None:
    task = create_task(alice, create_project(alice)["id"])["id"]

    with watched(app) as seen:
        assert alice.get(f"/v1/tasks/{task + 1000}").status_code == 404
        assert alice.get(f"/v1/tasks/{task}", headers={"If-None-Match": "*"}).status_code == 304

    assert seen["sessions"] == 0
    assert seen["checkouts"] == seen["checkins"] == 2


def test_a_change_runs_in_the_session_transaction(app: Flask, alice: ApiClient) -> None:
    project = create_project(alice)["id"]

    with watched(app) as seen:
        created = create_task(alice, project, tags=["a"])

    assert seen == {"sessions": 1, "checkouts": 1, "checkins": 1}
    assert alice.get(f"/v1/tasks/{created['id']}").json["tags"] == ["a"]
