"""Every way to check, run and measure the project. `nox -l` lists the sessions.

`nox` alone runs what a contributor must pass: lint, typecheck, tests. Sessions that need
servers (PostgreSQL, Redis, nginx, Docker, Chromium) are run by name and by CI.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import nox

ROOT = Path(__file__).parent
CONSTRAINTS = ROOT / "requirements" / "constraints.txt"
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


@nox.session(python=PYTHONS[0])
def lint(session: nox.Session) -> None:
    """ruff: lint and formatting."""
    install_tools(session, "ruff")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session(python=PYTHONS[0])
def typecheck(session: nox.Session) -> None:
    """mypy --strict on shared/ and every service."""
    install_project(session, "test")
    install_tools(session, "mypy", "types-flask-migrate")
    targets = [str(package_dir("shared") / "src"), "system"]
    targets += [str(package_dir(name)) for name in SERVICES]
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
    if name == "shared":
        args.append("--cov-fail-under=95")
    with session.chdir(package_dir(name)):
        session.run(*args, env={"COVERAGE_FILE": str(coverage_file)})


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """Every package's suite and the cross-service tests, with branch coverage (SQLite)."""
    install_project(session, "test")
    for name in ["shared", *SERVICES]:
        run_package_tests(session, name)
    if SERVICES:
        session.run("pytest", "tests", "-m", "not e2e and not smoke", *session.posargs)


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
            session.run("pytest", "tests", "-m", "not e2e and not smoke", *session.posargs)
    finally:
        session.run("python", "-c", _DATABASES_SCRIPT, POSTGRES_URL, "drop", *names.values())


@nox.session(python=PYTHONS[0], venv_backend="none")
def lock(session: nox.Session) -> None:
    """Regenerate the pinned requirement files from every pyproject.toml and requirements/dev.in.

    requirements/constraints.txt pins everything nox installs (all Pythons, no hashes: nox
    installs editable local packages beside it); services/<name>/requirements.txt pins one
    service's run-time dependencies with hashes, for its container image.
    """
    common = ["uv", "pip", "compile", "--quiet", "--universal", "--python-version", PYTHONS[0]]
    common += ["--custom-compile-command", "nox -s lock"]
    local = ["flask-services-kit", *(f"flask-services-{name}" for name in SERVICES)]
    no_emit = [arg for dist in local for arg in ("--no-emit-package", dist)]
    with tempfile.TemporaryDirectory() as tmp:
        everything = Path(tmp) / "all.in"
        lines = ["./shared[test]", *(f"./services/{name}[test,server]" for name in SERVICES)]
        lines.append("-r requirements/dev.in")
        everything.write_text("\n".join(lines) + "\n")
        session.run(*common, *no_emit, str(everything), "-o", str(CONSTRAINTS), external=True)
        for name in SERVICES:
            service_in = Path(tmp) / f"{name}.in"
            service_in.write_text(f"./shared\n./services/{name}[server]\n")
            output = package_dir(name) / "requirements.txt"
            session.run(
                *common,
                "--generate-hashes",
                *no_emit,
                str(service_in),
                "-o",
                str(output),
                external=True,
            )


@nox.session(python=PYTHONS[0])
def dev(session: nox.Session) -> None:
    """The embedded default: the three services in one process on http://127.0.0.1:8000."""
    install_project(session)
    session.run("python", str(ROOT / "system" / "embedded.py"), *session.posargs)
