"""Each service forked into a temporary folder under a new package name, then the fork's own
`nox` (lint, typecheck, tests) run there: a fork is a project that passes its own checks.

Then each fork's README steps with Docker, as written: `docker compose up --build` (detached,
under a project name and COMPOSE_PORT of its own), its pages on the published port, and
`docker compose down -v`.

Run by `nox -s forks` (FORKS_NOX says which nox, FORKS_PYTHON which Python the forks' sessions
use, FORKS_COMPOSE the compose command on a ready engine: without it the Docker tests skip).
The three forks' checks run at once, each in its own process: most of their time is waiting on
installs and on the database, and one run takes minutes instead of three times that; so do their
`docker compose up --build`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tools.fork import fork

ROOT = Path(__file__).resolve().parents[2]
#: service -> the package its fork gets: shorter and longer than upstream's names, sorting
#: before and after servicekit (so imports move and lines grow)
FORK_PACKAGES = {"blog": "journal", "api": "task_tracker", "auth": "accounts"}

pytestmark = pytest.mark.forks


@pytest.fixture(scope="module")
def written_forks(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every service forked: service -> the fork's folder."""
    base = tmp_path_factory.mktemp("forks")
    assert ".nox" not in base.parts, "ruff skips paths inside .nox/: run with TMPDIR elsewhere"
    return {
        service: fork(ROOT, service, base / package, package)
        for service, package in FORK_PACKAGES.items()
    }


@pytest.fixture(scope="module")
def checked_forks(written_forks: dict[str, Path]) -> dict[str, tuple[Path, int]]:
    """Every fork's `nox` run: service -> its folder (with nox.log) and nox's exit status."""
    nox = json.loads(os.environ.get("FORKS_NOX") or "null") or [sys.executable, "-m", "nox"]
    python = os.environ.get("FORKS_PYTHON", "3.11")
    env = {key: value for key, value in os.environ.items() if not key.startswith("VIRTUAL_ENV")}
    processes: dict[str, subprocess.Popen[bytes]] = {}
    folders: dict[str, Path] = {}
    for service, package in FORK_PACKAGES.items():
        folder = written_forks[service]
        # each fork's own pytest keeps its temporary folders apart: pytest prunes old runs
        # of a shared one, and this test's folders are one of them
        scratch = folder.parent / f"{package}.tmp"
        scratch.mkdir()
        with (folder / "nox.log").open("wb") as log:  # the child keeps its own descriptor
            processes[service] = subprocess.Popen(
                [*nox, "--force-python", python, "--no-color"],
                cwd=folder,
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**env, "TMPDIR": str(scratch)},
            )
        folders[service] = folder
    try:
        for process in processes.values():
            process.wait(timeout=1800)
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.kill()
                process.wait()
    return {service: (folders[service], processes[service].returncode) for service in folders}


@pytest.mark.parametrize("service", sorted(FORK_PACKAGES))
def test_fork_passes_its_own_nox(checked_forks: dict[str, tuple[Path, int]], service: str) -> None:
    folder, status = checked_forks[service]
    log = (folder / "nox.log").read_text(errors="replace")
    summary = log[log.rfind("nox > Ran ") :] if "nox > Ran " in log else log[-4000:]
    print(f"--- {service} fork ({folder}):\n{summary}")
    assert status == 0, log[-8000:]
    assert "Ran 3 sessions" in summary, log[-8000:]


#: service -> the page besides /healthz its README's `docker compose up` must serve: the status
#: and the start of the media type
COMPOSE_PAGES = {
    "blog": ("/", 200, "text/html"),
    "api": ("/v1/projects", 401, "application/problem+json"),  # signed out: a problem, not a 500
    "auth": ("/login", 200, "text/html"),
}


def _get(url: str) -> tuple[int, str]:
    """The status and Content-Type of a GET (an error status is an answer too)."""
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 (http only)
            return response.status, response.headers.get("Content-Type", "")
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Content-Type", "")


@pytest.fixture(scope="module")
def composed_forks(written_forks: dict[str, Path]) -> Iterator[dict[str, tuple[int, str, str]]]:
    """Every fork's `docker compose up --build` run at once: service -> its published port,
    compose's output, and its logs if /healthz never answered 200 (else "")."""
    compose = json.loads(os.environ.get("FORKS_COMPOSE") or "null")
    if not compose:
        pytest.skip("no Docker engine (FORKS_COMPOSE unset): the README's docker steps not run")
    first_port = int(os.environ.get("FORKS_COMPOSE_PORT", "18100")) + 1
    commands: dict[str, list[str]] = {}
    env: dict[str, dict[str, str]] = {}
    processes: dict[str, subprocess.Popen[str]] = {}
    for port, (service, folder) in enumerate(sorted(written_forks.items()), first_port):
        commands[service] = [*compose, "--project-name", f"forks-{folder.name}"]
        env[service] = {**os.environ, "COMPOSE_PORT": str(port)}
        processes[service] = subprocess.Popen(
            [*commands[service], "up", "--build", "--detach"],
            cwd=folder,
            env=env[service],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
    try:
        outputs = {
            service: process.communicate(timeout=600)[0] for service, process in processes.items()
        }
        answers: dict[str, tuple[int, str, str]] = {}
        for service, folder in written_forks.items():
            port = int(env[service]["COMPOSE_PORT"])
            deadline = time.monotonic() + 120  # migrations, then gunicorn's workers
            logs = "never answered"
            while processes[service].returncode == 0 and time.monotonic() < deadline:
                try:
                    if _get(f"http://127.0.0.1:{port}/healthz")[0] == 200:
                        logs = ""
                        break
                except OSError:
                    pass
                time.sleep(1)
            if logs:
                logs = subprocess.run(
                    [*commands[service], "logs", "--no-color", "--tail", "60"],
                    cwd=folder, env=env[service], capture_output=True, text=True,
                ).stdout  # fmt: skip
            answers[service] = (port, outputs[service], logs)
        yield answers
    finally:
        for service, folder in written_forks.items():
            if processes[service].poll() is None:
                processes[service].kill()
                processes[service].wait()
            subprocess.run(
                [*commands[service], "down", "-v", "--remove-orphans"],
                cwd=folder, env=env[service], capture_output=True, check=False,
            )  # fmt: skip


@pytest.mark.parametrize("service", sorted(FORK_PACKAGES))
def test_fork_readme_docker_steps_serve_it(
    written_forks: dict[str, Path], composed_forks: dict[str, tuple[int, str, str]], service: str
) -> None:
    readme = (written_forks[service] / "README.md").read_text()
    # the steps run here are the README's own
    assert "docker compose up --build" in readme
    assert "docker compose down -v" in readme
    port, output, logs = composed_forks[service]
    assert not logs, f"{output[-4000:]}\n--- logs:\n{logs}"
    assert _get(f"http://127.0.0.1:{port}/healthz")[0] == 200
    path, status, media_type = COMPOSE_PAGES[service]
    answer = _get(f"http://127.0.0.1:{port}{path}")
    assert answer[0] == status, answer
    assert answer[1].startswith(media_type), answer
