"""The API's resources: projects and their tasks (Flask-RESTful ``Resource`` classes).

Every request carries a bearer token (``method_decorators``) with the scope its method needs;
every object belongs to the user in it (the rules are in api_service.permissions). Each method
describes itself for the OpenAPI document (``@documented``; its docstring is the summary).
"""

# length: the four resources and the ItemResource they share, each method beside the OpenAPI
# description it carries (@documented); split apart, a reader would chase one operation across
# files.
from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, ClassVar

from flask import url_for
from flask_restful import Resource
from marshmallow import Schema
from sqlalchemy import insert
from werkzeug.http import quote_etag
from werkzeug.wrappers import Response

from api_service import apidoc
from api_service.apidoc import documented
from api_service.dumping import CompiledDump, compile_dump
from api_service.extensions import db
from api_service.models import Project, Task, TaskTag
from api_service.permissions import (
    caller,
    check_owned,
    get_owned,
    get_owned_row,
    require_scope_for_method,
)
from api_service.schemas import (
    ProjectInputSchema,
    ProjectListQuerySchema,
    ProjectSchema,
    TaskInputSchema,
    TaskListQuerySchema,
    TaskSchema,
)
from api_service.v1.http import (
    commit,
    etag_for,
    load,
    load_query,
    not_modified,
    require_if_match,
    stale_is_412,
)
from api_service.v1.queries import add_tags, project_page, project_query, task_page, task_query
from servicekit.bearer import bearer_required

ResourceResult = tuple[dict[str, Any], int, dict[str, str]] | Response

# Built once: a schema's constructor costs as much as validating a small query string.
PROJECT_INPUT = ProjectInputSchema()
TASK_INPUT = TaskInputSchema()
PROJECT_LIST_QUERY = ProjectListQuerySchema()
TASK_LIST_QUERY = TaskListQuerySchema()


def etag_of(item: Project | Task) -> str:
    """The ETag of ``item``'s current version."""
    return etag_for(item.__tablename__, item.id, item.version)


