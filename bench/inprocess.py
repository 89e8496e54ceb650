"""The API's hot endpoints against the bare views, in process: CPU per request, and where it goes.

``nox -s bench`` compares the API with the bare views of :mod:`bench.baselines` under gunicorn,
where a loaded machine moves the figures by more than one change to the API does. This harness
takes gunicorn, nginx and wrk away: one process holds the api app (production settings, its
rate limit and token revocations in Redis, a real bearer token) and the bare app, both on the
same seeded PostgreSQL tables, and calls each through the Flask test client. Rounds interleave
(bare list, api list, bare get, api get, ...) so that whatever else the machine does hits both
alike; the figures are the median of the rounds, on the process's CPU clock.

    python -m bench.inprocess [requests [rounds]]      # the ratios, as JSON and as text
    python -m bench.inprocess --profile list [requests]  # cProfile (CPU clock) of one case

The access log is off (``LOG_LEVEL=WARNING``): it belongs to the shared hooks, which
:mod:`bench.hookcost` measures. Settings (environment): ``BENCH_INPROCESS_DATABASE_URL``
(default ``postgresql://postgres@127.0.0.1:5432/api_inprocess``, created if missing, its
tables dropped and seeded anew) and ``BENCH_INPROCESS_REDIS_URL`` (default database 13).
"""

from __future__ import annotations

import cProfile
import io
import json
import os
import pstats
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/api_inprocess"
REDIS_URL = "redis://127.0.0.1:6379/13"
REQUESTS = 300
ROUNDS = 5
#: The bench's own query and body (bench/run.py), on data of the bench's size (bench/seed.py).
TASK_QUERY = "status=todo&page=2&per_page=10"
NEW_TASK = json.dumps({"title": "Benchmark task", "priority": 2, "tags": ["bench"]})
OWNER = "bench-owner"
#: What the bench reports against for each case: at least this share of the bare view's speed.
TARGETS = {"list": 0.8, "get": 0.8, "create": 0.7}

Call = Callable[[], Any]


@dataclass(frozen=True)
class Case:
    """One endpoint: the api's request and the bare view's that sends the same SQL."""

    name: str
    api: Call
    bare: Call


def _create_database(url: str) -> None:
    """Create the database of ``url`` on its server unless it exists."""
    import psycopg
    from sqlalchemy.engine import make_url

    target = make_url(url)
    server = target.set(drivername="postgresql", database="postgres")
    dsn = server.render_as_string(hide_password=False)
    with psycopg.connect(dsn, autocommit=True) as connection:
        found = connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (target.database,)
        ).fetchone()
        if found is None:
            connection.execute(f'CREATE DATABASE "{target.database}"')


def make_api(database_url: str, redis_url: str, jwks: dict[str, Any], folder: str) -> Flask:
    """The api as gunicorn runs it in the bench: production, Redis, PostgreSQL, a huge budget."""
    from api_service import create_app

    environ = {
        "APP_ENV": "production",
        "API_SECRET_KEY": "k" * 64,
        "API_INSTANCE_PATH": folder,
        "API_DATABASE_URL": database_url,
        "API_RATELIMIT_STORAGE_URI": redis_url,
        "API_REVOCATION_STORE_URI": redis_url,
        "API_RATE_LIMIT": "1000000 per minute",
        "API_SECURE_COOKIES": "false",
        "LOG_LEVEL": "WARNING",
    }
    return create_app({"AUTH_JWKS": jwks}, environ=environ)


