"""What the blog's list pages cost per request against the bare home, measured in process.

The bench's gunicorn figures swing with whatever else the machine does; the CPU one process
spends per request swings much less. Here the blog (production settings, the shared hooks, its
rate limits in Redis) and the bare app of ``bench.baselines`` read the same PostgreSQL tables,
seeded as bench/seed.py seeds the blog (2,000 posts, tags, comments; seeded once, kept), and
each page is asked for through the Flask test client with ``Cookie: bench=1``, as the bench's
wrk does: an anonymous reader that the gateway's micro-cache does not answer. Cases alternate
within each round, in short rounds so that a change in the machine's load hits them all; each
figure is the median round (``time.process_time``: this process's CPU, the log writer thread's
included; not PostgreSQL's), each ratio the median of the rounds' ratios.

    python -m bench.blogcost [requests [rounds]]          # the ratios, as JSON then text
    python -m bench.blogcost --profile /  [requests]      # cProfile (CPU clock) of one page

Needs PostgreSQL (BLOGCOST_DATABASE_URL, default a ``blogcost`` database on 127.0.0.1, created
when missing) and Redis (BLOGCOST_REDIS_URL, default db 6). The access log goes to stderr.
"""

from __future__ import annotations

import cProfile
import json
import os
import pstats
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

REQUESTS = 40
ROUNDS = 15
DATABASE_URL = os.environ.get(
    "BLOGCOST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/blogcost"
)
REDIS_URL = os.environ.get("BLOGCOST_REDIS_URL", "redis://127.0.0.1:6379/6")
#: An unrelated cookie, as the bench sends: the gateway's page cache would answer without it.
HEADERS = {"Cookie": "bench=1"}

Get = Callable[[], object]


def _create_database(url: str) -> None:
    """The database of ``url``, created when the server does not have it yet."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    target = make_url(url)
    server = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        found = connection.execute(
            text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": target.database}
        ).first()
        if found is None:
            connection.execute(text(f'CREATE DATABASE "{target.database}"'))
    server.dispose()


def blog_app(workdir: str) -> Any:
    """The blog with the settings deploy/native.py gives it, on the seeded database."""
    from blog_service import create_app

    environ = {
        "APP_ENV": "production",
        "BLOG_SECRET_KEY": "k" * 64,
        "BLOG_DATABASE_URL": DATABASE_URL,
        "BLOG_INSTANCE_PATH": workdir,
        "BLOG_RATELIMIT_STORAGE_URI": REDIS_URL,
        "BLOG_REVOCATION_STORE_URI": REDIS_URL,
        "BLOG_TRUSTED_PROXIES": "1",
        "BLOG_SECURE_COOKIES": "false",
        "BLOG_AUTH_JWKS_URL": "http://127.0.0.1:9/.well-known/jwks.json",  # nobody signs in
    }
    return create_app(environ=environ)


def seed(app: Any) -> None:
    """Create and fill the blog's tables unless an earlier run did."""
    from sqlalchemy import inspect

    from bench.seed import analyze, insert_blog_rows
    from blog_service.extensions import db
    from blog_service.models import Post

    with app.app_context():
        if inspect(db.engine).has_table("posts") and db.session.query(Post.id).first():
            return
        db.create_all()
        posts, links, comments = insert_blog_rows()
        analyze(db.session)
    print(f"blogcost: seeded {posts} posts, {links} tags, {comments} comments", file=sys.stderr)


def cases(workdir: str) -> dict[str, Get]:
    """Each measured request, by name: the bare home and the blog's public pages."""
    from sqlalchemy import select

    from bench.baselines import create_bare_app
    from blog_service.extensions import db
    from blog_service.models import Post, Tag

    _create_database(DATABASE_URL)
    app = blog_app(workdir)
    seed(app)
    with app.app_context():
        tag = db.session.scalar(select(Tag.name).order_by(Tag.id))
        author = db.session.scalar(select(Post.author_id).order_by(Post.id))
        slug = db.session.scalar(select(Post.slug).where(Post.comment_count > 2).limit(1))
    os.environ["BENCH_BLOG_DATABASE_URL"] = DATABASE_URL
    bare, blog = create_bare_app().test_client(), app.test_client()

    def get(client: Any, url: str) -> Get:
        def request() -> object:
            response = client.get(url, headers=HEADERS)
            assert response.status_code == 200, (url, response.status_code)
            return response

        return request

    return {
        "bare_home": get(bare, "/bare/home"),
        "home": get(blog, "/"),
        "tag": get(blog, f"/tags/{tag}"),
        "author": get(blog, f"/authors/{author}"),
        "feed": get(blog, "/feed.xml"),
        "post": get(blog, f"/posts/{slug}"),
    }


