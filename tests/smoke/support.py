"""The helpers of the smoke tests, in one module: the tests and conftest.py import them from here.

- pages: reading a form's CSRF token, waiting for something to happen;
- the compose stack: running a compose command against it, reading its logs (``LogReader``);
- accounts: registering, signing in, promoting to author, the claims of a token;
- posts: a PNG built with the standard library, a post with a cover image;
- mail: the messages the stack's SMTP server delivered (SMOKE_MAIL_DIR natively: one .eml file
  per message; SMOKE_MAILDEV_URL in containers: Maildev's REST API) and the links they carry;
- Redis: freezing, killing and restarting the private Redis of a native run (SMOKE_OWN_REDIS=1).
  deploy/native.py starts a redis-server of the run's own and tells the command where it is
  (SMOKE_REDIS_URL, SMOKE_REDIS_PID, SMOKE_REDIS_PIDFILE, SMOKE_REDIS_RESTART). Tests that need
  it take the ``own_redis`` fixture (conftest.py); without a private server they are skipped,
  because the shared Redis of a machine must never be frozen.

httpx and redis are imported where they are used: `nox -s tests` loads conftest.py (and so this
module) without them.
"""

from __future__ import annotations

import base64
import email
import email.policy
import json
import os
import re
import secrets
import shlex
import signal
import struct
import subprocess
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from servicekit.testing import csrf_token_in

if TYPE_CHECKING:
    import httpx

# --- pages ----------------------------------------------------------------------------------


def csrf_token(html: str) -> str:
    """The CSRF token of the first form on a page."""
    token = csrf_token_in(html)
    assert token is not None, "the page has no form with a CSRF token"
    return token


def wait_for(predicate: Callable[[], bool], timeout: float = 10, message: str = "") -> None:
    """Poll until ``predicate()`` is true (log lines and respawned workers take a moment)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(message or "condition not met in time")
        time.sleep(0.2)


# --- the compose stack ----------------------------------------------------------------------

COMPOSE = shlex.split(os.environ.get("SMOKE_COMPOSE", ""))

LogReader = Callable[[str], str]


def compose(*args: str) -> str:
    """Run a compose command against the stack under test; its output."""
    if not COMPOSE:
        pytest.skip("this needs the stack of nox -s containers")
    command = [*COMPOSE, *args]
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout


# --- accounts -------------------------------------------------------------------------------

PASSWORD = "correct horse battery staple 42"


def token_claims(token: str) -> dict[str, object]:
    """The (unverified) claims of a JWT: enough to learn our own user id."""
    payload = token.split(".")[1]
    claims: dict[str, object] = json.loads(
        base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    )
    return claims


def log_in(
    client: httpx.Client, username: str, password: str, next_url: str = ""
) -> httpx.Response:
    page = client.get("/auth/login", params={"next": next_url} if next_url else None)
    assert page.status_code == 200
    assert "<form" in page.text
    return client.post(
        "/auth/login",
        data={
            "csrf_token": csrf_token(page.text),
            "username": username,
            "password": password,
            "next": next_url,
        },
    )


def register(client: httpx.Client, username: str) -> None:
    page = client.get("/auth/register")
    assert page.status_code == 200
    response = client.post(
        "/auth/register",
        data={
            "csrf_token": csrf_token(page.text),
            "username": username,
            "email": f"{username}@example.com",
            "password": PASSWORD,
            "confirm": PASSWORD,
        },
    )
    assert response.status_code == 302, response.text[:2000]
    # The prefix survives the gateway: auth redirects inside /auth/, not to /account.
    assert (
        response.headers["location"].startswith("/auth/")
        or "/auth/" in response.headers["location"]
    )
    assert client.cookies.get("identity"), "registration logs in and sets the identity cookie"


def promote_to_author(base_url: str, admin: tuple[str, str], user_id: str) -> None:
    import httpx

    with httpx.Client(base_url=base_url, timeout=30) as admin_client:
        assert log_in(admin_client, *admin).status_code == 302
        page = admin_client.get(f"/auth/admin/users/{user_id}")
        assert page.status_code == 200, page.text[:2000]
        version = page.text.split('name="version"', 1)[1].split('value="', 1)[1].split('"', 1)[0]
        response = admin_client.post(
            f"/auth/admin/users/{user_id}/roles",
            data={"csrf_token": csrf_token(page.text), "roles": ["author"], "version": version},
        )
        assert response.status_code == 302, response.text[:2000]
        assert "author" in admin_client.get(response.headers["location"]).text


# --- posts ----------------------------------------------------------------------------------

IMAGE_SRC = re.compile(r'class="cover" src="/images/([0-9a-f]{64})"')


def png_image(width: int = 8, height: int = 8, color: bytes = b"\x2a\x7f\xd4") -> bytes:
    """A small valid PNG (solid ``color``, three bytes RGB), built with the standard library."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    row = b"\x00" + color * width
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )


def write_post(client: httpx.Client, blog: str, title: str, *, published: bool = True) -> str:
    """Write a post with a new cover image through ``blog``; the image's hash."""
    form = client.get(f"{blog}/posts/new")
    assert form.status_code == 200, form.text[:2000]
    data = {"csrf_token": csrf_token(form.text), "title": title, "body": "Text."}
    if published:
        data["published"] = "y"
    # A colour of its own: a new image (and hash) on every run.
    png = png_image(16, 16, color=secrets.token_bytes(3))
    created = client.post(
        f"{blog}/posts/new", data=data, files={"cover": ("cover.png", png, "image/png")}
    )
    assert created.status_code == 302, created.text[:2000]
    page = client.get(f"{blog}{created.headers['location']}")
    match = IMAGE_SRC.search(page.text)
    assert match, "the post shows its cover"
    return match.group(1)


# --- mail -----------------------------------------------------------------------------------

MAIL_DIR = os.environ.get("SMOKE_MAIL_DIR", "")
MAILDEV_URL = os.environ.get("SMOKE_MAILDEV_URL", "")
LINK = re.compile(r"https?://[^\s/]+(/\S+)")


@dataclass(frozen=True)
class Mail:
    recipient: str
    subject: str
    text: str

    @property
    def link(self) -> str:
        """The first link in the text, as sent (the public origin)."""
        match = re.search(r"https?://\S+", self.text)
        assert match, f"no link in {self.subject!r}"
        return match.group(0)

    @property
    def link_path(self) -> str:
        """The path of the first link in the text (the host is the public one, not ours)."""
        match = LINK.search(self.text)
        assert match, f"no link in {self.subject!r}"
        return match.group(1)


def _from_files(folder: Path) -> list[Mail]:
    found = []
    for path in sorted(folder.glob("*.eml")):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        body = message.get_body(preferencelist=("plain",))
        text = body.get_content() if body is not None else ""  # type: ignore[attr-defined]
        found.append(Mail(str(message["To"]), str(message["Subject"]), text))
    return found


def _from_maildev(url: str) -> list[Mail]:
    import httpx

    try:
        items = httpx.get(f"{url.rstrip('/')}/email", timeout=10).json()
    except httpx.TransportError:  # stopped (or starting): it holds nothing we can read yet
        return []
    return [
        Mail(
            ", ".join(to["address"] for to in item.get("to", [])),
            item.get("subject", ""),
            item.get("text", ""),
        )
        for item in items
    ]


def delivered() -> list[Mail]:
    """Every message the SMTP server has accepted so far, oldest first."""
    if MAIL_DIR:
        return _from_files(Path(MAIL_DIR))
    if MAILDEV_URL:
        return _from_maildev(MAILDEV_URL)
    pytest.skip("the harness gives no mailbox to read (SMOKE_MAIL_DIR or SMOKE_MAILDEV_URL)")


def received(recipient: str, subject: str) -> list[Mail]:
    return [m for m in delivered() if m.recipient == recipient and m.subject == subject]


def wait_for_mail(recipient: str, subject: str, timeout: float = 30) -> Mail:
    """The newest message to ``recipient`` with ``subject``, waiting for the worker to send it."""
    deadline = time.monotonic() + timeout
    while not (found := received(recipient, subject)):
        if time.monotonic() > deadline:
            raise AssertionError(f"no {subject!r} for {recipient} after {timeout}s")
        time.sleep(0.3)
    return found[-1]


def confirm_link(client: object, path: str) -> None:
    """Open an emailed confirmation link and press its button (the change is a POST)."""
    import httpx

    assert isinstance(client, httpx.Client)
    page = client.get(path)
    assert page.status_code == 200, page.text[:2000]
    response = client.post(path, data={"csrf_token": csrf_token(page.text)})
    assert response.status_code == 302, response.text[:2000]


def verify_email(client: object, username: str) -> None:
    """Follow the verification link auth sent to ``username``'s address at registration."""
    mail = wait_for_mail(f"{username}@example.com", "Confirm your email address")
    confirm_link(client, mail.link_path)


# --- Redis ----------------------------------------------------------------------------------


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
