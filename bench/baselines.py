"""The baselines: what each endpoint would cost with as little as possible around it.

Every service endpoint is reported as a ratio to one of these, served by the same
deploy/gunicorn.conf.py behind the same nginx gateway configuration (bench/stack.py):

* ``raw_app``: a WSGI callable returning "Hello, World!" (the floor of gunicorn + nginx);
* ``create_bare_app()``: a Flask app with no extension and no hook, holding the Flask
  hello-world and bare views that send the same SQL statements as the API task list and the API
  task get, the blog home as the best hand-written query (one statement through an index), and
  answer with plain ``jsonify`` or a small template of the same shape (SQLAlchemy Core on the
  same pool settings; no ORM, marshmallow, Flask-RESTful, Flask-Login, token verification or
  rate limit);
* ``create_hooked_app()``: the Flask hello-world with ``servicekit.init_service`` (request id,
  JSON access log, Server-Timing, security headers, ProxyFix, error handlers, health).

The bare views read BENCH_API_DATABASE_URL and BENCH_BLOG_DATABASE_URL: the services'
databases, seeded by bench/seed.py.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from flask import Flask, jsonify, render_template, request
from sqlalchemy import Engine, bindparam, create_engine, text
from werkzeug.wrappers import Response

from servicekit import init_service
from servicekit.settings import Settings, instance_path_from_env, normalize_database_url

HELLO = b"Hello, World!"
TEMPLATES = Path(__file__).parent / "templates"
#: The page sizes of the services' defaults (API per_page, BLOG_POSTS_PER_PAGE).
TASKS_PER_PAGE = 20
POSTS_PER_PAGE = 10

StartResponse = Callable[[str, list[tuple[str, str]]], Any]


def raw_app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:  # noqa: ARG001
    """The smallest WSGI application: the cost of gunicorn and nginx alone."""
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(HELLO)))])
    return [HELLO]


def hello() -> str:
    """The Flask hello-world view."""
    return "Hello, World!"


# --- the bare equivalents of the API task list / task get --------------------------------------

PROJECT_SQL = text("SELECT * FROM projects WHERE projects.id = :id")
TASK_COLUMNS = (
    "tasks.id, tasks.project_id, tasks.owner_id, tasks.title, tasks.notes, tasks.status, "
    "tasks.priority, tasks.due_date, tasks.created_at, tasks.updated_at, tasks.version"
)
TASK_FILTER = "tasks.project_id = :project_id AND tasks.status = :status"
TASK_COUNT_SQL = text(
    f"SELECT count(*) FROM (SELECT {TASK_COLUMNS} FROM tasks WHERE {TASK_FILTER}) AS anon"  # noqa: S608 - constants only
)
TASK_PAGE_SQL = text(
    f"SELECT {TASK_COLUMNS} FROM tasks WHERE {TASK_FILTER} "  # noqa: S608 - constants only
    "ORDER BY tasks.created_at DESC NULLS LAST, tasks.id DESC LIMIT :limit OFFSET :offset"
)
TASK_SQL = text(f"SELECT {TASK_COLUMNS} FROM tasks WHERE tasks.id = :id")  # noqa: S608
# Constants only, no user input in the SQL text:
TASK_INSERT_SQL = text(
    "INSERT INTO tasks (project_id, owner_id, title, notes, status, priority, due_date, "  # noqa: S608
    "created_at, updated_at, version) VALUES (:project_id, :owner_id, :title, :notes, "
    "CAST(:status AS task_status), :priority, :due_date, :now, :now, 1) "
    f"RETURNING {TASK_COLUMNS}"
)
TAG_INSERT_SQL = text("INSERT INTO task_tags (task_id, tag) VALUES (:task_id, :tag)")
TASK_TAGS_SQL = text(
    "SELECT task_tags.task_id, task_tags.tag FROM task_tags "
    "WHERE task_tags.task_id IN :ids ORDER BY task_tags.tag"
).bindparams(bindparam("ids", expanding=True))


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


def _tasks_with_tags(engine: Engine, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    tasks = [{key: _json_value(value) for key, value in row.items()} for row in rows]
    for task in tasks:
        task["owner"] = task.pop("owner_id")
        task["tags"] = []
    if tasks:
        by_id = {task["id"]: task for task in tasks}
        with engine.connect() as connection:
            for task_id, tag in connection.execute(TASK_TAGS_SQL, {"ids": list(by_id)}):
                by_id[task_id]["tags"].append(tag)
    return tasks


# --- the bare equivalent of the blog home ------------------------------------------------------

# The best hand-written equivalent: one statement through the (status, published_at, id)
# index, each post's tag names by a subquery on the post_tags primary key, the comment count
# read from the post's own column. One row more than the page says whether an older one exists.
POST_PAGE_SQL = text(
    "SELECT posts.id, posts.slug, posts.title, posts.summary, posts.published_at, "
    "posts.author_id, posts.author_name, posts.comment_count, "
    "ARRAY(SELECT tags.name FROM post_tags JOIN tags ON tags.id = post_tags.tag_id "
    "WHERE post_tags.post_id = posts.id ORDER BY tags.name) AS tags "
    "FROM posts WHERE posts.status = 'published' "
    "ORDER BY posts.published_at DESC, posts.id DESC LIMIT :limit"
)


def _engine(variable: str) -> Engine:
    url = os.environ.get(variable)
    if not url:
        raise RuntimeError(f"{variable} is not set: the bare views need the seeded database")
    # Flask-SQLAlchemy's defaults for a server database: a pool, pre-ping off.
    return create_engine(normalize_database_url(url))


def create_bare_app() -> Flask:
    """Flask with nothing added: the hello-world and the bare database views."""
    app = Flask(__name__, template_folder=str(TEMPLATES))
    app.config["BLOG_TITLE"] = "Flask services blog"
    engines: dict[str, Engine] = {}

    def engine(name: str) -> Engine:
        if name not in engines:
            engines[name] = _engine(f"BENCH_{name.upper()}_DATABASE_URL")
        return engines[name]

    app.add_url_rule("/", view_func=hello)

    @app.get("/bare/projects/<int:project_id>/tasks")
    def task_list(project_id: int) -> Response:
        page = request.args.get("page", 1, type=int) or 1
        per_page = request.args.get("per_page", TASKS_PER_PAGE, type=int) or TASKS_PER_PAGE
        params = {"project_id": project_id, "status": request.args.get("status", "todo")}
        api = engine("api")
        with api.connect() as connection:
            connection.execute(PROJECT_SQL, {"id": project_id}).one()
            total = connection.execute(TASK_COUNT_SQL, params).scalar_one()
            paging = {"limit": per_page, "offset": (page - 1) * per_page}
            rows = [dict(r) for r in connection.execute(TASK_PAGE_SQL, params | paging).mappings()]
        items = _tasks_with_tags(api, rows)
        return jsonify(items=items, total=total, page=page, per_page=per_page)

    @app.post("/bare/projects/<int:project_id>/tasks")
    def task_create(project_id: int) -> tuple[Response, int]:
        data = request.get_json(force=True)
        tags = sorted(set(data.get("tags", [])))
        values = {
            "project_id": project_id,
            "title": str(data["title"]),
            "notes": str(data.get("notes", "")),
            "status": str(data.get("status", "todo")),
            "priority": int(data.get("priority", 3)),
            "due_date": data.get("due_date"),
            "now": datetime.now(UTC),
        }
        api = engine("api")
        with api.begin() as connection:
            project = connection.execute(PROJECT_SQL, {"id": project_id}).mappings().one()
            values["owner_id"] = project["owner_id"]
            row = dict(connection.execute(TASK_INSERT_SQL, values).mappings().one())
            if tags:
                connection.execute(TAG_INSERT_SQL, [{"task_id": row["id"], "tag": t} for t in tags])
        return jsonify(_tasks_with_tags(api, [row])[0]), 201

    @app.get("/bare/tasks/<int:task_id>")
    def task_get(task_id: int) -> Response:
        api = engine("api")
        with api.connect() as connection:
            row = dict(connection.execute(TASK_SQL, {"id": task_id}).mappings().one())
        return jsonify(_tasks_with_tags(api, [row])[0])

    @app.get("/bare/home")
    def home() -> str:
        with engine("blog").connect() as connection:
            rows = connection.execute(POST_PAGE_SQL, {"limit": POSTS_PER_PAGE + 1}).mappings()
            posts = [dict(row) for row in rows]
        older = len(posts) > POSTS_PER_PAGE
        return render_template("bare/home.html", posts=posts[:POSTS_PER_PAGE], older=older)

    @app.template_filter("isodate")
    def isodate(moment: datetime) -> str:
        return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).isoformat()

    @app.template_filter("date")
    def long_date(moment: datetime) -> str:
        return moment.strftime("%d %B %Y")

    return app


def create_hooked_app(environ: dict[str, str] | None = None) -> Flask:
    """The Flask hello-world with the shared request hooks of every service."""
    app = Flask(__name__, instance_path=instance_path_from_env("bench", environ))
    settings = Settings.from_env("bench", app.instance_path, environ)
    init_service(app, settings, error_style="problem")
    app.add_url_rule("/", view_func=hello)
    return app
