"""The API's rate limit: a fixed window per caller and endpoint, counted in one Redis round trip.

Each caller (token subject; client address without a valid token, see
:func:`api_service.extensions.rate_limit_key`) has ``API_RATE_LIMIT`` requests per window and
endpoint. Every answer carries ``RateLimit-Limit``, ``RateLimit-Remaining`` and
``RateLimit-Reset`` (the Unix time the window ends); a refusal is a 429 problem with
``Retry-After`` in seconds.

Why not Flask-Limiter, which the other services use for their form budgets: counting and then
reading the window back for the headers cost it three Redis round trips and a fifth of the API's
own CPU per request (docs/benchmarks.md, "API"). One Lua script here increments, sets the expiry
of a new window and answers both numbers at once.

When Redis fails, requests are counted in this process for a second before Redis is asked again
(the budget then holds per process, as docs/architecture.md says for "When Redis is down").
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass

import redis
from flask import Flask, Response, current_app, g, request
from limits import parse
from werkzeug.exceptions import TooManyRequests

from servicekit.redisclient import DEFAULT_TIMEOUT_MS, is_redis_uri, redis_client

_EXTENSION_KEY = "api_service.ratelimit"
#: After Redis failed, how long to count in process memory before asking it again.
RETRY_REDIS_AFTER_SECONDS = 1.0

#: Count one request in the window at KEYS[1] (ARGV[1] seconds long); answer the count and the
#: seconds left. A key without expiry (a crash between INCR and EXPIRE) gets one.
_HIT = """
local count = redis.call('INCR', KEYS[1])
local ttl = redis.call('TTL', KEYS[1])
if ttl < 0 then
    redis.call('EXPIRE', KEYS[1], ARGV[1])
    ttl = tonumber(ARGV[1])
end
return {count, ttl}
"""


@dataclass(frozen=True)
class Window:
    """Where one caller stands in the current window."""

    limit: int
    count: int
    reset_at: float

    @property
    def remaining(self) -> int:
        """Requests left in the window."""
        return max(0, self.limit - self.count)


class MemoryCounter:
    """Fixed windows in this process: for ``memory://`` and while Redis fails."""

    def __init__(self) -> None:
        self._windows: dict[str, tuple[int, float]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str, seconds: int) -> tuple[int, float]:
        """Count one request at ``key``; the count and when its window ends (Unix time)."""
        now = time.time()
        with self._lock:
            if len(self._windows) > 10_000:  # forget ended windows now and then
                self._windows = {k: w for k, w in self._windows.items() if w[1] > now}
            count, reset_at = self._windows.get(key, (0, 0.0))
            if reset_at <= now:
                count, reset_at = 0, now + seconds
            self._windows[key] = (count + 1, reset_at)
        return count + 1, reset_at


class RateLimiter:
    """Counts requests in Redis (or in memory) and refuses those over ``limit``."""

    def __init__(self, limit: str, storage_uri: str, timeout_ms: int = DEFAULT_TIMEOUT_MS) -> None:
        item = parse(limit)
        self.limit = item.amount
        self.seconds = item.get_expiry()
        self.memory = MemoryCounter()
        self._redis = redis_client(storage_uri, timeout_ms) if is_redis_uri(storage_uri) else None
        self._script = self._redis.register_script(_HIT) if self._redis is not None else None
        self._redis_failed_until = 0.0

    def hit(self, key: str) -> Window:
        """Count one request of ``key`` and say where it stands."""
        if self._script is not None and time.monotonic() >= self._redis_failed_until:
            try:
                count, ttl = self._script(keys=[key], args=[self.seconds])
            except redis.RedisError:
                self._redis_failed_until = time.monotonic() + RETRY_REDIS_AFTER_SECONDS
            else:
                return Window(self.limit, int(count), time.time() + int(ttl))
        count, reset_at = self.memory.hit(key, self.seconds)
        return Window(self.limit, count, reset_at)


def init_rate_limit(app: Flask) -> None:
    """Build the app's limiter from ``API_RATE_LIMIT`` and ``RATELIMIT_STORAGE_URI``."""
    app.extensions[_EXTENSION_KEY] = RateLimiter(
        app.config["API_RATE_LIMIT"],
        app.config.get("RATELIMIT_STORAGE_URI", "memory://"),
        app.config.get("REDIS_TIMEOUT_MS", DEFAULT_TIMEOUT_MS),
    )


def count_request(key: str) -> None:
    """A ``before_request`` step: count this request for ``key``; 429 when over the limit."""
    if not current_app.config.get("RATELIMIT_ENABLED", True):
        return  # switched off (the in-process schemathesis run does)
    limiter: RateLimiter = current_app.extensions[_EXTENSION_KEY]
    prefix = current_app.config.get("RATELIMIT_KEY_PREFIX", "api")
    window = limiter.hit(f"{prefix}:ratelimit:{key}:{request.endpoint}")
    g.rate_limit_window = window
    if window.count > window.limit:
        retry_after = max(1, math.ceil(window.reset_at - time.time()))
        raise TooManyRequests(
            f"Too many requests: {window.limit} are allowed per {limiter.seconds} seconds. "
            f"Retry in {retry_after} s.",
            retry_after=retry_after,
        )


def add_rate_limit_headers(response: Response) -> Response:
    """An ``after_request`` step: the caller's standing in its window, when it was counted."""
    window: Window | None = g.get("rate_limit_window")
    if window is not None:
        response.headers["RateLimit-Limit"] = str(window.limit)
        response.headers["RateLimit-Remaining"] = str(window.remaining)
        response.headers["RateLimit-Reset"] = str(int(window.reset_at))
    return response
