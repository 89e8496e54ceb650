"""The whole benchmark, run inside the production-like stack of deploy/native.py.

    python deploy/native.py -- python -m bench.run [--duration S] [--connections N] [--only A,B]

(what `nox -s bench -- [options]` does).

native.py has started auth, blog and api under gunicorn behind nginx on PostgreSQL and Redis
and passes SMOKE_BASE_URL, SMOKE_GUNICORN_PIDS and the admin's credentials. This seeds the
services' databases, starts the baselines (bench/stack.py), checks every case answers as
expected once, then loads each case with wrk (a warm-up run first, thrown away) and writes the
report (bench/report.py). Settings, from the environment (options win over them):

    BENCH_DURATION           seconds of measurement per case and round (2)
    BENCH_WARMUP             seconds of warm-up per case before its first round, not measured (1)
    BENCH_CONNECTIONS        concurrent connections (32)
    BENCH_TOKEN_CONNECTIONS  connections for the password-hash bound token issue (4)
    BENCH_THREADS            wrk threads (1: wrk shares the 2 cores with the servers)
    BENCH_BASELINE_PORT      first of the baselines' ports (29101; +1, +2, gateways +10..+12)
    BENCH_ONLY               comma-separated case names to run (all)
    BENCH_ROUNDS             measure every case this many times, keep the median (5)
    BENCH_PROFILE            comma-separated case names to profile with py-spy (none; see
                             bench/profile.py: one more run of the case, sampled)
    BENCH_REPORT_DIR         where the report goes (reports/bench)
    BENCH_STRICT             1: exit 1 when any target is missed (default: only when an endpoint
                             answered errors)
"""

from __future__ import annotations

import argparse
import base64
import dataclasses
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from bench import cpu, hookcost, profile, report, stack, wrk
from bench.wrk import Case, Result

ROOT = stack.ROOT
#: What the peers and the uWSGI cases need (bench/peers/requirements.txt).
#: A cookie, as a returning reader's browser sends one: the gateway never answers a request
#: with a cookie from its page cache (deploy/nginx/templates/default.conf.template).
UNCACHED = {"Cookie": "bench=1"}
PEER_PACKAGES = ("fastapi", "sqlmodel", "uvicorn", "django", "rest_framework", "pyuwsgi")


def setting(name: str, default: int) -> int:
    """A whole-number setting from the environment."""
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


