"""The task list as the full-stack FastAPI template writes its list endpoints.

SQLModel tables (mapping the api's existing tables), a module-level engine, a ``Session``
dependency, a synchronous endpoint, a pydantic response model, ``skip``/``limit`` and a
``count`` query: the template's ``read_items`` with a project, a status filter and tags.
Served as the template serves it: ``uvicorn`` with worker processes.

    /                                  hello-world (plain text)
    /projects/{id}/tasks               the task list
    /secure/projects/{id}/tasks        the same after an EdDSA bearer-token check
"""

# No `from __future__ import annotations` here: SQLModel and FastAPI read the annotations as
# objects when the classes and routes are defined.
import os
from collections.abc import Iterator
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, HTTPException
from fastapi.responses import PlainTextResponse
from sqlalchemy import Column, Enum
from sqlalchemy.orm import selectinload
from sqlmodel import Field, Relationship, Session, SQLModel, create_engine, func, select

from bench.peers import jwt_check

# --- models.py ----------------------------------------------------------------------------------


class Project(SQLModel, table=True):
    __tablename__ = "projects"
    id: int | None = Field(default=None, primary_key=True)
    owner_id: str
    name: str


class TaskTag(SQLModel, table=True):
    __tablename__ = "task_tags"
    task_id: int = Field(foreign_key="tasks.id", primary_key=True)
    tag: str = Field(primary_key=True)


class TaskBase(SQLModel):
    title: str
    notes: str = ""
    status: str = Field(
        default="todo",
        sa_column=Column(Enum("todo", "doing", "done", name="task_status", create_type=False)),
    )
    priority: int = 3
    due_date: date | None = None


class Task(TaskBase, table=True):
    __tablename__ = "tasks"
    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="projects.id")
    owner_id: str
    created_at: datetime
    updated_at: datetime
    version: int
    tags: list[TaskTag] = Relationship(sa_relationship_kwargs={"order_by": "TaskTag.tag"})


class TaskPublic(TaskBase):
    id: int
    project_id: int
    owner_id: str
    created_at: datetime
    updated_at: datetime
    version: int
    tags: list[str]


class TasksPublic(SQLModel):
    data: list[TaskPublic]
    count: int


# --- db.py and deps.py --------------------------------------------------------------------------

engine = create_engine(
    os.environ["BENCH_API_DATABASE_URL"].replace("postgresql://", "postgresql+psycopg://", 1)
)


def get_db() -> Iterator[Session]:
    with Session(engine) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_db)]


def get_current_user(authorization: Annotated[str | None, Header()] = None) -> dict[str, Any]:
    try:
        return jwt_check.verify(authorization)
    except ValueError:
        raise HTTPException(
            status_code=401,
            detail="Could not validate credentials",
            headers={"WWW-Authenticate": "Bearer"},
        ) from None


CurrentUser = Annotated[dict[str, Any], Depends(get_current_user)]


# --- routes/tasks.py ----------------------------------------------------------------------------

app = FastAPI(title="FastAPI peer")


@app.get("/", response_class=PlainTextResponse)
def hello() -> str:
    return "Hello, World!"


def read_tasks(
    session: Session, project_id: int, status: str, skip: int, limit: int
) -> TasksPublic:
    if session.get(Project, project_id) is None:
        raise HTTPException(status_code=404, detail="Project not found")
    where = (Task.project_id == project_id, Task.status == status)
    count = session.exec(select(func.count()).select_from(Task).where(*where)).one()
    statement = (
        select(Task)
        .where(*where)
        .order_by(Task.created_at.desc(), Task.id.desc())  # type: ignore[attr-defined,union-attr]
        .offset(skip)
        .limit(limit)
        .options(selectinload(Task.tags))  # type: ignore[arg-type]
    )
    tasks = session.exec(statement).all()
    data = [
        TaskPublic.model_validate(task, update={"tags": [row.tag for row in task.tags]})
        for task in tasks
    ]
    return TasksPublic(data=data, count=count)


@app.get("/projects/{project_id}/tasks", response_model=TasksPublic)
def read_project_tasks(
    session: SessionDep, project_id: int, status: str = "todo", skip: int = 0, limit: int = 100
) -> Any:
    return read_tasks(session, project_id, status, skip, limit)


@app.get("/secure/projects/{project_id}/tasks", response_model=TasksPublic)
def read_project_tasks_with_token(
    session: SessionDep,
    current_user: CurrentUser,  # noqa: ARG001 - the check is the point
    project_id: int,
    status: str = "todo",
    skip: int = 0,
    limit: int = 100,
) -> Any:
    return read_tasks(session, project_id, status, skip, limit)
