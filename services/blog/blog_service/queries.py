"""The queries behind the blog's pages, each a fixed number of SQL statements.

A page of posts costs the same whether the blog has 3 posts or 3,000, and reads only that page:
ONE SELECT through the ``(status, published_at, id)`` index, each post's tag names gathered by a
subquery in the same statement (see :func:`tag_names`). There is no COUNT: pages are keyset
pages, "older than this post" and "newer than this post" (a link carries the sort key of the post
it continues from), so page 100 costs what page 1 costs and the total is never needed. Each post
carries its own ``comment_count`` (kept up to date as comments come and go, see models.py), so no
page reads the comments table to count them.

A list reads rows, not ``Post`` entities: a card needs a dozen columns and the tag names, and the
ORM's identity map, attribute instrumentation and relationship loading would cost more CPU than
the rest of the query. A row answers ``post.slug``, ``post.tag_names``, ``post.is_published`` as
an entity does, so the templates show either.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache, lru_cache
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Dialect,
    Row,
    Select,
    Text,
    TypeDecorator,
    bindparam,
    func,
    literal_column,
    select,
    true,
    tuple_,
    type_coerce,
)
from sqlalchemy.orm import InstrumentedAttribute

from blog_service.extensions import db
from blog_service.models import PUBLISHED, Comment, Post, Tag, post_tags, search_document

#: How a position in a list looks in a URL: the sort time in UTC and the post's id.
_CURSOR = re.compile(r"(\d{8}T\d{6}\.\d{6})Z-(\d{1,10})")
#: The largest id an INTEGER column holds: a larger one in a link is refused, not sent to SQL.
_LARGEST_ID = 2**31 - 1
_CURSOR_TIME = "%Y%m%dT%H%M%S.%f"


class BadCursorError(ValueError):
    """A page link that was not made by us (edited by hand or cut short)."""


@dataclass(frozen=True)
class Cursor:
    """A place in a list of posts: the sort key of one post, ``(time, id)``."""

    time: datetime
    id: int

    @classmethod
    def parse(cls, text: str) -> Cursor:
        """The cursor ``str(cursor)`` wrote; BadCursorError for anything else."""
        match = _CURSOR.fullmatch(text)
        if match is None or int(match.group(2)) > _LARGEST_ID:
            raise BadCursorError(text)
        try:
            moment = datetime.strptime(match.group(1), _CURSOR_TIME).replace(tzinfo=UTC)
        except ValueError:  # a well-formed but impossible date, such as month 13
            raise BadCursorError(text) from None
        return cls(moment, int(match.group(2)))

    def __str__(self) -> str:
        return f"{self.time.astimezone(UTC).strftime(_CURSOR_TIME)}Z-{self.id}"


@dataclass(frozen=True)
class Page:
    """One page of a list: its posts and the cursors of the pages on either side (if any)."""

    items: list[Row[Any]]
    newer: Cursor | None = None
    older: Cursor | None = None


class _TagNames(TypeDecorator[list[str]]):
    """The tag names :func:`tag_names` selects, as a sorted list of str on either database."""

    impl = Text
    cache_ok = True

    def process_result_value(self, value: Any, dialect: Dialect) -> list[str]:  # noqa: ARG002
        if isinstance(value, str):  # SQLite's JSON array, in no particular order
            return sorted(json.loads(value))
        return list(value or [])


def tag_names(dialect: str) -> ColumnElement[list[str]]:
    """The names of the tags of the post of each row, in name order (a correlated subquery).

    PostgreSQL builds the array itself, ``ARRAY(SELECT ...)`` on the post_tags primary key, and
    the driver hands it over as a list; SQLite (the development database) has no arrays, so it
    sends a JSON array that the column's type reads back.
    """
    names = select(Tag.name).join(post_tags, post_tags.c.tag_id == Tag.id)
    names = names.where(post_tags.c.post_id == Post.id)
    column: ColumnElement[Any]
    if dialect == "postgresql":
        column = func.array(names.order_by(Tag.name).scalar_subquery())
    else:
        column = names.with_only_columns(func.json_group_array(Tag.name)).scalar_subquery()
    return type_coerce(column, _TagNames).label("tag_names")


@cache
def _cards(dialect: str) -> Select[Any]:
    """The SELECT of what a card shows (no bodies) on ``dialect``.

    Built once: making a statement of a dozen columns and a subquery costs more CPU than running
    it once compiled (SQLAlchemy keeps the compiled SQL; a statement is never changed in place).
    """
    columns: list[ColumnElement[Any] | InstrumentedAttribute[Any]] = [
        Post.id,
        Post.slug,
        Post.title,
        Post.summary,
        Post.published_at,
        Post.updated_at,
        Post.author_id,
        Post.author_name,
        Post.comment_count,
        Post.cover_sha256,
        Post.cover_alt,
        (Post.status == PUBLISHED).label("is_published"),
        tag_names(dialect),
    ]
    return select(*columns)


@cache
def _published_cards(dialect: str) -> Select[Any]:
    return _cards(dialect).where(Post.status == PUBLISHED)


def _dialect() -> str:
    return db.session.get_bind().dialect.name


def cards(*criteria: ColumnElement[bool]) -> Select[Any]:
    """Rows of the posts matching ``criteria`` with what a card shows (no bodies), unordered."""
    return _cards(_dialect()).where(*criteria)


def published_posts(*criteria: ColumnElement[bool]) -> Select[Any]:
    """Cards of the published posts matching ``criteria`` (:func:`keyset_page` orders them).

    Without criteria (the home), always the same statement object: see :func:`_page_statement`.
    """
    published = _published_cards(_dialect())
    return published.where(*criteria) if criteria else published


def newest_published(limit: int) -> list[Row[Any]]:
    """The ``limit`` newest published posts, cards with their bodies' HTML (the feed)."""
    statement = published_posts().add_columns(Post.body_html)
    statement = statement.order_by(Post.published_at.desc(), Post.id.desc())
    return list(db.session.execute(statement.limit(limit)))


