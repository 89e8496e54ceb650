"""Realistic data for the benchmark, inserted in bulk through each service's own models.

    python -m bench.seed auth
    python -m bench.seed blog
    python -m bench.seed api <owner id>

Run with the service's environment (bench/run.py passes the one its gunicorn runs with), so
the rows land in the database the service reads. Each service's ``create_app()`` and models do
the work: the ORM's bulk INSERT (one statement per batch), never one round trip per row. Every
table is ANALYZEd afterwards, as autovacuum would do on a live database, so the planner knows
the sizes. The data is deterministic (a fixed random seed): runs compare.
"""

from __future__ import annotations

import random
import sys
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import insert, text
from sqlalchemy.orm import Session, scoped_session

#: What issue 8 asks for.
POSTS = 2_000
DRAFTS = 100
COMMENTS_PER_POST = 5
TAGS = 40
PROJECTS = 100
TASKS_PER_PROJECT = 100
USERS = 5
#: The password of the seeded users (bench-reader-1 ... ): benchmark data, not a secret.
USER_PASSWORD = "bench-correct-horse-battery"  # noqa: S105
BATCH = 1_000

WORDS = [
    *("flask", "blueprint", "request", "response", "template", "jinja", "session", "cookie"),
    *("token", "worker", "thread", "gunicorn", "nginx", "proxy", "header", "cache", "query"),
    *("index", "page", "table", "schema", "migration", "config", "test", "fixture", "factory"),
    *("route", "view", "form", "field", "error", "health", "ready", "deploy", "container"),
]


def _sentence(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words)).capitalize()


