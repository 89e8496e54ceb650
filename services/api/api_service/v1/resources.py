"""The API's resources: projects and their tasks (Flask-RESTful ``Resource`` classes).

Every request carries a bearer token (``method_decorators``); every object belongs to the user
in it. Another user's object answers 404, exactly like a missing one, so ids reveal nothing.
Admins may read every object but change only their own (403 otherwise). A token made for an
API client (a personal access token's) carries scopes: reads need ``tasks:read``, every change
``tasks:write``, or the answer is a 403 naming the missing scope.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import g, request, url_for
from flask_restful import Resource
from marshmallow import Schema
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
from servicekit.bearer import bearer_required, require_scope
from servicekit.errors import Problem
from servicekit.verifier import Identity

Owned = TypeVar("Owned", Project, Task)
ResourceResult = tuple[dict[str, Any], int, dict[str, str]] | Response


def caller() -> Identity:
    """The identity bearer_required verified for this request."""
    identity: Identity = g.identity
    return identity


def get_owned(model: type[Owned], object_id: int, *, write: bool = False) -> Owned:
    """The caller's object ``object_id``: 404 when it is missing or someone else's (an admin
    may read anyone's, but gets 403 when trying to change it)."""
    # A larger id than a column holds never gets here: servicekit's <int:...> does not match it.
    found = db.session.get(model, object_id)
    # Someone else's object gets exactly the answer a missing one gets.
    missing = NotFound(f"There is no {model.__tablename__.removesuffix('s')} {object_id}.")
    if found is None:
        raise missing
    identity = caller()
    if found.owner_id != identity.id:
        if not identity.is_admin:
            raise missing
        if write:
            raise Problem(403, "Admins may read every object but change only their own.")
    return found


def etag_of(item: Project | Task) -> str:
    """The ETag of ``item``'s current version."""
    return etag_for(item.__tablename__, item.id, item.version)


#: The methods that only read; every other one changes something.
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def scope_for_method(view: Callable[..., ResourceResult]) -> Callable[..., ResourceResult]:
    """Reads need the scope ``tasks:read``, changes ``tasks:write`` (tokens without scopes,
    from a browser session or a password, pass: they carry the user's full rights)."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> ResourceResult:
        scope = "tasks:read" if request.method in READ_METHODS else "tasks:write"
        require_scope(caller(), scope)
        return view(*args, **kwargs)

    return wrapped


class ApiResource(Resource):  # type: ignore[misc]
    """Every operation needs a valid bearer token (checked first: Flask-RESTful applies the
    decorators in order, so the last one listed runs first) with the right scope."""

    method_decorators = [scope_for_method, bearer_required()]


class ItemResource(ApiResource):
    """One object: GET (If-None-Match gives 304), PUT, PATCH and DELETE (If-Match required).

    Subclasses name the model, the schemas and the endpoint; Flask-RESTful passes the URL's
    single variable (``project_id`` or ``task_id``) by name, hence ``**url_id``.
    """

    model: type[Project] | type[Task]
    input_schema: Schema
    output_schema: Schema
    #: The endpoint of the object's URL, for Location (Flask-RESTful uses ``endpoint`` itself).
    item_endpoint: str
    #: The name of the id in the URL rule.
    url_variable: str

    def represent(self, item: Any, status: int = 200) -> ResourceResult:
        """``item`` as JSON with its ETag, and its URL in Location when just created."""
        headers = {"ETag": quote_etag(etag_of(item))}
        if status == 201:
            headers["Location"] = url_for(self.item_endpoint, **{self.url_variable: item.id})
        return self.output_schema.dump(item), status, headers

    def find(self, url_id: dict[str, int], *, write: bool = False) -> Any:
        """The object the URL names, if the caller may see (or change) it."""
        return get_owned(self.model, url_id[self.url_variable], write=write)

    def apply(self, item: Any, data: dict[str, Any]) -> None:
        """Copy validated fields onto ``item``."""
        for name, value in data.items():
            setattr(item, name, value)

    def get(self, **url_id: int) -> ResourceResult:
        item = self.find(url_id)
        return not_modified(etag_of(item)) or self.represent(item)

    def put(self, **url_id: int) -> ResourceResult:
        return self._update(url_id, partial=False)

    def patch(self, **url_id: int) -> ResourceResult:
        return self._update(url_id, partial=True)

    def delete(self, **url_id: int) -> ResourceResult:
        item = self.find(url_id, write=True)
        require_if_match(etag_of(item))
        db.session.delete(item)
        commit()
        return Response(status=204)

    def _update(self, url_id: dict[str, int], *, partial: bool) -> ResourceResult:
        item = self.find(url_id, write=True)
        # If-Match before the body: a stale client learns that first, whatever it sent.
        require_if_match(etag_of(item))
        self.apply(item, load(self.input_schema, partial=partial))
        commit()
        return self.represent(item)


class ProjectItem(ItemResource):
    """``/v1/projects/<id>``: read, replace, change or delete one project."""

    model = Project
    input_schema = ProjectInputSchema()
    output_schema = ProjectSchema()
    item_endpoint = "v1.project"
    url_variable = "project_id"


class TaskItem(ItemResource):
    """``/v1/tasks/<id>``: read, replace, change or delete one task."""

    model = Task
    input_schema = TaskInputSchema()
    output_schema = TaskSchema()
    item_endpoint = "v1.task"
    url_variable = "task_id"

    def apply(self, item: Any, data: dict[str, Any]) -> None:
        if "tags" in data:
            item.set_tags(data.pop("tags"))
        super().apply(item, data)


class ProjectList(ApiResource):
    """``/v1/projects``: list the caller's projects (an admin's: everyone's), create one."""

    def get(self) -> ResourceResult:
        params = load_query(ProjectListQuerySchema())
        identity = caller()
        owner = None if identity.is_admin else identity.id
        page = paginate(project_query(owner, params), params["page"], params["per_page"])
        return ProjectPageSchema().dump(page.as_dict()), 200, page.headers()

    def post(self) -> ResourceResult:
        project = Project(owner_id=caller().id, **load(ProjectItem.input_schema))
        db.session.add(project)
        commit()
        return ProjectItem().represent(project, 201)


class ProjectTaskList(ApiResource):
    """``/v1/projects/<id>/tasks``: list (filter, sort, page) a project's tasks, add one."""

    def get(self, project_id: int) -> ResourceResult:
        project = get_owned(Project, project_id)
        params = load_query(TaskListQuerySchema())
        page = paginate(task_query(project.id, params), params["page"], params["per_page"])
        return TaskPageSchema().dump(page.as_dict()), 200, page.headers()

    def post(self, project_id: int) -> ResourceResult:
        project = get_owned(Project, project_id, write=True)
        data = load(TaskItem.input_schema)
        tags = data.pop("tags")
        task = Task(project=project, owner_id=project.owner_id, **data)
        task.set_tags(tags)
        db.session.add(task)
        commit()
        return TaskItem().represent(task, 201)
