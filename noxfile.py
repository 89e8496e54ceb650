"""Every way to check, run and measure the project. `nox -l` lists the sessions.

`nox` alone runs what a contributor must pass: lint, typecheck, tests. Sessions that need
servers (PostgreSQL, Redis, nginx, Docker, Chromium) are run by name and by CI.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import nox

ROOT = Path(__file__).parent
CONSTRAINTS = ROOT / "requirements" / "constraints.txt"
KUBERNETES_TOOLS = ROOT / "requirements" / "kubernetes.txt"
PYTHONS = ["3.11", "3.12", "3.13"]

nox.needs_version = ">=2024.10.9"
nox.options.default_venv_backend = "uv|virtualenv"
nox.options.sessions = ["lint", "typecheck", "tests"]

#: The services in the order they are mounted and tested. A service joins by being listed here
#: (and in system/embedded.py); a listed folder that does not exist yet is skipped.
SERVICE_NAMES = ["auth", "blog", "api"]
SERVICES = [
    name for name in SERVICE_NAMES if (ROOT / "services" / name / "pyproject.toml").exists()
]
#: The branch coverage each package's own suite must keep (percent): shared's 95, and each
#: service's figure when the floors were set, rounded down. Raise them as coverage grows.
COVERAGE_FLOORS = {"shared": 95, "auth": 96, "blog": 95, "api": 99}
#: import name of each package, for coverage
IMPORT_NAMES = {"shared": "servicekit", **{name: f"{name}_service" for name in SERVICE_NAMES}}


def package_dir(name: str) -> Path:
    """The folder of a package: shared/ or services/<name>/."""
    return ROOT / "shared" if name == "shared" else ROOT / "services" / name


def install_project(session: nox.Session, *extras: str) -> None:
    """Install shared/ and every service (editable, with ``extras``) from the pinned constraints."""
    suffix = f"[{','.join(extras)}]" if extras else ""
    packages = ["shared", *SERVICES]
    args = [arg for name in packages for arg in ("-e", f"{package_dir(name)}{suffix}")]
    session.install("-c", str(CONSTRAINTS), *args)


def install_tools(session: nox.Session, *tools: str) -> None:
    """Install development tools at the versions pinned in the constraints."""
    session.install("-c", str(CONSTRAINTS), *tools)


def ensure_debian_package(session: nox.Session, package: str, program: str) -> None:
    """Install a Debian package when ``program`` (a name on PATH, or a path) is missing.

    CI machines start fresh and run as root; anyone else is told what to install.
    """
    if shutil.which(program) or Path(f"/usr/sbin/{program}").exists():
        return
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        session.error(f"{program} is missing: `sudo apt-get install {package}` and run again")
    env = {"DEBIAN_FRONTEND": "noninteractive"}
    session.run("apt-get", "update", "-qq", external=True, env=env)
    install = ["apt-get", "install", "-y", "-qq", "--no-install-recommends", package]
    session.run(*install, external=True, env=env)


@nox.session(python=PYTHONS[0])
def lint(session: nox.Session) -> None:
    """ruff (lint and formatting), the pre-commit configuration and the CI workflows.

    ``nox -s lint -- --fix`` lets ruff fix what it can and reformat (the pre-commit hook).
    """
    install_tools(session, "ruff", "pre-commit", "check-jsonschema")
    if "--fix" in session.posargs:
        session.run("ruff", "check", "--fix", ".")
        session.run("ruff", "format", ".")
    else:
        session.run("ruff", "check", ".")
        session.run("ruff", "format", "--check", ".")
    session.run("pre-commit", "validate-config", str(ROOT / ".pre-commit-config.yaml"))
    workflows = sorted(str(path) for path in (ROOT / ".github" / "workflows").glob("*.yml"))
    # The workflow schema ships inside check-jsonschema: checked offline.
    session.run("check-jsonschema", "--builtin-schema", "vendor.github-workflows", *workflows)


@nox.session(python=PYTHONS[0])
def typecheck(session: nox.Session) -> None:
    """mypy --strict on shared/, every service, the embedded runner and the benchmarks."""
    install_project(session, "test")
    tools = ["mypy", "types-flask-migrate", "types-pygments", "types-wtforms", "matplotlib"]
    install_tools(session, *tools)
    # the packages themselves; each package's tests/ is checked by its own suite running
    targets = [str(package_dir("shared") / "src"), "system", "bench", "tools"]
    targets += [str(package_dir(name) / IMPORT_NAMES[name]) for name in SERVICES]
    session.run("mypy", *targets)


def run_package_tests(session: nox.Session, name: str, *extra: str) -> None:
    """Run one package's own suite from its folder, with branch coverage of its package."""
    coverage_file = Path(session.create_tmp()) / f".coverage.{name}"
    args = [
        "pytest",
        f"--cov={IMPORT_NAMES[name]}",
        "--cov-branch",
        "--cov-report=term-missing:skip-covered",
        *extra,
        *session.posargs,
    ]
    args.append(f"--cov-fail-under={COVERAGE_FLOORS[name]}")
    with session.chdir(package_dir(name)):
        session.run(*args, env={"COVERAGE_FILE": str(coverage_file)})


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """Every package's suite and the cross-service tests, with branch coverage (SQLite)."""
    install_project(session, "test")
    for name in ["shared", *SERVICES]:
        run_package_tests(session, name)
    if SERVICES:
        session.run(
            "pytest", "tests", "-m", "not e2e and not smoke and not forks", *session.posargs
        )


POSTGRES_URL = os.environ.get("POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")

