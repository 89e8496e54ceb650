"""The blog's data: posts, their tags, their comments and their cover images.

People are not stored here: the auth service owns users. A post or comment keeps the author's
id and name as the identity token gave them.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Column,
    ColumnElement,
    Connection,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Table,
    Text,
    event,
    func,
    literal_column,
    select,
    text,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Mapper, mapped_column, relationship

from blog_service.extensions import db
from servicekit.clock import utcnow
from servicekit.database import UTCDateTime

DRAFT = "draft"
PUBLISHED = "published"

SLUG_MAX_LENGTH = 80
TAG_MAX_LENGTH = 40


def slugify(text: str, max_length: int = SLUG_MAX_LENGTH) -> str:
    """A lowercase ASCII slug: ``"Hello, Wörld!"`` -> ``"hello-world"``."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:max_length].rstrip("-")


post_tags = Table(
    "post_tags",
    db.metadata,
    Column("post_id", ForeignKey("posts.id", ondelete="CASCADE"), primary_key=True),
    Column("tag_id", ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class Tag(db.Model):  # type: ignore[name-defined,misc]
    """A label; its name is already URL-safe (see :func:`slugify`)."""

    __tablename__ = "tags"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(TAG_MAX_LENGTH), unique=True)

    @classmethod
    def get_or_create(cls, names: list[str]) -> list[Tag]:
        """The tags called ``names``, creating the missing ones.

        One query finds the existing tags; each missing one costs an INSERT (see
        :meth:`_create`), so two posts saved at once with the same new tag both get it.
        """
        if not names:
            return []
        existing = {
            tag.name: tag for tag in db.session.scalars(select(cls).where(cls.name.in_(names)))
        }
        for name in names:
            if name not in existing:
                existing[name] = cls._create(name)
        return [existing[name] for name in names]

    @classmethod
    def _create(cls, name: str) -> Tag:
        """Insert the tag ``name`` now, or load it if another request inserted it first.

        The INSERT runs in a savepoint: if a concurrent transaction committed the same name
        after our SELECT, the unique index refuses ours, only the savepoint is rolled back, and
        the post is saved with the other request's tag instead of failing with a 500.
        """
        tag = cls(name=name)
        try:
            with db.session.begin_nested():
                db.session.add(tag)
        except IntegrityError:
            found: Tag | None = db.session.scalar(select(cls).where(cls.name == name))
            if found is None:  # pragma: no cover - refused for another reason: not ours to hide
                raise
            return found
        return tag


class StoredImage(db.Model):  # type: ignore[name-defined,misc]
    """An image as the blog re-encoded it, named by the SHA-256 of its bytes (never changes)."""

    __tablename__ = "images"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    media_type: Mapped[str] = mapped_column(String(32))
    size: Mapped[int]
    #: Loaded only when asked for: checking who may see an image needs no bytes.
    data: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


def search_document(title: Any, body: Any) -> ColumnElement[Any]:
    """The text search document of a post (PostgreSQL): its title and body, English stemming.

    The search query must use the expression of the GIN index (see Post) for the planner to
    match them; the constants are literals, not bound parameters, for the same reason.
    """
    return func.to_tsvector(
        literal_column("'english'::regconfig"), title + literal_column("' '") + body
    )


class Post(db.Model):  # type: ignore[name-defined,misc]
    """A blog post. ``version`` makes a stale edit fail instead of overwriting a newer one."""

    __tablename__ = "posts"
    __table_args__ = (
        # The order of every list (newest first, id breaking ties), read as keyset pages.
        Index("ix_posts_status_published_at_id", "status", "published_at", "id"),
        # Full-text search on PostgreSQL reads this index (see queries.search_criteria).
        # SQLite has no text search vectors and searches with LIKE: the index is PostgreSQL's.
        # Written as PostgreSQL shows it back, so that comparing the migrations with the models
        # sees the same index; to the planner it is the expression search_document() builds.
        Index(
            "ix_posts_search",
            text("to_tsvector('english'::regconfig, (title::text || ' '::text) || body)"),
            postgresql_using="gin",
        ).ddl_if(dialect="postgresql"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(SLUG_MAX_LENGTH + 8), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(String(300), default="")
    body: Mapped[str] = mapped_column(Text)
    #: The sanitized HTML of ``body``, rendered once on save rather than on every view.
    body_html: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default=DRAFT)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    author_id: Mapped[str] = mapped_column(String(64), index=True)
    author_name: Mapped[str] = mapped_column(String(80))
    #: The cover image's SHA-256 (see images.py); several posts may share one image.
    cover_sha256: Mapped[str | None] = mapped_column(
        ForeignKey("images.sha256"), index=True, default=None
    )
    cover_alt: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(default=1, server_default="1")
    #: Kept by the database as comments come and go (see :func:`_count_comment`), so a list of
    #: posts shows its counts without reading a single comment.
    comment_count: Mapped[int] = mapped_column(default=0, server_default="0")

    # selectin: a list of posts loads all their tags in one more query, never one per post.
    tags: Mapped[list[Tag]] = relationship(
        secondary=post_tags, lazy="selectin", order_by=Tag.name, passive_deletes=True
    )
    # raise: comments are always queried explicitly (see queries.py); the database deletes
    # them with their post (ON DELETE CASCADE).
    comments: Mapped[list[Comment]] = relationship(
        back_populates="post", lazy="raise", cascade="all, delete-orphan", passive_deletes=True
    )
    __mapper_args__ = {"version_id_col": version}

    @property
    def tag_names(self) -> list[str]:
        """The names of the post's tags, in name order (as a list's rows give them)."""
        return [tag.name for tag in self.tags]

    @property
    def is_published(self) -> bool:
        """Whether everyone may read the post."""
        return self.status == PUBLISHED

    def publish(self, published: bool) -> None:
        """Publish the post (keeping its first publication date) or turn it back into a draft."""
        self.status = PUBLISHED if published else DRAFT
        if published and self.published_at is None:
            self.published_at = utcnow()

    @staticmethod
    def unique_slug(title: str) -> str:
        """A slug for ``title`` that no post has yet; it never changes afterwards."""
        base = slugify(title) or "post"
        taken = set(
            db.session.scalars(
                select(Post.slug).where(
                    (Post.slug == base) | Post.slug.startswith(base + "-", autoescape=True)
                )
            )
        )
        if base not in taken:
            return base
        number = 2
        while f"{base}-{number}" in taken:
            number += 1
        return f"{base}-{number}"


class Comment(db.Model):  # type: ignore[name-defined,misc]
    """A plain-text comment (escaped when shown, never rendered as HTML)."""

    __tablename__ = "comments"
    __table_args__ = (Index("ix_comments_post_id_created_at", "post_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"))
    author_id: Mapped[str] = mapped_column(String(64))
    author_name: Mapped[str] = mapped_column(String(80))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    post: Mapped[Post] = relationship(back_populates="comments", lazy="raise")


def _change_comment_count(connection: Connection, post_id: int, change: int) -> None:
    posts = Post.__table__
    # One UPDATE in the comment's own flush, so the count commits (or rolls back) with it, and
    # "+ change" in SQL so two comments at once both count. Through the table, not the mapped
    # Post: a comment is not an edit, so neither ``version`` (a writer's edit in progress would
    # get a false conflict) nor ``updated_at`` (the feed's "updated") may change.
    connection.execute(
        update(posts)
        .where(posts.c.id == post_id)
        .values(comment_count=posts.c.comment_count + change, updated_at=posts.c.updated_at)
    )


@event.listens_for(Comment, "after_insert")
def _count_comment(_mapper: Mapper[Comment], connection: Connection, comment: Comment) -> None:
    """Every comment the ORM inserts adds one to its post's ``comment_count``."""
    _change_comment_count(connection, comment.post_id, +1)


@event.listens_for(Comment, "after_delete")
def _uncount_comment(_mapper: Mapper[Comment], connection: Connection, comment: Comment) -> None:
    """Every comment the ORM deletes takes one away (a deleted post takes its comments along)."""
    _change_comment_count(connection, comment.post_id, -1)
