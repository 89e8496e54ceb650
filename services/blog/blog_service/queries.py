"""The queries behind the blog's pages, each a fixed number of SQL statements.

A page of posts costs the same whether the blog has 3 posts or 3,000, and reads only that page:
one SELECT through the ``(status, published_at, id)`` index, and one SELECT for the tags of every
post on the page (``selectin`` loading). There is no COUNT: pages are keyset pages, "older than
this post" and "newer than this post" (a link carries the sort key of the post it continues
from), so page 100 costs what page 1 costs and the total is never needed. Each post carries its
own ``comment_count`` (kept up to date as comments come and go, see models.py), so no page reads
the comments table to count them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, func, literal_column, select, true, tuple_
from sqlalchemy.orm import InstrumentedAttribute, defer

from blog_service.extensions import db
from blog_service.models import PUBLISHED, Comment, Post, search_document

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

    items: list[Post]
    newer: Cursor | None = None
    older: Cursor | None = None


def for_cards(statement: Select[Any]) -> Select[Any]:
    """``statement`` (selecting posts) without the bodies: a list shows titles and summaries."""
    return statement.options(defer(Post.body), defer(Post.body_html))


def published_posts(*criteria: ColumnElement[bool]) -> Select[Any]:
    """Published posts matching ``criteria`` (unordered: :func:`keyset_page` orders them)."""
    return select(Post).where(Post.status == PUBLISHED, *criteria)


def newest_published(limit: int) -> list[Post]:
    """The ``limit`` newest published posts, bodies included (the feed)."""
    statement = published_posts().order_by(Post.published_at.desc(), Post.id.desc())
    return list(db.session.scalars(statement.limit(limit)))


def keyset_page(
    statement: Select[Any],
    sort: InstrumentedAttribute[Any],
    per_page: int,
    *,
    before: Cursor | None = None,
    after: Cursor | None = None,
) -> Page:
    """The page of ``statement`` newest first by ``sort`` (then id), older than ``before`` or
    newer than ``after`` (the first page without either).

    One more row than the page holds is read to know whether an older page exists; a newer
    page is read in ascending order and turned round.
    """
    key = tuple_(sort, Post.id)
    if after is not None:
        rows = list(
            db.session.scalars(
                statement.where(key > (after.time, after.id))
                .order_by(sort.asc(), Post.id.asc())
                .limit(per_page + 1)
            )
        )
        items = rows[:per_page][::-1]
        if not items:
            return Page(items)
        newer = _cursor(items[0], sort) if len(rows) > per_page else None
        return Page(items, newer=newer, older=_cursor(items[-1], sort))
    where = key < (before.time, before.id) if before is not None else true()
    rows = list(
        db.session.scalars(
            statement.where(where).order_by(sort.desc(), Post.id.desc()).limit(per_page + 1)
        )
    )
    items = rows[:per_page]
    if not items:
        return Page(items)
    older = _cursor(items[-1], sort) if len(rows) > per_page else None
    newer = _cursor(items[0], sort) if before is not None else None
    return Page(items, newer=newer, older=older)


def _cursor(post: Post, sort: InstrumentedAttribute[Any]) -> Cursor:
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
    if db.session.get_bind().dialect.name == "postgresql":
        query = func.websearch_to_tsquery(literal_column("'english'::regconfig"), text)
        return search_document(Post.title, Post.body).bool_op("@@")(query)
    return Post.title.icontains(text, autoescape=True) | Post.body.icontains(text, autoescape=True)
