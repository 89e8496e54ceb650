"""One wrk run: load one URL for a while, read back throughput, percentiles and errors."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

SCRIPT = Path(__file__).parent / "lua" / "bench.lua"
MARKER = "BENCH_JSON "


@dataclass(frozen=True)
class Case:
    """What to load: a URL, how, with how many connections, and what to compare it with."""

    name: str
    group: str  # "baseline", "blog", "api", "auth"
    url: str
    method: str = "GET"
    body: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    connections: int | None = None  # None: the run's default
    #: The baseline case this one is divided by (besides the Flask hello-world).
    bare: str | None = None
    note: str = ""
    #: The server process tree whose CPU this case costs: a service ("blog", "api", "auth") or
    #: a baseline of bench/stack.py ("bare", "fastapi", ...).
    server: str = ""


@dataclass(frozen=True)
class Result:
    """What wrk measured for one case."""

    case: str
    group: str
    connections: int
    seconds: float
    requests: int
    requests_per_second: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    errors: int
    error_detail: dict[str, int]
    #: p50 with a single connection: the latency of one request without queueing.
    p50_alone_ms: float | None = None
    #: CPU time the server's processes spent per request during the measured run (µs).
    cpu_us_per_request: float | None = None

    def as_dict(self) -> dict[str, Any]:
        """The result as JSON-ready data."""
        return asdict(self)


def wrk_path() -> str:
    """The wrk executable, or a clear error."""
    path = shutil.which("wrk")
    if path is None:
        raise RuntimeError("wrk is not installed: `apt-get install wrk` (nox -s bench does it)")
    return path


def run(case: Case, *, seconds: float, connections: int, threads: int = 1) -> Result:
    """Load ``case`` for ``seconds`` with ``connections`` connections over ``threads`` threads."""
    threads = max(1, min(threads, connections))
    command = [
        wrk_path(),
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "10s",
        "-s",
        str(SCRIPT),
    ]
    for name, value in case.headers.items():
        command += ["-H", f"{name}: {value}"]
    command.append(case.url)
    env = dict(os.environ)
    env.update(
        {
            "BENCH_METHOD": case.method,
            "BENCH_BODY": case.body,
            "BENCH_CONTENT_TYPE": "application/json" if case.body else "",
        }
    )
    completed = subprocess.run(  # noqa: S603 - our own argv, no shell
        command, env=env, capture_output=True, text=True, check=False, timeout=seconds + 60
    )
    lines = [line for line in completed.stdout.splitlines() if line.startswith(MARKER)]
    if completed.returncode != 0 or not lines:
        raise RuntimeError(
            f"wrk failed on {case.name} ({completed.returncode}):\n"
            f"{completed.stdout}\n{completed.stderr}"
        )
    data = json.loads(lines[-1][len(MARKER) :])
    duration = data["duration_us"] / 1e6
    detail = {
        "connect": data["connect_errors"],
        "read": data["read_errors"],
        "write": data["write_errors"],
        "status": data["status_errors"],
        "timeout": data["timeouts"],
    }
    return Result(
        case=case.name,
        group=case.group,
        connections=connections,
        seconds=round(duration, 2),
        requests=data["requests"],
        requests_per_second=round(data["requests"] / duration, 1) if duration else 0.0,
        p50_ms=data["p50_us"] / 1000,
        p90_ms=data["p90_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        max_ms=data["max_us"] / 1000,
        errors=sum(detail.values()),
        error_detail=detail,
    )
