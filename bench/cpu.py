"""CPU time of server process trees, and keeping the load generator off the servers' cores.

Requests per second move with whatever else the machine does; the CPU a server spends per
request moves much less, so the targets are judged on it. Linux only (/proc, sched_setaffinity).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from pathlib import Path

PROC = Path("/proc")
_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _stat_fields(pid: int) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the command name (which may hold spaces)."""
    try:
        text = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2 :].split()


def children_map() -> dict[int, list[int]]:
    """Every live process's children, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        fields = _stat_fields(int(entry.name))
        if fields is not None:
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    return children


def descendants(pid: int, children: dict[int, list[int]] | None = None) -> list[int]:
    """``pid`` and every live process below it."""
    children = children_map() if children is None else children
    found, pending = [], [pid]
    while pending:
        current = pending.pop()
        found.append(current)
        pending.extend(children.get(current, []))
    return found


def tree_cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system) used so far by ``pid`` and its processes, live or reaped.

    A live process counts its own time; a worker that exited and was reaped is in its
    parent's children's time, so recycled workers are not lost.
    """
    children = children_map()
    ticks = 0
    for member in descendants(pid, children):
        fields = _stat_fields(member)
        if fields is None:
            continue
        # utime, stime, cutime, cstime: fields 14-17 of stat (11-14 after the name). A process
        # is either live (its own times) or reaped (in its parent's cutime/cstime), never both.
        ticks += sum(int(value) for value in fields[11:15])
    return ticks / _TICKS


def split_cores() -> tuple[set[int], set[int]] | None:
    """(server cores, load-generator core) when there are at least two usable cores."""
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) < 2:
        return None
    return set(cores[:-1]), {cores[-1]}


def pin(pids: Iterable[int], cores: set[int]) -> int:
    """Move every thread of ``pids`` to ``cores``; the number of threads moved."""
    moved = 0
    for pid in pids:
        try:
            threads = [int(task.name) for task in (PROC / str(pid) / "task").iterdir()]
        except OSError:
            continue
        for thread in threads:
            try:
                os.sched_setaffinity(thread, cores)
            except OSError:
                continue
            moved += 1
    return moved


def _busy_and_total_ticks() -> tuple[int, int]:
    """The machine's busy and total CPU ticks so far, all cores (/proc/stat's first line)."""
    fields = [int(value) for value in (PROC / "stat").read_text().split("\n", 1)[0].split()[1:]]
    # user nice system idle iowait irq softirq steal ...: idle, iowait and the host's steal
    # are not work of this machine's processes.
    idle = fields[3] + fields[4] + (fields[7] if len(fields) > 7 else 0)
    return sum(fields[:8]) - idle, sum(fields[:8])


def wait_until_quiet(
    max_seconds: float = 2.0, window: float = 0.1, busy_cores: float = 0.2
) -> float:
    """Wait until the machine's processes use less than ``busy_cores`` of CPU over ``window``
    seconds, or ``max_seconds`` have passed; the seconds waited.

    When wrk stops, a server still holds the requests it had accepted (up to one per
    connection) and works through them after their clients have gone: a case measured right
    after another would start behind that backlog, and count its CPU.
    """
    started = time.monotonic()
    before = _busy_and_total_ticks()
    while True:
        time.sleep(window)
        after = _busy_and_total_ticks()
        used = (after[0] - before[0]) / _TICKS / window
        waited = time.monotonic() - started
        if used < busy_cores or waited >= max_seconds:
            return waited
        before = after