def _cpu_us(request: Get, requests: int) -> float:
    started = time.process_time()
    for _ in range(requests):
        request()
    return (time.process_time() - started) / requests * 1e6


def measure(requests: int = REQUESTS, rounds: int = ROUNDS) -> dict[str, float]:
    """Median microseconds of CPU per request of each case, and each page's ratio to bare."""
    from servicekit.logging import write_in_background

    with tempfile.TemporaryDirectory(prefix="blogcost-") as workdir:
        requests_by_name = cases(workdir)
        write_in_background()  # as gunicorn's post_fork does
        for request in requests_by_name.values():
            _cpu_us(request, 30)  # warm: pools, template caches, compiled statements
        samples: dict[str, list[float]] = {name: [] for name in requests_by_name}
        # Rounds interleave: whatever else the machine does hits every case alike.
        for _ in range(rounds):
            for name, request in requests_by_name.items():
                samples[name].append(_cpu_us(request, requests))
    return summarise(samples)


def summarise(samples: dict[str, list[float]]) -> dict[str, float]:
    """Each case's median round (``<name>_us``) and each page's median ratio to the bare home
    in the same round (``<name>_vs_bare``), from the CPU per request of every round."""
    costs = {f"{name}_us": round(statistics.median(values), 1) for name, values in samples.items()}
    bare = samples["bare_home"]
    for name, values in samples.items():
        if name != "bare_home":
            # As the bench reports it: the bare view's CPU over the page's (1.0 = as cheap).
            ratios = [bare_cpu / cpu for bare_cpu, cpu in zip(bare, values, strict=True)]
            costs[f"{name}_vs_bare"] = round(statistics.median(ratios), 2)
    return costs


def profile(url: str, requests: int = REQUESTS, top: int = 40) -> None:
    """cProfile of ``requests`` requests of ``url`` on the CPU clock, printed by own time."""
    from servicekit.logging import write_in_background

    with tempfile.TemporaryDirectory(prefix="blogcost-") as workdir:
        cases(workdir)  # seeds
        client = blog_app(workdir).test_client()
        write_in_background()
        for _ in range(30):
            client.get(url, headers=HEADERS)
        profiler = cProfile.Profile(time.process_time)
        profiler.enable()
        for _ in range(requests):
            client.get(url, headers=HEADERS)
        profiler.disable()
    stats = pstats.Stats(profiler, stream=sys.stdout)
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)


def describe(costs: dict[str, float]) -> str:
    """The figures as text for the terminal."""
    lines = [f"bare home {costs['bare_home_us']:.0f} us of CPU per request; the blog's pages:"]
    for name in ("home", "tag", "author", "feed", "post"):
        lines.append(
            f"  {name:<7} {costs[f'{name}_us']:>7.0f} us  {costs[f'{name}_vs_bare']:.2f}x bare"
        )
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return run(argv)
    # As under gunicorn: prometheus_client in multiprocess mode (read at its import), in a
    # folder of this run's own, removed afterwards.
    with tempfile.TemporaryDirectory(prefix="blogcost-") as folder:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = folder
        try:
            return run(argv)
        finally:
            del os.environ["PROMETHEUS_MULTIPROC_DIR"]


def run(argv: list[str]) -> int:
    """The command line's work: the ratios, or one page's profile."""
    if argv[:1] == ["--profile"]:
        profile(argv[1], *(int(arg) for arg in argv[2:3]))
        return 0
    costs = measure(*(int(arg) for arg in argv[:2]))
    print(json.dumps(costs))
    print(describe(costs))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
