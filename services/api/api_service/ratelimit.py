"""The API's rate limit: a fixed window per caller and endpoint, counted in one Redis round trip.

Each caller has ``API_RATE_LIMIT`` requests per window and endpoint. The caller is the user of a
bearer token whose signature and claims hold (a forged token cannot spend another user's budget,
and a revoked one spends its address's: its user's count is given back), else the client
address. Every answer carries ``RateLimit-Limit``, ``RateLimit-Remaining`` and
``RateLimit-Reset`` (the Unix time the window ends); a refusal is a 429 problem with
``Retry-After`` in seconds.

Why not Flask-Limiter, which the other services use for their form budgets: counting and then
reading the window back for the headers cost it three Redis round trips and a fifth of the API's
own CPU per request (docs/benchmarks.md, "API"). One Lua script here increments, sets the expiry
of a new window and answers both numbers at once. And since the token's revocation marks live
in the same Redis, the same round trip asks about them (a pipeline of the script and the
revocation store's MGET): an authenticated request costs one round trip, not two.

When Redis fails, requests are counted in this process for a second before Redis is asked again
(the budget then holds per process, as docs/architecture.md says for "When Redis is down"), and
the token's revocation is asked of the store on its own, with the store's own rules (ask twice,
then "unknown": a 503).
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from typing import Any

import redis
from flask import Flask, Response, current_app, g, request
from limits import parse
from werkzeug.exceptions import TooManyRequests

from servicekit.bearer import bearer_token
from servicekit.identity import get_verifier, verify_once_per_request
from servicekit.redisclient import DEFAULT_TIMEOUT_MS, is_redis_uri, redis_client
from servicekit.revocation import RedisRevocationStore, RevocationStore
from servicekit.verifier import Identity, RevocationLookup, TokenError

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
#: Take back one request counted at KEYS[1] while its window lasts (a DECR after the window
#: ended would leave a key that never expires).
_GIVE_BACK = """
if redis.call('EXISTS', KEYS[1]) == 1 then
    return redis.call('DECR', KEYS[1])
end
return 0
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

    def give_back(self, key: str) -> None:
        """Take back one request counted at ``key`` in its current window."""
        with self._lock:
            count, reset_at = self._windows.get(key, (0, 0.0))
            if count > 0 and reset_at > time.time():
                self._windows[key] = (count - 1, reset_at)


class RateLimiter:
    """Counts requests in Redis (or in memory) and refuses those over ``limit``.

    Given the revocation store when it lives in the same Redis (``revocations``), it uses that
    store's client and asks about a token in the round trip that counts its request.
    """

    def __init__(
        self,
        limit: str,
        storage_uri: str,
        timeout_ms: int = DEFAULT_TIMEOUT_MS,
        revocations: RevocationStore | None = None,
    ) -> None:
        item = parse(limit)
        self.limit = item.amount
        self.seconds = item.get_expiry()
        self.memory = MemoryCounter()
        self._revocations: RedisRevocationStore | None = None
        self._redis: redis.Redis | None = None
        if isinstance(revocations, RedisRevocationStore):
            self._revocations = revocations
            self._redis = revocations.client
        elif is_redis_uri(storage_uri):
            self._redis = redis_client(storage_uri, timeout_ms)
        self._script_sha = None if self._redis is None else self._redis.register_script(_HIT).sha
        self._give_back = None if self._redis is None else self._redis.register_script(_GIVE_BACK)
        self._redis_failed_until = 0.0

    def hit(
        self, key: str, identity: Identity | None = None
    ) -> tuple[Window, RevocationLookup | None]:
        """Count one request of ``key`` and say where it stands.

        With the ``identity`` of a token (signature checked, revocation not yet), also the
        revocation store's answer for that token when it came in the same round trip; None
        when it did not (no shared Redis, or Redis failed): the store is then asked as usual.
        """
        if self._script_sha is not None and time.monotonic() >= self._redis_failed_until:
            store = self._revocations
            if identity is None or store is None or store.failed_recently():
                store = None  # a Redis the store saw fail a moment ago is not asked for it
            try:
                replies = self._send(key, identity, store)
            except redis.RedisError:
                self._redis_failed_until = time.monotonic() + RETRY_REDIS_AFTER_SECONDS
            else:
                count, ttl = replies[0]
                window = Window(self.limit, int(count), time.time() + int(ttl))
                if store is None:
                    return window, None
                values = replies[1]
                # The answer for this identity's token: the caller verifies that same token.
                return window, lambda _jti, _user_id: store.answer(values)
        count, reset_at = self.memory.hit(key, self.seconds)
        return Window(self.limit, count, reset_at), None

    def give_back(self, key: str) -> None:
        """Take back one request counted at ``key``: it turned out not to be that caller's."""
        if self._give_back is not None and time.monotonic() >= self._redis_failed_until:
            try:
                self._give_back(keys=[key])
                return
            except redis.RedisError:
                self._redis_failed_until = time.monotonic() + RETRY_REDIS_AFTER_SECONDS
        self.memory.give_back(key)

    def _send(
        self, key: str, identity: Identity | None, store: RedisRevocationStore | None
    ) -> list[Any]:
        """The script's reply and, with a ``store``, its MGET's, in one round trip."""
        assert self._redis is not None
        try:
            return self._pipeline(self._redis, key, identity, store)
        except redis.exceptions.NoScriptError:
            # A restarted Redis forgot the script: load it, then send again.
            self._redis.script_load(_HIT)
            return self._pipeline(self._redis, key, identity, store)

    def _pipeline(
        self,
        client: redis.Redis,
        key: str,
        identity: Identity | None,
        store: RedisRevocationStore | None,
    ) -> list[Any]:
        assert self._script_sha is not None
        with client.pipeline(transaction=False) as pipe:
            # EVALSHA queued by hand: redis-py's Script in a pipeline first asks SCRIPT EXISTS,
            # a round trip of its own on every request.
            pipe.evalsha(self._script_sha, 1, key, self.seconds)
            if store is not None and identity is not None:
                pipe.mget(store.lookup_keys(identity.token_id, identity.id))
            return list(pipe.execute())