def scope_for_method(view: Callable[..., ResourceResult]) -> Callable[..., ResourceResult]:
    """Check the token's scope for the request's method before ``view`` runs."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> ResourceResult:
        require_scope_for_method()
        return view(*args, **kwargs)

    return wrapped


class ApiResource(Resource):  # type: ignore[misc]
    """Every operation needs a valid bearer token (checked first: Flask-RESTful applies the
    decorators in order, so the last one listed runs first) with the right scope."""

    method_decorators: ClassVar[list[Callable[..., Any]]] = [scope_for_method, bearer_required()]


class ItemResource(ApiResource):
    """One object: read (If-None-Match gives 304), replace, change, delete (If-Match required).

    Subclasses name the model, the schemas and the endpoint, and define the HTTP methods with
    the URL's own variable name (Flask-RESTful passes it by name).
    """

    model: ClassVar[type[Project] | type[Task]]
    input_schema: ClassVar[Schema]
    dump: ClassVar[CompiledDump]
    #: The same output from the object's row (:meth:`read` needs no ORM object).
    dump_row: ClassVar[CompiledDump]
    #: The endpoint of the object's URL and the name of its id there, for Location.
    item_endpoint: ClassVar[str]
    url_variable: ClassVar[str]

    @classmethod
    def represent(cls, item: Any, status: int = 200) -> ResourceResult:
        """``item`` as JSON with its ETag, and its URL in Location when just created."""
        headers = {"ETag": quote_etag(etag_of(item))}
        if status == 201:
            headers["Location"] = url_for(cls.item_endpoint, **{cls.url_variable: item.id})
        return cls.dump(item), status, headers

    @classmethod
    def stored(cls, item: Any, status: int = 200) -> ResourceResult:
        """Write ``item``'s changes and represent it.

        Flushed and represented before the commit: the flush gives the id and the new version,
        and the commit would expire every attribute, so representing after it would read the
        row (and its tags) back with another two statements.
        """
        with stale_is_412():
            db.session.flush()
            result = cls.represent(item, status)
            db.session.commit()
        return result

    def apply(self, item: Any, data: dict[str, Any]) -> None:
        """Copy validated fields onto ``item``."""
        for name, value in data.items():
            setattr(item, name, value)

    def read(self, object_id: int) -> ResourceResult:
        """The object, or 304 when the client's copy is current.

        Read as a row, not an ORM object: nothing is changed, so the identity map, change
        tracking and relationship loading would be work for nothing (docs/benchmarks.md, "API").
        """
        row = get_owned_row(self.model, object_id)
        etag = etag_for(self.model.__tablename__, row["id"], row["version"])
        return not_modified(etag) or (self.represented_row(row), 200, {"ETag": quote_etag(etag)})

    def represented_row(self, row: Any) -> dict[str, Any]:
        """The JSON of the object read as ``row``."""
        return self.dump_row(row)

    def update(self, object_id: int, *, partial: bool) -> ResourceResult:
        """Replace the object (PUT) or some of its fields (PATCH, ``partial``)."""
        item = get_owned(self.model, object_id, write=True)
        # If-Match before the body: a stale client learns that first, whatever it sent.
        require_if_match(etag_of(item))
        self.apply(item, load(self.input_schema, partial=partial))
        return self.stored(item)

    def remove(self, object_id: int) -> ResourceResult:
        """Delete the object."""
        item = get_owned(self.model, object_id, write=True)
        require_if_match(etag_of(item))
        db.session.delete(item)
        commit()
        return Response(status=204)


class ProjectItem(ItemResource):
    """``/v1/projects/<id>``: read, replace, change or delete one project."""

    model = Project
    input_schema = PROJECT_INPUT
    dump = compile_dump(ProjectSchema())
    dump_row = compile_dump(ProjectSchema(), from_mapping=True)
    item_endpoint = "v1.project"
    url_variable = "project_id"

    @documented(apidoc.read("Project", "project"))
    def get(self, project_id: int) -> ResourceResult:
        """Read a project."""
        return self.read(project_id)

    @documented(apidoc.write("Project", "project", "ProjectInput", "replaced"))
    def put(self, project_id: int) -> ResourceResult:
        """Replace a project (omitted optional fields get their defaults)."""
        return self.update(project_id, partial=False)

    @documented(apidoc.write("Project", "project", "ProjectPatch", "changed"))
    def patch(self, project_id: int) -> ResourceResult:
        """Change some fields of a project."""
        return self.update(project_id, partial=True)

    @documented(apidoc.delete())
    def delete(self, project_id: int) -> ResourceResult:
        """Delete a project."""
        return self.remove(project_id)


class TaskItem(ItemResource):
    """``/v1/tasks/<id>``: read, replace, change or delete one task."""

    model = Task
    input_schema = TASK_INPUT
    dump = compile_dump(TaskSchema())
    # The tags are not a column: represented_row adds them from their own query.
    dump_row = compile_dump(TaskSchema(exclude=("tags",)), from_mapping=True)
    item_endpoint = "v1.task"
    url_variable = "task_id"

    def represented_row(self, row: Any) -> dict[str, Any]:
        task = self.dump_row(row)
        add_tags([task])
        return task

    def apply(self, item: Any, data: dict[str, Any]) -> None:
        if "tags" in data:
            item.set_tags(data.pop("tags"))
        super().apply(item, data)

    @documented(apidoc.read("Task", "task"))
    def get(self, task_id: int) -> ResourceResult:
        """Read a task."""
        return self.read(task_id)

    @documented(apidoc.write("Task", "task", "TaskInput", "replaced"))
    def put(self, task_id: int) -> ResourceResult:
        """Replace a task (omitted optional fields get their defaults)."""
        return self.update(task_id, partial=False)

    @documented(apidoc.write("Task", "task", "TaskPatch", "changed"))
    def patch(self, task_id: int) -> ResourceResult:
        """Change some fields of a task."""
        return self.update(task_id, partial=True)

    @documented(apidoc.delete())
    def delete(self, task_id: int) -> ResourceResult:
        """Delete a task."""
        return self.remove(task_id)


PROJECT_PATH = "/v1/projects/{project_id}"
PROJECT_TASKS_PATH = "/v1/projects/{project_id}/tasks"


class ProjectList(ApiResource):
    """``/v1/projects``: list the caller's projects (an admin's: everyone's), create one."""

    @documented(
        apidoc.Operation(
            parameters=apidoc.query(ProjectListQuerySchema),
            responses={
                **apidoc.page_of("ProjectPage", "One page of projects."),
                **apidoc.errors(422),
            },
        )
    )
    def get(self) -> ResourceResult:
        """List your projects (admins: everyone's)."""
        params = load_query(PROJECT_LIST_QUERY)
        identity = caller()
        owner = None if identity.is_admin else identity.id
        page = project_page(project_query(owner, params), params["page"], params["per_page"])
        return page.as_dict(), 200, page.headers()

    @documented(
        apidoc.Operation(
            body="ProjectInput",
            responses={**apidoc.created("Project"), **apidoc.errors(*apidoc.WRITE_ERRORS)},
            links={
                **apidoc.item_links("project", PROJECT_PATH),
                "ListTasks": apidoc.link(
                    PROJECT_TASKS_PATH, "get", project_id="$response.body#/id"
                ),
                "AddTask": apidoc.link(PROJECT_TASKS_PATH, "post", project_id="$response.body#/id"),
            },
        )
    )
    def post(self) -> ResourceResult:
        """Create a project."""
        project = Project(owner_id=caller().id, **load(PROJECT_INPUT))
        db.session.add(project)
        return ProjectItem.stored(project, 201)