_DATABASES_SCRIPT = """
import sys
import psycopg

url, action, names = sys.argv[1], sys.argv[2], sys.argv[3:]
with psycopg.connect(url, autocommit=True) as connection:
    for name in names:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if action == "create":
            connection.execute(f'CREATE DATABASE "{name}"')
"""


def database_url(name: str) -> str:
    """The URL of database ``name`` on the PostgreSQL server of POSTGRES_URL."""
    return POSTGRES_URL.rsplit("/", 1)[0] + "/" + name


@nox.session(python=PYTHONS[0])
def postgres(session: nox.Session) -> None:
    """Every package's suite and the cross-service tests against PostgreSQL.

    Needs a PostgreSQL server: POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/postgres)
    must allow creating databases. Each package gets a database of its own, dropped afterwards.
    """
    install_project(session, "test")
    names = {name: f"nox_{name}_{os.getpid()}" for name in ["shared", *SERVICES, "system"]}
    session.run("python", "-c", _DATABASES_SCRIPT, POSTGRES_URL, "create", *names.values())
    try:
        for name in ["shared", *SERVICES]:
            session.env["TEST_DATABASE_URL"] = database_url(names[name])
            run_package_tests(session, name)
        session.env["TEST_DATABASE_URL"] = database_url(names["system"])
        if SERVICES:
            session.run(
                "pytest", "tests", "-m", "not e2e and not smoke and not forks", *session.posargs
            )
    finally:
        session.run("python", "-c", _DATABASES_SCRIPT, POSTGRES_URL, "drop", *names.values())


@nox.session(python=PYTHONS[0], venv_backend="none")
def lock(session: nox.Session) -> None:
    """Regenerate the pinned requirement files from every pyproject.toml and requirements/dev.in.

    requirements/constraints.txt (from constraints.in) pins everything nox installs, for every
    Python, without hashes (nox installs the local packages editable beside it), except the
    tools of `nox -s kubernetes`, pinned apart in requirements/kubernetes.txt;
    services/<name>/requirements.txt (from requirements.in) pins one service's run-time
    dependencies with hashes, for its container image.
    """
    common = ["uv", "pip", "compile", "--quiet", "--universal", "--python-version", PYTHONS[0]]
    common += ["--custom-compile-command", "nox -s lock"]
    local = ["flask-services-kit", *(f"flask-services-{name}" for name in SERVICES)]
    no_emit = [arg for dist in local for arg in ("--no-emit-package", dist)]
    with session.chdir(ROOT):  # the .in files name local packages relative to the root
        session.run(*common, *no_emit, "requirements/constraints.in", "-o", str(CONSTRAINTS))
        peers = ["bench/peers/requirements.in", "-o", "bench/peers/requirements.txt"]
        session.run(*common, "--generate-hashes", "-c", str(CONSTRAINTS), *peers)
        tools = ["requirements/kubernetes.in", "-o", str(KUBERNETES_TOOLS)]
        session.run(*common, "--generate-hashes", *tools)  # kubectl is a binary: hashed
        for name in SERVICES:
            folder = f"services/{name}"
            session.run(
                *common, "--generate-hashes", *no_emit,
                f"{folder}/requirements.in", "-o", f"{folder}/requirements.txt",
            )  # fmt: skip


# Reused, never rebuilt: `nox -s dev -- auth create-admin` in a second terminal must not delete
# the virtualenv a running `nox -s dev` is serving from. `--reuse-venv=never` rebuilds it.
@nox.session(python=PYTHONS[0], reuse_venv=True)
def dev(session: nox.Session) -> None:
    """The embedded default: the three services in one process on http://127.0.0.1:8000.

    The first start on an empty instance/ makes the demo accounts and posts (development only;
    the README's quick start says more); every start prints the URLs to open.
    """
    install_project(session)
    session.run("python", str(ROOT / "system" / "embedded.py"), *session.posargs)


# --- Forks: one service as a standalone project (tools/fork/, docs/forking.md) ------------------


@nox.session(python=PYTHONS[0])
def fork(session: nox.Session) -> None:
    """One service as a standalone project: `nox -s fork -- blog ../journal --package journal`.

    The service renamed, servicekit vendored, its own pyproject.toml, noxfile, Dockerfile,
    compose.yaml, README, CI and FORKED_FROM (python -m tools.fork --help for the options).
    """
    install_tools(session, "ruff")  # sorts imports and reformats where renaming moved them
    if not session.posargs:
        session.error("usage: nox -s fork -- <service> <target-dir> [--package NAME]")
    with session.chdir(ROOT):
        session.run("python", "-m", "tools.fork", *session.posargs)


@nox.session(python=PYTHONS[0])
def forks(session: nox.Session) -> None:
    """Fork each service into a temporary folder under a new package name and run the fork's
    own `nox` there (lint, typecheck, tests on one Python): tests/forks/.

    Not in the default run (three virtualenvs to build; a few minutes). The forks' sessions run
    on FORKS_PYTHON (default 3.11) with uv and its one wheel cache. Then each fork's README
    steps with Docker (`docker compose up --build`, its pages, `docker compose down -v`) on
    ports FORKS_COMPOSE_PORT (default 18100) + 1, 2, 3; CONTAINERS_KEEP_ENGINE as in containers.
    """
    install_tools(session, "pytest", "ruff")
    # the nox that runs this session runs the forks' noxfiles too
    session.env["FORKS_NOX"] = json.dumps([sys.executable, "-m", "nox"])
    session.env["FORKS_PYTHON"] = os.environ.get("FORKS_PYTHON") or PYTHONS[0]
    # The forks go to a folder of their own in the system's temporary folder, not under .nox/:
    # ruff skips any path inside a .nox folder, so a fork there would be linted (and tidied)
    # not at all; and not beside every other pytest run's, which pytest prunes.
    work = Path(tempfile.gettempdir()) / "flask-services-forks"
    work.mkdir(exist_ok=True)
    session.env["TMPDIR"] = str(work)
    tests = str(ROOT / "tests" / "forks")
    # The README's `docker compose up --build` too, on the engine `nox -s containers` uses; a
    # machine with none skips that part (said in the output), CI (CI=true) never does.
    kit_engine = False
    if os.environ.get("CI") or _docker_answers("info") or (CONTAINERS_KIT / "engine.sh").exists():
        docker, kit_engine = docker_compose(session, standins=["python3.12"])
        session.env["FORKS_COMPOSE"] = json.dumps(docker)
    else:
        session.warn("no Docker engine: the forks' `docker compose` steps are skipped")
    try:
        session.run("pytest", tests, "-m", "forks", "-p", "no:cacheprovider", *session.posargs)
    finally:
        if kit_engine and not os.environ.get("CONTAINERS_KEEP_ENGINE"):
            session.run(str(CONTAINERS_KIT / "engine.sh"), "stop", external=True)


