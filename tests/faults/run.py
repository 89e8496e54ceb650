"""`nox -s faults`: one dependency fault at a time under a steady load, and what it cost.

Runs inside deploy/native.py with a private Redis and a private PostgreSQL (SMOKE_OWN_REDIS=1,
SMOKE_OWN_POSTGRES=1: the machine's shared servers are never frozen or restarted). Meanwhile:

* **load**: ``--clients`` simulated users, each from its own loopback address (127.0.1.N, so the
  gateway's per-client limits apply to each as to a real client), each at ``--rate`` requests
  per second: blog pages, API reads, API writes (a project created; every 201 is remembered)
  and now and then a login for a new token;
* **probes**: a token revoked before the run, tried twice a second on the API (any 200 is a
  security violation), and wrong passwords for one account from another address, twice a
  second (if more are checked than the per-account limit allows with the per-worker fallback,
  the limit is gone: a violation).

Each fault is injected after a quiet lead and followed by a tail, and the table says, for the
requests started from its injection to the end of its tail: how many, how many failed (5xx,
unexpected 4xx, a connection error), the longest, the violations, and the recovery time (from
the injection to the end of the last failed request). Afterwards every acknowledged write is
read back: none may be missing.

It fails (exit 1) on a security violation, a request that hangs past ``--bound`` seconds, or a
lost write; everything else is reported as figures. The table is printed and written to
reports/faults/last.md (and .json); docs/operations.md keeps the last one.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import resource
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from servicekit.testing import csrf_token_in
from tests.faults.report import Outcome, Record, Row, summarize, table

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "faults correct horse battery staple"
#: the gateway's address
BASE_URL = os.environ.get("SMOKE_BASE_URL", "")


def log(message: str) -> None:
    print(f"faults: {message}", file=sys.stderr, flush=True)


def client_for(address: str, timeout: float) -> httpx.Client:
    """An HTTP client whose connections leave from ``address`` (a loopback address of its own)."""
    transport = httpx.HTTPTransport(local_address=address)
    return httpx.Client(base_url=BASE_URL, transport=transport, timeout=timeout)


def csrf_token(html: str) -> str:
    token = csrf_token_in(html)
    if token is None:
        raise RuntimeError("the page has no form with a CSRF token")
    return token


def register(http: httpx.Client, username: str) -> None:
    page = http.get("/auth/register")
    response = http.post(
        "/auth/register",
        data={
            "csrf_token": csrf_token(page.text),
            "username": username,
            "email": f"{username}@example.com",
            "password": PASSWORD,
            "confirm": PASSWORD,
        },
    )
    if response.status_code != 302:
        raise RuntimeError(f"could not register {username}: {response.status_code}")


def get_token(http: httpx.Client, username: str) -> str:
    response = http.post("/auth/api/token", json={"username": username, "password": PASSWORD})
    response.raise_for_status()
    return str(response.json()["access_token"])


def timed(record: Record, kind: str, call: Callable[[], httpx.Response]) -> httpx.Response | None:
    started = time.monotonic()
    try:
        response = call()
    except httpx.HTTPError as error:
        record.add(Outcome(started, time.monotonic() - started, type(error).__name__, kind))
        return None
    record.add(Outcome(started, time.monotonic() - started, response.status_code, kind))
    return response


class User(threading.Thread):
    """One simulated user: pages, API reads and writes, a new token now and then."""

    MIX = ("page", "api_read", "page", "api_write", "page", "api_read")

    def __init__(
        self, number: int, rate: float, record: Record, stop: threading.Event, bound: float
    ) -> None:
        super().__init__(daemon=True, name=f"user-{number}")
        self.username = f"load{number}-{os.urandom(3).hex()}"
        self.http = client_for(f"127.0.1.{number + 1}", timeout=bound)
        self.rate, self.record, self.stop = rate, record, stop

    def prepare(self) -> None:
        register(self.http, self.username)
        self.token = get_token(self.http, self.username)
        self.http.cookies.clear()  # from now on a program with a token, and an anonymous reader

    def run(self) -> None:
        interval = 1 / self.rate
        next_at = time.monotonic()
        last_login = time.monotonic()
        for step in itertools.cycle(self.MIX):
            if self.stop.is_set():
                return
            if time.monotonic() - last_login > 20:
                step, last_login = "login", time.monotonic()
            self.act(step)
            next_at = max(next_at + interval, time.monotonic() - interval)
            self.stop.wait(max(0.0, next_at - time.monotonic()))

    def act(self, step: str) -> None:
        bearer = {"Authorization": f"Bearer {self.token}"}
        if step == "page":
            timed(self.record, step, lambda: self.http.get("/"))
        elif step == "api_read":
            timed(self.record, step, lambda: self.http.get("/api/v1/projects", headers=bearer))
        elif step == "api_write":
            name = f"project {os.urandom(4).hex()}"
            response = timed(
                self.record,
                step,
                lambda: self.http.post("/api/v1/projects", json={"name": name}, headers=bearer),
            )
            if response is not None and response.status_code == 201:
                with self.record.lock:
                    self.record.writes.append((self, int(response.json()["id"])))
        else:
            credentials = {"username": self.username, "password": PASSWORD}
            response = timed(
                self.record, step, lambda: self.http.post("/auth/api/token", json=credentials)
            )
            if response is not None and response.status_code == 200:
                self.token = str(response.json()["access_token"])


def revoked_token(http: httpx.Client) -> str:
    """A token of a user who then signed out: it must never be accepted again."""
    username = f"revoked-{os.urandom(3).hex()}"
    register(http, username)
    token = get_token(http, username)
    account = http.get("/auth/account")
    logout = http.post("/auth/logout", data={"csrf_token": csrf_token(account.text)})
    if logout.status_code != 302:
        raise RuntimeError(f"logout answered {logout.status_code}")
    time.sleep(1.1)  # revocation marks compare second-precision clocks on some paths
    probe = http.get("/api/v1/projects", headers={"Authorization": f"Bearer {token}"})
    if probe.status_code != 401:
        raise RuntimeError(f"the revoked token was not refused before any fault: {probe}")
    return token


def probe_revoked(token: str, record: Record, stop: threading.Event, bound: float) -> None:
    with client_for("127.0.2.1", timeout=bound) as http:
        while not stop.wait(0.5):
            started = time.monotonic()
            try:
                response = http.get(
                    "/api/v1/projects", headers={"Authorization": f"Bearer {token}"}
                )
            except httpx.HTTPError:
                continue
            if response.status_code == 200:
                with record.lock:
                    record.revoked_accepted.append(started)


def probe_password_guessing(
    username: str, record: Record, stop: threading.Event, bound: float
) -> None:
    with client_for("127.0.2.2", timeout=bound) as http:
        while not stop.wait(0.5):
            started = time.monotonic()
            try:
                response = http.post(
                    "/auth/api/token", json={"username": username, "password": "not it at all"}
                )
            except httpx.HTTPError:
                continue
            if response.status_code == 401:
                with record.lock:
                    record.passwords_checked.append(started)


# --- the faults ---------------------------------------------------------------------------------


def _gunicorn_master(service: str) -> int:
    pids = dict(item.split("=", 1) for item in os.environ["SMOKE_GUNICORN_PIDS"].split(","))
    return int(pids[service])


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        try:
            state, parent = (entry / "stat").read_text().rsplit(")", 1)[1].split()[:2]
        except (OSError, IndexError):
            continue
        if parent == str(pid) and state != "Z":
            found.append(int(entry.name))
    return sorted(found)


class Redis:
    def __init__(self) -> None:
        self.pid = int(os.environ["SMOKE_REDIS_PID"])
        self.pidfile = Path(os.environ["SMOKE_REDIS_PIDFILE"])

    def freeze(self, seconds: float) -> None:
        os.kill(self.pid, signal.SIGSTOP)
        try:
            time.sleep(seconds)
        finally:
            os.kill(self.pid, signal.SIGCONT)

    def kill_and_restart(self) -> None:
        os.kill(self.pid, signal.SIGKILL)
        time.sleep(2)
        self.pidfile.unlink(missing_ok=True)
        subprocess.run(os.environ["SMOKE_REDIS_RESTART"], shell=True, check=True)  # noqa: S602 - from native.py
        deadline = time.monotonic() + 10
        while not self.pidfile.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        self.pid = int(self.pidfile.read_text().strip())


def restart_postgres() -> None:
    command = shlex.split(os.environ["SMOKE_POSTGRES_RESTART"])
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)


def kill_a_worker(service: str) -> None:
    os.kill(_children(_gunicorn_master(service))[0], signal.SIGKILL)


def reload_gunicorn(service: str) -> None:
    os.kill(_gunicorn_master(service), signal.SIGHUP)


def idle_connections(count: int, seconds: float) -> None:
    """``count`` connections from one client address that never send a byte."""
    url = urlsplit(BASE_URL)
    target = (url.hostname or "127.0.0.1", url.port or 80)
    held: list[socket.socket] = []
    try:
        for _ in range(count):
            try:
                held.append(
                    socket.create_connection(target, timeout=2, source_address=("127.0.3.1", 0))
                )
            except OSError:
                break  # refused or out of ports: the gateway's answer to this client
        log(f"holding {len(held)} idle connections")
        time.sleep(seconds)
    finally:
        for connection in held:
            connection.close()


def slow_upload(seconds: float) -> None:
    """One client sending a request body at 1 KB/s."""
    url = urlsplit(BASE_URL)
    target = (url.hostname or "127.0.0.1", url.port or 80)
    with socket.create_connection(target, timeout=5, source_address=("127.0.3.2", 0)) as sock:
        sock.sendall(
            b"POST /auth/login HTTP/1.1\r\nHost: localhost\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\n"
            + f"Content-Length: {1024 * int(seconds + 10)}\r\n\r\n".encode()
        )
        deadline = time.monotonic() + seconds
        with __import__("contextlib").suppress(OSError):
            while time.monotonic() < deadline:
                sock.sendall(b"a" * 1024)
                time.sleep(1)


def burst(record: Record, count: int) -> None:
    """One client sending ``count`` requests as fast as 8 connections go: far beyond the
    gateway's per-client rate, so it must get 429s while the other users are served."""
    started = time.monotonic()
    statuses: list[int | str] = []
    with client_for("127.0.3.3", timeout=15) as http:

        def get(_number: int) -> int | str:
            try:
                return http.get("/auth/healthz").status_code
            except httpx.HTTPError as error:
                return type(error).__name__

        with ThreadPoolExecutor(max_workers=8) as pool:
            statuses = list(pool.map(get, range(count)))
    refused = statuses.count(429)
    log(f"burst of {count}: {refused} refused with 429 in {time.monotonic() - started:.1f} s")
    if not refused:
        with record.lock:
            record.gateway_limit_missing.append(started)


