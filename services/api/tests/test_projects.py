"""Projects: create, read, list, replace, change, delete; ownership; conditional requests."""

from __future__ import annotations

from flask import Flask

from api_service.extensions import db
from api_service.models import Project
from tests.support import ApiClient, create_project


def stored(app: Flask, project_id: int) -> Project | None:
    with app.app_context():
        return db.session.get(Project, project_id)


def test_create_returns_201_location_etag_and_the_project(alice: ApiClient) -> None:
    response = alice.post("/v1/projects", json={"name": "Garden", "description": "Spring"})

    assert response.status_code == 201
    body = response.json
    assert response.headers["Location"] == f"/v1/projects/{body['id']}"
    assert response.headers["ETag"].startswith('"')
    assert body["name"] == "Garden"
    assert body["description"] == "Spring"
    assert body["archived"] is False
    assert body["owner"] == "1"
    assert body["version"] == 1
    assert body["created_at"].endswith("+00:00")
    assert alice.get(response.headers["Location"]).json == body


def test_get_answers_with_the_same_etag_and_304_for_if_none_match(alice: ApiClient) -> None:
    project = create_project(alice)
    url = f"/v1/projects/{project['id']}"

    response = alice.get(url)
    assert response.status_code == 200
    assert response.headers["ETag"] == project["etag"]

    cached = alice.get(url, headers={"If-None-Match": project["etag"]})
    assert cached.status_code == 304
    assert cached.headers["ETag"] == project["etag"]
    assert cached.data == b""
    assert alice.get(url, headers={"If-None-Match": '"other"'}).status_code == 200


def test_put_replaces_and_changes_the_etag(alice: ApiClient) -> None:
    project = create_project(alice, description="old", archived=True)
    url = f"/v1/projects/{project['id']}"

    response = alice.put(url, json={"name": "Renamed"}, headers={"If-Match": project["etag"]})

    assert response.status_code == 200
    assert response.json["name"] == "Renamed"
    # PUT replaces: fields left out get their defaults.
    assert response.json["description"] == ""
    assert response.json["archived"] is False
    assert response.json["version"] == 2
    assert response.headers["ETag"] != project["etag"]
    assert alice.get(url).json == response.json


def test_patch_changes_only_the_given_fields(alice: ApiClient) -> None:
    project = create_project(alice, description="keep")
    url = f"/v1/projects/{project['id']}"

    response = alice.patch(url, json={"archived": True}, headers={"If-Match": project["etag"]})

    assert response.status_code == 200
    assert response.json["archived"] is True
    assert response.json["description"] == "keep"
    assert response.json["name"] == project["name"]


def test_put_requires_a_name(alice: ApiClient) -> None:
    project = create_project(alice)
    response = alice.put(
        f"/v1/projects/{project['id']}",
        json={"description": "x"},
        headers={"If-Match": project["etag"]},
    )
    assert response.status_code == 422
    assert response.json["errors"] == {"name": ["Missing data for required field."]}


def test_delete_answers_204_and_the_project_is_gone(app: Flask, alice: ApiClient) -> None:
    project = create_project(alice)
    url = f"/v1/projects/{project['id']}"

    response = alice.delete(url, headers={"If-Match": project["etag"]})

    assert response.status_code == 204
    assert response.data == b""
    assert alice.get(url).status_code == 404
    assert stored(app, project["id"]) is None


def test_writes_without_if_match_answer_428_and_change_nothing(
    app: Flask, alice: ApiClient
) -> None:
    project = create_project(alice)
    url = f"/v1/projects/{project['id']}"

    for method in ("put", "patch"):
        response = getattr(alice, method)(url, json={"name": "Lost"})
        assert response.status_code == 428
        assert response.mimetype == "application/problem+json"
    assert alice.delete(url).status_code == 428
    assert alice.get(url).json["name"] == project["name"]