# --- The production configuration, run for real (deploy/, compose.yaml, tests/smoke/) -----------

#: All the traffic of smoke, e2e, bench and containers comes from one address (loopback, or
#: Docker's bridge), many times a real client's rate: the gateway's per-client limits are raised
#: for them. `nox -s faults` keeps the defaults and spreads its load over many addresses.
ONE_ADDRESS_GATEWAY_LIMITS = {
    "NGINX_CLIENT_RATE": "10000r/s",
    "NGINX_CLIENT_BURST": "10000",
    "NGINX_STATIC_RATE": "10000r/s",
    "NGINX_STATIC_BURST": "10000",
    "NGINX_CLIENT_CONNECTIONS": "1000",
}


def raise_gateway_limits(session: nox.Session) -> None:
    """The gateway limits for a session whose clients all share one address (unless set)."""
    for name, value in ONE_ADDRESS_GATEWAY_LIMITS.items():
        session.env[name] = os.environ.get(name) or value


SMOKE_TESTS = ROOT / "tests" / "smoke"
SMOKE_PYTEST = ["python", "-m", "pytest", str(SMOKE_TESTS), "-p", "no:cacheprovider"]
#: The offline Docker kit (a private engine and local stand-ins for the official images).
CONTAINERS_KIT = Path(os.environ.get("CONTAINERS_KIT") or ROOT.parent / "shared" / "containers")
#: compose.yaml's Prometheus image, whose promtool checks deploy/prometheus/.
PROMETHEUS_IMAGE = "prom/prometheus:v2.53.4"


@nox.session(python=PYTHONS[0])
def smoke(session: nox.Session) -> None:
    """The production configuration natively, then the smoke scenario through its gateway.

    gunicorn (deploy/gunicorn.conf.py) + nginx (the gateway template rendered for local
    addresses) + PostgreSQL and Redis from the environment; deploy/native.py starts and stops
    everything (SMOKE_DATABASE_URL, SMOKE_REDIS_URL and SMOKE_PORTS say where) and runs
    tests/smoke/ over HTTP, with two blog replicas (SMOKE_BLOG_REPLICAS).
    """
    ensure_debian_package(session, "nginx", "nginx")
    install_project(session, "server")
    install_tools(session, "pytest", "httpx", "aiosmtpd")  # aiosmtpd: the loopback SMTP server
    # Two blog servers sharing only the databases: an upload written through one is read
    # through the other (tests/smoke/test_images.py).
    session.env["SMOKE_BLOG_REPLICAS"] = os.environ.get("SMOKE_BLOG_REPLICAS") or "2"
    raise_gateway_limits(session)
    session.run("python", str(ROOT / "deploy" / "native.py"), "--", *SMOKE_PYTEST, *session.posargs)


def _kit_output(*command: str) -> str:
    """Run a kit script; its messages go to our stderr, its answer (stdout) is returned."""
    return subprocess.run(command, check=True, stdout=subprocess.PIPE, text=True).stdout.strip()


