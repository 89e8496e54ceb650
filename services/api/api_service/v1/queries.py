"""Building list queries: filters, whitelisted sorting and page-number pagination.

A page costs the same number of SQL statements whatever the table holds: one COUNT for the
total, one SELECT for the page, one for the page's tags. Filters and sort keys are backed by the
``(project_id, <column>)`` indexes in models.py.

Lists read plain rows (the table's columns), not ORM objects, and dump them with the compiled
output schemas (api_service.dumping): a page is read-only, so identity map, change tracking and
the per-row relationship loading would be work for nothing (docs/benchmarks.md, "API").
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import urlencode

from flask import request, url_for
from sqlalchemy import ColumnElement, Integer, Select, bindparam, func, nulls_last, or_, select

from api_service.connections import request_connection
from api_service.dumping import compile_dump
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


@dataclass(frozen=True)
class ListQuery:
    """A list's statements, with bind parameters, and the values for this request.

    The statements depend only on which filters are given and on the sort key, so they are
    built once per such shape (:func:`_task_statements`, :func:`_project_statements`):
    building a filtered, sorted select, its COUNT and its page cost more CPU than running them.
    """

    page: Select[Any]
    count: Select[Any]
    values: dict[str, Any]


def _list_statements(statement: Select[Any]) -> tuple[Select[Any], Select[Any]]:
    page = statement.limit(bindparam("limit", type_=Integer))
    page = page.offset(bindparam("offset", type_=Integer))
    count = select(func.count()).select_from(statement.order_by(None).subquery())
    return page, count


def _page_rows(query: ListQuery, page: int, per_page: int) -> tuple[Sequence[Any], int]:
    """The rows of one page of ``query``, and the total from one COUNT."""
    # Core statements: the ORM's execution layer would only look for entities that a select of
    # table columns does not have.
    connection = request_connection()
    total = connection.scalar(query.count, query.values) or 0
    paging = {"limit": per_page, "offset": (page - 1) * per_page}
    rows = connection.execute(query.page, {**query.values, **paging})
    return rows.mappings().all(), total


def project_page(query: ListQuery, page: int, per_page: int) -> Page:
    """One page of the projects of ``query`` (from project_query)."""
    rows, total = _page_rows(query, page, per_page)
    items = [_dump_project_row(row) for row in rows]
    return Page(items=items, total=total, page=page, per_page=per_page)


def task_page(query: ListQuery, page: int, per_page: int) -> Page:
    """One page of the tasks of ``query`` (from task_query), each with its tags."""
    rows, total = _page_rows(query, page, per_page)
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
        for task_id, tag in request_connection().execute(_TAGS_OF, {"ids": list(by_id)}):
            by_id[task_id]["tags"].append(tag)


def _order(model: type[Project] | type[Task], sort: str) -> list[ColumnElement[Any]]:
    name = sort.removeprefix("-")
    column = getattr(model, name)
    ordered = column.desc() if sort.startswith("-") else column.asc()
    # NULL due dates go last either way; the id makes the order total, so pages never overlap.
    tie_break = model.id.desc() if sort.startswith("-") else model.id.asc()
    return [nulls_last(ordered), tie_break]


@lru_cache(maxsize=64)
def _project_statements(by_owner: bool, archived: bool, sort: str) -> tuple[Select[Any], ...]:
    statement = select(Project.__table__)
    if by_owner:
        statement = statement.where(Project.owner_id == bindparam("owner_id"))
    if archived:
        statement = statement.where(Project.archived == bindparam("archived"))
    return _list_statements(statement.order_by(*_order(Project, sort)))


def project_query(owner_id: str | None, params: dict[str, Any]) -> ListQuery:
    """Projects of ``owner_id`` (every owner's when None), filtered and sorted by ``params``."""
    archived = "archived" in params
    page, count = _project_statements(owner_id is not None, archived, params["sort"])
    values = {"owner_id": owner_id, "archived": params.get("archived")}
    return ListQuery(page, count, values)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


#: The task filters of the query string, each a condition on a bind parameter of its name.
TASK_FILTERS: dict[str, Callable[[], ColumnElement[bool]]] = {
    "status": lambda: Task.status == bindparam("status"),
    "priority": lambda: Task.priority == bindparam("priority"),
    "due_before": lambda: Task.due_date <= bindparam("due_before"),
    "due_after": lambda: Task.due_date >= bindparam("due_after"),
    "tag": lambda: Task.id.in_(select(TaskTag.task_id).where(TaskTag.tag == bindparam("tag"))),
    "q": lambda: or_(
        Task.title.ilike(bindparam("q"), escape="\\"),
        Task.notes.ilike(bindparam("q"), escape="\\"),
    ),
}


@lru_cache(maxsize=256)
def _task_statements(filters: tuple[str, ...], sort: str) -> tuple[Select[Any], ...]:
    statement = select(Task.__table__).where(Task.project_id == bindparam("project_id"))
    for name in filters:
        statement = statement.where(TASK_FILTERS[name]())
    return _list_statements(statement.order_by(*_order(Task, sort)))


def task_query(project_id: int, params: dict[str, Any]) -> ListQuery:
    """The tasks of a project, filtered and sorted by the validated query ``params``."""
    filters = tuple(name for name in TASK_FILTERS if name in params)
    page, count = _task_statements(filters, params["sort"])
    values = {name: params[name] for name in filters}
    if "q" in values:
        values["q"] = f"%{_escape_like(values['q'])}%"
    return ListQuery(page, count, {"project_id": project_id, **values})
