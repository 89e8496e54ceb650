"""Building list queries: filters, whitelisted sorting and page-number pagination.

A page costs the same number of SQL statements whatever the table holds: one COUNT for the
total, one SELECT for the page, one for the page's tags. Filters and sort keys are backed by the
``(project_id, <column>)`` indexes in models.py.

Lists read plain rows (the table's columns), not ORM objects, and dump them with the compiled
output schemas (api_service.dumping): a page is read-only, so identity map, change tracking and
the per-row relationship loading would be work for nothing (docs/benchmarks.md, "API").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from flask import request, url_for
from sqlalchemy import ColumnElement, Select, bindparam, func, nulls_last, or_, select

from api_service.dumping import compile_dump
from api_service.extensions import db
from api_service.models import Project, Task, TaskTag
from api_service.schemas import ProjectSchema, TaskSchema

#: What werkzeug's url_for leaves unescaped in a query string.
URL_SAFE = "!$'()*,/:;?@"

_dump_project_row = compile_dump(ProjectSchema(), from_mapping=True)
# The tags are not a column: task_page adds them from one query for the whole page.
_dump_task_row = compile_dump(TaskSchema(exclude=("tags",)), from_mapping=True)
_TAGS_OF = (
    select(TaskTag.__table__.c.task_id, TaskTag.__table__.c.tag)
    .where(TaskTag.__table__.c.task_id.in_(bindparam("ids", expanding=True)))
    .order_by(TaskTag.__table__.c.tag)
)


@dataclass(frozen=True)
class Page:
    """One page of a list (its items as JSON-ready dicts) and where it sits in the whole list."""

    items: Sequence[dict[str, Any]]
    total: int
    page: int
    per_page: int

    @property
    def last_page(self) -> int:
        """The number of the last page (1 for an empty list)."""
        return max(1, -(-self.total // self.per_page))

    def as_dict(self) -> dict[str, Any]:
        """What the list schemas serialise."""
        return {
            "items": self.items,
            "total": self.total,
            "page": self.page,
            "per_page": self.per_page,
        }

    def headers(self) -> dict[str, str]:
        """``Link`` (RFC 8288: first, prev, next, last) and ``X-Total-Count``."""
        args = [(key, value) for key, value in request.args.items() if key != "page"]
        # One url_for for the path (it knows the mount point); the query strings are encoded
        # as url_for encodes them (werkzeug.urls), for a quarter of the cost of four url_for.
        path = url_for(str(request.endpoint), **(request.view_args or {}))

        def link(page: int, rel: str) -> str:
            query = urlencode([*args, ("page", page)], safe=URL_SAFE)
            return f'<{path}?{query}>; rel="{rel}"'

        links = [link(1, "first")]
        if self.page > 1:
            links.append(link(min(self.page - 1, self.last_page), "prev"))
        if self.page < self.last_page:
            links.append(link(self.page + 1, "next"))
        links.append(link(self.last_page, "last"))
        return {"Link": ", ".join(links), "X-Total-Count": str(self.total)}


def _page_rows(statement: Select[Any], page: int, per_page: int) -> tuple[Sequence[Any], int]:
    """The rows of one page of ``statement``, and the total from one COUNT."""
    # Core statements on the session's connection (its transaction): the ORM's execution layer
    # would only look for entities that a select of table columns does not have.
    connection = db.session.connection()
    count = select(func.count()).select_from(statement.order_by(None).subquery())
    total = connection.scalar(count) or 0
    rows = connection.execute(statement.limit(per_page).offset((page - 1) * per_page))
    return rows.mappings().all(), total


def project_page(statement: Select[Any], page: int, per_page: int) -> Page:
    """One page of the projects ``statement`` (from project_query) selects."""
    rows, total = _page_rows(statement, page, per_page)
    items = [_dump_project_row(row) for row in rows]
    return Page(items=items, total=total, page=page, per_page=per_page)


def task_page(statement: Select[Any], page: int, per_page: int) -> Page:
    """One page of the tasks ``statement`` (from task_query) selects, each with its tags."""
    rows, total = _page_rows(statement, page, per_page)
    items = [_dump_task_row(row) for row in rows]
    add_tags(items)
    return Page(items=items, total=total, page=page, per_page=per_page)


def add_tags(tasks: Sequence[dict[str, Any]]) -> None:
    """Give each dumped task of ``tasks`` its ``tags`` (sorted), from one query for them all."""
    by_id: dict[int, dict[str, Any]] = {}
    for task in tasks:
        task["tags"] = []
        by_id[task["id"]] = task
    if by_id:
        for task_id, tag in db.session.connection().execute(_TAGS_OF, {"ids": list(by_id)}):
            by_id[task_id]["tags"].append(tag)


def _order(model: type[Project] | type[Task], sort: str) -> list[ColumnElement[Any]]:
    name = sort.removeprefix("-")
    column = getattr(model, name)
    ordered = column.desc() if sort.startswith("-") else column.asc()
    # NULL due dates go last either way; the id makes the order total, so pages never overlap.
    tie_break = model.id.desc() if sort.startswith("-") else model.id.asc()
    return [nulls_last(ordered), tie_break]


def project_query(owner_id: str | None, params: dict[str, Any]) -> Select[Any]:
    """Projects of ``owner_id`` (every owner's when None), filtered and sorted by ``params``."""
    statement = select(Project.__table__)
    if owner_id is not None:
        statement = statement.where(Project.owner_id == owner_id)
    if "archived" in params:
        statement = statement.where(Project.archived == params["archived"])
    return statement.order_by(*_order(Project, params["sort"]))


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def task_query(project_id: int, params: dict[str, Any]) -> Select[Any]:
    """The tasks of a project, filtered and sorted by the validated query ``params``."""
    statement = select(Task.__table__).where(Task.project_id == project_id)
    if "status" in params:
        statement = statement.where(Task.status == params["status"])
    if "priority" in params:
        statement = statement.where(Task.priority == params["priority"])
    if "due_before" in params:
        statement = statement.where(Task.due_date <= params["due_before"])
    if "due_after" in params:
        statement = statement.where(Task.due_date >= params["due_after"])
    if "tag" in params:
        tagged = select(TaskTag.task_id).where(TaskTag.tag == params["tag"])
        statement = statement.where(Task.id.in_(tagged))
    if "q" in params:
        pattern = f"%{_escape_like(params['q'])}%"
        statement = statement.where(
            or_(Task.title.ilike(pattern, escape="\\"), Task.notes.ilike(pattern, escape="\\"))
        )
    return statement.order_by(*_order(Task, params["sort"]))
