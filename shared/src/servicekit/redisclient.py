"""Redis clients whose every call is bounded in time: a stalled Redis must not stall requests.

redis-py's defaults suit batch jobs, not requests: no socket timeout at all, and since redis-py 6
three retries with backoff on every timeout (a frozen Redis then costs a request many seconds).
Every Redis client of the services (rate limits, revocations, readiness) is made here, with one
connect and read timeout (``REDIS_TIMEOUT_MS``) and no retry after a timeout: the caller decides
what a failure means (fall back, fail closed), at once. The one retry left is immediate and for a
broken connection only: after a Redis restart every pooled connection is dead, and the first
request of each process would otherwise fail although Redis is back.
"""

from __future__ import annotations

from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.retry import Retry

#: Well under a second: Redis answers in microseconds when it is well, so this only bounds the
#: cost of a stall. A request touches Redis a few times at most (rate limit, revocation).
DEFAULT_TIMEOUT_MS = 250

REDIS_SCHEMES = ("redis://", "rediss://", "unix://")


def is_redis_uri(uri: str) -> bool:
    """Whether ``uri`` names a Redis server (rather than ``memory://``)."""
    return uri.startswith(REDIS_SCHEMES)


def client_options(timeout_ms: int = DEFAULT_TIMEOUT_MS) -> dict[str, Any]:
    """Keyword arguments for ``redis.Redis`` (and Flask-Limiter's storage): bounded in time."""
    seconds = timeout_ms / 1000
    return {
        "socket_timeout": seconds,
        "socket_connect_timeout": seconds,
        # Once, at once, on a broken connection; never on a timeout (redis' TimeoutError is
        # not a ConnectionError), which would double the cost of a stall.
        "retry": Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,)),
    }


def redis_client(uri: str, timeout_ms: int = DEFAULT_TIMEOUT_MS) -> redis.Redis:
    """A client for ``uri`` whose every command fails within ``timeout_ms`` when Redis stalls."""
    return redis.Redis.from_url(uri, **client_options(timeout_ms))
