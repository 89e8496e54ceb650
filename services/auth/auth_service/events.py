"""Auth events (login, failure, lockout, logout, password change, ...) as structured log lines
and as the counter ``auth_events_total{event=...}`` at /metrics.

Each line carries the event, the user, the client IP and (from servicekit's JSON formatter) the
time, request id and trace id. Callers pass names and ids only: never a password, hash or token.
The counter has one label, the event name, a fixed word from the code: a bounded set of series.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from flask import g, has_request_context, request
from prometheus_client import Counter

if TYPE_CHECKING:
    from auth_service.models import User

log = logging.getLogger("auth_service.events")

AUTH_EVENTS = Counter(
    "auth_events", "Auth events: logins, failures, lockouts, tokens issued, ...", ["event"]
)


def auth_event(event: str, user: User | None = None, **fields: Any) -> None:
    """Log ``event`` about ``user`` with the request's client IP and request id."""
    extra: dict[str, Any] = {"event": event, **fields}
    if user is not None:
        extra["user_id"] = user.id
        extra["username"] = user.username
    if has_request_context():
        extra["client_ip"] = request.remote_addr
        extra["request_id"] = g.get("request_id")
    # Failures and lockouts are what an operator watches for.
    level = logging.WARNING if event in {"login_failed", "rate_limited"} else logging.INFO
    log.log(level, event, extra=extra)
    AUTH_EVENTS.labels(event).inc()
