"""gunicorn settings shared by the three services (auth, blog, api).

The same file runs every service, in its container (`CMD gunicorn -c deploy/gunicorn.conf.py`)
and natively (`nox -s smoke`). Everything a deployment may want to change comes from the
environment; the defaults suit a small machine (see docs/deployment.md for the measurements).

| variable              | default              | meaning                                        |
| --------------------- | -------------------- | ---------------------------------------------- |
| GUNICORN_BIND         | $GUNICORN_HOST:$PORT | where to listen (PORT defaults to 8000)        |
| GUNICORN_HOST         | 127.0.0.1            | the address; the images set 0.0.0.0            |
| WEB_CONCURRENCY       | usable cores         | worker processes                               |
| GUNICORN_THREADS      | 4                    | threads per worker (gthread)                   |
| GUNICORN_TIMEOUT      | 30                   | seconds before a silent worker is killed       |
| GUNICORN_MAX_REQUESTS | 100000               | requests before a worker is recycled (0 never) |
| GUNICORN_ACCESS_LOG   | -                    | access log file; "-" stderr; empty: none       |
| FORWARDED_ALLOW_IPS   | 127.0.0.1,::1        | who may set X-Forwarded-Proto (the gateway)    |
| APP_MODULE            | (none)               | the app is `<APP_MODULE>:create_app()`         |
| LOG_LEVEL             | info                 | gunicorn's own log level                       |
| PROMETHEUS_MULTIPROC_DIR | a new tmpfs folder | where workers keep their metrics           |

The OpenTelemetry exporter is configured by the standard OTEL_* variables (docs/operations.md).
"""

from __future__ import annotations

import gc
import json
import logging
import os
import shutil
import tempfile
from datetime import UTC, datetime
from typing import Any

from gunicorn import glogging


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


def _usable_cores() -> int:
    # sched_getaffinity honours CPU pinning (docker --cpuset-cpus); cpu_count would not.
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


# --- what to run --------------------------------------------------------------------------------
# The image sets APP_MODULE (auth_service, blog_service, api_service); an app given on the
# command line (`gunicorn -c deploy/gunicorn.conf.py 'blog_service:create_app()'`) wins.
if os.environ.get("APP_MODULE"):
    wsgi_app = f"{os.environ['APP_MODULE']}:create_app()"
proc_name = os.environ.get("APP_MODULE") or None

# --- sockets and workers ------------------------------------------------------------------------
# Loopback unless told otherwise: a service answers only the gateway in front of it. A
# container must listen on its network address (the images set GUNICORN_HOST=0.0.0.0), and
# compose keeps that network private to the gateway and the apps.
_host = os.environ.get("GUNICORN_HOST") or "127.0.0.1"
bind = [os.environ.get("GUNICORN_BIND") or f"{_host}:{_env_int('PORT', 8000)}"]
# gthread with workers = cores and 4 threads each was the best measured setting for these
# database-backed Flask apps on 2 cores (docs/design.md): threads overlap database waits, one
# process per core uses the CPU. Sync workers would need 2n+1 processes and still lost on
# CPU-bound pages.
worker_class = "gthread"
workers = _env_int("WEB_CONCURRENCY", _usable_cores())
threads = _env_int("GUNICORN_THREADS", 4)
# The app is created once, in the master, before the workers are forked. A new worker (after
# SIGKILL, OOM, max_requests, or a SIGHUP reload) then serves at once: loading the app in each
# worker took seconds on a busy machine, and during a SIGHUP gunicorn retires the old workers
# before the new ones have loaded it, so requests waited. The price: SIGHUP re-reads this file
# and replaces the workers but keeps the code; deploy new code by restarting (a new container).
# post_fork below gives each worker its own database connections.
preload_app = True