def _batches(rows: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    return [rows[i : i + BATCH] for i in range(0, len(rows), BATCH)]


def analyze(session: Session | scoped_session[Any]) -> None:
    """Refresh the planner's statistics, as autovacuum would on a live database."""
    session.execute(text("ANALYZE"))
    session.commit()


def seed_auth() -> None:
    """A few readers and an author, all with USER_PASSWORD (hashed once)."""
    from auth_service import create_app
    from auth_service.extensions import db
    from auth_service.models import User
    from auth_service.passwords import hash_password

    app = create_app()
    with app.app_context():
        password_hash = hash_password(USER_PASSWORD)
        rows = [
            {
                "username": f"bench-reader-{n}",
                "email": f"bench-reader-{n}@example.com",
                "password_hash": password_hash,
                "role_names": "reader",
                "session_token": f"bench-session-{n}-{random.getrandbits(64):x}",
                "version": 1,
            }
            for n in range(1, USERS + 1)
        ]
        rows[0]["role_names"] = "reader author"
        db.session.execute(insert(User), rows)
        db.session.commit()
        analyze(db.session)
        print(f"seed auth: {USERS} users", file=sys.stderr)


def insert_blog_rows(posts_wanted: int = POSTS) -> tuple[int, int, int]:
    """``posts_wanted`` posts (one in 20 a draft) with 1-4 of TAGS tags and 0-10 comments each,
    in the blog app of the current app context; returns (posts, post tags, comments)."""
    from blog_service.extensions import db
    from blog_service.markdown import render_markdown
    from blog_service.models import Comment, Post, Tag, post_tags

    rng = random.Random(8)  # noqa: S311 - benchmark data, not a secret
    tag_ids = list(
        db.session.scalars(
            insert(Tag).returning(Tag.id, sort_by_parameter_order=True),
            [{"name": f"{rng.choice(WORDS)}-{n}"} for n in range(TAGS)],
        )
    )
    bodies = []
    for _ in range(10):
        body = "\n\n".join(_sentence(rng, 40) + "." for _ in range(6))
        body = f"## {_sentence(rng, 4)}\n\n{body}\n\n```python\nprint('hello')\n```\n"
        bodies.append((body, render_markdown(body)))
    start = datetime(2025, 1, 1, tzinfo=UTC)
    posts = []
    for n in range(posts_wanted):
        body, body_html = bodies[n % len(bodies)]
        moment = start + timedelta(hours=4 * n)
        draft = n % (POSTS // DRAFTS) == 0
        author = n % 3
        posts.append(
            {
                "slug": f"post-{n}",
                "title": _sentence(rng, 6),
                "summary": _sentence(rng, 20) + ".",
                "body": body,
                "body_html": body_html,
                "status": "draft" if draft else "published",
                "published_at": None if draft else moment,
                "author_id": str(100 + author),
                "author_name": f"bench-author-{author}",
                "cover_alt": "",
                "created_at": moment,
                "updated_at": moment,
                "version": 1,
            }
        )
    post_ids: list[int] = []
    for batch in _batches(posts):
        statement = insert(Post).returning(Post.id, sort_by_parameter_order=True)
        post_ids += db.session.scalars(statement, batch)
    links = [
        {"post_id": post_id, "tag_id": tag_id}
        for post_id in post_ids
        for tag_id in rng.sample(tag_ids, rng.randint(1, 4))
    ]
    comments = [
        {
            "post_id": post_id,
            "author_id": str(200 + rng.randint(0, 9)),
            "author_name": f"bench-reader-{rng.randint(0, 9)}",
            "body": _sentence(rng, 15) + ".",
            "created_at": start + timedelta(hours=4 * index, minutes=10 * c),
        }
        for index, post_id in enumerate(post_ids)
        for c in range(rng.randint(0, 2 * COMMENTS_PER_POST))
    ]
    for batch in _batches(links):
        db.session.execute(insert(post_tags), batch)
    for batch in _batches(comments):
        db.session.execute(insert(Comment), batch)
    # A bulk INSERT skips the per-comment count the blog keeps (models.py): count them at once,
    # as the migration that added the column did.
    db.session.execute(
        text(
            "UPDATE posts SET comment_count ="
            " (SELECT count(*) FROM comments WHERE comments.post_id = posts.id)"
        )
    )
    db.session.commit()
    return len(post_ids), len(links), len(comments)


def seed_blog() -> None:
    """POSTS posts with tags and comments in the blog's database."""
    from blog_service import create_app
    from blog_service.extensions import db

    with create_app().app_context():
        posts, links, comments = insert_blog_rows()
        analyze(db.session)
    print(f"seed blog: {posts} posts, {links} post tags, {comments} comments", file=sys.stderr)


def insert_api_rows(
    owner_id: str, projects_wanted: int = PROJECTS, tasks_per_project: int = TASKS_PER_PROJECT
) -> tuple[list[int], int, int]:
    """Projects of ``owner_id`` with ``tasks_per_project`` tasks each (0-3 tags per task), in
    the api app of the current app context; returns (project ids, tasks, task tags)."""
    from api_service.extensions import db
    from api_service.models import Project, Status, Task, TaskTag

    rng = random.Random(8)  # noqa: S311 - benchmark data, not a secret
    statuses = list(Status)
    tag_names = [f"{word}" for word in WORDS[:20]]
    start = datetime(2025, 1, 1, tzinfo=UTC)
    projects = [
        {
            "owner_id": owner_id,
            "name": f"Project {n}",
            "description": _sentence(rng, 12),
            "archived": False,
            "created_at": start + timedelta(days=n),
            "updated_at": start + timedelta(days=n),
            "version": 1,
        }
        for n in range(projects_wanted)
    ]
    statement = insert(Project).returning(Project.id, sort_by_parameter_order=True)
    project_ids = list(db.session.scalars(statement, projects))
    tasks = []
    for project_id in project_ids:
        for n in range(tasks_per_project):
            moment = start + timedelta(hours=n, minutes=project_id)
            tasks.append(
                {
                    "project_id": project_id,
                    "owner_id": owner_id,
                    "title": _sentence(rng, 5),
                    "notes": _sentence(rng, 25),
                    "status": statuses[n % len(statuses)],
                    "priority": 1 + n % 5,
                    "due_date": date(2026, 1, 1) + timedelta(days=n) if n % 2 else None,
                    "created_at": moment,
                    "updated_at": moment,
                    "version": 1,
                }
            )
    task_ids: list[int] = []
    for batch in _batches(tasks):
        statement = insert(Task).returning(Task.id, sort_by_parameter_order=True)
        task_ids += db.session.scalars(statement, batch)
    tags = [
        {"task_id": task_id, "tag": tag}
        for task_id in task_ids
        for tag in rng.sample(tag_names, rng.randint(0, 3))
    ]
    for batch in _batches(tags):
        db.session.execute(insert(TaskTag), batch)
    db.session.commit()
    return project_ids, len(task_ids), len(tags)


def seed_api(owner_id: str) -> None:
    """PROJECTS projects of ``owner_id`` with their tasks in the api's database."""
    from api_service import create_app
    from api_service.extensions import db

    with create_app().app_context():
        project_ids, tasks, tags = insert_api_rows(owner_id)
        analyze(db.session)
    print(
        f"seed api: {len(project_ids)} projects, {tasks} tasks, {tags} task tags",
        file=sys.stderr,
    )


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[1] not in {"auth", "blog", "api"}:
        print(__doc__, file=sys.stderr)
        return 2
    if argv[1] == "auth":
        seed_auth()
    elif argv[1] == "blog":
        seed_blog()
    else:
        seed_api(argv[2])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
