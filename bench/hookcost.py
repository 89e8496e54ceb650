"""What the metrics and tracing parts of the shared hooks cost per request, in CPU time.

wrk's figures on a shared machine swing by more than these parts cost, so they are measured
here directly: each part's calls for one request, repeated, timed with the process's CPU clock,
in a fresh interpreter with prometheus_client in multiprocess mode as under gunicorn.
``python -m bench.hookcost`` prints one JSON object: microseconds per request for each part.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable

REPEAT = 20_000
TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def _per_request_us(step: Callable[[], None], repeat: int = REPEAT) -> float:
    step()  # label children, tracers: created once, not per request
    started = time.process_time()
    for _ in range(repeat):
        step()
    return round((time.process_time() - started) / repeat * 1e6, 2)


def measure() -> dict[str, float]:
    """Microseconds of CPU per request: metrics, the trace id (no exporter), spans (exported)."""
    from flask import Flask, request
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from servicekit import metrics, tracing

    def record_metrics() -> None:
        started = metrics.start_request("bench")
        metrics.finish_request("bench", "GET", "/", 200, started)

    app = Flask("hookcost")
    costs = {"metrics_us": _per_request_us(record_metrics)}
    with app.test_request_context("/", headers={"traceparent": TRACEPARENT}):

        def trace(service: str) -> Callable[[], None]:
            def step() -> None:
                tracing.start_request_trace(service, request.headers, "GET", "/", "x" * 16)
                tracing.finish_request_trace(200)
                tracing.end_request_trace(None)

            return step

        costs["trace_id_us"] = _per_request_us(trace("bench-off"))
        exporter = InMemorySpanExporter()
        tracing.start_tracing("bench-on", SimpleSpanProcessor(exporter))

        def traced() -> None:
            trace("bench-on")()
            exporter.clear()

        costs["request_span_us"] = _per_request_us(traced)
    return costs


def measure_in_subprocess() -> dict[str, float]:
    """:func:`measure` in a fresh interpreter whose metrics are in multiprocess mode."""
    with tempfile.TemporaryDirectory(prefix="hookcost-") as folder:
        env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": folder}
        env.pop("OTEL_EXPORTER_OTLP_ENDPOINT", None)
        command = [sys.executable, "-m", "bench.hookcost"]
        output = subprocess.run(command, env=env, check=True, capture_output=True, text=True)  # noqa: S603 - our own argv
    return dict(json.loads(output.stdout))


def describe(costs: dict[str, float]) -> str:
    return (
        f"shared hooks' parts, CPU per request (in-process): metrics {costs['metrics_us']:.1f} us, "
        f"trace id {costs['trace_id_us']:.1f} us, request span when exported "
        f"{costs['request_span_us']:.1f} us"
    )


if __name__ == "__main__":
    print(json.dumps(measure()))
