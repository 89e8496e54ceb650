"""The report of one run: ratios, targets, a terminal table, a JSON file and a PNG chart."""

from __future__ import annotations

import json
import platform
import subprocess
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.wrk import Case, Result

#: Issue 8's targets.
HOOKS_MAX_COST = 0.15
MIN_RATIO_TO_BARE = 0.70
MAX_P99_OVER_P50 = 5.0
#: The endpoints held to MIN_RATIO_TO_BARE.
RATIO_TARGETS = ("api_task_list", "blog_home")


def _ratio(value: float, reference: float | None) -> float | None:
    return round(value / reference, 3) if reference else None


def targets(rows: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Each target of issue 8 with the measured value and whether it passed."""
    found: list[dict[str, Any]] = []
    hooks, hello = rows.get("flask_hello_hooks"), rows.get("flask_hello")
    if hooks and hello:
        cost = round(1 - hooks["requests_per_second"] / hello["requests_per_second"], 3)
        found.append(
            {
                "target": f"shared hooks cost <= {HOOKS_MAX_COST:.0%} of Flask hello-world",
                "value": f"{cost:.1%}",
                "passed": cost <= HOOKS_MAX_COST,
            }
        )
    for name in RATIO_TARGETS:
        row = rows.get(name)
        if row and row["ratio_to_bare"] is not None:
            found.append(
                {
                    "target": f"{name} >= {MIN_RATIO_TO_BARE:.0%} of {row['bare']}",
                    "value": f"{row['ratio_to_bare']:.0%}",
                    "passed": row["ratio_to_bare"] >= MIN_RATIO_TO_BARE,
                }
            )
    with_errors = [name for name, row in rows.items() if row["errors"]]
    found.append(
        {
            "target": "no endpoint has errors",
            "value": ", ".join(with_errors) or "none",
            "passed": not with_errors,
        }
    )
    spread = {
        name: round(row["p99_ms"] / row["p50_ms"], 1) if row["p50_ms"] else 0.0
        for name, row in rows.items()
    }
    over = {name: value for name, value in spread.items() if value > MAX_P99_OVER_P50}
    found.append(
        {
            "target": f"p99 <= {MAX_P99_OVER_P50:g}x p50 on every endpoint",
            "value": ", ".join(f"{n} {v}x" for n, v in over.items())
            or f"worst {max(spread.values(), default=0)}x",
            "passed": not over,
        }
    )
    return found


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
    cases: Sequence[Case], results: Sequence[Result], settings: dict[str, Any]
) -> dict[str, Any]:
    """Everything the run measured, with ratios and targets, as JSON-ready data."""
    by_case = {case.name: case for case in cases}
    measured = {result.case: result for result in results}
    # In the order of ``cases`` (baselines first), whatever order they were measured in.
    rows = {name: measured[name].as_dict() for name in by_case if name in measured}
    hello = rows.get("flask_hello", {}).get("requests_per_second")
    for name, row in rows.items():
        case = by_case[name]
        bare = rows.get(case.bare or "")
        bare_rps: float | None = bare["requests_per_second"] if bare else None
        row["bare"] = case.bare
        row["note"] = case.note
        row["ratio_to_bare"] = _ratio(row["requests_per_second"], bare_rps)
        row["ratio_to_flask_hello"] = _ratio(row["requests_per_second"], hello)
        row["p99_over_p50"] = round(row["p99_ms"] / row["p50_ms"], 1) if row["p50_ms"] else None
    return {
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": _git_commit(),
        "machine": {"python": platform.python_version(), "platform": platform.platform()},
        "settings": settings,
        "results": list(rows.values()),
        "targets": targets(rows),
    }


def table(summary: dict[str, Any]) -> str:
    """The terminal table: one line per case, then the targets."""
    head = (
        f"{'case':<19} {'conn':>4} {'req/s':>8} {'p50 ms':>7} {'p90 ms':>7} {'p99 ms':>7} "
        f"{'p50@1':>6} {'errors':>6} {'vs bare':>8} {'vs hello':>8}  bare equivalent"
    )
    lines = [head, "-" * len(head)]
    for row in summary["results"]:
        to_bare = f"{row['ratio_to_bare']:.2f}" if row["ratio_to_bare"] is not None else "-"
        to_hello = row["ratio_to_flask_hello"]
        alone = f"{row['p50_alone_ms']:.1f}" if row.get("p50_alone_ms") is not None else "-"
        lines.append(
            f"{row['case']:<19} {row['connections']:>4} {row['requests_per_second']:>8.0f} "
            f"{row['p50_ms']:>7.1f} {row['p90_ms']:>7.1f} {row['p99_ms']:>7.1f} "
            f"{alone:>6} {row['errors']:>6} {to_bare:>8} "
            f"{(f'{to_hello:.2f}' if to_hello is not None else '-'):>8}  {row['bare'] or ''}"
        )
    settings = summary["settings"]
    lines.append("")
    lines.append(
        f"{settings['duration_s']}s per case after {settings['warmup_s']}s warm-up, median of "
        f"{settings.get('rounds', 1)} round(s); gunicorn "
        f"gthread {settings['workers']} workers x {settings['threads']} threads; "
        f"{settings['cores']} cores; run took {settings['elapsed_s']}s"
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
    colours = {"baseline": "#9e9e9e", "blog": "#1f77b4", "api": "#2ca02c", "auth": "#d62728"}
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
