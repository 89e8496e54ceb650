"""Turning two-factor on through the pages, with a clock the test controls."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field

import pyotp
import pytest
from flask.testing import FlaskClient

from auth_service.two_factor import codes, pending
from tests.conftest import post_form
from tests.factories import PASSWORD

SECRET_PATTERN = re.compile(r'<code id="totp-secret">([A-Z2-7]+)</code>')
RECOVERY_PATTERN = re.compile(r"<li><code>([a-z0-9-]{19})</code></li>")


@dataclass
class Clock:
    """Stands in for the ``time`` module of the two-factor code: ``now`` moves when told."""

    now: float = field(default_factory=lambda: float(int(time.time() // 30) * 30 + 10))

    def time(self) -> float:
        return self.now

    def step(self, steps: int = 1) -> None:
        """Move on by ``steps`` TOTP periods of 30 seconds."""
        self.now += 30 * steps


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """A frozen clock for codes and pending sign-ins: no test depends on where in a 30-second
    window it happens to run."""
    fake = Clock()
    monkeypatch.setattr(codes, "time", fake)
    monkeypatch.setattr(pending, "time", fake)
    return fake


def code(secret: str, clock: Clock, offset: int = 0) -> str:
    """The code the authenticator app shows at the clock's time (+ ``offset`` steps)."""
    return pyotp.TOTP(secret).at(clock.now + 30 * offset)


def start_setup(client: FlaskClient) -> str:
    """Ask for a new secret; returns it as the page shows it."""
    response = post_form(client, "/account/two-factor/setup")
    assert response.status_code == 302
    page = client.get("/account/two-factor").get_data(as_text=True)
    match = SECRET_PATTERN.search(page)
    assert match, "the setup page shows the secret as text"
    return match.group(1)


def enable_two_factor(client: FlaskClient, clock: Clock) -> tuple[str, list[str]]:
    """Turn two-factor on for the signed-in user; returns the secret and the recovery codes.

    The confirmation uses the code of the previous step, so the current one is still unused.
    """
    secret = start_setup(client)
    response = post_form(
        client,
        "/account/two-factor/confirm",
        code=code(secret, clock, -1),
        current_password=PASSWORD,
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    recovery = RECOVERY_PATTERN.findall(response.get_data(as_text=True))
    assert len(recovery) == 10
    return secret, recovery
