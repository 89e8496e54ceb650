"""Helpers for the services' test suites (importable, not used at run time)."""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import event

from servicekit.claims import identity_claims
from servicekit.signingkey import public_jwk, sign_claims

_CSRF_INPUT = re.compile(r'<input[^>]*name="csrf_token"[^>]*>')
_VALUE = re.compile(r'value="([^"]*)"')


def csrf_token_in(html: str) -> str | None:
    """The CSRF token of the first form in ``html`` (Flask-WTF's hidden ``csrf_token`` input),
    or None: the one scraper every suite reads forms with, whatever the attributes' order."""
    field = _CSRF_INPUT.search(html)
    value = _VALUE.search(field.group(0)) if field else None
    return value.group(1) if value else None


class TestTokenIssuer:
    """Mints identity tokens the way auth does, for tests: an Ed25519 key of its own, its
    public half as a JWKS to give the app under test, and the claims of
    :func:`servicekit.claims.identity_claims`. Not auth's production key (``signing.py``)."""

    __test__ = False  # a test module importing it must not make pytest collect it

    def __init__(
        self,
        kid: str | None = None,
        *,
        issuer: str = "flask-services-auth",
        audience: str = "flask-services",
    ) -> None:
        self.kid = kid or uuid.uuid4().hex[:16]
        self.issuer = issuer
        self.audience = audience
        self.private_key = Ed25519PrivateKey.generate()

    def public_jwk(self) -> dict[str, Any]:
        """The public half as a JWK with this key's id."""
        return public_jwk(self.private_key, self.kid)

    def jwks(self) -> dict[str, Any]:
        """A JWKS holding only this key."""
        return {"keys": [self.public_jwk()]}

    def mint(
        self,
        sub: str = "1",
        name: str = "alice",
        roles: Iterable[str] = ("reader",),
        *,
        lifetime: float = 300,
        issued_at: float | None = None,
        headers: dict[str, Any] | None = None,
        **claims: Any,
    ) -> str:
        """A signed token; any claim can be overridden (or removed by passing None)."""
        payload = identity_claims(
            sub,
            name,
            roles,
            issuer=self.issuer,
            audience=self.audience,
            lifetime=lifetime,
            issued_at=issued_at,
        )
        payload.update(claims)
        payload = {key: value for key, value in payload.items() if value is not None}
        return sign_claims(payload, self.private_key, self.kid, headers)


@contextmanager
def count_queries(db: SQLAlchemy) -> Iterator[list[str]]:
    """Collect the SQL statements ``db`` runs inside the block (needs an app context)."""
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


class PrivateRedis:
    """A redis-server of the test's own on a free port, no persistence: freeze it, kill it.

    The degraded-mode tests need a Redis that stalls (SIGSTOP) or restarts empty; a shared
    Redis must never be treated so. ``with PrivateRedis.started(tmp_path) as server: ...``;
    skip the test when :func:`redis_server_binary` finds no redis-server.
    """

    def __init__(self, folder: Path, binary: str) -> None:
        import socket

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = int(probe.getsockname()[1])
        self.folder = folder
        self.binary = binary
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Its URL, database 0."""
        return f"redis://127.0.0.1:{self.port}/0"

    @classmethod
    @contextmanager
    def started(cls, folder: Path) -> Iterator[PrivateRedis]:
        """Start one in ``folder``; stopped (thawed first) when the block ends."""
        binary = redis_server_binary()
        if binary is None:
            raise RuntimeError("redis-server is not installed")
        server = cls(folder, binary)
        server.start()
        try:
            yield server
        finally:
            server.stop()

    def start(self) -> None:
        """Start it (again, empty, on the same port) and wait until it answers."""
        import redis

        self.folder.mkdir(parents=True, exist_ok=True)
        command = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1"]
        command += ["--save", "", "--appendonly", "no", "--dir", str(self.folder)]
        self.process = subprocess.Popen(  # noqa: S603 - our own argv, no shell
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        client = redis.Redis.from_url(self.url, socket_timeout=1, socket_connect_timeout=1)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                return
            except redis.RedisError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.02)

    def freeze(self) -> None:
        """SIGSTOP: connections are accepted by the kernel, nothing is answered."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        """SIGCONT: it answers again, with everything it held."""
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)

    @contextmanager
    def frozen(self) -> Iterator[None]:
        """Frozen for the duration of the block."""
        self.freeze()
        try:
            yield
        finally:
            self.thaw()

    def restart_empty(self) -> None:
        """Killed (it loses everything: no persistence) and started again on its port."""
        self.stop()
        self.start()

    def stop(self) -> None:
        """Gone (a frozen one too)."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)
            self.process.kill()
            self.process.wait()


def redis_server_binary() -> str | None:
    """The redis-server program, if installed."""
    return shutil.which("redis-server") or (
        "/usr/bin/redis-server" if Path("/usr/bin/redis-server").exists() else None
    )
