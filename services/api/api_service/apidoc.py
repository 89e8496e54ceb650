"""How each resource method describes itself in the OpenAPI document.

A resource method carries an :class:`Operation` (the ``@documented`` decorator): its request body,
parameters, responses and links. Its summary is the first line of its docstring. openapi.py walks
the app's URL rules and asks every method of every rule for its Operation, so an endpoint that
does not describe itself stops the document from being built (and its test fails).

The pieces below are what the operations share: the error responses every operation can give,
the success responses with their headers, the conditional-request headers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

#: Where ``@documented`` keeps a method's Operation.
OPERATION_ATTRIBUTE = "openapi_operation"

Method = TypeVar("Method", bound=Callable[..., Any])


@dataclass(frozen=True)
class Operation:
    """What the document says about one method of one path, besides its summary."""

    responses: dict[int, Any]
    #: The component schema of the JSON body, if the operation takes one.
    body: str | None = None
    parameters: list[dict[str, Any]] = field(default_factory=list)
    #: Links from the 201 response to operations on the new object.
    links: dict[str, Any] = field(default_factory=dict)


def documented(operation: Operation) -> Callable[[Method], Method]:
    """Attach ``operation`` to a resource method for the OpenAPI document."""

    def decorator(method: Method) -> Method:
        setattr(method, OPERATION_ATTRIBUTE, operation)
        return method

    return decorator


# -- responses ----------------------------------------------------------------------------------

ETAG_HEADER = {"ETag": {"$ref": "#/components/headers/ETag"}}
LOCATION_HEADER = {"Location": {"$ref": "#/components/headers/Location"}}
NOT_MODIFIED = {304: {"description": "Not modified: your copy is current.", "headers": ETAG_HEADER}}
DELETED = {204: {"description": "Deleted."}}
#: What a body can get wrong: not JSON, too large, not well-formed, invalid.
WRITE_ERRORS = (400, 413, 415, 422)


def errors(*codes: int) -> dict[int, Any]:
    """The error responses of an operation: ``codes`` and those every operation can give."""
    # 400 on every operation: servicekit refuses a NUL or invalid Unicode anywhere in a request
    # before any view runs (servicekit.inputs).
    every = (400, 401, 429, *codes)
    return {code: {"$ref": f"#/components/responses/{code}"} for code in sorted(set(every))}


def ok(schema: str, description: str, status: int = 200, **headers: Any) -> dict[int, Any]:
    """A success answering one object (``schema``) with its ETag."""
    return {
        status: {
            "description": description,
            "headers": {**ETAG_HEADER, **headers},
            "content": {"application/json": {"schema": schema}},
        }
    }


def created(schema: str) -> dict[int, Any]:
    """A 201 answering the new object with its ETag and URL."""
    return ok(schema, "Created.", 201, **LOCATION_HEADER)


def page_of(schema: str, description: str) -> dict[int, Any]:
    """A success answering one page of a list (``schema``) with its links and total."""
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


# -- parameters ---------------------------------------------------------------------------------

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


def query(schema: Any) -> list[dict[str, Any]]:
    """The query-string parameters of a marshmallow schema (apispec expands them)."""
    return [{"in": "query", "schema": schema}]


# -- operations on one object -------------------------------------------------------------------


def read(schema: str, kind: str) -> Operation:
    """GET of one object: the object or 304."""
    return Operation(
        parameters=[IF_NONE_MATCH],
        responses={**ok(schema, f"The {kind}."), **NOT_MODIFIED, **errors(404)},
    )


def write(schema: str, kind: str, body: str, done: str) -> Operation:
    """PUT or PATCH of one object (``done``: "replaced", "changed") with If-Match."""
    return Operation(
        body=body,
        parameters=[IF_MATCH],
        responses={
            **ok(schema, f"The {done} {kind}."),
            **errors(403, 404, 412, 428, *WRITE_ERRORS),
        },
    )


def delete() -> Operation:
    """DELETE of one object with If-Match."""
    return Operation(parameters=[IF_MATCH], responses={**DELETED, **errors(403, 404, 412, 428)})


# -- links --------------------------------------------------------------------------------------


def link(path: str, method: str, **parameters: str) -> dict[str, Any]:
    """An OpenAPI link to ``method path``, its parameters taken from the response."""
    pointer = path.replace("~", "~0").replace("/", "~1")
    return {"operationRef": f"#/paths/{pointer}/{method}", "parameters": parameters}


def item_links(kind: str, path: str) -> dict[str, Any]:
    """What a client can do with an object it just created: read, change, delete it.

    Clients may follow them; the stateful phase of schemathesis (`nox -s security`) does, to
    test sequences of calls.
    """
    name = kind.capitalize()
    key = {f"{kind}_id": "$response.body#/id"}
    etag = {"header.If-Match": "$response.header.ETag"}
    return {
        f"Get{name}": link(path, "get", **key),
        f"Change{name}": link(path, "patch", **key, **etag),
        f"Delete{name}": link(path, "delete", **key, **etag),
    }
