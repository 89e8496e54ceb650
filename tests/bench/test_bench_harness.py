"""The benchmark harness's own logic (bench/): no servers, no timings."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from werkzeug.test import Client

from bench import baselines, cpu, profile, report
from bench.run import cases, run_order
from bench.wrk import Case, Result


def result(
    name: str,
    rps: float,
    p50: float = 10.0,
    p99: float = 20.0,
    errors: int = 0,
    cpu_us: float | None = None,
) -> Result:
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
        cpu_us_per_request=cpu_us,
    )


CASES = [
    Case("flask_hello", "baseline", "http://x/", server="bare"),
    Case("flask_hello_hooks", "baseline", "http://y/", bare="flask_hello", server="hooked"),
    Case("bare_task_list", "baseline", "http://x/bare", server="bare"),
    Case("fastapi_task_list_jwt", "peer", "http://p/list", bare="bare_task_list"),
    Case("api_task_list", "api", "http://z/list", bare="bare_task_list", server="api"),
]
SETTINGS: dict[str, object] = {
    "duration_s": 5,
    "warmup_s": 1,
    "connections": 32,
    "workers": 2,
    "threads": 4,
}
SETTINGS |= {"cores": 2, "elapsed_s": 60.0, "rounds": 1}


def one_round(**rounds: Result) -> dict[str, list[Result]]:
    return {name: [found] for name, found in rounds.items()}


def verdicts(summary: dict[str, object]) -> dict[str, bool]:
    targets = summary["targets"]
    assert isinstance(targets, list)
    return {" ".join(target["target"].split(" ")[:2]): target["passed"] for target in targets}


def test_targets_pass_within_the_limits() -> None:
    runs = one_round(
        flask_hello=result("flask_hello", 1000, cpu_us=100),
        flask_hello_hooks=result("flask_hello_hooks", 900, cpu_us=110),
        bare_task_list=result("bare_task_list", 300, cpu_us=400),
        fastapi_task_list_jwt=result("fastapi_task_list_jwt", 140, cpu_us=750),
        api_task_list=result("api_task_list", 210, p50=10, p99=30, cpu_us=500),
    )
    summary = report.build(CASES, runs, SETTINGS)
    assert verdicts(summary) == {
        "shared hooks": True,
        "api_task_list >=": True,
        "no endpoint": True,
        "p99 <=": True,
    }
    rows = {row["case"]: row for row in summary["results"]}
    assert rows["api_task_list"]["ratio_to_bare"] == 0.7
    assert rows["api_task_list"]["cpu_ratio_to_bare"]["median"] == 0.8
    assert rows["api_task_list"]["ratio_to_flask_hello"] == 0.21
    assert "PASS  shared hooks cost <= 10%" in report.table(summary)
    assert "PASS  api_task_list >= 1.5x fastapi_task_list_jwt in CPU per request" in (
        report.table(summary)
    )


def test_targets_miss_past_the_limits() -> None:
    runs = one_round(
        flask_hello=result("flask_hello", 1000, cpu_us=100),
        flask_hello_hooks=result("flask_hello_hooks", 900, cpu_us=111),
        bare_task_list=result("bare_task_list", 300, cpu_us=400),
        fastapi_task_list_jwt=result("fastapi_task_list_jwt", 150, cpu_us=740),
        api_task_list=result("api_task_list", 200, p50=10, p99=31, errors=3, cpu_us=505),
    )
    summary = report.build(CASES, runs, SETTINGS)
    assert not any(verdicts(summary).values())
    table = report.table(summary)
    assert "MISS  no endpoint has errors: api_task_list (status 3)" in table
    assert "api_task_list 3.1x" in table


def test_the_tail_target_judges_the_endpoints_not_the_baselines_and_peers() -> None:
    peer = dataclasses.replace(result("fastapi_task_list_jwt", 140, p50=10, p99=80), group="peer")
    runs = one_round(
        flask_hello=result("flask_hello", 1000, p50=1, p99=9),
        fastapi_task_list_jwt=peer,
        api_task_list=result("api_task_list", 210, p50=10, p99=25),
    )
    summary = report.build(CASES, runs, SETTINGS)
    tail = next(t for t in summary["targets"] if t["target"].startswith("p99"))
    assert tail["passed"]
    assert tail["value"] == "worst 2.5x (not judged: flask_hello 9.0x, fastapi_task_list_jwt 8.0x)"


def test_the_tail_target_leaves_the_gateways_own_answers_aside() -> None:
    cached = Case("blog_home_cached", "gateway", "http://g/", bare="bare_task_list", server="blog")
    hit = dataclasses.replace(result("blog_home_cached", 30000, p50=1, p99=60), group="gateway")
    runs = one_round(
        flask_hello=result("flask_hello", 1000, p50=1, p99=2),
        api_task_list=result("api_task_list", 210, p50=10, p99=25),
        blog_home_cached=hit,
    )
    summary = report.build([*CASES, cached], runs, SETTINGS)
    tail = next(t for t in summary["targets"] if t["target"].startswith("p99"))
    assert tail["passed"]
    assert tail["value"] == "worst 2.5x (not judged: blog_home_cached 60.0x)"


def test_ratios_are_taken_round_by_round_and_reported_with_their_range() -> None:
    runs = {
        "bare_task_list": [result("bare_task_list", 300, cpu_us=400) for _ in range(3)],
        "api_task_list": [
            result("api_task_list", 200, cpu_us=cpu) for cpu in (500.0, 400.0, 800.0)
        ],
    }
    summary = report.build(CASES, runs, SETTINGS | {"rounds": 3})
    target = next(t for t in summary["targets"] if t["target"].startswith("api_task_list"))
    assert target["value"] == "0.80 (0.50-1.00)"
    assert target["passed"]


def test_a_target_without_cpu_figures_is_not_passed() -> None:
    runs = one_round(
        bare_task_list=result("bare_task_list", 300),
        api_task_list=result("api_task_list", 300),
    )
    summary = report.build(CASES, runs, SETTINGS)
    target = next(t for t in summary["targets"] if t["target"].startswith("api_task_list"))
    assert target == target | {"value": "not measured", "passed": False}


def test_the_report_is_written_as_json_and_a_chart(tmp_path: Path) -> None:
    # matplotlib comes with the bench session (and requirements/dev.in), not with `nox -s tests`.
    pytest.importorskip("matplotlib")
    summary = report.build(CASES, {case.name: [result(case.name, 100)] for case in CASES}, SETTINGS)
    paths = report.write(summary, tmp_path)
    assert json.loads((tmp_path / "latest.json").read_text())["results"][0]["case"] == "flask_hello"
    assert paths["png"].read_bytes().startswith(b"\x89PNG")
    assert (tmp_path / "latest.png").read_bytes() == paths["png"].read_bytes()


def test_each_bare_equivalent_runs_right_before_its_endpoints() -> None:
    names = [case.name for case in run_order(CASES)]
    assert names == [
        "flask_hello",
        "flask_hello_hooks",
        "bare_task_list",
        "fastapi_task_list_jwt",
        "api_task_list",
    ]


def test_the_median_round_is_kept_with_the_median_cpu_and_every_rounds_errors() -> None:
    rounds = [
        result("a", 300, cpu_us=90),
        result("a", 100, errors=2, cpu_us=300),
        result("a", 200, cpu_us=100),
    ]
    kept = report.median_round(rounds)
    assert kept.requests_per_second == 200
    assert kept.errors == 2
    assert kept.cpu_us_per_request == 100


def test_the_latency_alone_comes_from_the_first_round_whichever_round_is_kept() -> None:
    # Only the first round measures a request alone; the median round may be another one.
    rounds = [
        dataclasses.replace(result("a", 100), p50_alone_ms=1.5),
        result("a", 200),
        result("a", 300),
    ]
    assert report.median_round(rounds).p50_alone_ms == 1.5


def test_a_process_trees_cpu_counts_its_reaped_children() -> None:
    before = cpu.tree_cpu_seconds(os.getpid())
    busy = "import time\nend = time.process_time() + 0.3\nwhile time.process_time() < end: pass"
    subprocess.run([sys.executable, "-c", busy], check=True)
    assert cpu.tree_cpu_seconds(os.getpid()) - before >= 0.25


def test_descendants_include_live_children() -> None:
    with subprocess.Popen([sys.executable, "-c", "import time; time.sleep(5)"]) as child:
        try:
            assert child.pid in cpu.descendants(os.getpid())
        finally:
            child.kill()


def test_a_case_waits_for_the_previous_ones_backlog() -> None:
    # A process still busy (a server working through requests whose clients have gone)
    # holds the next measurement back until it is done.
    spin = "import time\nend = time.time() + 0.6\nwhile time.time() < end: pass"
    busy = subprocess.Popen([sys.executable, "-c", spin])
    try:
        waited = cpu.wait_until_quiet(max_seconds=5)
        assert busy.poll() is not None, f"returned after {waited:.2f}s, while the child spun"
    finally:
        busy.kill()
        busy.wait()


def test_every_case_names_its_server_and_peers_join_only_when_started() -> None:
    ids = {
        "token": "t", "project": 1, "create_project": 2, "task": 3, "username": "u",
        "password": "p", "post": "post-1", "tag": "flask",
    }  # fmt: skip
    urls = {"raw": "http://r", "bare": "http://b", "hooked": "http://h"}
    without = cases("http://gw", urls, ids)
    assert all(case.server for case in without)
    assert not [case for case in without if case.group == "peer"]
    urls |= {name: f"http://{name}" for name in ("fastapi", "drf", "api_uwsgi", "blog_uwsgi")}
    names = {case.name for case in cases("http://gw", urls, ids)}
    assert {"fastapi_task_list_jwt", "drf_task_list_jwt", "api_task_list_uwsgi"} <= names


def test_the_benchmarks_page_shows_a_whole_run() -> None:
    # The page's table is a pasted report; an edit once left its code block empty.
    page = (Path(__file__).resolve().parents[2] / "docs" / "benchmarks.md").read_text()
    section = page.split("## Reading the table", 1)[1]
    table = section.split("```", 2)[1]
    ids = {
        "token": "t", "project": 1, "create_project": 2, "task": 3, "username": "u",
        "password": "p", "post": "post-1", "tag": "flask",
    }  # fmt: skip
    urls = {name: f"http://{name}" for name in ("raw", "bare", "hooked", "fastapi", "drf")}
    urls |= {"api_uwsgi": "http://a", "blog_uwsgi": "http://b"}
    rows = {line.split()[0] for line in table.splitlines() if line.strip()}
    missing = {case.name for case in cases("http://gw", urls, ids)} - rows
    assert missing == set(), f"the table has no row for {sorted(missing)}"
    verdicts = " ".join(line for line in table.splitlines() if line.startswith(("PASS", "MISS")))
    named = ["shared hooks", *report.RATIO_TARGETS, report.PEER_CASE, report.NO_ERRORS, "p99"]
    for target in named:
        assert target in verdicts, f"the table has no verdict on {target}"


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


def test_the_hooks_are_measured_in_a_multiprocess_interpreter() -> None:
    from bench import hookcost

    costs = hookcost.measure_in_subprocess(requests=100, rounds=1)
    totals = {"flask_hello_us", "hooks_us", "hooks_traced_us"}
    assert totals <= set(costs)
    assert {"metrics_us", "access_log_us", "trace_id_us", "proxy_fix_us"} <= set(costs)
    assert all(costs[name] > 0 for name in totals)
    assert costs["hooks_over_hello_us"] == round(costs["hooks_us"] - costs["flask_hello_us"], 1)
    assert "access log line" in hookcost.describe(costs)


def test_errors_fail_the_session_and_a_timing_only_when_strict(
    capsys: pytest.CaptureFixture[str],
) -> None:
    passed = {"target": "hooks", "passed": True}
    slow = {"target": "hooks", "passed": False}
    errors = {"target": report.NO_ERRORS, "value": "api_task_get (timeout 2)", "passed": False}
    assert report.exit_status([passed], strict=True) == 0
    assert report.exit_status([slow], strict=False) == 0
    assert report.exit_status([slow], strict=True) == 1
    assert report.exit_status([passed, errors], strict=False) == 1
    assert "errors under load on api_task_get (timeout 2)" in capsys.readouterr().out


def test_the_blog_pages_are_compared_with_the_bare_home_round_by_round() -> None:
    from bench import blogcost

    pages = ("home", "tag", "author", "feed", "post")
    # The second round ran on a busier machine: both cases slowed down alike.
    samples = {
        "bare_home": [1000.0, 2000.0, 1000.0],
        **{page: [2000.0, 4000.0, 4000.0] for page in pages},
    }
    costs = blogcost.summarise(samples)
    assert costs["bare_home_us"] == 1000.0
    assert costs["home_us"] == 4000.0
    assert costs["home_vs_bare"] == 0.5  # the rounds' ratios: 0.5, 0.5, 0.25
    assert "home       4000 us  0.50x bare" in blogcost.describe(costs)
