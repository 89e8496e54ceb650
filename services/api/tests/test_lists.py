"""Lists: pagination with Link headers and a total, filters, sorting, constant query count."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from flask import Flask, url_for
from sqlalchemy import insert

from api_service.extensions import db
from api_service.models import Task, TaskTag
from servicekit.testing import count_queries
from tests.support import ApiClient, create_project, create_task


def links(response: object) -> dict[str, str]:
    header = response.headers["Link"]  # type: ignore[attr-defined]
    return {rel: url for url, rel in re.findall(r'<([^>]+)>; rel="(\w+)"', header)}


def test_pages_have_link_headers_and_a_total(alice: ApiClient) -> None:
    project = create_project(alice)
    for number in range(5):
        create_task(alice, project["id"], title=f"Task {number}")
    url = f"/v1/projects/{project['id']}/tasks"

    first = alice.get(f"{url}?per_page=2&sort=title")
    assert first.status_code == 200
    assert [t["title"] for t in first.json["items"]] == ["Task 0", "Task 1"]
    assert first.json["total"] == 5
    assert first.json["page"] == 1
    assert first.json["per_page"] == 2
    assert first.headers["X-Total-Count"] == "5"
    assert links(first) == {
        "first": f"{url}?per_page=2&sort=title&page=1",
        "next": f"{url}?per_page=2&sort=title&page=2",
        "last": f"{url}?per_page=2&sort=title&page=3",
    }

    last = alice.get(links(first)["last"])
    assert [t["title"] for t in last.json["items"]] == ["Task 4"]
    assert set(links(last)) == {"first", "prev", "last"}
    assert links(last)["prev"].endswith("page=2")

    beyond = alice.get(f"{url}?per_page=2&page=9")
    assert beyond.json["items"] == []
    assert links(beyond)["prev"].endswith("page=3")


def test_per_page_has_a_maximum(alice: ApiClient) -> None:
    assert alice.get("/v1/projects?per_page=100").status_code == 200
    response = alice.get("/v1/projects?per_page=101")
    assert response.status_code == 422
    assert "per_page" in response.json["errors"]


def test_links_keep_the_mount_prefix(alice: ApiClient) -> None:
    create_project(alice)
    response = alice.get("/v1/projects", base_url="http://localhost/api")
    assert response.status_code == 200
    assert links(response)["first"] == "/api/v1/projects?page=1"
    created = alice.post("/v1/projects", json={"name": "x"}, base_url="http://localhost/api")
    assert created.headers["Location"].startswith("/api/v1/projects/")


@pytest.fixture
def tasks(alice: ApiClient) -> tuple[str, dict[str, int]]:
    project = create_project(alice)
    today = date(2026, 6, 15)
    ids = {
        "fern": create_task(
            alice,
            project["id"],
            title="Repot the fern",
            status="doing",
            priority=1,
            due_date=str(today),
            tags=["plants"],
        )["id"],
        "taxes": create_task(
            alice,
            project["id"],
            title="Taxes",
            notes="Before the 100% deadline",
            priority=5,
            due_date=str(today + timedelta(days=30)),
            tags=["paperwork", "urgent"],
        )["id"],
        "lawn": create_task(
            alice, project["id"], title="Mow_the lawn", status="done", tags=["plants", "urgent"]
        )["id"],
    }
    return f"/v1/projects/{project['id']}/tasks", ids


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("status=doing", {"fern"}),
        ("status=todo", {"taxes"}),
        ("priority=5", {"taxes"}),
        ("tag=plants", {"fern", "lawn"}),
        ("tag=urgent&status=done", {"lawn"}),
        ("tag=nothing", set()),
        ("due_before=2026-06-15", {"fern"}),
        ("due_after=2026-06-16", {"taxes"}),
        ("due_after=2026-06-01&due_before=2026-12-31", {"fern", "taxes"}),
        ("q=FERN", {"fern"}),
        ("q=100%25", {"taxes"}),  # % is a literal, not a LIKE wildcard
        ("q=R_pot", set()),  # and so is _ (it would match "Repot")
        ("q=Mow_", {"lawn"}),
    ],
)
def test_filters(
    alice: ApiClient, tasks: tuple[str, dict[str, int]], query: str, expected: set[str]
) -> None:
    url, ids = tasks
    response = alice.get(f"{url}?{query}")
    assert response.status_code == 200
    names = {
        name
        for name, task_id in ids.items()
        if task_id in {t["id"] for t in response.json["items"]}
    }
    assert names == expected
    assert response.json["total"] == len(expected)


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("priority", ["fern", "lawn", "taxes"]),
        ("-priority", ["taxes", "lawn", "fern"]),
        ("due_date", ["fern", "taxes", "lawn"]),  # no due date last
        ("-due_date", ["taxes", "fern", "lawn"]),
        ("title", ["lawn", "fern", "taxes"]),
        ("created_at", ["fern", "taxes", "lawn"]),
        ("-created_at", ["lawn", "taxes", "fern"]),
    ],
)
def test_sorting(
    alice: ApiClient, tasks: tuple[str, dict[str, int]], sort: str, expected: list[str]
) -> None:
    url, ids = tasks
    by_id = {task_id: name for name, task_id in ids.items()}
    response = alice.get(f"{url}?sort={sort}")
    assert [by_id[t["id"]] for t in response.json["items"]] == expected


def add_tasks(app: Flask, project_id: int, owner_id: str, count: int) -> None:
    """Insert ``count`` tasks with two tags each, in bulk (fast enough for thousands)."""
    now = datetime.now(UTC)
    with app.app_context():
        first_id = (db.session.query(db.func.max(Task.id)).scalar() or 0) + 1
        rows = [
            {
                "id": first_id + n,
                "project_id": project_id,
                "owner_id": owner_id,
                "title": f"Task {n}",
                "notes": "",
                "status": "todo",
                "priority": 1 + n % 5,
                "created_at": now,
                "updated_at": now,
                "version": 1,
            }
            for n in range(count)
        ]
        db.session.execute(insert(Task), rows)
        tags = [{"task_id": row["id"], "tag": tag} for row in rows for tag in ("a", "b")]
        db.session.execute(insert(TaskTag), tags)
        db.session.commit()


def statements_for(app: Flask, alice: ApiClient, url: str) -> int:
    with app.app_context(), count_queries(db) as statements:
        response = alice.get(url)
        assert response.status_code == 200
        assert len(response.json["items"]) > 0
    return len(statements)


def test_a_list_page_costs_the_same_queries_for_5_and_5000_tasks(
    app: Flask, alice: ApiClient
) -> None:
    small = create_project(alice, name="small")
    large = create_project(alice, name="large")
    add_tasks(app, small["id"], "1", 5)
    add_tasks(app, large["id"], "1", 5000)
    query = "?per_page=100&sort=-priority&tag=a"

    few = statements_for(app, alice, f"/v1/projects/{small['id']}/tasks{query}")
    many = statements_for(app, alice, f"/v1/projects/{large['id']}/tasks{query}")

    assert few == many
    assert many <= 4  # project, count, page, the page's tags
    assert alice.get(f"/v1/projects/{large['id']}/tasks{query}").json["total"] == 5000


def test_links_encode_the_query_as_url_for_does(app: Flask, alice: ApiClient) -> None:
    project = create_project(alice)
    create_task(alice, project["id"], title="a b&c/é")
    url = f"/v1/projects/{project['id']}/tasks"
    response = alice.get(url, query_string={"q": "a b&c/é", "per_page": 1})
    assert response.status_code == 200
    with app.test_request_context():
        expected = url_for(
            "v1.project_tasks", project_id=project["id"], q="a b&c/é", per_page=1, page=1
        )
    assert links(response)["first"] == expected
