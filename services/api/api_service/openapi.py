"""The OpenAPI 3.1 document, built by apispec from the same marshmallow schemas the views use.

``GET /openapi.json`` serves it; ``/docs`` renders it. The paths come from the app's URL rules and
each operation from its resource method (api_service.apidoc): a route cannot be left out. Each
operation lists every status it can answer: the schemathesis test checks the running app against
this document, so a status or a field the code produces but the document does not describe
fails the build.
"""

from __future__ import annotations

import re
from typing import Any

from apispec import APISpec
from apispec.core import Components
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Blueprint, Flask, Response, current_app, jsonify, request
from marshmallow import Schema, fields
from werkzeug.routing import Rule

from api_service.apidoc import OPERATION_ATTRIBUTE, Operation
from api_service.schemas import (
    ProjectInputSchema,
    ProjectPageSchema,
    ProjectSchema,
    TaskInputSchema,
    TaskPageSchema,
    TaskSchema,
)
from servicekit.errors import PROBLEM_MIMETYPE
from servicekit.inputs import MAX_ID

bp = Blueprint("openapi", __name__)

_EXTENSION_KEY = "api_service.openapi"
#: The blueprint whose URL rules the document describes.
API_BLUEPRINT = "v1"
#: A URL rule's variable (``<int:task_id>``), written as OpenAPI writes it (``{task_id}``).
OPENAPI_VARIABLE = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")


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
#: The order of an object's operations in the document.
METHODS = ("get", "post", "put", "patch", "delete")


def _id_parameter(name: str) -> dict[str, Any]:
    what = name.removesuffix("_id")
    return {
        "in": "path",
        "name": name,
        "required": True,
        "description": f"The {what}'s id.",
        "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ID},
    }


def _operation(view_class: type, method: str, rule: Rule) -> dict[str, Any]:
    """What the document says about ``method`` of ``rule``, from the resource's method."""
    function = getattr(view_class, method)
    documented: Operation | None = getattr(function, OPERATION_ATTRIBUTE, None)
    if documented is None or not function.__doc__:
        raise LookupError(
            f"{method.upper()} {rule.rule} ({view_class.__name__}.{method}) needs a docstring "
            "and @documented(...) to appear in the OpenAPI document"
        )
    operation: dict[str, Any] = {
        "summary": function.__doc__.strip().splitlines()[0].removesuffix("."),
        "responses": dict(documented.responses),
    }
    if documented.parameters:
        operation["parameters"] = documented.parameters
    if documented.body:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": documented.body}},
        }
    if documented.links:
        operation["responses"][201] = {**operation["responses"][201], "links": documented.links}
    return operation


def _add_paths(spec: APISpec, app: Flask) -> None:
    """One path per URL rule of the API, each method described by its resource."""
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith(f"{API_BLUEPRINT}."):
            continue
        view_class = getattr(app.view_functions[rule.endpoint], "view_class")  # noqa: B009
        methods = [method for method in METHODS if method.upper() in (rule.methods or ())]
        spec.path(
            path=OPENAPI_VARIABLE.sub(r"{\1}", rule.rule),
            parameters=[_id_parameter(name) for name in sorted(rule.arguments)],
            operations={method: _operation(view_class, method, rule) for method in methods},
        )


def build_spec(app: Flask) -> dict[str, Any]:
    """The OpenAPI document of ``app``'s API (without ``servers``, which depend on the request)."""
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
    _add_components(spec.components)
    _add_paths(spec, app)
    document = spec.to_dict()
    document["components"]["headers"]["Location"] = {
        "description": "URL of the new object.",
        "schema": {"type": "string"},
        "required": True,
    }
    document["security"] = [{"bearerAuth": []}]
    return document


def _add_components(components: Components) -> None:
    """The schemas, headers, error responses and security scheme the operations refer to."""
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


@bp.get("/openapi.json")
def openapi_json() -> Response:
    """The OpenAPI document, with the URL this app is mounted at as its server."""
    cache = current_app.extensions.setdefault(_EXTENSION_KEY, {})
    if "document" not in cache:
        cache["document"] = build_spec(current_app)
    document = {**cache["document"], "servers": [{"url": request.script_root or "/"}]}
    return jsonify(document)
