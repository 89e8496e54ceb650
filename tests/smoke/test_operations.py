"""How the production configuration behaves when things go wrong, through the real gateway.

* a gunicorn worker killed with SIGKILL during a short load loses no request: the master keeps
  the listening socket and replaces the worker at once, and nginx retries an idempotent request
  whose connection the dead worker dropped. The one thing nobody can save is a response the
  worker was in the middle of writing (headers sent, body not): that client sees it cut, at
  most one per thread of the killed worker, never a refusal or an error page;
* a SIGHUP reload of the master loses nothing at all (old workers finish what they started);
* slow clients holding connections open do not block anyone else (nginx buffers);
* the request id sent to the gateway appears in the gateway's and the service's log lines;
* in containers, `docker compose up --scale api=3` spreads requests over every replica without
  restarting the gateway (it resolves the service name at request time).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

import httpx
import pytest

from tests.smoke.support import compose, wait_for

pytestmark = pytest.mark.smoke

#: deploy/gunicorn.conf.py's default (GUNICORN_THREADS)
THREADS_PER_WORKER = 4


#: Prints the pids of the live children of the process given as argv[1] (gunicorn's workers).
CHILDREN_SCRIPT = """
import sys
from pathlib import Path
for entry in Path("/proc").iterdir():
    try:
        state, parent = (entry / "stat").read_text().rsplit(")", 1)[1].split()[:2]
    except (OSError, IndexError):  # not a process, or one that ended while we looked
        continue
    if parent == sys.argv[1] and state != "Z":  # zombies are already dead
        print(entry.name)