def test_a_stale_if_match_answers_412_and_keeps_the_stored_project(
    app: Flask, alice: ApiClient
) -> None:
    project = create_project(alice)
    url = f"/v1/projects/{project['id']}"
    first = alice.patch(url, json={"name": "First writer"}, headers={"If-Match": project["etag"]})
    assert first.status_code == 200

    # A second client still holds the first ETag: its writes must not overwrite the change.
    for method, body in (("put", {"name": "Second"}), ("patch", {"name": "Second"})):
        response = getattr(alice, method)(url, json=body, headers={"If-Match": project["etag"]})
        assert response.status_code == 412
        assert response.mimetype == "application/problem+json"
    assert alice.delete(url, headers={"If-Match": project["etag"]}).status_code == 412

    kept = stored(app, project["id"])
    assert kept is not None
    assert kept.name == "First writer"
    assert kept.version == 2


def test_if_match_star_and_lists_of_etags_are_understood(alice: ApiClient) -> None:
    project = create_project(alice)
    url = f"/v1/projects/{project['id']}"
    listed = alice.patch(url, json={"name": "A"}, headers={"If-Match": f'"x", {project["etag"]}'})
    assert listed.status_code == 200
    assert alice.patch(url, json={"name": "B"}, headers={"If-Match": "*"}).status_code == 200
    # A weak tag never matches for a write (strong comparison, RFC 9110).
    weak = "W/" + listed.headers["ETag"]
    assert alice.patch(url, json={"name": "C"}, headers={"If-Match": weak}).status_code == 412


def test_list_shows_only_the_callers_projects(alice: ApiClient, bob: ApiClient) -> None:
    mine = create_project(alice, name="Mine")
    create_project(bob, name="Bob's")

    response = alice.get("/v1/projects")

    assert response.status_code == 200
    assert [item["id"] for item in response.json["items"]] == [mine["id"]]
    assert response.json["total"] == 1
    assert response.headers["X-Total-Count"] == "1"


def test_list_filters_archived_and_sorts(alice: ApiClient) -> None:
    create_project(alice, name="b")
    create_project(alice, name="a", archived=True)
    create_project(alice, name="c")

    names = [p["name"] for p in alice.get("/v1/projects?sort=name").json["items"]]
    assert names == ["a", "b", "c"]
    names = [p["name"] for p in alice.get("/v1/projects?sort=-name&archived=false").json["items"]]
    assert names == ["c", "b"]
    assert alice.get("/v1/projects?sort=owner_id").status_code == 422


def test_another_users_project_is_404_for_every_operation(
    app: Flask, alice: ApiClient, bob: ApiClient
) -> None:
    project = create_project(alice)
    url = f"/v1/projects/{project['id']}"
    etag = {"If-Match": project["etag"]}

    assert bob.get(url).status_code == 404
    assert bob.put(url, json={"name": "Mine now"}, headers=etag).status_code == 404
    assert bob.patch(url, json={"name": "Mine now"}, headers=etag).status_code == 404
    assert bob.delete(url, headers=etag).status_code == 404
    assert bob.get(f"{url}/tasks").status_code == 404
    assert bob.post(f"{url}/tasks", json={"title": "Sneaky"}).status_code == 404
    # The same answer as for an id that does not exist: ids leak nothing.
    theirs, missing = bob.get(url).json, bob.get("/v1/projects/999999").json
    assert theirs["detail"] == f"There is no project {project['id']}."
    assert missing["detail"] == "There is no project 999999."
    assert {k: v for k, v in theirs.items() if k not in {"detail", "instance", "request_id"}} == {
        k: v for k, v in missing.items() if k not in {"detail", "instance", "request_id"}
    }

    kept = stored(app, project["id"])
    assert kept is not None
    assert kept.name == project["name"]
    assert alice.get(f"{url}/tasks").json["total"] == 0


def test_admin_reads_everything_but_changes_only_their_own(
    alice: ApiClient, admin: ApiClient
) -> None:
    project = create_project(alice)
    url = f"/v1/projects/{project['id']}"

    assert admin.get(url).status_code == 200
    assert project["id"] in [p["id"] for p in admin.get("/v1/projects").json["items"]]
    response = admin.patch(url, json={"name": "Admin's"}, headers={"If-Match": project["etag"]})
    assert response.status_code == 403
    assert alice.get(url).json["name"] == project["name"]


def test_ids_beyond_the_database_range_are_404(alice: ApiClient) -> None:
    assert alice.get(f"/v1/projects/{2**70}").status_code == 404
    assert alice.get(f"/v1/tasks/{2**70}").status_code == 404
