"""Every running container of the compose stack is locked down (`nox -s containers` only).

What `docker inspect` shows is what the engine enforces, whatever compose.yaml says: a user
other than root, a read-only root filesystem, every capability dropped and none added,
no-new-privileges, and memory, CPU and process limits.
"""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest

from tests.smoke.support import COMPOSE, compose

#: Capabilities a container may add back. None: every image here runs unprivileged as it is.
ALLOWED_CAPABILITIES: frozenset[str] = frozenset()
#: Every long-running service of compose.yaml.
SERVICES = {"gateway", "auth", "blog", "api", "postgres", "redis"}


def _inspect() -> list[dict[str, Any]]:
    ids = compose("ps", "--quiet").split()
    result = subprocess.run(["docker", "inspect", *ids], capture_output=True, text=True, check=True)
    containers: list[dict[str, Any]] = json.loads(result.stdout)
    return containers


def _problems(container: dict[str, Any]) -> list[str]:
    config, host = container["Config"], container["HostConfig"]
    problems = []
    user = config.get("User") or ""
    if user.split(":")[0] in {"", "0", "root"}:
        problems.append(f"runs as root (User={user!r})")
    if not host.get("ReadonlyRootfs"):
        problems.append("root filesystem is writable")
    if "ALL" not in (host.get("CapDrop") or []):
        problems.append(f"capabilities not dropped (CapDrop={host.get('CapDrop')})")
    added = set(host.get("CapAdd") or []) - ALLOWED_CAPABILITIES
    if added:
        problems.append(f"capabilities added: {sorted(added)}")
    if not any(opt.startswith("no-new-privileges") for opt in host.get("SecurityOpt") or []):
        problems.append("no-new-privileges is not set")
    for limit in ("Memory", "NanoCpus", "PidsLimit"):
        if not host.get(limit) or host[limit] < 0:
            problems.append(f"no {limit} limit")
    return problems


def test_every_container_runs_locked_down() -> None:
    if not COMPOSE:
        pytest.skip("this needs the stack of nox -s containers")
    containers = _inspect()
    services = {c["Config"]["Labels"].get("com.docker.compose.service") for c in containers}
    assert services >= SERVICES, f"not running: {SERVICES - services}"
    report = {c["Name"].lstrip("/"): problems for c in containers if (problems := _problems(c))}
    for container in containers:
        host = container["HostConfig"]
        print(
            f"{container['Name'].lstrip('/')}: user {container['Config'].get('User')}, "
            f"read-only {host.get('ReadonlyRootfs')}, CapAdd {host.get('CapAdd') or []}, "
            f"memory {host.get('Memory', 0) // 2**20} MiB, pids {host.get('PidsLimit')}"
        )
    assert not report, json.dumps(report, indent=2)
