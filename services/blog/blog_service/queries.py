"""The queries behind the blog's pages, each a fixed number of SQL statements.

A page of posts costs the same whether the blog has 3 posts or 3,000: one COUNT for the
pagination, one SELECT for the page (each row's comment count is a correlated subquery on the
comments' post_id index), and one SELECT for the tags of every post on the page (``selectin``
loading).
"""

from __future__ import annotations

from typing import Any

from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import defer, with_expression

from blog_service.extensions import db
from blog_service.models import PUBLISHED, Comment, Post


def with_comment_counts(statement: Select[Any]) -> Select[Any]:
    """``statement`` (selecting posts) with ``Post.comment_count`` filled in."""
    # Counted per row of the page, through the index: grouping every comment of the blog and
    # joining the result (the obvious way) cost a full scan of the comments on each page.
    count = (
        select(func.count(Comment.id))
        .where(Comment.post_id == Post.id)
        .correlate(Post)
        .scalar_subquery()
    )
    return statement.options(with_expression(Post.comment_count, count))


def for_cards(statement: Select[Any]) -> Select[Any]:
    """``statement`` (selecting posts) without the bodies: a list shows titles and summaries."""
    return statement.options(defer(Post.body), defer(Post.body_html))


def published_posts(*criteria: ColumnElement[bool]) -> Select[Any]:
    """Published posts matching ``criteria``, newest first, with their comment counts."""
    statement = (
        select(Post)
        .where(Post.status == PUBLISHED, *criteria)
        .order_by(Post.published_at.desc(), Post.id.desc())
    )
    return with_comment_counts(statement)


def paginate(statement: Select[Any], page: int, per_page: int) -> Pagination:
    """One page of ``statement``; a page past the end is a 404."""
    return db.paginate(statement, page=page, per_page=per_page, max_per_page=per_page)


def post_comments(post: Post) -> list[Comment]:
    """The comments of ``post``, oldest first."""
    statement = (
        select(Comment).where(Comment.post_id == post.id).order_by(Comment.created_at, Comment.id)
    )
    return list(db.session.scalars(statement))


def search_criteria(text: str) -> ColumnElement[bool]:
    """Posts whose title or body contains ``text`` (case-insensitive; % and _ are literal)."""
    return Post.title.icontains(text, autoescape=True) | Post.body.icontains(text, autoescape=True)