def keyset_page(
    statement: Select[Any],
    sort: InstrumentedAttribute[Any],
    per_page: int,
    *,
    before: Cursor | None = None,
    after: Cursor | None = None,
) -> Page:
    """The page of ``statement`` (:func:`cards`) newest first by ``sort`` (then id), older than
    ``before`` or newer than ``after`` (the first page without either).

    One more row than the page holds is read to know whether an older page exists; a newer
    page is read in ascending order and turned round.
    """
    direction = "newer" if after is not None else "older" if before is not None else "first"
    # Only the home's statement is the same object from one request to the next (see
    # published_posts); one holding a value (a tag, an author, a search) is new every time, and
    # keeping those would only keep garbage alive.
    kept = statement is _published_cards(_dialect())
    build = _kept_page_statement if kept else _page_statement
    page_statement = build(statement, sort.key, per_page, direction)
    cursor = after or before
    values = {"time": cursor.time, "id": cursor.id} if cursor is not None else {}
    rows = list(db.session.execute(page_statement, values))
    if after is not None:
        items = rows[:per_page][::-1]
        if not items:
            return Page(items)
        newer = _cursor(items[0], sort) if len(rows) > per_page else None
        return Page(items, newer=newer, older=_cursor(items[-1], sort))
    items = rows[:per_page]
    if not items:
        return Page(items)
    older = _cursor(items[-1], sort) if len(rows) > per_page else None
    newer = _cursor(items[0], sort) if before is not None else None
    return Page(items, newer=newer, older=older)


def _page_statement(
    statement: Select[Any], sort: str, per_page: int, direction: str
) -> Select[Any]:
    """``statement`` in page order after (or before) the cursor given as ``:time`` and ``:id``."""
    column = getattr(Post, sort)
    key = tuple_(column, Post.id)
    cursor = tuple_(bindparam("time", type_=column.type), bindparam("id", type_=Post.id.type))
    if direction == "newer":
        ordered = statement.where(key > cursor).order_by(column.asc(), Post.id.asc())
    else:
        where = key < cursor if direction == "older" else true()
        ordered = statement.where(where).order_by(column.desc(), Post.id.desc())
    return ordered.limit(per_page + 1)


#: The home's page statements, kept: SQLAlchemy remembers the cache key of a statement's compiled
#: SQL on the statement object, and a page statement made anew costs that key again on every
#: request, more CPU than running it.
_kept_page_statement = lru_cache(maxsize=16)(_page_statement)


def _cursor(post: Row[Any], sort: InstrumentedAttribute[Any]) -> Cursor:
    return Cursor(getattr(post, sort.key), post.id)


def post_comments(post: Post) -> list[Comment]:
    """The comments of ``post``, oldest first."""
    statement = (
        select(Comment).where(Comment.post_id == post.id).order_by(Comment.created_at, Comment.id)
    )
    return list(db.session.scalars(statement))


def search_criteria(text: str) -> ColumnElement[bool]:
    """Posts matching the words of ``text``.

    On PostgreSQL: full-text search through the GIN index on :func:`models.search_document`
    (English stemming: "posting" finds "posts"; quotes, ``or`` and ``-word`` work as in web
    search engines). SQLite has no such index: the title or body contains ``text``, case
    aside (% and _ are literal), which reads every post but suits a development database.
    """
    if _dialect() == "postgresql":
        query = func.websearch_to_tsquery(literal_column("'english'::regconfig"), text)
        return search_document(Post.title, Post.body).bool_op("@@")(query)
    return Post.title.icontains(text, autoescape=True) | Post.body.icontains(text, autoescape=True)
