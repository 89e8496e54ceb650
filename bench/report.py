"""The report of one run: ratios over the rounds, targets, a terminal table, JSON and a chart."""

from __future__ import annotations

import json
import platform
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.wrk import Case, Result

#: The targets. Ratios are of CPU per request (the bare equivalent's over the endpoint's: 0.8
#: means the endpoint costs 1.25x the bare view), each the median over the rounds.
HOOKS_MAX_COST = 0.10
RATIO_TARGETS = {
    "api_task_list": 0.8,
    "api_task_get": 0.8,
    "api_task_create": 0.7,
    "blog_home": 0.7,
}
#: blog_home against the Flask hello-world, in CPU per request.
BLOG_HOME_MIN_TO_HELLO = 0.25
#: api_task_list against the FastAPI peer with its JWT check (req/s and CPU per request).
PEER_MIN_ADVANTAGE = 1.5
PEER_CASE = "fastapi_task_list_jwt"
MAX_P99_OVER_P50 = 3.0
#: Groups of cases whose tails the p99 target does not judge: what the endpoints are compared
#: with (baselines, peers), and what the gateway answers itself (a page from its micro-cache never
#: reaches a service: at tens of thousands of requests a second its tail is the load generator's
#: saturated core and any pause of the machine, not a queue in front of the service).
UNJUDGED_TAILS = frozenset({"baseline", "peer", "gateway"})
#: The one target a run fails on whatever BENCH_STRICT says.
NO_ERRORS = "no endpoint has errors"


def _ratio(value: float | None, reference: float | None) -> float | None:
    return round(value / reference, 3) if value and reference else None