@dataclass
class Fault:
    name: str
    inject: Callable[[], None]


def faults(redis: Redis, record: Record) -> list[Fault]:
    return [
        Fault("one client bursting 400 requests", lambda: burst(record, 400)),
        Fault("Redis frozen (SIGSTOP) 10 s", lambda: redis.freeze(10)),
        Fault("PostgreSQL restarted", restart_postgres),
        Fault("api worker SIGKILLed", lambda: kill_a_worker("api")),
        Fault("api gunicorn SIGHUP", lambda: reload_gunicorn("api")),
        Fault("3,000 idle connections, one client", lambda: idle_connections(3000, 12)),
        Fault("one client uploading at 1 KB/s", lambda: slow_upload(15)),
        # Last: what Redis held is gone for good, and a lost revocation would be counted again
        # by every fault after it.
        Fault("Redis killed and restarted", redis.kill_and_restart),
    ]


# --- the report ---------------------------------------------------------------------------------


def verify_writes(record: Record) -> int:
    """Read back every acknowledged write, each user its own, from its own address; the number
    missing. A 429 (the gateway's per-client limit) is waited out, never counted as lost."""
    mine: dict[User, list[int]] = {}
    for user, project_id in record.writes:
        mine.setdefault(user, []).append(project_id)
    lost = 0
    lock = threading.Lock()

    def check(user: User, project_ids: list[int]) -> None:
        nonlocal lost
        bearer = {"Authorization": f"Bearer {user.token}"}
        for project_id in project_ids:
            for _attempt in range(20):
                response = user.http.get(f"/api/v1/projects/{project_id}", headers=bearer)
                if response.status_code != 429:
                    break
                time.sleep(1)
            if response.status_code != 200:
                log(f"write {project_id} of {user.username}: {response.status_code}")
                with lock:
                    lost += 1

    checkers = [threading.Thread(target=check, args=item) for item in mine.items()]
    for thread in checkers:
        thread.start()
    for thread in checkers:
        thread.join()
    return lost