def _docker_answers(*args: str) -> bool:
    """Whether ``docker <args>`` succeeds (quietly, within a minute)."""
    try:
        done = subprocess.run(["docker", *args], capture_output=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


#: The official images compose.yaml and the Dockerfile name, as the offline kit calls them.
STANDINS = ["python3.12", "nginx", "postgres", "redis", "prometheus", "maildev"]


def docker_compose(session: nox.Session, standins: list[str] = STANDINS) -> tuple[list[str], bool]:
    """Get a Docker engine ready; return the compose command and whether the kit started it.

    A normal engine that can pull images (Docker Desktop, a CI runner) is used as it is. The
    offline kit in $CONTAINERS_KIT (default ../shared/containers) is used when CONTAINERS_KIT is
    set, when no engine answers, or when the engine cannot reach a registry: it starts a private
    engine if needed and builds local stand-ins for the official images (`standins`, by default
    every one compose.yaml and the Dockerfile name).
    """
    kit_asked = bool(os.environ.get("CONTAINERS_KIT"))
    if not kit_asked and _docker_answers("info"):
        if _docker_answers("pull", "--quiet", "redis:7"):
            return ["docker", "compose"], False
        session.log("the Docker engine cannot pull images: using the offline kit's stand-ins")
    if not (CONTAINERS_KIT / "engine.sh").exists():
        session.error(
            "no Docker engine that can pull images, and no offline kit at "
            f"{CONTAINERS_KIT}: start Docker, or set CONTAINERS_KIT"
        )
    start = _kit_output(str(CONTAINERS_KIT / "engine.sh"), "start")
    session.env["DOCKER_HOST"] = start.rsplit("export DOCKER_HOST=", 1)[1].split()[0]
    # The stand-ins are built in a chroot, whose packages' scripts read TMPDIR: a session's own
    # temporary folder (forks sets one) does not exist in there and fails their install.
    session.run(
        str(CONTAINERS_KIT / "standins.sh"),
        *standins,
        external=True,
        env={"TMPDIR": "/tmp"},  # noqa: S108 - the chroot's own /tmp
    )
    return _kit_output(str(CONTAINERS_KIT / "compose.sh")).split(), True


@nox.session(python=PYTHONS[0])
def containers(session: nox.Session) -> None:
    """Every image built, `docker compose up`, the smoke scenario, `docker compose down -v`.

    Uses the Docker engine at hand, or the offline kit where no registry is reachable (CI here;
    see docker_compose()); compose.yaml and the Dockerfile stay standard. CONTAINERS_KEEP_ENGINE=1
    leaves a kit engine running afterwards; CONTAINERS_GATEWAY_PORT (default 8080) and
    CONTAINERS_MAILDEV_PORT (default 1080, Maildev's web UI and REST API, which the scenario
    reads) are published.
    """
    # servicekit for the smoke helpers' CSRF scraper (servicekit.testing), like every suite's
    install_tools(session, "-e", str(package_dir("shared")), "pytest", "httpx")
    port = os.environ.get("CONTAINERS_GATEWAY_PORT", "8080")
    session.env["GATEWAY_PORT"] = port
    prometheus_port = os.environ.get("PROMETHEUS_PORT", "9090")
    session.env["PROMETHEUS_PORT"] = prometheus_port
    raise_gateway_limits(session)
    maildev_port = os.environ.get("CONTAINERS_MAILDEV_PORT", "1080")
    session.env["MAILDEV_PORT"] = maildev_port
    docker, kit_engine = docker_compose(session)
    try:
        # The monitoring configuration is checked by the Prometheus image's own promtool.
        session.run(
            "docker", "run", "--rm", "--entrypoint", "/bin/promtool",
            "--volume", f"{ROOT / 'deploy' / 'prometheus'}:/etc/prometheus:ro",
            PROMETHEUS_IMAGE, "check", "config", "/etc/prometheus/prometheus.yml",
            external=True,
        )  # fmt: skip
        compose = [
            *docker,
            "--project-name",
            "flask-services-ci",
            "--file",
            str(ROOT / "compose.yaml"),
        ]
        try:
            session.run(*compose, "build", external=True)
            session.run(
                *compose, "up", "--detach", "--wait", "--wait-timeout", "300", external=True
            )
            password = "smoke-" + os.urandom(12).hex()
            session.run(
                *compose,
                "run",  # not exec: `run` goes through the image's entrypoint (secrets)
                "--rm",
                "--no-deps",
                "-T",
                "auth",
                "flask",
                "create-admin",
                "--username",
                "smoke-admin",
                "--email",
                "smoke-admin@example.com",
                "--password",
                password,
                external=True,
            )
            session.run(
                *SMOKE_PYTEST,
                *session.posargs,
                env={
                    "SMOKE_BASE_URL": f"http://localhost:{port}",
                    "SMOKE_ADMIN_USERNAME": "smoke-admin",
                    "SMOKE_ADMIN_PASSWORD": password,
                    "SMOKE_COMPOSE": " ".join(compose),
                    "SMOKE_PROMETHEUS_URL": f"http://127.0.0.1:{prometheus_port}",
                    "SMOKE_MAILDEV_URL": f"http://localhost:{maildev_port}",
                },
            )
        except BaseException:
            session.run(*compose, "ps", "--all", external=True, success_codes=range(256))
            session.run(
                *compose,
                "logs",
                "--no-color",
                "--tail",
                "60",
                external=True,
                success_codes=range(256),
            )
            raise
        finally:
            session.run(*compose, "down", "--volumes", "--remove-orphans", external=True)
    finally:
        if kit_engine and not os.environ.get("CONTAINERS_KEEP_ENGINE"):
            session.run(str(CONTAINERS_KIT / "engine.sh"), "stop", external=True)


# --- Benchmarks (bench/, docs/benchmarks.md) -----------------------------------------------------


@nox.session(python=PYTHONS[0])
def bench(session: nox.Session) -> None:
    """Requests/s and latency of every endpoint and of the baselines, on the production stack.

    deploy/native.py starts the stack as `nox -s smoke` does; bench/run.py seeds it, starts the
    baselines, the peers (bench/peers/: FastAPI, Django REST framework) and the services under
    uWSGI, loads each case with wrk (pinned to a core of its own) and writes reports/bench/
    (table, JSON, PNG). Options after `--`: --duration S, --connections N, --warmup S,
    --rounds N, --only case,case, --profile case (docs/benchmarks.md).
    """
    ensure_debian_package(session, "nginx", "nginx")
    ensure_debian_package(session, "wrk", "wrk")
    install_project(session, "server")
    install_tools(session, "matplotlib", "py-spy", "aiosmtpd")  # aiosmtpd: the loopback SMTP
    # The peers (FastAPI, Django REST framework) and uWSGI: pinned apart, installed only here.
    session.install(
        "-c", str(CONSTRAINTS), "-r", str(ROOT / "bench" / "peers" / "requirements.txt")
    )
    # The rate limits stay in place (their Redis round trip is part of the cost); only their
    # budgets are raised, or wrk's thousands of requests would measure 429 answers.
    # The per-account login budget counts successful sign-ins too (one account issues every
    # token of the auth_token_issue case).
    for name in ("API_RATE_LIMIT", "AUTH_LOGIN_RATE_LIMIT_IP", "AUTH_LOGIN_RATE_LIMIT_ACCOUNT"):
        session.env.setdefault(name, os.environ.get(name) or "1000000 per minute")
    raise_gateway_limits(session)
    # wrk alone, from one address, at the gateway's micro-cache (blog_home_cached) sends tens of
    # thousands of requests a second: above the one-address limits, or it measures 503 answers.
    cache_limits = {"NGINX_CLIENT_RATE": "1000000r/s", "NGINX_CLIENT_BURST": "1000000"}
    for name, value in cache_limits.items():
        session.env[name] = os.environ.get(name) or value
    # The servers run on every core but the last, which wrk gets (bench/run.py, pin_servers):
    # one gateway worker per server core, as nginx's "auto" gives one per core it may use.
    if not os.environ.get("BENCH_NO_PIN"):
        server_cores = max(1, len(os.sched_getaffinity(0)) - 1)
        workers = os.environ.get("NGINX_WORKER_PROCESSES") or str(server_cores)
        session.env["NGINX_WORKER_PROCESSES"] = workers
    # Ports and a Redis database of its own (below 32768: outside Linux's ephemeral ports), so
    # it can run beside smoke and e2e; the stack's work folder in the session's own tmp.
    session.env["SMOKE_PORTS"] = os.environ.get("SMOKE_PORTS") or "18201,18202,18203,18280"
    redis_url = os.environ.get("SMOKE_REDIS_URL") or "redis://127.0.0.1:6379/12"
    session.env["SMOKE_REDIS_URL"] = redis_url
    session.env["TMPDIR"] = session.create_tmp()
    command = ["python", "-m", "bench.run", *session.posargs]
    session.run("python", str(ROOT / "deploy" / "native.py"), "--", *command)


# --- Security (tests/security/, docs/security.md) ----------------------------------------------


@nox.session(python=PYTHONS[0])
def security(session: nox.Session) -> None:
    """The production stack attacked from outside, with figures: operations, cases, failures.

    ruff's S rules (bandit's checks) over the code; then deploy/native.py starts the stack as
    for `nox -s smoke` (ports and a Redis database of its own) and tests/security/scan.py runs
    schemathesis against the api's and auth's OpenAPI documents through the gateway (every
    phase, stateful links included) and the gateway checks (headers, limits, forged Host and
    X-Forwarded-*). Fails on any server error, schema violation or failed check.
    """
    ensure_debian_package(session, "nginx", "nginx")
    install_project(session, "server")
    install_tools(session, "ruff", "pytest", "httpx", "schemathesis", "aiosmtpd")  # native SMTP
    # Bandit's checks, as ruff's S rules (S101, assert, is off in pyproject.toml, as here): no
    # finding, then the count of each rule silenced on a line with a noqa comment and a reason.
    session.run("ruff", "check", "--select", "S", "--ignore", "S101", ".")
    silenced = ["--statistics", "--ignore-noqa", "--exit-zero"]
    session.run("ruff", "check", "--select", "S", "--ignore", "S101", *silenced, ".")
    # The fuzzer must reach the code behind the limits: their budgets are raised, not removed
    # (the limits' own behaviour is tested in each service's suite and in tests/smoke).
    for name in ("API_RATE_LIMIT", "AUTH_LOGIN_RATE_LIMIT_IP", "AUTH_LOGIN_RATE_LIMIT_ACCOUNT"):
        session.env.setdefault(name, os.environ.get(name) or "1000000 per minute")
    raise_gateway_limits(session)
    session.env["SMOKE_PORTS"] = os.environ.get("SMOKE_PORTS") or "18301,18302,18303,18380"
    redis_url = os.environ.get("SMOKE_REDIS_URL") or "redis://127.0.0.1:6379/11"
    session.env["SMOKE_REDIS_URL"] = redis_url
    session.env["TMPDIR"] = session.create_tmp()
    scan = ["python", str(ROOT / "tests" / "security" / "scan.py"), *session.posargs]
    session.run("python", str(ROOT / "deploy" / "native.py"), "--", *scan)


# --- Faults under load (tests/faults/, docs/operations.md) --------------------------------------


@nox.session(python=PYTHONS[0])
def faults(session: nox.Session) -> None:
    """One fault at a time (Redis frozen, killed; PostgreSQL restarted; a worker killed; a
    reload; 3,000 idle connections; a slow upload) under a steady load, and a table of the cost.

    deploy/native.py starts the stack with a private Redis and a private PostgreSQL
    (SMOKE_OWN_REDIS=1, SMOKE_OWN_POSTGRES=1: the machine's shared ones are never touched) and
    the gateway's default per-client limits; tests/faults/run.py loads it and injects the
    faults. Fails on a security violation, a hung request or a lost write. Options after `--`
    (`--clients`, `--rate`, `--only`, ...): `python -m tests.faults.run --help`.
    """
    ensure_debian_package(session, "nginx", "nginx")
    install_project(session, "server")
    install_tools(session, "httpx", "aiosmtpd")  # aiosmtpd: native.py's loopback SMTP server
    session.env["SMOKE_OWN_REDIS"] = "1"
    session.env["SMOKE_OWN_POSTGRES"] = "1"
    session.env["SMOKE_PORTS"] = os.environ.get("SMOKE_PORTS") or "18401,18402,18403,18480"
    session.env["TMPDIR"] = session.create_tmp()
    command = ["python", "-m", "tests.faults.run", *session.posargs]
    session.run("python", str(ROOT / "deploy" / "native.py"), "--", *command)


# --- The browser tests (tests/e2e/): Playwright driving Debian's Chromium -----------------------

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
#: axe-core, the accessibility checker the browser tests run in every page of the journey.
AXE_CORE = "axe-core@4.14"


@nox.session(python=PYTHONS[0])
def e2e(session: nox.Session) -> None:
    """The browser tests: headless Chromium through the gateway of the production-like stack.

    deploy/native.py starts gunicorn + nginx + PostgreSQL + Redis as for `nox -s smoke` (on ports
    and a Redis database of its own, so both can run at once; SMOKE_PORTS and SMOKE_REDIS_URL
    override them) and runs `pytest tests/e2e -m e2e` against it. A failure leaves screenshots
    and a Playwright trace in test-results/; every page of the journey leaves a screenshot at
    1280 and 360 px width in test-results/look/, checked with axe-core (npm, fetched into the
    session's folder: nothing is vendored into the repository).
    """
    ensure_debian_package(session, "nginx", "nginx")
    ensure_debian_package(session, "chromium", str(CHROMIUM))
    ensure_debian_package(session, "npm", "npm")
    install_project(session, "server")
    install_tools(session, "pytest", "playwright", "aiosmtpd")
    raise_gateway_limits(session)
    session.env["CHROMIUM"] = str(CHROMIUM)
    session.env["SMOKE_PORTS"] = os.environ.get("SMOKE_PORTS") or "18101,18102,18103,18180"
    redis_url = os.environ.get("SMOKE_REDIS_URL") or "redis://127.0.0.1:6379/13"
    session.env["SMOKE_REDIS_URL"] = redis_url
    # The stack's work folder and the browser profiles in the session's own temporary folder.
    session.env["TMPDIR"] = session.create_tmp()
    axe = Path(session.env["TMPDIR"]) / "axe"
    npm_install = ["npm", "install", "--prefix", str(axe), "--no-audit", "--no-fund", AXE_CORE]
    session.run(*npm_install, "--silent", external=True)
    session.env["AXE_SCRIPT"] = str(axe / "node_modules" / "axe-core" / "axe.min.js")
    pytest = ["python", "-m", "pytest", str(ROOT / "tests" / "e2e"), "-m", "e2e"]
    pytest += ["-p", "no:cacheprovider", *session.posargs]
    session.run("python", str(ROOT / "deploy" / "native.py"), "--", *pytest)


# --- Past one host: Docker Swarm (deploy/swarm/) and Kubernetes (deploy/kubernetes/) ----------

SWARM_STACK = "flask-services-swarm"
#: The Swarm secrets deploy/swarm/stack.yaml names <- the files deploy/init_secrets.py writes.
SWARM_SECRETS = {
    "auth_secret_key": "auth/secret_key",
    "auth_pgpass": "auth/pgpass",
    "auth_totp_key": "auth/totp_key",
    "blog_secret_key": "blog/secret_key",
    "blog_pgpass": "blog/pgpass",
    "api_secret_key": "api/secret_key",
    "api_pgpass": "api/pgpass",
    "postgres_password": "db/postgres_password",
    "auth_db_password": "db/auth_password",
    "blog_db_password": "db/blog_password",
    "api_db_password": "db/api_password",
}
#: The stack's named volumes (stack.yaml's `volumes:`), removed with it.
SWARM_NAMED_VOLUMES = [f"{SWARM_STACK}_postgres-data", f"{SWARM_STACK}_redis-data"]
#: The replicas stack.yaml asks for: the stack is up when the gateway and these all run.
SWARM_REPLICAS = {"auth": 2, "blog": 2, "api": 3, "auth-mail": 1, "maildev": 1, "gateway": 1}


def _wait_for(session: nox.Session, what: str, check: Callable[[], bool], timeout: float) -> None:
    """Poll ``check`` every 2 s until it is true; fail the session after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            session.error(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(2)


def _docker(*args: str) -> str:
    """A docker command's output (DOCKER_HOST from our environment).

    A failure raises with the command's own output: captured and dropped, it left a failed
    swarm run with nothing to say why.
    """
    done = subprocess.run(["docker", *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        # The first words only: later arguments may be a password.
        raise RuntimeError(
            f"docker {' '.join(args[:2])} ... failed ({done.returncode}):\n"
            f"{done.stdout[-2000:]}{done.stderr[-2000:]}"
        )
    return done.stdout


def _show_bounded(session: nox.Session, *args: str) -> None:
    """Print a docker command's output, waiting 20 s at most: `docker service logs` waited for
    a task that was going away until someone killed it, and the cleanup after it never ran."""
    command = ["docker", *args]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=20, check=False)
    except subprocess.TimeoutExpired:
        session.log(f"{' '.join(command)}: no answer within 20 s")
        return
    print(f"$ {' '.join(command)}\n{done.stdout}{done.stderr}", flush=True)


def _answers(url: str) -> bool:
    """True if ``url`` answers 2xx within 3 s."""
    try:
        with urllib.request.urlopen(url, timeout=3):  # noqa: S310 - our own http:// URL
            return True
    except OSError:
        return False


def _swarm_ready(base_url: str) -> bool:
    """Every service ready through the gateway and every replica running."""
    if not all(_answers(f"{base_url}{prefix}/readyz") for prefix in ("/auth", "", "/api")):
        return False
    label = f"label=com.docker.stack.namespace={SWARM_STACK}"
    listing = _docker("service", "ls", "--filter", label, "--format", "{{.Name}} {{.Replicas}}")
    running = dict(line.split(" ", 1) for line in listing.splitlines())
    # The migration jobs too ("0/1 (1/1 completed)"): the services start and answer /readyz
    # before their tables exist, and `flask create-admin` right after failed on a fresh deploy.
    migrated = all(
        "(1/1 completed)" in running.get(f"{SWARM_STACK}_{name}-migrate", "")
        for name in ("auth", "blog", "api")
    )
    return migrated and all(
        running.get(f"{SWARM_STACK}_{name}", "").startswith(f"{count}/{count}")
        for name, count in SWARM_REPLICAS.items()
    )


def _create_swarm_secrets(session: nox.Session, folder: Path) -> None:
    """Generate every secret into ``folder`` (deploy/init_secrets.py), hand them to the swarm,
    delete the files: from then on they exist only in the swarm's encrypted store."""
    session.run("python", str(ROOT / "deploy" / "init_secrets.py"), str(folder), silent=True)
    try:
        for name, relative in SWARM_SECRETS.items():
            _docker("secret", "create", name, str(folder / relative))
        (signing_key,) = (folder / "auth" / "signing-keys").glob("*.pem")
        _docker("secret", "create", "auth_signing_key", str(signing_key))
    finally:
        shutil.rmtree(folder)


def _dangling_volumes() -> set[str]:
    """The engine's volumes no container uses."""
    return set(_docker("volume", "ls", "--quiet", "--filter", "dangling=true").split())


def _remove_swarm_stack(session: nox.Session, volumes_before: set[str]) -> None:
    """`docker stack rm`, then what it leaves: the finished jobs' containers, the volumes (the
    named ones, and the tasks' anonymous scratch volumes: dangling now, not before the deploy)."""
    session.run("docker", "stack", "rm", SWARM_STACK, external=True, success_codes=range(256))
    label = f"label=com.docker.stack.namespace={SWARM_STACK}"
    stopped = lambda: not _docker("ps", "-q", "--filter", label).strip()  # noqa: E731
    _wait_for(session, "the stack's containers to stop", stopped, 120)
    leftovers = _docker("ps", "-aq", "--filter", label).split()
    if leftovers:
        # Swarm removes them itself meanwhile: "no such container" or "removal already in
        # progress" is fine, what counts is that none is left.
        subprocess.run(["docker", "rm", "--force", *leftovers], check=False, capture_output=True)
        removed = lambda: not _docker("ps", "-aq", "--filter", label).strip()  # noqa: E731
        _wait_for(session, "the stack's containers to be removed", removed, 60)
    volumes = [*SWARM_NAMED_VOLUMES, *sorted(_dangling_volumes() - volumes_before)]
    session.run("docker", "volume", "rm", "--force", *volumes, external=True, silent=True)


@nox.session(python=PYTHONS[0])
def swarm(session: nox.Session) -> None:
    """deploy/swarm/stack.yaml on a one-node Docker Swarm: smoke scenario, rolling update.

    With the Docker engine `nox -s containers` uses (the offline kit's here;
    CONTAINERS_KEEP_ENGINE=1 leaves a kit engine running): `docker swarm init`, the three images
    built, the secrets generated straight into `docker secret create`, `docker stack deploy`,
    the smoke journey through the gateway (SWARM_GATEWAY_PORT, default 8090; the mail catcher's
    API on SWARM_MAILDEV_PORT, default 1090), then every service
    rolled while a bounded load runs (deploy/swarm/rolling_update.py prints requests, failures
    and the update time; one failed request fails the session, SWARM_REPORT_ONLY=1 only prints
    it). At the end, whatever happened: the stack and its volumes removed, the swarm left (its
    secrets with it).
    """
    # deploy/init_secrets.py makes the signing key with auth's own key writer
    install_tools(session, "-e", str(package_dir("shared")), "-e", str(package_dir("auth")))
    install_tools(session, "pytest", "httpx")
    compose, kit_engine = docker_compose(session)  # the engine, as `nox -s containers` finds it
    # The docker commands below (our own, and `docker stack deploy` reading its variables) use
    # this process's environment: set here, restored at the end.
    saved_environment = dict(os.environ)
    if session.env.get("DOCKER_HOST"):
        os.environ["DOCKER_HOST"] = str(session.env["DOCKER_HOST"])
    port = os.environ.get("SWARM_GATEWAY_PORT", "8090")
    base_url = f"http://127.0.0.1:{port}"
    maildev_port = os.environ.get("SWARM_MAILDEV_PORT", "1090")
    os.environ.update({"GATEWAY_PORT": port, "MAILDEV_PORT": maildev_port, "TAG": "latest"})
    # The rolling update's load stands for many users but comes from one address and reads the
    # API with one token at 5 requests a second: exactly the default per-token budget (300 a
    # minute), and the gateway's per-client rate is 20 a second. Both raised (stack.yaml reads
    # them), so a limit doing its job is not counted as a request the update lost.
    os.environ["API_RATE_LIMIT"] = "1000000 per minute"
    os.environ.update(ONE_ADDRESS_GATEWAY_LIMITS)
    stack = ["docker", "stack"]
    try:
        session.run(*compose, "--file", str(ROOT / "compose.yaml"), "build", "auth", "blog", "api",
                    external=True)  # fmt: skip
        if _docker("info", "--format", "{{.Swarm.LocalNodeState}}").strip() != "inactive":
            session.error("this engine is already part of a swarm: leave it first")
        # A run stopped before its cleanup leaves the database volume, holding the passwords of
        # that run's secrets: this run's new ones would be refused.
        _docker("volume", "rm", "--force", *SWARM_NAMED_VOLUMES)
        volumes_before = _dangling_volumes()
        _docker("swarm", "init", "--advertise-addr", "127.0.0.1")
        try:
            _create_swarm_secrets(session, Path(session.create_tmp()) / "swarm-secrets")
            deployed = time.monotonic()
            stack_file = str(ROOT / "deploy" / "swarm" / "stack.yaml")
            session.run(*stack, "deploy", "--compose-file", stack_file, SWARM_STACK, external=True)
            _wait_for(session, "every replica", lambda: _swarm_ready(base_url), 300)
            session.log(f"stack ready {time.monotonic() - deployed:.0f} s after the deploy")

            auth_task = _docker("ps", "-q", "--filter", f"name={SWARM_STACK}_auth.1.").split()[0]
            password = "smoke-" + os.urandom(12).hex()
            admin = ["--username", "smoke-admin", "--email", "smoke-admin@example.com"]
            _docker(
                "exec", auth_task, "sh", "/app/deploy/docker-entrypoint.sh",
                "flask", "create-admin", *admin, "--password", password,
            )  # fmt: skip
            session.run(
                *SMOKE_PYTEST, "-k", "journey or replica or image", *session.posargs,
                env={
                    "SMOKE_BASE_URL": base_url,
                    "SMOKE_ADMIN_USERNAME": "smoke-admin",
                    "SMOKE_ADMIN_PASSWORD": password,
                    # the stack's mail catcher: the journey verifies its address from the email
                    "SMOKE_MAILDEV_URL": f"http://localhost:{maildev_port}",
                },
            )  # fmt: skip

            credentials = json.dumps({"username": "smoke-admin", "password": password}).encode()
            token_request = urllib.request.Request(  # noqa: S310 - our own http:// URL
                f"{base_url}/auth/api/token", data=credentials,
                headers={"Content-Type": "application/json"},
            )  # fmt: skip
            with urllib.request.urlopen(token_request, timeout=10) as answer:  # noqa: S310
                token = json.load(answer)["access_token"]
            session.run(
                "python", str(ROOT / "deploy" / "swarm" / "rolling_update.py"),
                "--base-url", base_url, "--stack", SWARM_STACK, "--token", token,
                # A failed request fails the session; SWARM_REPORT_ONLY=1 only prints it (to
                # measure on a machine known to be overloaded, never in CI).
                *(["--report-only"] if os.environ.get("SWARM_REPORT_ONLY") == "1" else []),
            )  # fmt: skip
            # The gateway last, without load: one host port, so its old task stops first.
            updated = time.monotonic()
            _docker("service", "update", "--force", "--quiet", f"{SWARM_STACK}_gateway")
            _wait_for(session, "the gateway back", lambda: _swarm_ready(base_url), 120)
            session.log(f"gateway replaced in {time.monotonic() - updated:.0f} s (not under load)")
        except BaseException:
            session.run("docker", "service", "ls", external=True, success_codes=range(256))
            for name in ("auth-migrate", "blog-migrate", "api-migrate", *SWARM_REPLICAS):
                service = f"{SWARM_STACK}_{name}"
                for command in (["ps", "--no-trunc"], ["logs", "--tail", "30"]):
                    _show_bounded(session, "service", *command, service)
            raise
        finally:
            try:
                _remove_swarm_stack(session, volumes_before)
            finally:
                _docker("swarm", "leave", "--force")  # its secrets and configs go with it
    finally:
        if kit_engine and not os.environ.get("CONTAINERS_KEEP_ENGINE"):
            session.run(str(CONTAINERS_KIT / "engine.sh"), "stop", external=True)
        os.environ.clear()
        os.environ.update(saved_environment)


#: deploy/kubernetes/overlays/*: each is rendered, validated and checked by `nox -s kubernetes`.
KUBERNETES = ROOT / "deploy" / "kubernetes"
#: The Kubernetes releases the manifests must be valid for: the oldest and newest supported.
KUBERNETES_VERSIONS = ["1.30.0", "1.37.0"]


@nox.session(python=PYTHONS[0])
def kubernetes(session: nox.Session) -> None:
    """Render every overlay of deploy/kubernetes/ and check it, offline.

    `kubectl kustomize` (the kustomize built into kubectl: what `kubectl apply -k` applies)
    writes each overlay into the session's tmp folder; kubernetes-validate checks every object
    against the OpenAPI schemas of Kubernetes 1.30 and 1.37, strictly (an unknown field fails);
    checkov checks them against its Kubernetes security policies (deploy/kubernetes/checkov.yaml
    says which are skipped and why); then the gateway's Kubernetes-only nginx file is run in
    nginx (tests/deploy/test_gateway_real_ip.py). Tools pinned in requirements/kubernetes.txt.
    """
    session.install("-r", str(KUBERNETES_TOOLS))
    rendered = Path(session.create_tmp()) / "kubernetes"
    rendered.mkdir(exist_ok=True)
    overlays = sorted(path for path in (KUBERNETES / "overlays").iterdir() if path.is_dir())
    files = []
    for overlay in overlays:
        output = rendered / f"{overlay.name}.yaml"
        session.run("kubectl", "kustomize", str(overlay), "--output", str(output), silent=True)
        kinds = [line[6:] for line in output.read_text().splitlines() if line.startswith("kind: ")]
        summary = ", ".join(f"{kinds.count(kind)} {kind}" for kind in sorted(set(kinds)))
        session.log(f"{overlay.name}: {len(kinds)} objects ({summary})")
        files.append(str(output))
    for version in KUBERNETES_VERSIONS:
        session.run("kubernetes-validate", "--strict", "--quiet", "-k", version, *files)
    config = str(KUBERNETES / "checkov.yaml")
    session.run(
        "checkov", "--config-file", config, *(arg for file in files for arg in ("-f", file))
    )
    # The one file the Kubernetes gateway adds to the shared template, run in a real nginx.
    ensure_debian_package(session, "nginx", "nginx")
    test = str(ROOT / "tests" / "deploy" / "test_gateway_real_ip.py")
    session.run("python", "-m", "pytest", test, "-p", "no:cacheprovider", *session.posargs)
