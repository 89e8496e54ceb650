"""servicekit.clock: the one clock, timezone-aware UTC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from servicekit.clock import utcnow


def test_utcnow_is_aware_and_in_utc() -> None:
    now = utcnow()
    assert now.tzinfo is UTC
    assert abs(now - datetime.now(UTC)) < timedelta(seconds=5)