# --- time limits --------------------------------------------------------------------------------
timeout = _env_int("GUNICORN_TIMEOUT", 30)
# On SIGTERM (docker stop, compose down) and on SIGHUP, workers finish their requests first.
graceful_timeout = _env_int("GUNICORN_GRACEFUL_TIMEOUT", 25)
# Only nginx talks to gunicorn, and it sends every request on a connection of its own (its
# `proxy_pass` to a looked-up name keeps no upstream connections). Keeping such a connection
# open after the answer only made the worker wake again to see nginx close it.
keepalive = 0
# A worker takes a connection only when one of its threads is free, so a waiting request stays
# in the listen queue, where the first worker with a free thread takes it. Accepting more made
# each worker a queue of its own: a request queued behind a busy worker while the other sat
# idle, and at 32 connections p99 was 4-10x p50 instead of under 2x (docs/benchmarks.md).
worker_connections = threads
# The gateway sets the limits on a request's size; gunicorn's own must not be stricter, or a URL
# nginx accepts (its 8 KiB header buffers) gets gunicorn's HTML 414 instead of the app's answer.
# gunicorn's maximum; nginx refuses longer request lines first.
limit_request_line = 8190
# Recycle workers now and then so a slow leak never grows without bound. Rarely: a worker's
# memory stayed flat over 90,000 requests, and a new worker is slow at first, as it opens its
# connections and compiles its templates and statements (a page's first request took 10-28 ms
# against 1-4 ms later; docs/benchmarks.md). At 20,000 a blog worker under full load was
# replaced about once a minute.
# The jitter keeps the workers from restarting at the same moment, which stalls every request
# for the half second a worker takes to be replaced. The workers share one queue
# (worker_connections above), so they serve nearly the same number of requests: a tenth as
# jitter still let them meet often.
max_requests = _env_int("GUNICORN_MAX_REQUESTS", 100_000)
max_requests_jitter = max(0, max_requests // 2)
# The heartbeat file on tmpfs: a container's overlay filesystem can stall fchmod and get
# healthy workers killed.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108 - tmpfs, by design

# --- the gateway in front -----------------------------------------------------------------------
# gunicorn believes X-Forwarded-Proto only from these addresses. The app itself uses Werkzeug's
# ProxyFix (TRUSTED_PROXIES=1) for X-Forwarded-For/Host/Prefix. In compose only the gateway can
# reach a service, so compose sets "*"; natively the gateway is on loopback.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")

# gunicorn 27 opens a control socket in ~/.gunicorn by default, and a second gunicorn on the same
# machine replaces the first one's. Nothing here uses it (signals do the job): no socket at all.
control_socket_disable = True

# --- metrics ------------------------------------------------------------------------------------
# Every worker is a process with its own memory, while a scrape of /metrics reaches one of them:
# prometheus_client's multiprocess mode has each worker write its values to files in this folder
# and the scraped worker add them all up. The variable must be set before the app (and so
# prometheus_client) is imported, which is why it is set here, in the master, and not in the app.
# One folder per gunicorn master (three run side by side natively); a SIGHUP re-reads this file
# and keeps the folder, because the variable is then already set.
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    _metrics_parent = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108 - tmpfs
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(
        prefix=f"metrics-{proc_name or 'app'}-", dir=_metrics_parent
    )


def _clear_metrics_directory() -> None:
    """Start from zero: files left by a previous run would be added to this run's values."""
    directory = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    os.makedirs(directory, exist_ok=True)
    for entry in os.scandir(directory):
        if entry.is_file():
            os.unlink(entry.path)
        else:
            shutil.rmtree(entry.path, ignore_errors=True)


# Cleared now, in the master, before the app is imported (preload_app) and writes a value.
# A SIGHUP re-reads this file too: that must not clear the live workers' counters.
if not os.environ.get("_METRICS_DIRECTORY_CLEARED"):
    _clear_metrics_directory()
    os.environ["_METRICS_DIRECTORY_CLEARED"] = "1"

# Imported here, in the master, so that a new worker (after max_requests, or a killed one)
# serves at once: imported in post_fork they took each new worker seconds on a busy machine,
# while requests waited. Not at the top: prometheus_client reads PROMETHEUS_MULTIPROC_DIR
# when it is imported, so it must come after the folder is chosen above.
from prometheus_client import multiprocess  # noqa: E402

from servicekit.logging import stop_writing_in_background, write_in_background  # noqa: E402
from servicekit.requestmetrics import (  # noqa: E402
    record_in_background,
    stop_recording_in_background,
)
from servicekit.tracing import start_tracing_after_fork, stop_tracing  # noqa: E402

# --- logs ---------------------------------------------------------------------------------------
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
errorlog = "-"
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-") or None


class JsonAccessLogger(glogging.Logger):
    """gunicorn's access log as one JSON object per line, with the request id, for the requests
    the app did not log itself.

    gunicorn's own ``access_log_format`` pastes raw header values into a string, so a quote in a
    User-Agent would break the JSON; this builds the line with ``json.dumps`` instead. The
    request id is the one the app answered with (X-Request-ID): the gateway's when it sent one.
    """

    def access(self, resp: Any, _req: Any, environ: dict[str, Any], request_time: Any) -> None:
        # One line per request: an app with servicekit's hooks wrote its own (it knows the
        # route, the user and the trace), so this one would only repeat it at the cost of a
        # second JSON line per request. Requests the app never saw are still logged here.
        if not self.access_log_enabled or environ.get("servicekit.access_logged"):
            return
        headers = {name.lower(): value for name, value in (resp.headers or [])}
        status = resp.status.split(None, 1)[0] if isinstance(resp.status, str) else resp.status
        query = environ.get("QUERY_STRING")
        entry = {
            "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "level": "INFO",
            "logger": "gunicorn.access",
            "service": proc_name,
            "request_id": headers.get("x-request-id") or environ.get("HTTP_X_REQUEST_ID"),
            # The client as the app saw it: ProxyFix rewrote REMOTE_ADDR in this same environ
            # from the one X-Forwarded-For hop it trusts. The raw header is whatever the
            # client claimed, and must never stand in for its address.
            "remote_addr": environ.get("REMOTE_ADDR"),
            "method": environ.get("REQUEST_METHOD"),
            "path": environ.get("PATH_INFO", "") + (f"?{query}" if query else ""),
            "status": int(status) if str(status).isdigit() else status,
            "bytes": getattr(resp, "sent", None),
            "duration_ms": round(request_time.total_seconds() * 1000, 2),
            "pid": os.getpid(),
        }
        try:
            self.access_log.info(json.dumps(entry))
        except Exception:  # a log line must never fail a request
            self.error("could not write the access log line", exc_info=True)


logger_class = JsonAccessLogger


def pre_fork(_server: Any, _worker: Any) -> None:
    """Freeze what the master loaded, so that a worker's garbage collector leaves it alone.

    The app, SQLAlchemy, Jinja and their modules (loaded once here, preload_app) are over a
    hundred thousand objects that live as long as the worker. Without this, each of a worker's
    full collections walks all of them: a pause of tens of milliseconds that lands on whichever
    request is running (docs/benchmarks.md, "The tail of a page"), and writes to every page the
    worker still shares with the master (copy on write). Frozen, they are out of the
    collector's reach; the worker's own objects are collected as before. The garbage is
    collected first, so that it is not frozen with the rest.
    """
    gc.collect()
    gc.freeze()


def post_fork(_server: Any, worker: Any) -> None:
    """Make the worker's own connections and tracer.

    Database connections inherited from the master are dropped: a socket shared by two
    processes mixes their conversations; each worker opens its own on first use. Threads do
    not survive fork, so each worker starts its own here: the tracer's exporter, the writer
    that takes JSON log lines (the access log among them) off the request threads, and the
    thread that adds the requests' figures to the metrics.
    """
    write_in_background()
    record_in_background()
    start_tracing_after_fork()
    app = worker.app.wsgi()
    database = getattr(app, "extensions", {}).get("sqlalchemy")
    if database is None:
        return
    with app.app_context():
        for engine in database.engines.values():
            engine.dispose(close=False)


def worker_exit(_server: Any, _worker: Any) -> None:
    """Write the queued log lines and send the queued spans before the worker is gone."""
    stop_tracing()
    stop_recording_in_background()
    stop_writing_in_background()


def child_exit(_server: Any, worker: Any) -> None:
    """A worker is gone (recycled, killed, reloaded): its in-flight and pool gauges go with it;
    its counters stay in the folder, so totals never go backwards."""
    multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]


def on_starting(_server: Any) -> None:
    """Say so when running as root: the images run as an unprivileged user, and so should you."""
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        logging.getLogger("gunicorn.error").warning(
            "running as root: in production run gunicorn as an unprivileged user"
        )
