"""``flask --app auth_service send-mail``: the outbox's sender, once or as a worker loop."""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from types import FrameType

import click
from flask import current_app
from flask.cli import with_appcontext

from auth_service.mail.sender import run_sender


@click.command("send-mail")
@click.option("--once", is_flag=True, help="One pass over the due messages, then exit.")
@click.option(
    "--heartbeat",
    type=click.Path(dir_okay=False, path_type=Path),
    help="A file touched while the loop runs (for a container health check).",
)
@with_appcontext
def send_mail(once: bool, heartbeat: Path | None) -> None:
    """Deliver the outbox: the worker process (loops until SIGTERM/SIGINT), or one pass."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    stop = threading.Event()

    def request_stop(_signum: int, _frame: FrameType | None) -> None:
        # Finish the message in hand, then leave: nothing is half-recorded.
        stop.set()

    if not once:
        signal.signal(signal.SIGTERM, request_stop)
        signal.signal(signal.SIGINT, request_stop)
        click.echo("send-mail: delivering the outbox until stopped", err=True)
    run_sender(app, once=once, stop=stop, heartbeat=heartbeat)
