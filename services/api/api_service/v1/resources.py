"""The API's resources: projects and their tasks (Flask-RESTful ``Resource`` classes).

Every request carries a bearer token (``method_decorators``); every object belongs to the user
in it. Another user's object answers 404, exactly like a missing one, so ids reveal nothing.
Admins may read every object but change only their own (403 otherwise).
"""

from __future__ import annotations

from typing import Any

from flask import g, url_for
from flask_restful import Resource
from werkzeug.exceptions import NotFound
from werkzeug.http import quote_etag
from werkzeug.wrappers import Response

from api_service.extensions import db
from api_service.models import Project, Task
from api_service.schemas import (
    ProjectInputSchema,
    ProjectListQuerySchema,
    ProjectPageSchema,
    ProjectSchema,
    TaskInputSchema,
    TaskListQuerySchema,
    TaskPageSchema,
    TaskSchema,
)
from api_service.v1.http import (
    commit,
    etag_for,
    load,
    load_query,
    not_modified,
    require_if_match,
)
from api_service.v1.queries import paginate, project_query, task_query
from servicekit.errors import Problem
from servicekit.identity import Identity, bearer_required

#: Ids are 32-bit in every database we support; a bigger one cannot exist (and would make the
#: driver overflow instead of answering 404).
MAX_ID = 2**31 - 1

ResourceResult = tuple[dict[str, Any], int, dict[str, str]] | Response

project_input = ProjectInputSchema()
project_output = ProjectSchema()
project_page = ProjectPageSchema()
task_input = TaskInputSchema()
task_output = TaskSchema()
task_page = TaskPageSchema()


def caller() -> Identity:
    """The identity bearer_required verified for this request."""
    identity: Identity = g.identity
    return identity


def _visible(owner_id: str, *, write: bool) -> None:
    identity = caller()
    if owner_id == identity.id:
        return
    if not identity.is_admin:
        raise NotFound()  # someone else's: indistinguishable from a missing object
    if write:
        raise Problem(403, "Admins may read every object but change only their own.")


def get_project(project_id: int, *, write: bool = False) -> Project:
    """The caller's project ``project_id``; 404 if it is missing or someone else's."""
    project = db.session.get(Project, project_id) if project_id <= MAX_ID else None
    if project is None:
        raise NotFound()
    _visible(project.owner_id, write=write)
    return project


def get_task(task_id: int, *, write: bool = False) -> Task:
    """The caller's task ``task_id``; 404 if it is missing or someone else's."""
    task = db.session.get(Task, task_id) if task_id <= MAX_ID else None
    if task is None:
        raise NotFound()
    _visible(task.owner_id, write=write)
    return task


def project_etag(project: Project) -> str:
    """The ETag of ``project``'s current version."""
    return etag_for("project", project.id, project.version)


def task_etag(task: Task) -> str:
    """The ETag of ``task``'s current version."""
    return etag_for("task", task.id, task.version)


class ApiResource(Resource):  # type: ignore[misc]
    """Every operation needs a valid bearer token."""

    method_decorators = [bearer_required()]


class ProjectList(ApiResource):
    """``/v1/projects``: list the caller's projects (an admin's: everyone's), create one."""

    def get(self) -> ResourceResult:
        params = load_query(ProjectListQuerySchema())
        identity = caller()
        owner = None if identity.is_admin else identity.id
        page = paginate(project_query(owner, params), params["page"], params["per_page"])
        return project_page.dump(page.as_dict()), 200, page.headers()

    def post(self) -> ResourceResult:
        data = load(project_input)
        project = Project(owner_id=caller().id, **data)
        db.session.add(project)
        commit()
        return project_response(project, 201, location=True)


def project_response(
    project: Project, status: int = 200, *, location: bool = False
) -> ResourceResult:
    """``project`` as JSON with its ETag (and its URL in Location for a 201)."""
    headers = {"ETag": quote_etag(project_etag(project))}
    if location:
        headers["Location"] = url_for("v1.project", project_id=project.id)
    return project_output.dump(project), status, headers


def task_response(task: Task, status: int = 200, *, location: bool = False) -> ResourceResult:
    """``task`` as JSON with its ETag (and its URL in Location for a 201)."""
    headers = {"ETag": quote_etag(task_etag(task))}
    if location:
        headers["Location"] = url_for("v1.task", task_id=task.id)
    return task_output.dump(task), status, headers


def no_content() -> Response:
    """The empty 204 answer to a DELETE."""
    return Response(status=204)


class ProjectItem(ApiResource):
    """``/v1/projects/<id>``: read, replace, change or delete one project."""

    def get(self, project_id: int) -> ResourceResult:
        project = get_project(project_id)
        return not_modified(project_etag(project)) or project_response(project)

    def put(self, project_id: int) -> ResourceResult:
        project = get_project(project_id, write=True)
        require_if_match(project_etag(project))
        return self._update(project, load(project_input))

    def patch(self, project_id: int) -> ResourceResult:
        project = get_project(project_id, write=True)
        require_if_match(project_etag(project))
        return self._update(project, load(project_input, partial=True))

    def delete(self, project_id: int) -> ResourceResult:
        project = get_project(project_id, write=True)
        require_if_match(project_etag(project))
        db.session.delete(project)
        commit()
        return no_content()

    @staticmethod
    def _update(project: Project, data: dict[str, Any]) -> ResourceResult:
        for name, value in data.items():
            setattr(project, name, value)
        commit()
        return project_response(project)


class ProjectTaskList(ApiResource):
    """``/v1/projects/<id>/tasks``: list (filter, sort, page) a project's tasks, add one."""

    def get(self, project_id: int) -> ResourceResult:
        project = get_project(project_id)
        params = load_query(TaskListQuerySchema())
        page = paginate(task_query(project.id, params), params["page"], params["per_page"])
        return task_page.dump(page.as_dict()), 200, page.headers()

    def post(self, project_id: int) -> ResourceResult:
        project = get_project(project_id, write=True)
        data = load(task_input)
        tags = data.pop("tags")
        task = Task(project=project, owner_id=project.owner_id, **data)
        task.set_tags(tags)
        db.session.add(task)
        commit()
        return task_response(task, 201, location=True)


class TaskItem(ApiResource):
    """``/v1/tasks/<id>``: read, replace, change or delete one task."""

    def get(self, task_id: int) -> ResourceResult:
        task = get_task(task_id)
        return not_modified(task_etag(task)) or task_response(task)

    def put(self, task_id: int) -> ResourceResult:
        task = get_task(task_id, write=True)
        require_if_match(task_etag(task))
        return self._update(task, load(task_input))

    def patch(self, task_id: int) -> ResourceResult:
        task = get_task(task_id, write=True)
        require_if_match(task_etag(task))
        return self._update(task, load(task_input, partial=True))

    def delete(self, task_id: int) -> ResourceResult:
        task = get_task(task_id, write=True)
        require_if_match(task_etag(task))
        db.session.delete(task)
        commit()
        return no_content()

    @staticmethod
    def _update(task: Task, data: dict[str, Any]) -> ResourceResult:
        if "tags" in data:
            task.set_tags(data.pop("tags"))
        for name, value in data.items():
            setattr(task, name, value)
        commit()
        return task_response(task)
