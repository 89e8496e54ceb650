"""The faults session's bookkeeping: what each request did, and the table (no I/O here)."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

#: auth's per-account login limit (LOGIN_RATE_LIMIT_ACCOUNT: 5 per minute) times 2 workers,
#: whose in-memory fallback counts separately when Redis is away, times 2 for a window that
#: spans a minute boundary: checking more passwords than this in one fault is a violation.
MAX_PASSWORD_CHECKS_PER_FAULT = 5 * 2 * 2


@dataclass(frozen=True)
class Outcome:
    """One request: when it started (monotonic), how long it took, what came back."""

    started: float
    latency: float
    status: int | str
    kind: str

    @property
    def failed(self) -> bool:
        if isinstance(self.status, str):
            return True
        return self.status >= 500 or self.status in (401, 403, 408, 409, 429)


@dataclass
class Record:
    """Everything the load and the probes saw, shared by their threads."""

    outcomes: list[Outcome] = field(default_factory=list)
    #: (user, project id) of every write answered 201
    writes: list[tuple[Any, int]] = field(default_factory=list)
    #: start times of requests with the revoked token that were answered 200
    revoked_accepted: list[float] = field(default_factory=list)
    #: start times of wrong-password attempts whose password was checked (401, not 429)
    passwords_checked: list[float] = field(default_factory=list)
    #: times a client bursting far beyond the gateway's per-client rate got no 429 at all
    gateway_limit_missing: list[float] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, outcome: Outcome) -> None:
        with self.lock:
            self.outcomes.append(outcome)


@dataclass
class Row:
    fault: str
    requests: int
    failed: int
    max_latency: float
    violations: int
    recovery: float
    hung: int


def summarize(fault: str, start: float, end: float, record: Record, bound: float) -> Row:
    with record.lock:
        window = [o for o in record.outcomes if start <= o.started < end]
        revoked = [t for t in record.revoked_accepted if start <= t < end]
        checked = [t for t in record.passwords_checked if start <= t < end]
        unlimited = [t for t in record.gateway_limit_missing if start <= t < end]
    failures = [o for o in window if o.failed]
    recovery = max((o.started + o.latency - start for o in failures), default=0.0)
    violations = len(revoked) + len(unlimited)
    violations += 1 if len(checked) > MAX_PASSWORD_CHECKS_PER_FAULT else 0
    return Row(
        fault=fault,
        requests=len(window),
        failed=len(failures),
        max_latency=max((o.latency for o in window), default=0.0),
        violations=violations,
        recovery=recovery,
        hung=sum(1 for o in window if o.latency >= bound or o.status == "ReadTimeout"),
    )


def table(rows: Iterable[Row]) -> str:
    lines = [
        "| fault | requests | failed | max latency | security violations | recovery time |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in rows:
        lines.append(
            f"| {row.fault} | {row.requests} | {row.failed} | {row.max_latency:.2f} s "
            f"| {row.violations} | {row.recovery:.1f} s |"
        )
    return "\n".join(lines)