def log(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


def http(
    url: str,
    *,
    method: str = "GET",
    body: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, bytes]:
    """One request; the status and the body (an error status is returned, not raised)."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})  # noqa: S310 - loopback
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback
            return int(response.status), response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def seed(service: str, environ: dict[str, str], *args: str) -> None:
    """Run bench/seed.py for ``service`` with the service's own environment."""
    env = dict(environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    command = [sys.executable, "-m", "bench.seed", service, *args]
    subprocess.run(command, env=env, check=True, cwd=ROOT)  # noqa: S603 - our own argv


def token_subject(token: str) -> str:
    """The ``sub`` claim of a JWT we were just given (read, not verified: it is ours)."""
    payload = token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return str(claims["sub"])


def issue_token(base: str, username: str, password: str) -> str:
    status, body = http(
        f"{base}/auth/api/token",
        method="POST",
        body={"username": username, "password": password},
    )
    if status != 200:
        raise RuntimeError(f"token issue answered {status}: {body[:300]!r}")
    return str(json.loads(body)["access_token"])


def first_tag(base: str) -> str:
    """A tag name linked from the blog's home page."""
    status, body = http(f"{base}/")
    marker = b'href="/tags/'
    start = body.find(marker)
    if status != 200 or start < 0:
        raise RuntimeError(f"no tag link on the blog home ({status})")
    start += len(marker)
    return body[start : body.index(b'"', start)].decode()


def cases(base: str, baselines: dict[str, str], ids: dict[str, Any]) -> list[Case]:
    """Every case of the run: the baselines first, then the peers, then the services."""
    bare, raw, hooked = baselines["bare"], baselines["raw"], baselines["hooked"]
    bearer = {"Authorization": f"Bearer {ids['token']}"}
    project, create_project, task = ids["project"], ids["create_project"], ids["task"]
    task_query = "status=todo&page=2&per_page=10"
    new_task = json.dumps({"title": "Benchmark task", "priority": 2, "tags": ["bench"]})
    token_body = json.dumps({"username": ids["username"], "password": ids["password"]})
    found = [
        Case("raw_wsgi_hello", "baseline", f"{raw}/", note="a WSGI callable", server="raw"),
        Case("flask_hello", "baseline", f"{bare}/", note="Flask, nothing added", server="bare"),
        Case(
            "flask_hello_hooks",
            "baseline",
            f"{hooked}/",
            bare="flask_hello",
            note="Flask + servicekit.init_service",
            server="hooked",
        ),
        Case(
            "bare_task_list",
            "baseline",
            f"{bare}/api/bare/projects/{project}/tasks?{task_query}",
            note="same SQL as api_task_list, jsonify",
            server="bare",
        ),
        Case(
            "bare_task_get",
            "baseline",
            f"{bare}/api/bare/tasks/{task}",
            note="same SQL as api_task_get, jsonify",
            server="bare",
        ),
        Case(
            "bare_task_create",
            "baseline",
            f"{bare}/api/bare/projects/{create_project}/tasks",
            method="POST",
            body=new_task,
            note="same INSERTs as api_task_create",
            server="bare",
        ),
        Case(
            "bare_blog_home",
            "baseline",
            f"{bare}/bare/home",
            note="blog_home as one hand-written indexed query, a template of the same shape",
            server="bare",
        ),
    ]
    if "fastapi" in baselines:
        fastapi, drf = baselines["fastapi"], baselines["drf"]
        peer_query = "status=todo&skip=10&limit=10"  # the template's paging: page 2 of 10
        found += [
            Case(
                "fastapi_hello",
                "peer",
                f"{fastapi}/",
                bare="flask_hello",
                server="fastapi",
                note="FastAPI under uvicorn workers",
            ),
            Case(
                "fastapi_task_list",
                "peer",
                f"{fastapi}/api/projects/{project}/tasks?{peer_query}",
                bare="bare_task_list",
                server="fastapi",
                note="the FastAPI template's way, no token check",
            ),
            Case(
                "fastapi_task_list_jwt",
                "peer",
                f"{fastapi}/api/secure/projects/{project}/tasks?{peer_query}",
                headers=bearer,
                bare="bare_task_list",
                server="fastapi",
                note="the same with an EdDSA JWT",
            ),
            Case(
                "drf_task_list",
                "peer",
                f"{drf}/api/projects/{project}/tasks?{task_query}",
                bare="bare_task_list",
                server="drf",
                note="Django REST framework under gunicorn gthread, no token check",
            ),
            Case(
                "drf_task_list_jwt",
                "peer",
                f"{drf}/api/secure/projects/{project}/tasks?{task_query}",
                headers=bearer,
                bare="bare_task_list",
                server="drf",
                note="the same with an EdDSA JWT",
            ),
        ]
    found += [
        # With a cookie, as a returning reader's browser sends: the gateway's micro-cache of
        # anonymous pages is skipped, so these measure the blog's own work on every request.
        Case(
            "blog_home", "blog", f"{base}/", headers=UNCACHED, bare="bare_blog_home", server="blog"
        ),
        Case(
            "blog_post",
            "blog",
            f"{base}/posts/{ids['post']}",
            headers=UNCACHED,
            bare="bare_blog_home",
            server="blog",
        ),
        Case(
            "blog_tag",
            "blog",
            f"{base}/tags/{ids['tag']}",
            headers=UNCACHED,
            bare="bare_blog_home",
            server="blog",
        ),
        Case(
            "blog_feed",
            "blog",
            f"{base}/feed.xml",
            headers=UNCACHED,
            bare="bare_blog_home",
            server="blog",
        ),
        Case(
            "blog_home_cached",
            "gateway",
            f"{base}/",
            bare="bare_blog_home",
            server="blog",
            note="no cookie: answered from the gateway's 2 s micro-cache",
        ),
        Case(
            "api_task_list",
            "api",
            f"{base}/api/v1/projects/{project}/tasks?{task_query}",
            headers=bearer,
            bare="bare_task_list",
            server="api",
        ),
        Case(
            "api_task_get",
            "api",
            f"{base}/api/v1/tasks/{task}",
            headers=bearer,
            bare="bare_task_get",
            server="api",
        ),
        Case(
            "api_task_create",
            "api",
            f"{base}/api/v1/projects/{create_project}/tasks",
            method="POST",
            body=new_task,
            headers=bearer,
            bare="bare_task_create",
            server="api",
        ),
    ]
    if "api_uwsgi" in baselines:
        api_uwsgi, blog_uwsgi = baselines["api_uwsgi"], baselines["blog_uwsgi"]
        found += [
            Case(
                "blog_home_uwsgi",
                "blog",
                f"{blog_uwsgi}/",
                headers=UNCACHED,
                bare="bare_blog_home",
                server="blog_uwsgi",
                note="the blog under uWSGI (deploy/uwsgi.ini)",
            ),
            Case(
                "api_task_list_uwsgi",
                "api",
                f"{api_uwsgi}/api/v1/projects/{project}/tasks?{task_query}",
                headers=bearer,
                bare="bare_task_list",
                server="api_uwsgi",
                note="the api under uWSGI (deploy/uwsgi.ini)",
            ),
        ]
    found += [
        Case("auth_login_page", "auth", f"{base}/auth/login", bare="flask_hello", server="auth"),
        Case(
            "auth_jwks",
            "auth",
            f"{base}/auth/.well-known/jwks.json",
            bare="flask_hello",
            server="auth",
        ),
        Case(
            "auth_token_issue",
            "auth",
            f"{base}/auth/api/token",
            method="POST",
            body=token_body,
            connections=setting("BENCH_TOKEN_CONNECTIONS", 4),
            server="auth",
            note="argon2id bound: fewer connections, reported on its own",
        ),
    ]
    return found  # fmt: skip


def check(case: Case) -> None:
    """One request first: a case that fails outright is a broken harness, not a slow one."""
    body = json.loads(case.body) if case.body else None
    status, content = http(case.url, method=case.method, body=body, headers=case.headers)
    if not 200 <= status < 400:
        raise RuntimeError(f"{case.name}: {case.method} {case.url} answered {status}: "
                           f"{content[:300]!r}")  # fmt: skip


def prepare(base: str) -> dict[str, Any]:
    """Seed the three databases; return the ids and credentials the cases use."""
    pids = dict(item.split("=", 1) for item in os.environ["SMOKE_GUNICORN_PIDS"].split(","))
    environs = {name: stack.service_environ(int(pid)) for name, pid in pids.items()}
    username = os.environ["SMOKE_ADMIN_USERNAME"]
    password = os.environ["SMOKE_ADMIN_PASSWORD"]
    started = time.monotonic()
    token = issue_token(base, username, password)
    seed("auth", environs["auth"])
    seed("blog", environs["blog"])
    seed("api", environs["api"], token_subject(token))
    log(f"seeded in {time.monotonic() - started:.1f}s")
    bearer = {"Authorization": f"Bearer {token}"}
    _, body = http(f"{base}/api/v1/projects?per_page=100&sort=created_at", headers=bearer)
    projects = [item["id"] for item in json.loads(body)["items"]]
    project = projects[len(projects) // 2]
    _, body = http(f"{base}/api/v1/projects/{project}/tasks?per_page=1", headers=bearer)
    task = json.loads(body)["items"][0]["id"]
    return {
        "environs": environs,
        "token": token,
        "username": username,
        "password": password,
        "project": project,
        "create_project": projects[-1],
        "task": task,
        "post": "post-1",
        "tag": first_tag(base),
    }


def options(argv: list[str]) -> argparse.Namespace:
    """The command line; every default comes from the environment (see the module docstring)."""
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=int, default=setting("BENCH_DURATION", 2))
    parser.add_argument("--warmup", type=int, default=setting("BENCH_WARMUP", 1))
    parser.add_argument("--connections", type=int, default=setting("BENCH_CONNECTIONS", 32))
    parser.add_argument("--threads", type=int, default=setting("BENCH_THREADS", 1))
    parser.add_argument("--only", default=os.environ.get("BENCH_ONLY", ""))
    parser.add_argument("--rounds", type=int, default=setting("BENCH_ROUNDS", 5))
    parser.add_argument("--profile", default=os.environ.get("BENCH_PROFILE", ""))
    return parser.parse_args(argv)


def run_order(cases: list[Case]) -> list[Case]:
    """``cases`` with each bare equivalent measured right before the endpoints divided by it,
    so both see the same machine: a ratio of two moments minutes apart is mostly noise."""
    names = {case.name: case for case in cases}
    order: list[Case] = []
    for case in cases:
        if case.group == "baseline" and any(
            other.bare == case.name and other.group != "baseline" for other in cases
        ):
            continue  # placed before its first endpoint
        if case.bare in names and names[case.bare] not in order:
            order.append(names[case.bare])
        if case not in order:
            order.append(case)
    return order + [case for case in cases if case not in order]


def measure(
    case: Case,
    seconds: int,
    warmup: int,
    connections: int,
    threads: int,
    server: int,
    *,
    first_round: bool = True,
) -> Result:
    """Load ``case`` while counting ``server``'s CPU, each load starting once the backlog of the
    one before is done (:func:`cpu.wait_until_quiet`). In the first round, warm up before and
    measure its latency alone (one connection) after; later rounds find the server warm, and
    spend their seconds on more samples of the loaded run instead."""
    cpu.wait_until_quiet()
    if warmup and first_round:
        wrk.run(case, seconds=warmup, connections=connections, threads=threads)
        cpu.wait_until_quiet()
    cpu_before = cpu.tree_cpu_seconds(server)
    result = wrk.run(case, seconds=seconds, connections=connections, threads=threads)
    spent = cpu.tree_cpu_seconds(server) - cpu_before
    result = dataclasses.replace(
        result,
        cpu_us_per_request=round(spent / result.requests * 1e6, 1) if result.requests else None,
    )
    if not first_round:
        return result
    # At 32 connections p50 is mostly queueing; one connection shows a request's own time.
    alone = wrk.run(case, seconds=max(1, seconds // 3), connections=1)
    return dataclasses.replace(
        result,
        p50_alone_ms=alone.p50_ms,
        errors=result.errors + alone.errors,
        error_detail={k: v + alone.error_detail[k] for k, v in result.error_detail.items()},
    )


def server_pid(case: Case, baselines: stack.BaselineStack) -> int:
    """The master process of the server serving ``case`` (a service's gunicorn, a baseline)."""
    pids = dict(item.split("=", 1) for item in os.environ["SMOKE_GUNICORN_PIDS"].split(","))
    if case.server in pids:
        return int(pids[case.server])
    return baselines.pid(case.server)


def pin_servers(baselines: stack.BaselineStack) -> str:
    """Keep wrk (started by this process) and the servers on different cores, if there are two.

    The servers are everything deploy/native.py started (our parent: gunicorns, nginx) and the
    baselines with their gateways; this process, and so every wrk it starts, goes to the last
    core. BENCH_NO_PIN=1 leaves every process where the kernel puts it.
    """
    split = cpu.split_cores()
    if split is None or os.environ.get("BENCH_NO_PIN"):
        return ""
    servers, load = split
    children = cpu.children_map()
    ours = set(cpu.descendants(os.getpid(), children))
    native = [pid for pid in cpu.descendants(os.getppid(), children) if pid not in ours]
    started = [
        pid
        for process in baselines.processes.processes.values()
        for pid in cpu.descendants(process.pid, children)
    ]
    os.sched_setaffinity(0, load)
    cpu.pin([*native, *started], servers)
    return f"servers on cores {sorted(servers)}, wrk on {sorted(load)}"


def sample(
    case: Case, pid: int, seconds: int, connections: int, threads: int, out: Path
) -> dict[str, Any]:
    """Load ``case`` once more with py-spy sampling its server; the profile's summary."""
    out.mkdir(parents=True, exist_ok=True)
    raw = out / f"profile-{case.name}.txt"
    recorder = profile.record(pid, seconds, raw)
    time.sleep(0.5)  # py-spy attaches to every worker first
    wrk.run(case, seconds=seconds, connections=connections, threads=threads)
    _, errors = recorder.communicate(timeout=seconds + 30)
    if recorder.returncode != 0 or not raw.exists():
        raise RuntimeError(f"py-spy failed on {case.name}: {errors.decode(errors='replace')}")
    return profile.summarise(raw)


def main(argv: list[str]) -> int:
    base = os.environ["SMOKE_BASE_URL"]
    args = options(argv)
    seconds, warmup, connections, threads = (
        args.duration,
        args.warmup,
        args.connections,
        args.threads,
    )
    only = {name for name in args.only.split(",") if name}
    rounds = max(1, args.rounds)
    profiled = {name for name in args.profile.split(",") if name}
    if profiled and profile.py_spy() is None:
        raise SystemExit("--profile needs py-spy: pip install py-spy")
    profiles: dict[str, dict[str, Any]] = {}
    out = Path(os.environ.get("BENCH_REPORT_DIR") or ROOT / "reports" / "bench")
    started = time.monotonic()
    ids = prepare(base)
    environs = ids["environs"]
    databases = {
        "BENCH_API_DATABASE_URL": environs["api"]["API_DATABASE_URL"],
        "BENCH_BLOG_DATABASE_URL": environs["blog"]["BLOG_DATABASE_URL"],
        # The peers' token check reads auth's public keys where the api does.
        "BENCH_JWKS_URL": environs["api"]["API_AUTH_JWKS_URL"],
    }
    # The peers and uWSGI join where their packages are installed (nox -s bench installs them).
    peers = all(importlib.util.find_spec(name) for name in PEER_PACKAGES)
    items = stack.baselines(setting("BENCH_BASELINE_PORT", 29101), environs if peers else None)
    cores = len(os.sched_getaffinity(0))
    with (
        tempfile.TemporaryDirectory(prefix="bench-") as workdir,
        stack.running(Path(workdir), items, databases) as baselines,
    ):
        pinning = pin_servers(baselines)
        urls = {item.name: item.url for item in baselines.items}
        selected = [c for c in cases(base, urls, ids) if not only or c.name in only]
        for case in selected:
            try:
                check(case)
            except RuntimeError:
                if case.server in baselines.processes.processes:  # the server's own log
                    log(f"last lines of {case.server}:\n{baselines.processes.tail(case.server)}")
                raise
        log(f"{len(selected)} cases, {seconds}s each after {warmup}s of warm-up, "
            f"{connections} connections")  # fmt: skip
        order = run_order(selected)
        runs: dict[str, list[Result]] = {case.name: [] for case in selected}
        # Rounds interleave (every case once, then again): a ratio compares moments close in
        # time, and a disturbance hits one round of every case rather than every round of one.
        for round_number in range(1, rounds + 1):
            for case in order:
                server = server_pid(case, baselines)
                count = case.connections or connections
                result = measure(
                    case, seconds, warmup, count, threads, server, first_round=round_number == 1
                )
                log(f"round {round_number}, {case.name}: {result.requests_per_second:.0f} req/s, "
                    f"{result.cpu_us_per_request or 0:.0f} us CPU/request, "
                    f"p99 {result.p99_ms:.1f} ms, {result.errors} errors")  # fmt: skip
                runs[case.name].append(result)
        for case in order:
            if case.name in profiled:
                pid = server_pid(case, baselines)
                count = case.connections or connections
                profiles[case.name] = sample(case, pid, seconds, count, threads, out)
    settings = {
        "duration_s": seconds,
        "warmup_s": warmup,
        "connections": connections,
        "token_connections": setting("BENCH_TOKEN_CONNECTIONS", 4),
        "wrk_threads": threads,
        "rounds": rounds,
        "workers": 2,
        "threads": int(os.environ.get("GUNICORN_THREADS") or 4),
        "cores": cores,
        "pinning": pinning,
        "peers": peers,
        "elapsed_s": round(time.monotonic() - started, 1),
    }
    summary = report.build(selected, runs, settings)
    summary["profiles"] = profiles
    summary["hook_costs"] = hookcost.measure_in_subprocess()
    report.write(summary, out)
    print(report.table(summary))
    print(hookcost.describe(summary["hook_costs"]))
    for name, found in profiles.items():
        print("\n" + profile.describe(name, found))
    return report.exit_status(summary["targets"], strict=os.environ.get("BENCH_STRICT") == "1")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
