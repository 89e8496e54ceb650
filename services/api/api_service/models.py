"""Projects and their tasks. Every row belongs to the user (token ``sub``) who created it.

Both tables carry a ``version`` (SQLAlchemy's ``version_id_col``): every UPDATE says
``WHERE version = <the version we read>``, so a write based on a stale read fails instead of
silently overwriting someone else's change. The API exposes it through the ETag.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, Enum, ForeignKey, Index, Integer, String, Text
from sqlalchemy.engine.default import DefaultExecutionContext
from sqlalchemy.orm import Mapped, mapped_column, relationship

from api_service.extensions import db
from servicekit.clock import utcnow
from servicekit.database import UTCDateTime


def created_at_of_the_row(context: DefaultExecutionContext) -> datetime:
    """``updated_at`` of a new row: its ``created_at``, so a new object was never "updated"
    before it was created (two calls of utcnow() would differ by microseconds)."""
    parameters = context.get_current_parameters()  # type: ignore[no-untyped-call]  # untyped in SQLAlchemy
    created: datetime = parameters["created_at"]
    return created


class Status(enum.StrEnum):
    """Where a task stands."""

    TODO = "todo"
    DOING = "doing"
    DONE = "done"


class Project(db.Model):  # type: ignore[name-defined,misc]
    """A named group of tasks owned by one user."""

    __tablename__ = "projects"
    __table_args__ = (Index("ix_projects_owner_created", "owner_id", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    archived: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=created_at_of_the_row, onupdate=utcnow
    )
    version: Mapped[int] = mapped_column(Integer, nullable=False)

    tasks: Mapped[list[Task]] = relationship(
        back_populates="project", cascade="all, delete-orphan", passive_deletes=True
    )

    __mapper_args__: dict[str, Any] = {"version_id_col": version}


class Task(db.Model):  # type: ignore[name-defined,misc]
    """Something to do in a project. ``owner_id`` repeats the project's owner so that a task can
    be authorised, and its filters indexed, without a join."""

    __tablename__ = "tasks"
    # Every list filter starts with the project; the second column is the filter or sort key.
    __table_args__ = (
        Index("ix_tasks_project_status", "project_id", "status"),
        Index("ix_tasks_project_priority", "project_id", "priority"),
        Index("ix_tasks_project_due", "project_id", "due_date"),
        Index("ix_tasks_project_created", "project_id", "created_at"),
        Index("ix_tasks_owner", "owner_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    owner_id: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(200))
    notes: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[Status] = mapped_column(
        Enum(Status, name="task_status", values_callable=lambda e: [m.value for m in e]),
        default=Status.TODO,
    )
    priority: Mapped[int] = mapped_column(Integer, default=3)
    due_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=created_at_of_the_row, onupdate=utcnow
    )
    version: Mapped[int] = mapped_column(Integer, nullable=False)

    project: Mapped[Project] = relationship(back_populates="tasks")
    tag_rows: Mapped[list[TaskTag]] = relationship(
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="TaskTag.tag",
        lazy="selectin",
    )

    __mapper_args__: dict[str, Any] = {"version_id_col": version}

    @property
    def tags(self) -> list[str]:
        """The task's tags, sorted."""
        return [row.tag for row in self.tag_rows]

    def set_tags(self, tags: list[str]) -> None:
        """Replace the tags of a stored task, keeping the rows of tags that stay (a new task
        gets its tags from ``api_service.v1.resources.insert_task``)."""
        wanted = sorted(set(tags))
        kept = {row.tag: row for row in self.tag_rows if row.tag in wanted}
        self.tag_rows = [kept.get(tag) or TaskTag(tag=tag) for tag in wanted]
        # Tag rows live in their own table; touching the task makes its version (and so its
        # ETag) change when only the tags did.
        self.updated_at = utcnow()


class TaskTag(db.Model):  # type: ignore[name-defined,misc]
    """One tag of one task. A table rather than a JSON column so the tag filter uses an index."""

    __tablename__ = "task_tags"
    __table_args__ = (Index("ix_task_tags_tag", "tag", "task_id"),)

    task_id: Mapped[int] = mapped_column(
        ForeignKey("tasks.id", ondelete="CASCADE"), primary_key=True
    )
    tag: Mapped[str] = mapped_column(String(40), primary_key=True)