def _median(values: Sequence[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


@dataclass(frozen=True)
class Spread:
    """One ratio over the rounds: its median and its range."""

    median: float
    low: float
    high: float

    @classmethod
    def of(cls, values: Sequence[float | None]) -> Spread | None:
        """The spread of the rounds that have a value, None if none has."""
        known = [value for value in values if value is not None]
        if not known:
            return None
        return cls(round(_median(known), 3), round(min(known), 3), round(max(known), 3))

    def __str__(self) -> str:
        if self.low == self.high:
            return f"{self.median:.2f}"
        return f"{self.median:.2f} ({self.low:.2f}-{self.high:.2f})"


def cpu_ratio(runs: Mapping[str, Sequence[Result]], reference: str, case: str) -> Spread | None:
    """How many times cheaper in CPU ``case`` is than ``reference``, round by round (below 1:
    ``case`` costs more)."""
    if reference not in runs or case not in runs:
        return None
    pairs = zip(runs[reference], runs[case], strict=False)
    return Spread.of([_ratio(r.cpu_us_per_request, c.cpu_us_per_request) for r, c in pairs])


def rps_ratio(runs: Mapping[str, Sequence[Result]], reference: str, case: str) -> Spread | None:
    """``case``'s requests per second over ``reference``'s, round by round."""
    if reference not in runs or case not in runs:
        return None
    pairs = zip(runs[reference], runs[case], strict=False)
    return Spread.of([_ratio(c.requests_per_second, r.requests_per_second) for r, c in pairs])


def _target(
    name: str, spread: Spread | None, limit: float, *, at_most: bool = False
) -> dict[str, Any]:
    passed = spread is not None and (spread.median <= limit if at_most else spread.median >= limit)
    return {"target": name, "value": str(spread) if spread else "not measured", "passed": passed}


def targets(
    runs: Mapping[str, Sequence[Result]], rows: dict[str, dict[str, Any]]
) -> list[dict[str, Any]]:
    """Each target with the measured median (and range over the rounds) and whether it passed."""
    found: list[dict[str, Any]] = []
    if "flask_hello" in runs and "flask_hello_hooks" in runs:
        pairs = zip(runs["flask_hello"], runs["flask_hello_hooks"], strict=False)
        costs = [
            _ratio(hooked.cpu_us_per_request, hello.cpu_us_per_request) for hello, hooked in pairs
        ]
        cost = Spread.of([None if c is None else round(c - 1, 3) for c in costs])
        found.append(_target(
            f"shared hooks cost <= {HOOKS_MAX_COST:.0%} of Flask hello-world in CPU per request",
            cost, HOOKS_MAX_COST, at_most=True,
        ))  # fmt: skip
    for name, limit in RATIO_TARGETS.items():
        bare = rows.get(name, {}).get("bare")
        if name in runs and bare:
            found.append(_target(
                f"{name} >= {limit:g}x {bare} in CPU per request", cpu_ratio(runs, bare, name),
                limit,
            ))  # fmt: skip
    if "blog_home" in runs:
        found.append(_target(
            f"blog_home >= {BLOG_HOME_MIN_TO_HELLO:g}x flask_hello in CPU per request",
            cpu_ratio(runs, "flask_hello", "blog_home"), BLOG_HOME_MIN_TO_HELLO,
        ))  # fmt: skip
    if "api_task_list" in runs and PEER_CASE in runs:
        found.append(_target(
            f"api_task_list >= {PEER_MIN_ADVANTAGE:g}x {PEER_CASE} in req/s",
            rps_ratio(runs, PEER_CASE, "api_task_list"), PEER_MIN_ADVANTAGE,
        ))  # fmt: skip
        found.append(_target(
            f"api_task_list >= {PEER_MIN_ADVANTAGE:g}x {PEER_CASE} in CPU per request",
            cpu_ratio(runs, PEER_CASE, "api_task_list"), PEER_MIN_ADVANTAGE,
        ))  # fmt: skip
    # Each case with its kinds of error (a timeout is not a 502), so the reason shows in the table.
    with_errors = [
        f"{name} ({', '.join(f'{kind} {n}' for kind, n in row['error_detail'].items() if n)})"
        for name, row in rows.items()
        if row["errors"]
    ]
    found.append(
        {
            "target": NO_ERRORS,
            "value": ", ".join(with_errors) or "none",
            "passed": not with_errors,
        }
    )
    # Judged on the project's endpoints; the baselines and the peers are what they are compared
    # with, not what it serves (their tails are printed, as information).
    spread = {
        name: row["p99_over_p50"] or 0.0
        for name, row in rows.items()
        if row["group"] not in UNJUDGED_TAILS
    }
    over = {name: value for name, value in spread.items() if value > MAX_P99_OVER_P50}
    others = {
        name: row["p99_over_p50"] or 0.0
        for name, row in rows.items()
        if row["group"] in UNJUDGED_TAILS and (row["p99_over_p50"] or 0.0) > MAX_P99_OVER_P50
    }
    value = ", ".join(f"{n} {v}x" for n, v in over.items()) or (
        f"worst {max(spread.values(), default=0)}x"
    )
    if others:
        value += " (not judged: " + ", ".join(f"{n} {v}x" for n, v in others.items()) + ")"
    found.append(
        {
            "target": f"p99 <= {MAX_P99_OVER_P50:g}x p50 on every endpoint",
            "value": value,
            "passed": not over,
        }
    )
    return found


def median_round(results: Sequence[Result]) -> Result:
    """The round with the median throughput; errors of every round count."""
    chosen = sorted(results, key=lambda r: r.requests_per_second)[(len(results) - 1) // 2]
    errors = {k: sum(r.error_detail[k] for r in results) for k in chosen.error_detail}
    cpu = [r.cpu_us_per_request for r in results if r.cpu_us_per_request is not None]
    # Only the first round measures a request alone (bench/run.py's measure).
    alone = next((r.p50_alone_ms for r in results if r.p50_alone_ms is not None), None)
    return replace(
        chosen,
        errors=sum(errors.values()),
        error_detail=errors,
        cpu_us_per_request=round(_median(cpu), 1) if cpu else None,
        p50_alone_ms=alone,
    )


def _git_commit() -> str:
    try:
        completed = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],  # noqa: S607 - git from PATH
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).parent,
        )
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return completed.stdout.strip()


def build(
    cases: Sequence[Case], runs: Mapping[str, Sequence[Result]], settings: dict[str, Any]
) -> dict[str, Any]:
    """Everything the run measured (every round of every case), with ratios and targets."""
    by_case = {case.name: case for case in cases}
    # In the order of ``cases`` (baselines first), whatever order they were measured in.
    rows = {name: median_round(runs[name]).as_dict() for name in by_case if runs.get(name)}
    for name, row in rows.items():
        case = by_case[name]
        row["bare"] = case.bare
        row["note"] = case.note
        row["server"] = case.server
        to_bare = rps_ratio(runs, case.bare, name) if case.bare else None
        row["ratio_to_bare"] = to_bare.median if to_bare else None
        to_hello = rps_ratio(runs, "flask_hello", name)
        row["ratio_to_flask_hello"] = to_hello.median if to_hello else None
        cpu_to_bare = cpu_ratio(runs, case.bare, name) if case.bare else None
        row["cpu_ratio_to_bare"] = asdict(cpu_to_bare) if cpu_to_bare else None
        row["p99_over_p50"] = round(row["p99_ms"] / row["p50_ms"], 1) if row["p50_ms"] else None
        row["rounds"] = [result.as_dict() for result in runs[name]]
    return {
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": _git_commit(),
        "machine": {"python": platform.python_version(), "platform": platform.platform()},
        "settings": settings,
        "results": list(rows.values()),
        "targets": targets(runs, rows),
    }