def init_rate_limit(app: Flask, revocations: RevocationStore | None = None) -> None:
    """Build the app's limiter from ``API_RATE_LIMIT`` and ``RATELIMIT_STORAGE_URI``.

    ``revocations`` is the verifier's store: when ``REVOCATION_STORE_URI`` names the same Redis,
    the limiter shares its client and asks about each token in the round trip that counts it.
    """
    storage_uri = app.config.get("RATELIMIT_STORAGE_URI", "memory://")
    same_redis = storage_uri == app.config.get("REVOCATION_STORE_URI")
    app.extensions[_EXTENSION_KEY] = RateLimiter(
        app.config["API_RATE_LIMIT"],
        storage_uri,
        app.config.get("REDIS_TIMEOUT_MS", DEFAULT_TIMEOUT_MS),
        revocations if same_redis else None,
    )


def _signed_identity(token: str | None) -> Identity | None:
    """The identity of ``token`` when its signature and claims hold (revocation not asked)."""
    if token is None:
        return None
    try:
        return get_verifier().signed_identity(token)
    except TokenError:
        return None  # counted by address; the view answers the 401 (or 503 if keys are away)


def count_request() -> None:
    """A ``before_request`` step: count this request against its caller; 429 when over.

    A token whose signature holds is verified here, with the revocation answer its count's
    round trip brought when it did, so the view's ``bearer_identity()`` finds it checked.
    """
    if not current_app.config.get("RATELIMIT_ENABLED", True):
        return  # switched off (the in-process schemathesis run does)
    limiter: RateLimiter = current_app.extensions[_EXTENSION_KEY]
    prefix = current_app.config.get("RATELIMIT_KEY_PREFIX", "api")
    token = bearer_token()
    identity = _signed_identity(token)
    address = f"{prefix}:ratelimit:addr:{request.remote_addr or '127.0.0.1'}:{request.endpoint}"
    key = f"{prefix}:ratelimit:user:{identity.id}:{request.endpoint}" if identity else address
    window, lookup = limiter.hit(key, identity)
    # The revocation answer from that round trip, or else from the store now (the view would
    # ask it anyway; the answer is kept for the request).
    if token and identity and verify_once_per_request(token, lookup) is None:
        # Revoked: whoever holds the token spends the address's budget, not its user's.
        limiter.give_back(key)
        window, _ = limiter.hit(address)
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
