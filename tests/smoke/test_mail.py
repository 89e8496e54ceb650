"""Email through the outbox, the worker and a real SMTP server; an outage delays, loses nothing.

Natively the SMTP server is deploy/smtp_sink.py (frozen here with SIGSTOP: it accepts no more
conversations); in containers it is the maildev service (stopped with `docker compose stop`).
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest

from tests.smoke.support import (
    COMPOSE,
    LogReader,
    compose,
    csrf_token,
    log_in,
    received,
    register,
    verify_email,
    wait_for,
    wait_for_mail,
)

pytestmark = pytest.mark.smoke

NEW_PASSWORD = "a new passphrase from the email"


@contextmanager
def smtp_server_down() -> Iterator[None]:
    """The SMTP server unreachable inside the block, back afterwards."""
    pid = os.environ.get("SMOKE_SMTP_PID")
    if pid:
        os.kill(int(pid), signal.SIGSTOP)
        try:
            yield
        finally:
            os.kill(int(pid), signal.SIGCONT)
    elif COMPOSE:
        compose("stop", "maildev")
        try:
            yield
        finally:
            compose("start", "maildev")
    else:
        pytest.skip("the harness cannot stop the SMTP server")


def test_a_stopped_smtp_server_delays_a_reset_email_but_loses_it_not(
    browser: httpx.Client, unique: str, read_logs: LogReader
) -> None:
    username = f"mail-{unique}"
    address = f"{username}@example.com"
    register(browser, username)
    verify_email(browser, username)  # delivered while the server is up

    with smtp_server_down():
        page = browser.get("/auth/password/forgot")
        asked = browser.post(
            "/auth/password/forgot",
            data={"csrf_token": csrf_token(page.text), "login": username},
        )
        assert asked.status_code == 302  # the request never waits for the mail server
        # The worker tries, fails, and logs that it will retry.
        wait_for(
            lambda: "mail_retry" in read_logs("auth-mail"),
            timeout=30,
            message="the worker logged no retry while the SMTP server was down",
        )
        assert received(address, "Reset your password") == []

    started = time.monotonic()
    mail = wait_for_mail(address, "Reset your password", timeout=90)
    print(f"delivered {time.monotonic() - started:.1f}s after the SMTP server returned")

    # The link from the delayed email works: a new password, and it is the one that logs in.
    path = mail.link_path
    form = browser.get(path)
    assert form.status_code == 200, form.text[:2000]
    done = browser.post(
        path,
        data={
            "csrf_token": csrf_token(form.text),
            "password": NEW_PASSWORD,
            "confirm": NEW_PASSWORD,
        },
    )
    assert done.status_code == 302, done.text[:2000]
    assert log_in(browser, username, NEW_PASSWORD).status_code == 302
    wait_for_mail(address, "Your password was changed")
