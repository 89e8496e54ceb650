"""Structure that keeps the services fast, checked as structure rather than timings.

The benchmark (``nox -s bench``, docs/benchmarks.md) measures; these tests keep the properties
the measurements rely on from silently regressing:

* a list response is bounded by its page size, however many rows the table holds;
* on PostgreSQL, with realistic data and fresh statistics, the API's filtered task list is
  answered from indexes: its plan has no sequential scan over ``tasks`` or ``task_tags``.

(That a page costs a constant number of SQL statements is tested in each service's own suite:
services/api/tests/test_lists.py and services/blog/tests/test_queries.py.) The data comes from
the benchmark's own seeder, bench/seed.py.
"""

from __future__ import annotations

import base64
import json
import os
from typing import Any

import pytest
from sqlalchemy import Select, func, select, text
from werkzeug.test import TestResponse

from bench.seed import insert_api_rows, insert_blog_rows
from tests.integration.harness import Browser, System

ON_POSTGRES = os.environ.get("TEST_DATABASE_URL", "").startswith(("postgresql", "postgres:"))


def subject(token: str) -> str:
    """The ``sub`` claim of a token auth just issued (read, not verified)."""
    payload = token.split(".")[1]
    return str(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["sub"])


def page(response: TestResponse) -> dict[str, Any]:
    """The JSON body of a list response."""
    body: dict[str, Any] = json.loads(response.data)
    return body


def seed_tasks(system: System, owner: str, projects: int, tasks: int) -> list[int]:
    with system.apps["api"].app_context():
        project_ids, _, _ = insert_api_rows(owner, projects, tasks)
    return project_ids


def test_a_task_page_holds_per_page_items_whatever_the_project_holds(
    system: System, alice: Browser
) -> None:
    token = system.token("alice")
    # A third of the tasks are "todo": page 2 of 10 is full in both projects.
    small = seed_tasks(system, subject(token), 1, 60)[0]
    large = seed_tasks(system, subject(token), 1, 600)[0]
    url = "/v1/projects/{}/tasks?status=todo&per_page=10&page=2"

    few = system.api("GET", url.format(small), token)
    many = system.api("GET", url.format(large), token)

    assert few.status_code == many.status_code == 200
    assert len(page(few)["items"]) == len(page(many)["items"]) == 10
    assert page(many)["total"] == 200
    # Same page size, same response size (give or take the tags and the digits of ids).
    assert len(many.data) < 1.25 * len(few.data)
    # The page size itself is capped.
    too_big = system.api("GET", f"/v1/projects/{large}/tasks?per_page=101", token)
    assert too_big.status_code == 422  # refused, never silently truncated or honoured
    largest = system.api("GET", f"/v1/projects/{large}/tasks?per_page=100", token)
    assert len(page(largest)["items"]) == 100


def test_blog_pages_hold_one_page_of_posts_whatever_the_blog_holds(
    system: System, alice: Browser
) -> None:
    blog = system.apps["blog"]
    # The rows change under the blog here, not through it: the second home must be read, not
    # the first one's shared card list (blog_service/card_lists.py).
    blog.config["BLOG_FRAGMENT_CACHE_SECONDS"] = 0
    per_page = blog.config["BLOG_POSTS_PER_PAGE"]
    browser = system.browser()
    with blog.app_context():
        insert_blog_rows(per_page + 2)
    few = browser.get("/")
    with blog.app_context():
        from blog_service.extensions import db
        from blog_service.models import Post

        for table in ("comments", "post_tags", "posts", "tags"):
            db.session.execute(text(f"DELETE FROM {table}"))  # noqa: S608 - constants only
        db.session.commit()
        insert_blog_rows(500)
        assert db.session.scalar(select(func.count()).select_from(Post)) == 500
    many = browser.get("/")
    feed = browser.get("/feed.xml")

    assert few.status_code == many.status_code == feed.status_code == 200
    assert few.get_data(as_text=True).count("<article") == per_page
    assert many.get_data(as_text=True).count("<article") == per_page
    assert len(many.data) < 1.25 * len(few.data)
    assert feed.get_data(as_text=True).count("<entry>") == 20


# --- PostgreSQL plans --------------------------------------------------------------------------


def plan_nodes(plan: dict[str, Any]) -> list[dict[str, Any]]:
    """Every node of an EXPLAIN (FORMAT JSON) plan tree."""
    nodes = [plan]
    for child in plan.get("Plans", []):
        nodes += plan_nodes(child)
    return nodes


def sequential_scans(statement: Select[Any]) -> set[str]:
    """The tables ``statement`` would read with a sequential scan, by the planner's plan."""
    from api_service.extensions import db

    compiled = statement.compile(dialect=db.engine.dialect, compile_kwargs={"literal_binds": True})
    explained = db.session.execute(text(f"EXPLAIN (FORMAT JSON) {compiled}")).scalar_one()
    plan = (json.loads(explained) if isinstance(explained, str) else explained)[0]["Plan"]
    return {node["Relation Name"] for node in plan_nodes(plan) if node["Node Type"] == "Seq Scan"}


FILTERS: list[dict[str, Any]] = [
    {},
    {"status": "todo"},
    {"priority": 2},
    {"tag": "flask"},
    {"status": "doing", "sort": "due_date"},
]


@pytest.mark.skipif(not ON_POSTGRES, reason="query plans are checked on PostgreSQL only")
def test_the_filtered_task_list_reads_tasks_through_indexes(system: System) -> None:
    from api_service.extensions import db
    from api_service.models import Status
    from api_service.v1.queries import task_query

    project = seed_tasks(system, "1", 100, 100)[50]
    with system.apps["api"].app_context():
        db.session.execute(text("ANALYZE"))
        for params in FILTERS:
            query = {"sort": "-created_at", **params}
            if "status" in query:
                query["status"] = Status(query["status"])
            statements = task_query(project, query)
            page = statements.page.params(**statements.values, limit=20, offset=20)
            count = statements.count.params(**statements.values)
            assert sequential_scans(page) & {"tasks", "task_tags"} == set(), params
            assert sequential_scans(count) & {"tasks", "task_tags"} == set(), params
