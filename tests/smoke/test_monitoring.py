"""Metrics and trace ids through the real stack.

* ``/metrics`` is never served through the gateway; the scraper reaches each service directly;
* under gunicorn, one scrape adds up every worker's counts (prometheus_client's multiprocess
  mode): natively, where the test can reach a service's own port;
* one trace id finds a request in the gateway's log and in the service's, whether the client
  sent a ``traceparent`` or the gateway made one;
* in containers, Prometheus scrapes every replica and evaluates the alert rules.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.smoke.support import wait_for

pytestmark = pytest.mark.smoke

#: native only (deploy/native.py): auth,blog,api,gateway ports on 127.0.0.1
#: Each service's own port, as deploy/native.py started it ("auth=18001,blog=18002,...").
SERVICE_PORTS = dict(
    item.split("=", 1) for item in os.environ.get("SMOKE_SERVICE_PORTS", "").split(",") if item
)
NATIVE = bool(os.environ.get("SMOKE_GUNICORN_PIDS"))
PROMETHEUS_URL = os.environ.get("SMOKE_PROMETHEUS_URL", "")


@pytest.mark.parametrize("path", ["/metrics", "/auth/metrics", "/api/metrics"])
def test_metrics_are_not_served_through_the_gateway(base_url: str, path: str) -> None:
    response = httpx.get(base_url + path)
    assert response.status_code == 404
    assert "http_requests_total" not in response.text


def _healthz_count(port: str) -> float:
    body = httpx.get(f"http://127.0.0.1:{port}/metrics").text
    pattern = r'^http_requests_total\{[^}]*route="/healthz"[^}]*status="200"[^}]*\} (\S+)$'
    return sum(float(value) for value in re.findall(pattern, body, re.MULTILINE))


@pytest.mark.skipif(not NATIVE, reason="needs a service's own port (nox -s smoke)")
def test_one_scrape_counts_the_requests_of_every_worker(
    base_url: str, read_logs: Callable[[str], str]
) -> None:
    port = SERVICE_PORTS["auth"]
    before = _healthz_count(port)
    marker = f"metrics-{uuid.uuid4().hex}"
    requests = 200

    def get(number: int) -> int:
        headers = {"X-Request-ID": f"{marker}-{number}"}
        return httpx.get(f"{base_url}/auth/healthz", headers=headers).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert set(pool.map(get, range(requests))) == {200}

    # Both workers served some of them (the access log names the worker's pid) ...
    def workers() -> set[int]:
        lines = [line for line in read_logs("auth").splitlines() if marker in line]
        return {json.loads(line)["pid"] for line in lines if '"pid"' in line}

    wait_for(lambda: len(workers()) >= 2, message="the requests did not reach both workers")
    # ... and every scrape, whichever worker answers it, counts all of them: once each worker's
    # metrics thread has flushed (a quarter of a second), and from then on.
    wait_for(
        lambda: _healthz_count(port) - before == requests, message="a worker's requests are missing"
    )
    for _ in range(6):
        assert _healthz_count(port) - before == requests


def test_a_traceparent_sent_to_the_gateway_reaches_the_service_log(
    base_url: str, read_logs: Callable[[str], str]
) -> None:
    trace_id = uuid.uuid4().hex
    traceparent = f"00-{trace_id}-{uuid.uuid4().hex[:16]}-01"
    response = httpx.get(f"{base_url}/auth/login", headers={"traceparent": traceparent})
    assert response.status_code == 200

    def logged_by(name: str) -> list[str]:
        return [line for line in read_logs(name).splitlines() if trace_id in line]

    wait_for(lambda: bool(logged_by("gateway")), message="no gateway log line has the trace id")
    wait_for(lambda: bool(logged_by("auth")), message="no auth log line has the trace id")
    assert any('"trace_id":"' + trace_id in line for line in logged_by("gateway"))
    # the path as the client sent it, with the prefix nginx stripped (ProxyFix puts it back)
    assert any('"path": "/auth/login"' in line for line in logged_by("auth"))


def test_the_gateway_starts_a_trace_whose_id_is_the_request_id(
    base_url: str, read_logs: Callable[[str], str]
) -> None:
    response = httpx.get(f"{base_url}/auth/login", headers={"traceparent": "forged-and-invalid"})
    assert response.status_code == 200
    request_id = response.headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", request_id)

    def service_lines() -> list[dict[str, object]]:
        lines = [line for line in read_logs("auth").splitlines() if request_id in line]
        # compose prefixes each line with its container's name: the JSON starts at the brace
        return [json.loads(line[line.index("{") :]) for line in lines if "{" in line]

    def access() -> list[dict[str, object]]:
        return [line for line in service_lines() if line.get("logger") == "servicekit.access"]

    # the app's lines leave with its log writer's next round (a tenth of a second)
    wait_for(lambda: bool(access()), message="no app access line has the request id")
    assert {line["trace_id"] for line in access()} == {request_id}


@pytest.mark.skipif(not PROMETHEUS_URL, reason="Prometheus runs in containers only")
def test_prometheus_scrapes_every_replica_and_evaluates_the_alert_rules() -> None:
    def targets() -> list[dict[str, object]]:
        answer = httpx.get(f"{PROMETHEUS_URL}/api/v1/targets", params={"state": "active"})
        return list(answer.json()["data"]["activeTargets"])

    def all_up() -> bool:
        jobs = {t["labels"]["job"]: t["health"] for t in targets()}  # type: ignore[index]
        return {"auth", "blog", "api"} <= set(jobs) and all(t["health"] == "up" for t in targets())

    wait_for(all_up, timeout=90, message=f"not every target is up: {targets()}")

    def rules() -> list[dict[str, object]]:
        groups = httpx.get(f"{PROMETHEUS_URL}/api/v1/rules").json()["data"]["groups"]
        return [rule for group in groups for rule in group["rules"]]

    wait_for(
        lambda: bool(rules()) and all(r.get("lastEvaluation", "").startswith("2") for r in rules()),  # type: ignore[union-attr]
        timeout=60,
        message="the alert rules were not evaluated",
    )
    assert {r["name"] for r in rules()} >= {"HighErrorRatio", "TargetDown", "NotReady"}
    assert all(r["health"] == "ok" for r in rules()), rules()
    # A series the rules read is there: the services' own request counter.
    answer = httpx.get(f"{PROMETHEUS_URL}/api/v1/query", params={"query": "http_requests_total"})
    assert {s["metric"]["job"] for s in answer.json()["data"]["result"]} >= {"auth", "blog", "api"}
