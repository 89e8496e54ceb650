"""Tasks: CRUD under a project, tags, ownership, conditional writes."""

from __future__ import annotations

from flask import Flask

from api_service.extensions import db
from api_service.models import Task, TaskTag
from servicekit.testing import count_queries
from tests.support import ApiClient, create_project, create_task


def stored(app: Flask, task_id: int) -> Task | None:
    with app.app_context():
        task = db.session.get(Task, task_id)
        if task is not None:
            db.session.expunge(task)
        return task


def test_create_a_task_with_every_field(alice: ApiClient) -> None:
    project = create_project(alice)

    response = alice.post(
        f"/v1/projects/{project['id']}/tasks",
        json={
            "title": "Repot the fern",
            "notes": "Bigger pot",
            "status": "doing",
            "priority": 1,
            "due_date": "2026-12-24",
            "tags": ["plants", "weekend", "plants"],
        },
    )

    assert response.status_code == 201
    task = response.json
    assert response.headers["Location"] == f"/v1/tasks/{task['id']}"
    assert response.headers["ETag"].startswith('"')
    assert task["project_id"] == project["id"]
    assert task["status"] == "doing"
    assert task["priority"] == 1
    assert task["due_date"] == "2026-12-24"
    assert task["tags"] == ["plants", "weekend"]  # a set, sorted
    assert task["version"] == 1


def test_a_new_task_was_not_updated_before_it_was_created(alice: ApiClient) -> None:
    project = create_project(alice)
    for tags in ([], ["garden"]):
        task = create_task(alice, project["id"], tags=tags)
        assert task["updated_at"] == task["created_at"]


def test_defaults(alice: ApiClient) -> None:
    project = create_project(alice)
    task = create_task(alice, project["id"])
    assert task["status"] == "todo"
    assert task["priority"] == 3
    assert task["due_date"] is None
    assert task["tags"] == []
    assert task["notes"] == ""


def test_get_and_304(alice: ApiClient) -> None:
    task = create_task(alice, create_project(alice)["id"])
    url = f"/v1/tasks/{task['id']}"
    assert alice.get(url).headers["ETag"] == task["etag"]
    assert alice.get(url, headers={"If-None-Match": task["etag"]}).status_code == 304


def test_a_read_is_the_row_and_its_tags_and_a_304_the_row_alone(
    app: Flask, alice: ApiClient
) -> None:
    task = create_task(alice, create_project(alice)["id"], tags=["b", "a"])
    url = f"/v1/tasks/{task['id']}"
    with app.app_context(), count_queries(db) as statements:
        response = alice.get(url)
    assert response.json == {key: value for key, value in task.items() if key != "etag"}
    assert response.json["tags"] == ["a", "b"]
    assert len(statements) == 2
    with app.app_context(), count_queries(db) as statements:
        assert alice.get(url, headers={"If-None-Match": task["etag"]}).status_code == 304
    assert len(statements) == 1  # the client's copy is current: no tags to read


def test_patch_tags_only_changes_the_version_and_etag(alice: ApiClient) -> None:
    task = create_task(alice, create_project(alice)["id"], tags=["a", "b"])
    url = f"/v1/tasks/{task['id']}"

    response = alice.patch(url, json={"tags": ["b", "c"]}, headers={"If-Match": task["etag"]})

    assert response.status_code == 200
    assert response.json["tags"] == ["b", "c"]
    assert response.json["version"] == 2
    assert response.headers["ETag"] != task["etag"]
    assert response.json["title"] == task["title"]


def test_put_replaces_the_task(alice: ApiClient) -> None:
    task = create_task(alice, create_project(alice)["id"], notes="n", tags=["x"], priority=5)
    url = f"/v1/tasks/{task['id']}"

    response = alice.put(
        url, json={"title": "New", "status": "done"}, headers={"If-Match": task["etag"]}
    )

    assert response.status_code == 200
    assert response.json["title"] == "New"
    assert response.json["status"] == "done"
    assert response.json["notes"] == ""
    assert response.json["tags"] == []
    assert response.json["priority"] == 3


def test_delete_task_and_its_tags(app: Flask, alice: ApiClient) -> None:
    task = create_task(alice, create_project(alice)["id"], tags=["x", "y"])
    url = f"/v1/tasks/{task['id']}"

    assert alice.delete(url).status_code == 428
    assert alice.delete(url, headers={"If-Match": task["etag"]}).status_code == 204
    assert alice.get(url).status_code == 404
    with app.app_context():
        assert db.session.query(TaskTag).count() == 0


def test_deleting_a_project_deletes_its_tasks(app: Flask, alice: ApiClient) -> None:
    project = create_project(alice)
    task = create_task(alice, project["id"], tags=["x"])
    project_etag = alice.get(f"/v1/projects/{project['id']}").headers["ETag"]

    response = alice.delete(f"/v1/projects/{project['id']}", headers={"If-Match": project_etag})

    assert response.status_code == 204
    assert alice.get(f"/v1/tasks/{task['id']}").status_code == 404
    with app.app_context():
        assert db.session.query(Task).count() == 0
        assert db.session.query(TaskTag).count() == 0


def test_stale_if_match_is_412_and_the_task_is_unchanged(app: Flask, alice: ApiClient) -> None:
    task = create_task(alice, create_project(alice)["id"], tags=["keep"])
    url = f"/v1/tasks/{task['id']}"
    assert (
        alice.patch(url, json={"status": "doing"}, headers={"If-Match": task["etag"]}).status_code
        == 200
    )

    stale = {"If-Match": task["etag"]}
    assert alice.put(url, json={"title": "Overwrite"}, headers=stale).status_code == 412
    assert alice.patch(url, json={"tags": []}, headers=stale).status_code == 412
    assert alice.delete(url, headers=stale).status_code == 412

    kept = stored(app, task["id"])
    assert kept is not None
    assert kept.title == task["title"]
    assert kept.status == "doing"
    assert kept.version == 2
    assert alice.get(url).json["tags"] == ["keep"]


def test_another_users_task_is_404_for_every_operation(
    app: Flask, alice: ApiClient, bob: ApiClient
) -> None:
    task = create_task(alice, create_project(alice)["id"])
    url = f"/v1/tasks/{task['id']}"
    etag = {"If-Match": task["etag"]}

    assert bob.get(url).status_code == 404
    assert bob.put(url, json={"title": "Mine"}, headers=etag).status_code == 404
    assert bob.patch(url, json={"title": "Mine"}, headers=etag).status_code == 404
    assert bob.delete(url, headers=etag).status_code == 404

    kept = stored(app, task["id"])
    assert kept is not None
    assert kept.title == task["title"]


def test_admin_reads_tasks_of_others_but_cannot_add_or_change(
    alice: ApiClient, admin: ApiClient
) -> None:
    project = create_project(alice)
    task = create_task(alice, project["id"])

    assert admin.get(f"/v1/tasks/{task['id']}").status_code == 200
    assert admin.get(f"/v1/projects/{project['id']}/tasks").json["total"] == 1
    assert admin.post(f"/v1/projects/{project['id']}/tasks", json={"title": "x"}).status_code == 403
    response = admin.delete(f"/v1/tasks/{task['id']}", headers={"If-Match": task["etag"]})
    assert response.status_code == 403
    assert alice.get(f"/v1/tasks/{task['id']}").status_code == 200
