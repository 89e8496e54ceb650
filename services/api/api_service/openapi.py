"""The OpenAPI 3.1 document, built by apispec from the same marshmallow schemas the views use.

``GET /openapi.json`` serves it; ``/docs`` renders it. Each operation below lists every status it
can answer: the schemathesis test checks the running app against this document, so a status or
a field the code produces but the document does not describe fails the build.
"""

from __future__ import annotations

from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Blueprint, Response, current_app, jsonify, request
from marshmallow import Schema, fields

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
from servicekit.errors import PROBLEM_MIMETYPE
from servicekit.inputs import MAX_ID

bp = Blueprint("openapi", __name__)

_EXTENSION_KEY = "api_service.openapi"


class ProblemSchema(Schema):
    """An error, as RFC 9457 problem details."""

    type = fields.String(required=True)
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String()
    instance = fields.String()
    request_id = fields.String()
    errors = fields.Dict(
        metadata={"description": "For 422: the messages of each invalid field, by field name."}
    )


ERRORS = {
    400: "The body is not well-formed JSON, or the URL, query string or body holds text that "
    "cannot be stored (a NUL character, invalid Unicode).",
    401: "The bearer token is missing, invalid, expired or revoked (see WWW-Authenticate).",
    403: "An admin tried to change another user's object (admins may only read them).",
    404: "No such object, or it belongs to another user.",
    412: "If-Match does not match the object's current ETag: it changed since you read it.",
    413: "The body is larger than the limit (MAX_CONTENT_LENGTH).",
    415: "The body is not JSON (Content-Type must be application/json).",
    422: "Invalid query string or body; `errors` lists each field's messages.",
    428: "The request must carry If-Match with the object's ETag.",
    429: "Too many requests for this token; see Retry-After and RateLimit-* headers.",
}

RATE_LIMIT_HEADERS = {
    "RateLimit-Limit": {
        "description": "Requests allowed in the window.",
        "schema": {"type": "integer"},
    },
    "RateLimit-Remaining": {
        "description": "Requests left in the window.",
        "schema": {"type": "integer"},
    },
    "RateLimit-Reset": {"description": "When the window resets.", "schema": {"type": "integer"}},
}
ETAG_HEADER = {"ETag": {"$ref": "#/components/headers/ETag"}}


def _errors(*codes: int) -> dict[int, Any]:
    # 400 on every operation: servicekit refuses a NUL or invalid Unicode anywhere in a request
    # before any view runs (servicekit.inputs).
    every = (400, 401, 429, *codes)
    return {code: {"$ref": f"#/components/responses/{code}"} for code in sorted(set(every))}


def _id_parameter(name: str, what: str) -> dict[str, Any]:
    return {
        "in": "path",
        "name": name,
        "required": True,
        "description": f"The {what}'s id.",
        "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ID},
    }


def _body(schema: str) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def _ok(schema: str, description: str, status: int = 200, **headers: Any) -> dict[int, Any]:
    return {
        status: {
            "description": description,
            "headers": {**ETAG_HEADER, **headers},
            "content": {"application/json": {"schema": schema}},
        }
    }


def _list(schema: str, description: str) -> dict[int, Any]:
    return {
        200: {
            "description": description,
            "headers": {
                "Link": {
                    "description": "RFC 8288 links to the first, prev, next and last pages.",
                    "schema": {"type": "string"},
                },
                "X-Total-Count": {
                    "description": "Items in the whole list.",
                    "schema": {"type": "integer"},
                },
            },
            "content": {"application/json": {"schema": schema}},
        }
    }


IF_MATCH = {
    "in": "header",
    "name": "If-Match",
    "required": True,
    "description": "The ETag of the version you read (428 without it, 412 when stale).",
    "schema": {"type": "string"},
}
IF_NONE_MATCH = {
    "in": "header",
    "name": "If-None-Match",
    "required": False,
    "description": "An ETag you hold: 304 when it is still current.",
    "schema": {"type": "string"},
}
NOT_MODIFIED = {304: {"description": "Not modified: your copy is current.", "headers": ETAG_HEADER}}
DELETED = {204: {"description": "Deleted."}}
WRITE_ERRORS = (400, 413, 415, 422)


def _item_operations(
    kind: str, schema: str, input_schema: str, patch_schema: str
) -> dict[str, Any]:
    return {
        "get": {
            "summary": f"Read a {kind}",
            "parameters": [IF_NONE_MATCH],
            "responses": {**_ok(schema, f"The {kind}."), **NOT_MODIFIED, **_errors(404)},
        },
        "put": {
            "summary": f"Replace a {kind} (omitted optional fields get their defaults)",
            "parameters": [IF_MATCH],
            "requestBody": _body(input_schema),
            "responses": {
                **_ok(schema, f"The replaced {kind}."),
                **_errors(403, 404, 412, 428, *WRITE_ERRORS),
            },
        },
        "patch": {
            "summary": f"Change some fields of a {kind}",
            "parameters": [IF_MATCH],
            "requestBody": _body(patch_schema),
            "responses": {
                **_ok(schema, f"The changed {kind}."),
                **_errors(403, 404, 412, 428, *WRITE_ERRORS),
            },
        },
        "delete": {
            "summary": f"Delete a {kind}",
            "parameters": [IF_MATCH],
            "responses": {**DELETED, **_errors(403, 404, 412, 428)},
        },
    }


def _link(path: str, method: str, **parameters: str) -> dict[str, Any]:
    """An OpenAPI link to ``method path``, its parameters taken from the response."""
    pointer = path.replace("~", "~0").replace("/", "~1")
    return {"operationRef": f"#/paths/{pointer}/{method}", "parameters": parameters}


