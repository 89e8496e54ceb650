"""Who may do what with the API's objects: the one place the rules are applied.

* Every object belongs to the user (token ``sub``) who created it. Another user's object
  answers 404, exactly like a missing one, so ids reveal nothing.
* Admins may read every object but change only their own (403 otherwise).
* A token made for an API client (a personal access token's) carries scopes: reads need
  ``tasks:read``, every change ``tasks:write``, or the answer is a 403 naming the missing scope.

Resources call :func:`get_owned` (the object, authorised), :func:`get_owned_row` (its columns,
to read it without an ORM object) or :func:`check_owned` (only the right to it, reading the
owner column alone: a task list needs no project object).
"""

from __future__ import annotations

from typing import Any, TypeVar

from flask import g, request
from sqlalchemy import RowMapping, Select, bindparam, select
from werkzeug.exceptions import NotFound

from api_service.connections import READ_METHODS, request_connection
from api_service.extensions import db
from api_service.models import Project, Task
from servicekit.bearer import require_scope
from servicekit.errors import Problem
from servicekit.verifier import Identity

Owned = TypeVar("Owned", Project, Task)


def caller() -> Identity:
    """The identity bearer_required verified for this request."""
    identity: Identity = g.identity
    return identity


def require_scope_for_method() -> None:
    """Reads need the scope ``tasks:read``, changes ``tasks:write`` (tokens without scopes,
    from a browser session or a password, pass: they carry the user's full rights)."""
    scope = "tasks:read" if request.method in READ_METHODS else "tasks:write"
    require_scope(caller(), scope)


def authorize(
    model: type[Project] | type[Task], object_id: int, owner_id: str | None, *, write: bool
) -> None:
    """Let the caller at object ``object_id`` of ``model`` owned by ``owner_id`` (None: there
    is no such object), or raise the 404 or 403 the rules above give."""
    identity = caller()
    if owner_id == identity.id:
        return
    # Someone else's object gets exactly the answer a missing one gets.
    if owner_id is None or not identity.is_admin:
        raise NotFound(f"There is no {model.__tablename__.removesuffix('s')} {object_id}.")
    if write:
        raise Problem(403, "Admins may read every object but change only their own.")


def get_owned(model: type[Owned], object_id: int, *, write: bool = False) -> Owned:
    """The caller's object ``object_id``, authorised for reading (or changing, with ``write``)."""
    # A larger id than a column holds never gets here: servicekit's <int:...> does not match it.
    found = db.session.get(model, object_id)
    authorize(model, object_id, None if found is None else found.owner_id, write=write)
    assert found is not None  # authorize raised otherwise
    return found


def _owner_query(model: type[Project] | type[Task]) -> Select[Any]:
    table = model.__table__
    return select(table.c.owner_id).where(table.c.id == bindparam("id"))


#: Built once, run on the request's connection: building the statement and the ORM's execution
#: layer cost more than the read itself (docs/benchmarks.md, "API").
_OWNER_OF = {Project: _owner_query(Project), Task: _owner_query(Task)}


def _row_query(model: type[Project] | type[Task]) -> Select[Any]:
    table = model.__table__
    return select(table).where(table.c.id == bindparam("id"))


_ROW_OF = {Project: _row_query(Project), Task: _row_query(Task)}


def get_owned_row(model: type[Project] | type[Task], object_id: int) -> RowMapping:
    """:func:`get_owned` for reading only: the object's columns as a row, no ORM object."""
    found = request_connection().execute(_ROW_OF[model], {"id": object_id}).mappings().first()
    authorize(model, object_id, None if found is None else found["owner_id"], write=False)
    assert found is not None  # authorize raised otherwise
    return found


def check_owned(model: type[Project] | type[Task], object_id: int, *, write: bool = False) -> None:
    """:func:`get_owned` without loading the object: one indexed read of its owner."""
    owner_id: str | None = request_connection().scalar(_OWNER_OF[model], {"id": object_id})
    authorize(model, object_id, owner_id, write=write)
