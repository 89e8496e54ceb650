"""The benchmark harness's own logic (bench/): no servers, no timings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from werkzeug.test import Client

from bench import baselines, profile, report
from bench.run import median, run_order
from bench.wrk import Case, Result


def result(name: str, rps: float, p50: float = 10.0, p99: float = 20.0, errors: int = 0) -> Result:
    detail = {"connect": 0, "read": 0, "write": 0, "status": errors, "timeout": 0}
    return Result(
        case=name,
        group="baseline" if name.startswith(("flask", "bare")) else "api",
        connections=32,
        seconds=5.0,
        requests=int(rps * 5),
        requests_per_second=rps,
        p50_ms=p50,
        p90_ms=p50,
        p99_ms=p99,
        max_ms=p99,
        errors=errors,
        error_detail=detail,
    )


CASES = [
    Case("flask_hello", "baseline", "http://x/"),
    Case("flask_hello_hooks", "baseline", "http://y/", bare="flask_hello"),
    Case("bare_task_list", "baseline", "http://x/bare"),
    Case("api_task_list", "api", "http://z/list", bare="bare_task_list"),
]
SETTINGS: dict[str, object] = {
    "duration_s": 5,
    "warmup_s": 1,
    "connections": 32,
    "workers": 2,
    "threads": 4,
}
SETTINGS |= {"cores": 2, "elapsed_s": 60.0, "rounds": 1}


def verdicts(summary: dict[str, object]) -> dict[str, bool]:
    targets = summary["targets"]
    assert isinstance(targets, list)
    return {target["target"].split(" ")[0]: target["passed"] for target in targets}


def test_targets_pass_within_the_limits() -> None:
    results = [
        result("flask_hello", 1000),
        result("flask_hello_hooks", 860),
        result("bare_task_list", 300),
        result("api_task_list", 210, p50=10, p99=50),
    ]
    summary = report.build(CASES, results, SETTINGS)
    assert verdicts(summary) == {"shared": True, "api_task_list": True, "no": True, "p99": True}
    rows = {row["case"]: row for row in summary["results"]}
    assert rows["api_task_list"]["ratio_to_bare"] == 0.7
    assert rows["api_task_list"]["ratio_to_flask_hello"] == 0.21
    assert "PASS  shared hooks cost" in report.table(summary)


def test_targets_miss_past_the_limits() -> None:
    results = [
        result("flask_hello", 1000),
        result("flask_hello_hooks", 840),
        result("bare_task_list", 300),
        result("api_task_list", 200, p50=10, p99=51, errors=3),
    ]
    summary = report.build(CASES, results, SETTINGS)
    assert verdicts(summary) == {"shared": False, "api_task_list": False, "no": False, "p99": False}
    table = report.table(summary)
    assert "MISS  no endpoint has errors: api_task_list" in table
    assert "api_task_list 5.1x" in table


def test_the_report_is_written_as_json_and_a_chart(tmp_path: Path) -> None:
    # matplotlib comes with the bench session (and requirements/dev.in), not with `nox -s tests`.
    pytest.importorskip("matplotlib")
    summary = report.build(CASES, [result(case.name, 100) for case in CASES], SETTINGS)
    paths = report.write(summary, tmp_path)
    assert json.loads((tmp_path / "latest.json").read_text())["results"][0]["case"] == "flask_hello"
    assert paths["png"].read_bytes().startswith(b"\x89PNG")
    assert (tmp_path / "latest.png").read_bytes() == paths["png"].read_bytes()


def test_each_bare_equivalent_runs_right_before_its_endpoints() -> None:
    names = [case.name for case in run_order(CASES)]
    assert names == ["flask_hello", "flask_hello_hooks", "bare_task_list", "api_task_list"]


def test_the_median_round_is_kept_and_every_rounds_errors_count() -> None:
    rounds = [result("a", 300), result("a", 100, errors=2), result("a", 200)]
    kept = median(rounds)
    assert kept.requests_per_second == 200
    assert kept.errors == 2


def test_profile_samples_go_to_the_innermost_known_library(tmp_path: Path) -> None:
    raw = tmp_path / "profile.txt"
    view = "index (/srv/blog_service/posts/views.py:75)"
    wait = "Connection.wait (/venv/lib/site-packages/psycopg/connection.py:479)"
    render = "render (/venv/lib/site-packages/jinja2/environment.py:1275)"
    raw.write_text(
        f'process 1:"gunicorn";{view};{wait} 3\n'
        f'process 1:"gunicorn";{view};{render} 1\n'
        f'process 1:"gunicorn";{view} 1\n'
    )
    summary = profile.summarise(raw)
    assert summary["samples"] == 5
    assert summary["buckets"] == {
        "database driver (psycopg)": 60.0,
        "Jinja2 templates": 20.0,
        "the service's own code": 20.0,
    }
    assert next(iter(summary["top_functions"])) == "index (posts/views.py)"


@pytest.mark.parametrize(
    ("app", "body"),
    [
        (baselines.raw_app, b"Hello, World!"),
        (baselines.create_bare_app(), b"Hello, World!"),
    ],
)
def test_the_hello_world_baselines_answer(app: object, body: bytes) -> None:
    response = Client(app).get("/")  # type: ignore[arg-type]
    assert response.status_code == 200
    assert response.data == body


def test_the_hooked_baseline_carries_the_shared_hooks(tmp_path: Path) -> None:
    app = baselines.create_hooked_app({"APP_ENV": "testing", "BENCH_INSTANCE_PATH": str(tmp_path)})
    response = app.test_client().get("/")
    assert response.data == b"Hello, World!"
    assert response.headers["X-Request-ID"]
    assert response.headers["Content-Security-Policy"]
    assert response.headers["Server-Timing"].startswith("app;dur=")
