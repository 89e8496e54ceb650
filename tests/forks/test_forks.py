"""Each service forked into a temporary folder under a new package name, then the fork's own
`nox` (lint, typecheck, tests) run there: a fork is a project that passes its own checks.

Run by `nox -s forks` (FORKS_NOX says which nox, FORKS_PYTHON which Python the forks' sessions
use). The three forks' checks run at once, each in its own process: most of their time is
waiting on installs and on the database, and one run takes minutes instead of three times that.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tools.fork import fork

ROOT = Path(__file__).resolve().parents[2]
#: service -> the package its fork gets: shorter and longer than upstream's names, sorting
#: before and after servicekit (so imports move and lines grow)
FORK_PACKAGES = {"blog": "journal", "api": "task_tracker", "auth": "accounts"}

pytestmark = pytest.mark.forks


@pytest.fixture(scope="module")
def checked_forks(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, int]]:
    """Every fork written and its `nox` run: service -> its folder (with nox.log) and nox's
    exit status."""
    nox = json.loads(os.environ.get("FORKS_NOX") or "null") or [sys.executable, "-m", "nox"]
    python = os.environ.get("FORKS_PYTHON", "3.11")
    base = tmp_path_factory.mktemp("forks")
    assert ".nox" not in base.parts, "ruff skips paths inside .nox/: run with TMPDIR elsewhere"
    env = {key: value for key, value in os.environ.items() if not key.startswith("VIRTUAL_ENV")}
    processes: dict[str, subprocess.Popen[bytes]] = {}
    folders: dict[str, Path] = {}
    for service, package in FORK_PACKAGES.items():
        folder = fork(ROOT, service, base / package, package)
        # each fork's own pytest keeps its temporary folders apart: pytest prunes old runs
        # of a shared one, and this test's folders are one of them
        scratch = base / f"{package}.tmp"
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