def _item_links(kind: str, path: str) -> dict[str, Any]:
    """What a client can do with an object it just created: read, change, delete it."""
    name = kind.capitalize()
    key = {f"{kind}_id": "$response.body#/id"}
    etag = {"header.If-Match": "$response.header.ETag"}
    return {
        f"Get{name}": _link(path, "get", **key),
        f"Change{name}": _link(path, "patch", **key, **etag),
        f"Delete{name}": _link(path, "delete", **key, **etag),
    }


#: Links from each creation to the operations on the new object. Clients may follow them; the
#: stateful phase of schemathesis (`nox -s security`) does, to test sequences of calls.
LINKS = {
    ("/v1/projects", "post"): {
        **_item_links("project", "/v1/projects/{project_id}"),
        "ListTasks": _link(
            "/v1/projects/{project_id}/tasks", "get", project_id="$response.body#/id"
        ),
        "AddTask": _link(
            "/v1/projects/{project_id}/tasks", "post", project_id="$response.body#/id"
        ),
    },
    ("/v1/projects/{project_id}/tasks", "post"): _item_links("task", "/v1/tasks/{task_id}"),
}


def build_spec() -> dict[str, Any]:
    """The OpenAPI document of this API (without ``servers``, which depend on the request)."""
    spec = APISpec(
        title="Tasks API",
        version="1.0.0",
        openapi_version="3.1.0",
        plugins=[MarshmallowPlugin()],
        info={
            "description": (
                "Projects and their tasks. Every request needs `Authorization: Bearer <token>` "
                "(from the auth service's `POST /auth/api/token`). Errors are "
                "`application/problem+json` (RFC 9457). Writes need `If-Match`."
            )
        },
    )
    components = spec.components
    components.security_scheme(
        "bearerAuth", {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    )
    components.schema("Problem", schema=ProblemSchema)
    components.schema("Project", schema=ProjectSchema)
    components.schema("ProjectInput", schema=ProjectInputSchema)
    components.schema("ProjectPatch", schema=ProjectInputSchema(partial=True))
    components.schema("ProjectPage", schema=ProjectPageSchema)
    components.schema("Task", schema=TaskSchema)
    components.schema("TaskInput", schema=TaskInputSchema)
    components.schema("TaskPatch", schema=TaskInputSchema(partial=True))
    components.schema("TaskPage", schema=TaskPageSchema)
    components.header(
        "ETag",
        {
            "description": "Strong validator of this version.",
            "schema": {"type": "string"},
            "required": True,
        },
    )
    for code, description in ERRORS.items():
        headers: dict[str, Any] = {}
        if code == 401:
            headers["WWW-Authenticate"] = {"schema": {"type": "string"}, "required": True}
        if code == 429:
            headers = {"Retry-After": {"schema": {"type": "integer"}}, **RATE_LIMIT_HEADERS}
        components.response(
            str(code),
            {
                "description": description,
                "headers": headers,
                "content": {PROBLEM_MIMETYPE: {"schema": "Problem"}},
            },
        )

    project_id = _id_parameter("project_id", "project")
    task_id = _id_parameter("task_id", "task")
    spec.path(
        path="/v1/projects",
        operations={
            "get": {
                "summary": "List your projects (admins: everyone's)",
                "parameters": [{"in": "query", "schema": ProjectListQuerySchema}],
                "responses": {**_list("ProjectPage", "One page of projects."), **_errors(422)},
            },
            "post": {
                "summary": "Create a project",
                "requestBody": _body("ProjectInput"),
                "responses": {
                    **_ok(
                        "Project",
                        "Created.",
                        201,
                        Location={"$ref": "#/components/headers/Location"},
                    ),
                    **_errors(*WRITE_ERRORS),
                },
            },
        },
    )
    spec.path(
        path="/v1/projects/{project_id}",
        parameters=[project_id],
        operations=_item_operations("project", "Project", "ProjectInput", "ProjectPatch"),
    )
    spec.path(
        path="/v1/projects/{project_id}/tasks",
        parameters=[project_id],
        operations={
            "get": {
                "summary": "List, filter and sort a project's tasks",
                "parameters": [{"in": "query", "schema": TaskListQuerySchema}],
                "responses": {**_list("TaskPage", "One page of tasks."), **_errors(404, 422)},
            },
            "post": {
                "summary": "Add a task to a project",
                "requestBody": _body("TaskInput"),
                "responses": {
                    **_ok(
                        "Task", "Created.", 201, Location={"$ref": "#/components/headers/Location"}
                    ),
                    **_errors(403, 404, *WRITE_ERRORS),
                },
            },
        },
    )
    spec.path(
        path="/v1/tasks/{task_id}",
        parameters=[task_id],
        operations=_item_operations("task", "Task", "TaskInput", "TaskPatch"),
    )
    document = spec.to_dict()
    document["components"]["headers"]["Location"] = {
        "description": "URL of the new object.",
        "schema": {"type": "string"},
        "required": True,
    }
    document["security"] = [{"bearerAuth": []}]
    for (path, method), links in LINKS.items():
        document["paths"][path][method]["responses"]["201"]["links"] = links
    return document


@bp.get("/openapi.json")
def openapi_json() -> Response:
    """The OpenAPI document, with the URL this app is mounted at as its server."""
    cache = current_app.extensions.setdefault(_EXTENSION_KEY, {})
    if "document" not in cache:
        cache["document"] = build_spec()
    document = {**cache["document"], "servers": [{"url": request.script_root or "/"}]}
    return jsonify(document)