def seed(api: Flask, redis_url: str) -> tuple[int, int, int]:
    """Fresh tables holding the bench's data; Redis made whole as auth makes it (the epoch).

    Returns the listed project, one of its tasks and the project that new tasks go to.
    """
    from api_service.extensions import db
    from api_service.models import Task
    from bench.seed import analyze, insert_api_rows
    from servicekit.redisclient import redis_client
    from servicekit.revocation import RedisRevocationStore

    RedisRevocationStore(redis_client(redis_url)).republish({})
    with api.app_context():
        db.drop_all()
        db.create_all()
        projects, _, _ = insert_api_rows(OWNER)
        analyze(db.session)
        project = projects[len(projects) // 2]
        task = db.session.scalars(db.select(Task.id).where(Task.project_id == project)).first()
        db.session.remove()
    assert task is not None
    return project, task, projects[-1]


def cases(api: FlaskClient, bare: FlaskClient, token: str, ids: tuple[int, int, int]) -> list[Case]:
    """The three cases of the bench (bench/run.py), each request checked once."""
    project, task, create_project = ids
    bearer = {"Authorization": f"Bearer {token}"}
    body = {"data": NEW_TASK, "content_type": "application/json"}

    def call(client: FlaskClient, method: str, url: str, **kwargs: Any) -> Call:
        def send() -> Any:
            return client.open(url, method=method, **kwargs)

        response = send()
        if response.status_code >= 300:
            raise RuntimeError(f"{method} {url}: {response.status_code} {response.data[:300]!r}")
        return send

    return [
        Case(
            "list",
            call(api, "GET", f"/v1/projects/{project}/tasks?{TASK_QUERY}", headers=bearer),
            call(bare, "GET", f"/bare/projects/{project}/tasks?{TASK_QUERY}"),
        ),
        Case(
            "get",
            call(api, "GET", f"/v1/tasks/{task}", headers=bearer),
            call(bare, "GET", f"/bare/tasks/{task}"),
        ),
        Case(
            "create",
            call(api, "POST", f"/v1/projects/{create_project}/tasks", headers=bearer, **body),
            call(bare, "POST", f"/bare/projects/{create_project}/tasks", **body),
        ),
    ]


def cpu_us(send: Call, requests: int) -> float:
    """Microseconds of this process's CPU per call of ``send``."""
    started = time.process_time()
    for _ in range(requests):
        send()
    return (time.process_time() - started) / requests * 1e6


def measure(found: list[Case], requests: int, rounds: int) -> dict[str, dict[str, float]]:
    """Median CPU per request of each side of each case, rounds interleaved; the ratios."""
    samples: dict[str, dict[str, list[float]]] = {c.name: {"api": [], "bare": []} for c in found}
    for case in found:  # warm: caches, pools, compiled statements
        cpu_us(case.bare, 50)
        cpu_us(case.api, 50)
    for _ in range(rounds):
        for case in found:
            samples[case.name]["bare"].append(cpu_us(case.bare, requests))
            samples[case.name]["api"].append(cpu_us(case.api, requests))
    figures: dict[str, dict[str, float]] = {}
    for name, sides in samples.items():
        api, bare = statistics.median(sides["api"]), statistics.median(sides["bare"])
        figures[name] = {
            "bare_us": round(bare, 1),
            "api_us": round(api, 1),
            "api_over_bare": round(api / bare, 2),
            "bare_over_api": round(bare / api, 2),
            "target": TARGETS[name],
        }
    return figures


def describe(figures: dict[str, dict[str, float]]) -> str:
    """The figures as text for the terminal."""
    lines = ["case     bare us    api us   api/bare   bare/api (target)"]
    for name, row in figures.items():
        lines.append(
            f"{name:<7}{row['bare_us']:>9.1f}{row['api_us']:>10.1f}{row['api_over_bare']:>11.2f}"
            f"{row['bare_over_api']:>11.2f} ({row['target']})"
        )
    return "\n".join(lines)


def profile(case: Case, requests: int, limit: int = 45) -> str:
    """cProfile of ``requests`` api calls of ``case`` on the CPU clock, by own and total time."""
    profiler = cProfile.Profile(time.process_time)
    profiler.enable()
    for _ in range(requests):
        case.api()
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("cumulative").print_stats(limit)
    stats.sort_stats("tottime").print_stats(limit)
    return out.getvalue()


def main(argv: list[str]) -> int:
    """Seed, build both apps, then measure (or profile one case)."""
    from bench.baselines import create_bare_app
    from servicekit.testing import TestTokenIssuer

    profiled = argv[1] if len(argv) > 1 and argv[0] == "--profile" else None
    numbers = [int(arg) for arg in argv[2 if profiled else 0 :]]
    requests = numbers[0] if numbers else REQUESTS
    rounds = numbers[1] if len(numbers) > 1 else ROUNDS
    database_url = os.environ.get("BENCH_INPROCESS_DATABASE_URL", DATABASE_URL)
    redis_url = os.environ.get("BENCH_INPROCESS_REDIS_URL", REDIS_URL)
    _create_database(database_url)
    os.environ["BENCH_API_DATABASE_URL"] = database_url  # the bare views' database
    issuer = TestTokenIssuer()
    with tempfile.TemporaryDirectory(prefix="inprocess-") as folder:
        api = make_api(database_url, redis_url, issuer.jwks(), folder)
        ids = seed(api, redis_url)
        token = issuer.mint(sub=OWNER, name="bench", lifetime=24 * 3600)
        found = cases(api.test_client(), create_bare_app().test_client(), token, ids)
        if profiled:
            case = next(case for case in found if case.name == profiled)
            cpu_us(case.api, 50)
            print(profile(case, requests))
            return 0
        figures = measure(found, requests, rounds)
    print(json.dumps(figures))
    print(describe(figures), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
