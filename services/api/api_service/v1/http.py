"""HTTP plumbing every resource shares: reading JSON bodies, ETags and conditional requests.

* A body must be JSON (``415`` otherwise), well-formed (``400``) and valid for its schema
  (``422`` with each field's messages). Nothing is written unless all of it is valid.
* Every object has a strong ETag derived from its id and version. ``If-None-Match`` on a GET
  gives ``304``; PUT, PATCH and DELETE must send ``If-Match`` (``428`` without it) and get
  ``412`` when it no longer matches, so a client can never overwrite a change it has not seen.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from flask import Response, current_app, request
from marshmallow import Schema, ValidationError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.http import quote_etag

from api_service.extensions import db
from servicekit.errors import Problem, invalid_fields
from servicekit.inputs import json_body


def _string_keys(messages: Any) -> Any:
    # marshmallow keys list-item errors by index (int); JSON object keys must be strings.
    if isinstance(messages, Mapping):
        return {str(key): _string_keys(value) for key, value in messages.items()}
    return messages


def _validated(schema: Schema, data: Any, what: str, *, partial: bool = False) -> dict[str, Any]:
    try:
        result: dict[str, Any] = schema.load(data, partial=partial)
    except ValidationError as error:
        raise invalid_fields(_string_keys(error.messages), what) from None
    return result


def load(schema: Schema, *, partial: bool = False) -> dict[str, Any]:
    """Validate the JSON body with ``schema``; 422 listing every field's messages if invalid."""
    return _validated(schema, json_body(), "request body", partial=partial)


#: How many valid query strings load_query remembers (per process); when full it starts afresh.
QUERIES_KEPT = 256
_valid_queries: dict[tuple[Schema, bytes], dict[str, Any]] = {}


def load_query(schema: Schema) -> dict[str, Any]:
    """Validate the query string with ``schema``; 422 listing each parameter's messages.

    The result of a valid query string is kept: clients ask the same lists again and again
    (paging, polling), and marshmallow's validation of a few parameters cost as much as a SQL
    statement (docs/benchmarks.md, "API"). It depends on nothing but the text and the schema.
    """
    key = (schema, request.query_string)
    known = _valid_queries.get(key)
    if known is None:
        known = _validated(schema, request.args, "query string")
        if len(_valid_queries) >= QUERIES_KEPT:
            _valid_queries.clear()
        _valid_queries[key] = known
    return dict(known)


def etag_for(kind: str, object_id: int, version: int) -> str:
    """A strong ETag: it changes exactly when the object's version does."""
    return hashlib.sha256(f"{kind}:{object_id}:{version}".encode()).hexdigest()[:32]


def not_modified(etag: str) -> Response | None:
    """A 304 response when the client's ``If-None-Match`` already names ``etag``."""
    if request.if_none_match.contains_weak(etag):
        response = current_app.response_class(status=304)
        response.headers["ETag"] = quote_etag(etag)
        return response
    return None


def require_if_match(etag: str) -> None:
    """Refuse a write without ``If-Match`` (428) or with one that is stale (412)."""
    if "If-Match" not in request.headers:
        raise Problem(
            428,
            "This request must carry an If-Match header with the object's current ETag; "
            "GET the object to learn it.",
        )
    if not request.if_match.contains(etag):
        raise Problem(
            412,
            "The object was changed since you read it (If-Match does not match its ETag). "
            "GET it again, reapply your change and retry.",
        )


@contextmanager
def stale_is_412() -> Iterator[None]:
    """Turn a concurrent change caught by the version column (at a flush or the commit) into a
    412, after rolling the session back."""
    try:
        yield
    except StaleDataError:
        db.session.rollback()
        raise Problem(
            412, "The object was changed by another request meanwhile. GET it again and retry."
        ) from None


def commit() -> None:
    """Commit; a concurrent change caught by the version column is a 412."""
    with stale_is_412():
        db.session.commit()
