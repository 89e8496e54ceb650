"""Freeze, kill and restart the private Redis of a native run (`SMOKE_OWN_REDIS=1`).

deploy/native.py starts a redis-server of the run's own when SMOKE_OWN_REDIS=1 and tells the
command where it is (SMOKE_REDIS_URL, SMOKE_REDIS_PID, SMOKE_REDIS_PIDFILE, SMOKE_REDIS_RESTART).
Tests that need it take the ``own_redis`` fixture (conftest.py); without a private server they
are skipped, because the shared Redis of a machine must never be frozen.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


def _alive(pid: int) -> bool:
    """Whether ``pid`` still runs: a zombie (dead, not yet reaped by native.py) does not."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


class OwnRedis:
    """The private redis-server of this run: its URL and the signals a test sends it."""

    def __init__(self) -> None:
        self.url = os.environ["SMOKE_REDIS_URL"]
        self.pidfile = Path(os.environ["SMOKE_REDIS_PIDFILE"])
        self.restart_command = os.environ["SMOKE_REDIS_RESTART"]
        # The server a previous test restarted has a new pid: its pidfile always says the latest.
        try:
            self._pid = int(self.pidfile.read_text().strip())
        except (OSError, ValueError):
            self._pid = int(os.environ["SMOKE_REDIS_PID"])

    @classmethod
    def from_env(cls) -> OwnRedis:
        """The private server, or a skip when the run has none."""
        if os.environ.get("SMOKE_OWN_REDIS") != "1" or "SMOKE_REDIS_PID" not in os.environ:
            pytest.skip("needs the private Redis of deploy/native.py: SMOKE_OWN_REDIS=1")
        return cls()

    @property
    def pid(self) -> int:
        return self._pid

    @contextmanager
    def frozen(self) -> Iterator[None]:
        """SIGSTOP for the duration of the block: connections hang, nothing is refused."""
        os.kill(self._pid, signal.SIGSTOP)
        try:
            yield
        finally:
            os.kill(self._pid, signal.SIGCONT)

    def kill(self) -> None:
        """SIGKILL: everything it held is lost (it keeps nothing on disk)."""
        os.kill(self._pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while _alive(self._pid) and time.monotonic() < deadline:
            time.sleep(0.05)

    def restart(self, timeout: float = 10) -> None:
        """Start it again, empty, on the same port; wait until it answers."""
        import redis

        self.pidfile.unlink(missing_ok=True)
        subprocess.run(self.restart_command, shell=True, check=True)  # noqa: S602 - from native.py
        client = redis.Redis.from_url(self.url, socket_timeout=1, socket_connect_timeout=1)
        deadline = time.monotonic() + timeout
        while True:
            try:
                client.ping()
                self._pid = int(self.pidfile.read_text().strip())
                return
            except (redis.RedisError, OSError, ValueError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def thaw_or_restart(self) -> None:
        """Leave it running whatever a test did: SIGCONT if it lives, a restart if it died."""
        try:
            os.kill(self._pid, signal.SIGCONT)
        except ProcessLookupError:
            self.restart()
