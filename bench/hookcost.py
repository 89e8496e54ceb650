"""What the shared hooks cost per request, in CPU time, measured in process.

wrk's figures on a shared machine swing by more than the hooks cost, so they are also measured
here directly, in a fresh interpreter with prometheus_client in multiprocess mode and the log
writer thread started, as in a gunicorn worker: the Flask hello-world and the same with
``servicekit.init_service`` (``bench.baselines``), each called as a WSGI app with the environ
the gateway sends (X-Request-ID, traceparent, X-Forwarded-*), rounds interleaved, the fastest
round kept (the process's CPU clock, so the writer thread's work counts); then the same with
spans exported (a batch processor whose exporter drops them), and each part of the hooks alone.
``python -m bench.hookcost [requests [rounds]]`` prints one JSON object: microseconds per
request.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

REQUESTS = 4_000
ROUNDS = 7
PART_REPEAT = 20_000
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACEPARENT = f"00-{TRACE_ID}-00f067aa0ba902b7-01"

#: A request as gunicorn hands it over behind the gateway (deploy/nginx's proxy headers).
ENVIRON: dict[str, Any] = {
    "REQUEST_METHOD": "GET",
    "SCRIPT_NAME": "",
    "PATH_INFO": "/",
    "QUERY_STRING": "",
    "SERVER_NAME": "127.0.0.1",
    "SERVER_PORT": "8000",
    "SERVER_PROTOCOL": "HTTP/1.0",
    "REMOTE_ADDR": "127.0.0.1",
    "REMOTE_PORT": "50000",
    "wsgi.url_scheme": "http",
    "wsgi.version": (1, 0),
    "wsgi.multithread": True,
    "wsgi.multiprocess": True,
    "wsgi.run_once": False,
    "HTTP_HOST": "127.0.0.1:8080",
    "HTTP_CONNECTION": "close",
    "HTTP_USER_AGENT": "wrk",
    "HTTP_X_FORWARDED_FOR": "127.0.0.1",
    "HTTP_X_FORWARDED_PROTO": "http",
    "HTTP_X_FORWARDED_HOST": "127.0.0.1:8080",
    "HTTP_X_FORWARDED_PORT": "8080",
    "HTTP_X_FORWARDED_PREFIX": "",
    "HTTP_X_REQUEST_ID": TRACE_ID,
    "HTTP_TRACEPARENT": TRACEPARENT,
    "HTTP_TRACESTATE": "",
}

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def _start_response(_status: str, _headers: list[tuple[str, str]], _exc: Any = None) -> None:
    return None


def _cpu_us_per_request(app: WSGIApp, requests: int) -> float:
    errors = sys.stderr
    started = time.process_time()
    for _ in range(requests):
        environ = dict(ENVIRON)
        environ["wsgi.input"] = io.BytesIO()
        environ["wsgi.errors"] = errors
        body = app(environ, _start_response)
        for _chunk in body:
            pass
        close = getattr(body, "close", None)
        if close is not None:
            close()
    return (time.process_time() - started) / requests * 1e6


def _part_us(step: Callable[[], object], repeat: int = PART_REPEAT) -> float:
    step()  # label children, tracers: created once, not per request
    best = float("inf")
    for _ in range(3):
        started = time.process_time()
        for _ in range(repeat):
            step()
        best = min(best, time.process_time() - started)
    return best / repeat * 1e6


def _hooked_environ(workdir: str) -> dict[str, str]:
    """The settings bench/stack.py gives the hooked baseline under gunicorn."""
    return {
        "APP_ENV": "production",
        "BENCH_SECRET_KEY": "k" * 64,
        "BENCH_INSTANCE_PATH": workdir,
        "BENCH_TRUSTED_PROXIES": "1",
        "BENCH_SECURE_COOKIES": "false",
    }


def _parts() -> dict[str, float]:
    """Each part of the hooks alone, per request."""
    from flask import Flask
    from werkzeug.middleware.proxy_fix import ProxyFix

    from servicekit import requestmetrics, tracing
    from servicekit.hooks import RequestState, TrustedProxyFix
    from servicekit.logging import log_access

    recorder = requestmetrics.RequestRecorder("bench-parts")

    def record_metrics() -> None:
        recorder.start(recorder)
        recorder.record("GET", "/", 200, 0.0005)
        recorder.end(recorder)

    def trace_id() -> None:
        state = RequestState(TRACE_ID, 0.0)
        tracing.read_incoming_trace(state, TRACEPARENT)

    def access_line() -> None:
        log_access(
            method="GET",
            path="/",
            status=200,
            duration_ms=0.5,
            user_id=None,
            remote_addr="127.0.0.1",
            request_id=TRACE_ID,
            trace_id=TRACE_ID,
        )

    def proxy(fix: Any) -> Callable[[], object]:
        return lambda: fix(dict(ENVIRON), None)

    def nothing(_environ: Any, _start: Any) -> list[bytes]:
        return []

    app = Flask("hookcost-parts")
    with app.test_request_context("/"):  # the log formatter reads the request's ids
        access = _part_us(access_line)
    return {
        "metrics_us": _part_us(record_metrics),
        "access_log_us": access,
        "trace_id_us": _part_us(trace_id),
        "proxy_fix_us": _part_us(proxy(TrustedProxyFix(nothing, 1, 1, 1, 1, 1))),
        "werkzeug_proxy_fix_us": _part_us(proxy(ProxyFix(nothing, 1, 1, 1, 1, 1))),
    }


class _DroppingExporter:
    """A span exporter that sends nowhere: the cost of making and batching spans only."""

    def export(self, _spans: Sequence[Any]) -> Any:
        from opentelemetry.sdk.trace.export import SpanExportResult

        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        return None

    def force_flush(self, _timeout_millis: int = 30_000) -> bool:
        return True


def measure(requests: int = REQUESTS, rounds: int = ROUNDS) -> dict[str, float]:
    """Microseconds of CPU per request: Flask hello, + hooks, + hooks with spans; the parts."""
    from flask import Flask
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    from bench.baselines import create_hooked_app, hello
    from servicekit import tracing
    from servicekit.logging import write_in_background
    from servicekit.requestmetrics import record_in_background

    bare = Flask("hookcost")
    bare.add_url_rule("/", view_func=hello)
    with tempfile.TemporaryDirectory(prefix="hookcost-") as workdir:
        hooked = create_hooked_app(_hooked_environ(workdir))
        write_in_background()  # as gunicorn's post_fork does
        record_in_background()
        best = {"flask_hello": float("inf"), "hooks": float("inf"), "hooks_traced": float("inf")}
        for app in (bare, hooked):
            _cpu_us_per_request(app, 200)  # warm: imports, label children, caches
        # Rounds interleave: whatever else the machine does hits both apps alike.
        for _ in range(rounds):
            for name, app in (("flask_hello", bare), ("hooks", hooked)):
                best[name] = min(best[name], _cpu_us_per_request(app, requests))
            tracing.start_tracing("bench", BatchSpanProcessor(_DroppingExporter()))  # type: ignore[arg-type]
            _cpu_us_per_request(hooked, 50)
            best["hooks_traced"] = min(best["hooks_traced"], _cpu_us_per_request(hooked, requests))
            tracing.stop_tracing()
        costs = {f"{name}_us": round(value, 1) for name, value in best.items()}
        costs["hooks_over_hello_us"] = round(costs["hooks_us"] - costs["flask_hello_us"], 1)
        costs["traced_over_hello_us"] = round(costs["hooks_traced_us"] - costs["flask_hello_us"], 1)
        costs.update({name: round(value, 2) for name, value in _parts().items()})
    return costs


def measure_in_subprocess(requests: int = REQUESTS, rounds: int = ROUNDS) -> dict[str, float]:
    """:func:`measure` in a fresh interpreter whose metrics are in multiprocess mode."""
    with tempfile.TemporaryDirectory(prefix="hookcost-") as folder:
        env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": folder}
        for name in [name for name in env if name.startswith("OTEL_")]:
            del env[name]
        command = [sys.executable, "-m", "bench.hookcost", str(requests), str(rounds)]
        # stderr is where the hooked app's JSON log lines go: thousands of them.
        output = subprocess.run(  # noqa: S603 - our own argv
            command, env=env, check=True, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
        )
    return dict(json.loads(output.stdout))


def describe(costs: dict[str, float]) -> str:
    """The figures as text for the terminal."""
    return "\n".join(
        [
            "shared hooks in process (CPU per request, fastest of the interleaved rounds):",
            f"  Flask hello {costs['flask_hello_us']:.1f} us; with the hooks "
            f"{costs['hooks_us']:.1f} us (+{costs['hooks_over_hello_us']:.1f}); with spans "
            f"exported {costs['hooks_traced_us']:.1f} us (+{costs['traced_over_hello_us']:.1f})",
            f"  parts: access log line {costs['access_log_us']:.1f} us, metrics "
            f"{costs['metrics_us']:.1f} us, trace id {costs['trace_id_us']:.1f} us, ProxyFix "
            f"{costs['proxy_fix_us']:.1f} us (Werkzeug's own {costs['werkzeug_proxy_fix_us']:.1f})",
        ]
    )


if __name__ == "__main__":
    print(json.dumps(measure(*(int(arg) for arg in sys.argv[1:3]))))