class ProjectTaskList(ApiResource):
    """``/v1/projects/<id>/tasks``: list (filter, sort, page) a project's tasks, add one."""

    @documented(
        apidoc.Operation(
            parameters=apidoc.query(TaskListQuerySchema),
            responses={
                **apidoc.page_of("TaskPage", "One page of tasks."),
                **apidoc.errors(404, 422),
            },
        )
    )
    def get(self, project_id: int) -> ResourceResult:
        """List, filter and sort a project's tasks."""
        check_owned(Project, project_id)
        params = load_query(TASK_LIST_QUERY)
        page = task_page(task_query(project_id, params), params["page"], params["per_page"])
        return page.as_dict(), 200, page.headers()

    @documented(
        apidoc.Operation(
            body="TaskInput",
            responses={**apidoc.created("Task"), **apidoc.errors(403, 404, *apidoc.WRITE_ERRORS)},
            links=apidoc.item_links("task", "/v1/tasks/{task_id}"),
        )
    )
    def post(self, project_id: int) -> ResourceResult:
        """Add a task to a project."""
        # Only an owner may add (an admin gets 403 on another's project), so the task's owner,
        # which repeats the project's, is the caller.
        check_owned(Project, project_id, write=True)
        data = load(TASK_INPUT)
        task = insert_task(project_id, caller().id, data)
        db.session.commit()
        headers = {
            "ETag": quote_etag(etag_for(Task.__tablename__, task["id"], task["version"])),
            "Location": url_for(TaskItem.item_endpoint, task_id=task["id"]),
        }
        return TaskItem.dump_row(task) | {"tags": task["tags"]}, 201, headers


_INSERT_TASK = insert(Task.__table__).returning(*Task.__table__.c)
_INSERT_TAGS = insert(TaskTag.__table__)


def insert_task(project_id: int, owner_id: str, data: dict[str, Any]) -> dict[str, Any]:
    """Store a new task (validated ``data``, its ``tags`` included) with two Core INSERTs; its
    columns and sorted tags.

    Not through the ORM: a new object's unit of work (flush, identity map, the tag rows as a
    relationship) cost a third of the request for two INSERTs (docs/benchmarks.md, "API").
    The column defaults (times, notes, status...) apply as they do for the ORM.
    """
    tags = sorted(set(data.pop("tags")))
    connection = db.session.connection()
    # version: where the ORM's version counter (version_id_col) starts a new row.
    values = {"project_id": project_id, "owner_id": owner_id, "version": 1, **data}
    task = dict(connection.execute(_INSERT_TASK, values).mappings().one())
    if tags:
        connection.execute(_INSERT_TAGS, [{"task_id": task["id"], "tag": tag} for tag in tags])
    task["tags"] = tags
    return task