"""
SIGNAL_SCRIPT = "import os, sys; os.kill(int(sys.argv[1]), int(sys.argv[2]))"


class Gunicorn:
    """One service's gunicorn: its master, its workers, signals to them.

    Natively (nox -s smoke) the processes are ours; in containers (nox -s containers) the
    master is PID 1 of the service's container and we reach it with `docker compose exec`.
    """

    def __init__(self, service: str) -> None:
        pids = dict(
            item.split("=", 1)
            for item in os.environ.get("SMOKE_GUNICORN_PIDS", "").split(",")
            if item
        )
        self.service = service
        self.native = service in pids
        self.master = int(pids[service]) if self.native else 1

    def _python(self, script: str, *args: object) -> str:
        if self.native:
            command = [sys.executable, "-c", script, *map(str, args)]
            return subprocess.run(command, capture_output=True, text=True, check=True).stdout
        return compose("exec", "-T", self.service, "python", "-c", script, *map(str, args))

    def workers(self) -> set[int]:
        return {int(pid) for pid in self._python(CHILDREN_SCRIPT, self.master).split()}

    def signal(self, pid: int, signum: signal.Signals) -> None:
        self._python(SIGNAL_SCRIPT, pid, int(signum))


@contextmanager
def steady_load(base_url: str, path: str, clients: int = 12) -> Iterator[Counter[int | str]]:
    """Keep ``clients`` threads requesting ``path`` until the block ends; count the outcomes."""
    outcomes: Counter[int | str] = Counter()
    lock = threading.Lock()
    stop = threading.Event()

    def client() -> None:
        with httpx.Client(base_url=base_url, timeout=15) as http:
            while not stop.is_set():
                try:
                    outcome: int | str = http.get(path).status_code
                except httpx.RemoteProtocolError as error:
                    started = "complete message body" in str(error) or "incomplete" in str(error)
                    outcome = "cut mid-body" if started else type(error).__name__
                except httpx.HTTPError as error:
                    outcome = type(error).__name__
                with lock:
                    outcomes[outcome] += 1

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    try:
        yield outcomes
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)


def run_load_around(base_url: str, action: Callable[[], None]) -> Counter[int | str]:
    """One second of load, ``action``, three more seconds of load (bounded, a few hundred)."""
    with steady_load(base_url, "/auth/login") as outcomes:
        time.sleep(1)
        action()
        time.sleep(3)
    return outcomes


def test_a_killed_worker_loses_no_request(base_url: str) -> None:
    gunicorn = Gunicorn("auth")
    before = gunicorn.workers()
    assert before, "gunicorn has workers"
    victim = min(before)

    outcomes = run_load_around(base_url, lambda: gunicorn.signal(victim, signal.SIGKILL))

    assert set(outcomes) <= {200, "cut mid-body"}, f"nothing refused or lost: {dict(outcomes)}"
    assert outcomes["cut mid-body"] <= THREADS_PER_WORKER, dict(outcomes)
    assert outcomes[200] > 50
    # The master replaced the worker it lost.
    wait_for(
        lambda: victim not in (now := gunicorn.workers()) and len(now) == len(before),
        timeout=20,
        message="gunicorn did not replace the killed worker",
    )


def test_a_reload_loses_no_request(base_url: str) -> None:
    gunicorn = Gunicorn("auth")
    before = gunicorn.workers()

    outcomes = run_load_around(base_url, lambda: gunicorn.signal(gunicorn.master, signal.SIGHUP))

    assert set(outcomes) == {200}, f"every request answered 200: {dict(outcomes)}"
    # SIGHUP started new workers and retired the old ones gracefully.
    wait_for(
        lambda: not ((now := gunicorn.workers()) & before) and len(now) == len(before),
        timeout=30,
        message="the reload did not replace the workers",
    )


def test_slow_clients_do_not_block_others(base_url: str) -> None:
    """More slow connections than gunicorn has threads (2 workers x 4): nginx absorbs them."""
    url = urlsplit(base_url)
    host, port = url.hostname or "127.0.0.1", url.port or 80
    slow: list[socket.socket] = []
    try:
        for number in range(40):
            connection = socket.create_connection((host, port), timeout=5)
            if number % 2:
                # headers that never end
                connection.sendall(b"GET / HTTP/1.1\r\nHost: smoke\r\nX-Slow: 1\r\n")
            else:
                # a body announced and never sent
                connection.sendall(
                    b"POST /auth/login HTTP/1.1\r\nHost: smoke\r\nContent-Length: 100000\r\n"
                    b"Content-Type: application/x-www-form-urlencoded\r\n\r\nusername=a"
                )
            slow.append(connection)
        time.sleep(0.5)
        with httpx.Client(base_url=base_url, timeout=5) as http:
            started = time.monotonic()
            statuses = [http.get(path).status_code for path in ["/", "/auth/login", "/readyz"] * 5]
            elapsed = time.monotonic() - started
        assert statuses == [200] * 15
        assert elapsed < 3, f"15 requests took {elapsed:.1f}s next to 40 slow clients"
    finally:
        for connection in slow:
            connection.close()


def test_large_bodies_are_buffered_and_too_large_ones_refused_at_the_gateway(
    base_url: str,
) -> None:
    """1 MiB is more than nginx keeps in memory (it spools to a file) and passes; more than
    MAX_CONTENT_LENGTH (8 MiB) is refused by nginx before any service sees it."""
    with httpx.Client(base_url=base_url, timeout=30) as http:
        spooled = http.post("/auth/login", data={"username": "x", "padding": "a" * 1024 * 1024})
        # the app itself answered (its Server-Timing header): no CSRF token, so a clean 400
        assert spooled.status_code == 400, spooled.text[:500]
        assert spooled.headers["server-timing"].startswith("app;")
        too_large = http.post("/auth/login", content=b"a" * (8 * 1024 * 1024 + 1))
        assert too_large.status_code == 413
        assert "server-timing" not in too_large.headers


def test_the_request_id_is_in_the_gateway_and_service_logs(
    base_url: str, read_logs: Callable[[str], str]
) -> None:
    request_id = f"smoke-{uuid.uuid4().hex}"
    response = httpx.get(f"{base_url}/auth/login", headers={"X-Request-ID": request_id})
    assert response.status_code == 200
    assert response.headers["x-request-id"] == request_id

    def logged_by(name: str) -> list[str]:
        return [line for line in read_logs(name).splitlines() if request_id in line]

    wait_for(lambda: bool(logged_by("gateway")), message="no gateway log line has the id")
    wait_for(lambda: bool(logged_by("auth")), message="no auth log line has the id")
    assert any('"uri":"/auth/login"' in line for line in logged_by("gateway"))
    # the path as the client sent it, with the prefix nginx stripped (ProxyFix puts it back);
    # the app's line leaves with its log writer's next round, after gunicorn's own
    wait_for(
        lambda: any('"path": "/auth/login"' in line for line in logged_by("auth")),
        message="no app access line with the full path",
    )

    # An invalid id is replaced by the gateway, never passed on or logged.
    bad = httpx.get(f"{base_url}/auth/login", headers={"X-Request-ID": "not valid!"})
    assert bad.headers["x-request-id"] != "not valid!"
    assert len(bad.headers["x-request-id"]) == 32


def test_scaling_spreads_requests_without_restarting_the_gateway(base_url: str) -> None:
    compose("up", "--detach", "--wait", "--no-recreate", "--scale", "api=3", "api")
    try:
        marker = f"scale-{uuid.uuid4().hex}"
        with httpx.Client(base_url=base_url, timeout=10) as http:
            # the gateway's DNS answers are valid for 5 s: the new replicas join within that
            time.sleep(6)
            for number in range(30):
                response = http.get("/api/healthz", headers={"X-Request-ID": f"{marker}-{number}"})
                assert response.status_code == 200
        lines = [
            line for line in compose("logs", "--no-color", "api").splitlines() if marker in line
        ]
        replicas = {line.split("|", 1)[0].strip() for line in lines}
        assert len(replicas) == 3, f"requests reached {sorted(replicas)}"
    finally:
        compose("up", "--detach", "--wait", "--no-recreate", "--scale", "api=1", "api")