def raise_open_file_limit() -> None:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 16384), hard))


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--clients", type=int, default=16, help="simulated users (16)")
    parser.add_argument("--rate", type=float, default=10, help="requests/s per user (10)")
    parser.add_argument("--lead", type=float, default=3, help="seconds of load before a fault")
    parser.add_argument("--tail", type=float, default=8, help="seconds of load after it")
    parser.add_argument("--bound", type=float, default=15, help="a request this long hangs")
    parser.add_argument("--only", default="", help="run the faults whose name has this text")
    args = parser.parse_args(argv)
    if not BASE_URL or "SMOKE_POSTGRES_RESTART" not in os.environ:
        log("run me through deploy/native.py with SMOKE_OWN_REDIS=1 SMOKE_OWN_POSTGRES=1")
        return 2
    raise_open_file_limit()
    record = Record()
    stop = threading.Event()

    log("preparing users and probes")
    with client_for("127.0.2.3", timeout=args.bound) as http:
        token = revoked_token(http)
    with client_for("127.0.2.4", timeout=args.bound) as http:
        guessed = f"guessed-{os.urandom(3).hex()}"
        register(http, guessed)
    users = [User(n, args.rate, record, stop, args.bound) for n in range(args.clients)]
    for user in users:
        user.prepare()
    threads: list[threading.Thread] = [*users]
    threads.append(
        threading.Thread(target=probe_revoked, args=(token, record, stop, args.bound), daemon=True)
    )
    threads.append(
        threading.Thread(
            target=probe_password_guessing, args=(guessed, record, stop, args.bound), daemon=True
        )
    )

    started = time.monotonic()
    for thread in threads:
        thread.start()
    rows: list[Row] = []
    try:
        for fault in faults(Redis(), record):
            if args.only and args.only.lower() not in fault.name.lower():
                continue
            time.sleep(args.lead)
            log(f"injecting: {fault.name}")
            injected = time.monotonic()
            fault.inject()
            time.sleep(args.tail)
            rows.append(summarize(fault.name, injected, time.monotonic(), record, args.bound))
            log(f"{fault.name}: {rows[-1]}")
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=args.bound + 5)
    elapsed = time.monotonic() - started
    lost = verify_writes(record)

    report = table(rows)
    total = len(record.outcomes)
    date = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    summary = (
        f"{date}: {args.clients} users at {args.rate:g} req/s each, {total} requests in "
        f"{elapsed:.0f} s ({total / elapsed:.0f} req/s); {len(record.writes)} acknowledged "
        f"writes, {lost} lost; a request hangs at {args.bound:g} s"
    )
    print(f"\n{report}\n\n{summary}\n", flush=True)
    out = ROOT / "reports" / "faults"
    out.mkdir(parents=True, exist_ok=True)
    (out / "last.md").write_text(f"{report}\n\n{summary}\n")
    (out / "last.json").write_text(json.dumps([row.__dict__ for row in rows], indent=2))

    problems = [
        f"{row.fault}: {row.violations} security violation(s)" for row in rows if row.violations
    ]
    problems += [
        f"{row.fault}: {row.hung} request(s) hung past {args.bound:g} s" for row in rows if row.hung
    ]
    if lost:
        problems.append(f"{lost} acknowledged write(s) lost")
    for problem in problems:
        log(f"FAIL {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
