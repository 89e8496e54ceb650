"""The smoke scenario runs against a started stack only: `nox -s smoke` (native gunicorn + nginx)
or `nox -s containers` (docker compose). They set SMOKE_BASE_URL, the gateway's address;
without it nothing here is collected, so a plain `pytest tests` never tries to reach a server.

What the harness passes on:

    SMOKE_BASE_URL         the gateway, e.g. http://127.0.0.1:18080 or http://localhost:8080
    SMOKE_ADMIN_USERNAME   an admin created with `flask --app auth_service create-admin`
    SMOKE_ADMIN_PASSWORD
    SMOKE_LOG_DIR          native only: <name>.log per process (gateway, auth, blog, api)
    SMOKE_GUNICORN_PIDS    native only: "auth=PID,blog=PID,api=PID", the gunicorn masters
    SMOKE_SERVICE_PORTS    native only: "auth=PORT,blog=PORT,api=PORT", gunicorn on loopback
    SMOKE_COMPOSE          containers only: the compose command of the running project
                           (e.g. "docker compose --project-name x --file compose.yaml")
    SMOKE_OWN_REDIS=1      native only: a private Redis the tests may freeze, kill and restart
                           (SMOKE_REDIS_URL/PID/PIDFILE/RESTART, see support.py)

This module holds fixtures only; the helpers they and the tests use are in support.py.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.smoke.support import (
    COMPOSE,
    PASSWORD,
    LogReader,
    OwnRedis,
    compose,
    log_in,
    promote_to_author,
    register,
    token_claims,
    verify_email,
)

if TYPE_CHECKING:  # httpx is installed by the smoke sessions only, not by `nox -s tests`
    import httpx

BASE_URL = os.environ.get("SMOKE_BASE_URL", "")

if not BASE_URL:
    collect_ignore_glob = ["test_*.py"]


@pytest.fixture(scope="session")
def base_url() -> str:
    return BASE_URL.rstrip("/")


@pytest.fixture
def browser(base_url: str) -> Iterator[httpx.Client]:
    """A client that keeps cookies like a browser and follows no redirect by itself."""
    import httpx

    with httpx.Client(base_url=base_url, timeout=30, follow_redirects=False) as client:
        yield client


@pytest.fixture(scope="session")
def admin_credentials() -> tuple[str, str]:
    username = os.environ.get("SMOKE_ADMIN_USERNAME")
    password = os.environ.get("SMOKE_ADMIN_PASSWORD")
    if not username or not password:
        pytest.fail("the harness must create an admin and pass SMOKE_ADMIN_USERNAME/PASSWORD")
    return username, password


@pytest.fixture
def unique() -> str:
    """A suffix that keeps names unique across runs against the same databases."""
    return secrets.token_hex(4)


@pytest.fixture(scope="session")
def read_logs() -> LogReader:
    """Everything one process (gateway, auth, blog, api) has logged so far."""
    log_dir = os.environ.get("SMOKE_LOG_DIR")
    if log_dir:
        return lambda name: (Path(log_dir) / f"{name}.log").read_text(errors="replace")
    if COMPOSE:
        return lambda name: compose("logs", "--no-color", name)
    pytest.skip("the harness gives no access to the logs")


@pytest.fixture
def own_redis() -> Iterator[OwnRedis]:
    """The run's private Redis (SMOKE_OWN_REDIS=1), running again after the test whatever it did.

    Skips the test when the run has no private server: the shared one is never frozen.
    """
    server = OwnRedis.from_env()
    try:
        yield server
    finally:
        server.thaw_or_restart()


@pytest.fixture
def author(
    browser: httpx.Client, base_url: str, admin_credentials: tuple[str, str], unique: str
) -> httpx.Client:
    """The browser, signed in as a new author."""
    username = f"images-{unique}"
    register(browser, username)
    verify_email(browser, username)  # only a verified address can be made author
    promote_to_author(
        base_url, admin_credentials, str(token_claims(browser.cookies["identity"])["sub"])
    )
    assert log_in(browser, username, PASSWORD).status_code == 302
    return browser