def table(summary: dict[str, Any]) -> str:
    """The terminal table: one line per case, then the targets."""
    head = (
        f"{'case':<23} {'conn':>4} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'p50@1':>6} "
        f"{'cpu us':>7} {'errors':>6} {'vs bare':>7} {'cpu vs bare':>18}  bare equivalent"
    )
    lines = [head, "-" * len(head)]
    for row in summary["results"]:
        to_bare = f"{row['ratio_to_bare']:.2f}" if row["ratio_to_bare"] is not None else "-"
        alone = f"{row['p50_alone_ms']:.1f}" if row.get("p50_alone_ms") is not None else "-"
        cpu = row.get("cpu_us_per_request")
        cpu_ratio_row = row.get("cpu_ratio_to_bare")
        cpu_to_bare = str(Spread(**cpu_ratio_row)) if cpu_ratio_row else "-"
        lines.append(
            f"{row['case']:<23} {row['connections']:>4} {row['requests_per_second']:>7.0f} "
            f"{row['p50_ms']:>7.1f} {row['p99_ms']:>7.1f} {alone:>6} "
            f"{(f'{cpu:.0f}' if cpu is not None else '-'):>7} {row['errors']:>6} "
            f"{to_bare:>7} {cpu_to_bare:>18}  {row['bare'] or ''}".rstrip()
        )
    settings = summary["settings"]
    lines.append("")
    lines.append(
        f"{settings['duration_s']}s per case after {settings['warmup_s']}s warm-up, "
        f"{settings.get('rounds', 1)} interleaved round(s) (median, range); gunicorn gthread "
        f"{settings['workers']} workers x {settings['threads']} threads; {settings['cores']} "
        f"cores{'; ' + settings['pinning'] if settings.get('pinning') else ''}; "
        f"run took {settings['elapsed_s']}s"
    )
    lines.append("")
    for target in summary["targets"]:
        verdict = "PASS" if target["passed"] else "MISS"
        lines.append(f"{verdict}  {target['target']}: {target['value']}")
    return "\n".join(lines)


def chart(summary: dict[str, Any], path: Path) -> None:
    """Throughput and p99 per case, side by side, baselines in grey."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = summary["results"]
    names = [row["case"] for row in rows]
    colours = {"baseline": "#9e9e9e", "peer": "#ff7f0e", "blog": "#1f77b4", "api": "#2ca02c"}
    colours |= {"auth": "#d62728", "gateway": "#17becf"}
    colour = [colours.get(row["group"], "#555555") for row in rows]
    figure, (left, right) = plt.subplots(1, 2, figsize=(13, 0.42 * len(rows) + 1.8), sharey=True)
    left.barh(names, [row["requests_per_second"] for row in rows], color=colour)
    left.set_xlabel("requests per second (higher is better)")
    right.barh(names, [row["p99_ms"] for row in rows], color=colour)
    right.set_xlabel("p99 latency, ms (lower is better)")
    left.invert_yaxis()
    for axis in (left, right):
        axis.grid(axis="x", alpha=0.3)
    settings = summary["settings"]
    figure.suptitle(
        f"{summary['created']} @ {summary['commit']}: {settings['connections']} connections, "
        f"{settings['duration_s']}s per case (grey: baselines)"
    )
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def write(summary: dict[str, Any], folder: Path) -> dict[str, Path]:
    """bench-<time>.json/.png and latest.json/.png in ``folder``; returns the paths."""
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    paths = {
        "json": folder / f"bench-{stamp}.json",
        "png": folder / f"bench-{stamp}.png",
    }
    text = json.dumps(summary, indent=2) + "\n"
    paths["json"].write_text(text)
    (folder / "latest.json").write_text(text)
    chart(summary, paths["png"])
    (folder / "latest.png").write_bytes(paths["png"].read_bytes())
    return paths


def exit_status(targets: list[dict[str, Any]], *, strict: bool) -> int:
    """The session's exit status: 1 when an endpoint answered errors (never noise), or when
    ``strict`` and any target is missed; else 0."""
    missed = {t["target"]: t.get("value", "") for t in targets if not t["passed"]}
    if NO_ERRORS in missed:
        print(f"bench: errors under load on {missed[NO_ERRORS]}")
        return 1
    return 1 if missed and strict else 0
