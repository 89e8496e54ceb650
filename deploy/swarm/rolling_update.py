"""Roll every service of a deployed stack while a steady load runs; count what the load saw.

    python deploy/swarm/rolling_update.py --base-url http://127.0.0.1:8080 --stack NAME \\
        --token TOKEN [--rate 20] [--services auth,blog,api] [--timeout 420] [--report-only]

`nox -s swarm` runs it after the smoke scenario. It sends --rate requests a second, spread over
pages and API reads (the blog's home page, auth's login page and JWKS, the API's project list
with a bearer token), starts `docker service update --force` of every service at once (each
service replaces its tasks one at a time, the new one healthy before the old one stops: the
stack's update_config), waits until every update has completed, keeps the load two more
seconds and prints the requests sent, the failures (any answer but 200, or no answer) and how
long the update took. Exit status 1 if an update did not complete or a request failed (with
--report-only, only the first); failures print the gateway's log lines of the failed and slow
requests (which replica answered, how long it took) and the services' last log lines.
The load is bounded: it stops when the updates are done, or at --timeout seconds.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx

#: What the load asks for, in turn: pages of the three services and an authenticated API read.
PATHS = ("/", "/auth/login", "/api/v1/projects", "/auth/.well-known/jwks.json")


def docker(*args: str) -> str:
    """Run a docker command; its output."""
    command = ["docker", *args]
    return subprocess.run(command, check=True, capture_output=True, text=True).stdout  # noqa: S603


def update_state(service: str) -> str:
    """The state of the service's current update: updating, completed, rollback_*, or empty."""
    state = "{{if .UpdateStatus}}{{.UpdateStatus.State}}{{end}}"
    return docker("service", "inspect", "--format", state, service).strip()


class Load:
    """``rate`` requests a second from a pool of threads until stopped; outcomes counted."""

    def __init__(self, base_url: str, token: str, rate: int) -> None:
        self.base_url = base_url
        self.headers = {"Authorization": f"Bearer {token}"}
        self.rate = rate
        self.outcomes: Counter[str] = Counter()
        self.failures: list[str] = []
        #: Each answered or failed request's time, in seconds: how close the slowest came to
        #: the client's 10 s timeout.
        self.durations: list[float] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run)

    def _request(self, http: httpx.Client, path: str) -> None:
        headers = self.headers if path.startswith("/api/") else {}
        started = time.monotonic()
        try:
            response = http.get(path, headers=headers)
            outcome = str(response.status_code)
        except httpx.HTTPError as error:
            outcome = type(error).__name__
        seconds = time.monotonic() - started
        with self._lock:
            self.outcomes[outcome] += 1
            self.durations.append(seconds)
            if outcome != "200":
                self.failures.append(f"{time.strftime('%H:%M:%S')} GET {path}: {outcome}")

    def _run(self) -> None:
        limits = httpx.Limits(max_connections=32)
        with (
            httpx.Client(base_url=self.base_url, timeout=10, limits=limits) as http,
            ThreadPoolExecutor(max_workers=32) as pool,
        ):
            sent = 0
            started = time.monotonic()
            while not self._stop.is_set():
                # Open-loop: requests start on schedule whatever the previous ones are doing.
                due = started + sent / self.rate
                delay = due - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                pool.submit(self._request, http, PATHS[sent % len(PATHS)])
                sent += 1

    def __enter__(self) -> Load:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def print_gateway_trouble(gateway: str, since: float) -> None:
    """The gateway's access log lines of requests that failed or took over a second: the
    replica each went to (upstream), what it answered and when, to tell a replica that was
    going away from one that was slow or failing."""
    try:
        logs = subprocess.run(  # noqa: S603 - our own argv
            ["docker", "service", "logs", "--raw", "--since", str(int(since)), gateway],  # noqa: S607
            capture_output=True,
            text=True,
            check=False,
            timeout=20,
        )
    except subprocess.TimeoutExpired:
        print(f"--- {gateway}: no logs within 20 s ---")
        return
    print(f"--- {gateway}: requests that failed or took over a second ---")
    for line in logs.stdout.splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            if "[error]" in line or "[warn]" in line:
                print(f"  {line}")  # nginx's own: connect() failed, upstream timed out, ...
            continue
        if entry.get("uri") not in PATHS:
            continue  # the gateway's own health check
        if entry.get("status") != 200 or float(entry.get("duration_s") or 0) > 1:
            fields = ("time", "status", "uri", "upstream", "upstream_status", "duration_s")
            print("  " + " ".join(f"{name}={entry.get(name)}" for name in fields))


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--stack", required=True)
    parser.add_argument("--token", required=True, help="a bearer token for the API reads")
    parser.add_argument("--rate", type=int, default=20, help="requests per second")
    parser.add_argument("--services", default="auth,blog,api")
    parser.add_argument("--timeout", type=float, default=420, help="seconds, at most")
    parser.add_argument(
        "--report-only", action="store_true", help="print failed requests, exit 0 all the same"
    )
    args = parser.parse_args(argv)
    services = [f"{args.stack}_{name}" for name in args.services.split(",")]

    load_started = time.time()
    with Load(args.base_url, args.token, args.rate) as load:
        time.sleep(3)  # the load is steady before anything changes
        started = time.monotonic()
        for service in services:
            docker("service", "update", "--force", "--detach", "--quiet", service)
        states = dict.fromkeys(services, "")
        while time.monotonic() - started < args.timeout:
            states = {service: update_state(service) for service in services}
            if all(state not in ("updating", "") for state in states.values()):
                break
            time.sleep(1)
        update_seconds = time.monotonic() - started
        time.sleep(2)

    requests = sum(load.outcomes.values())
    failed = requests - load.outcomes["200"]
    print(f"rolling update of {', '.join(args.services.split(','))} under load:")
    for service, state in states.items():
        print(f"  {service}: {state or 'no update seen'}")
    print(f"  update time: {update_seconds:.1f} s (all services at once, one task at a time each)")
    print(f"  requests: {requests} at {args.rate}/s, failures: {failed}")
    print(f"  outcomes: {dict(sorted(load.outcomes.items()))}")
    durations = sorted(load.durations) or [0.0]
    median, p99 = (durations[int(len(durations) * q)] for q in (0.5, 0.99))
    slowest = durations[-1]
    print(
        f"  response time: median {median:.2f} s, 99th percentile {p99:.2f} s, max {slowest:.2f} s"
    )
    for line in load.failures[:20]:
        print(f"  failed: {line}")
    if failed:
        print_gateway_trouble(f"{args.stack}_gateway", load_started)
        for service in services:
            # Bounded: `docker service logs` can wait for a task that is going away.
            try:
                logs = subprocess.run(  # noqa: S603 - our own argv
                    ["docker", "service", "logs", "--raw", "--tail", "40", service],  # noqa: S607
                    capture_output=True,
                    text=True,
                    check=False,
                    timeout=20,
                )
            except subprocess.TimeoutExpired as stopped:
                print(f"--- {service}: no logs within 20 s ---\n{stopped.stdout or ''}")
                continue
            print(f"--- last log lines of {service} ---\n{logs.stdout}{logs.stderr}")
    completed = all(state == "completed" for state in states.values())
    return 0 if completed and (failed == 0 or args.report_only) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
