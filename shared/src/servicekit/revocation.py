"""Where revoked identity tokens are remembered: in-process for development, Redis in production.

Two kinds of revocation, both checked by the verifier:

* one token, by its ``jti`` (kept until the token would have expired anyway);
* every token of a user issued before a moment (``valid_after``): logout, password change,
  deactivation and role changes use this, since they must end every session at once.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol

import redis

#: How long a user's "tokens valid after" mark is kept; longer than any token lives.
USER_MARK_TTL_SECONDS = 30 * 24 * 3600


class RevocationStore(Protocol):
    """What the token verifier asks, and what the auth service tells."""

    def revoke_token(self, jti: str, expires_at: float) -> None:
        """Refuse the token ``jti`` from now until ``expires_at`` (a Unix time)."""

    def is_token_revoked(self, jti: str) -> bool:
        """Whether the token ``jti`` was revoked."""

    def revoke_user_tokens(self, user_id: str, at: float | None = None) -> None:
        """Refuse every token of ``user_id`` issued before ``at`` (default: now)."""

    def user_tokens_valid_after(self, user_id: str) -> float | None:
        """The moment before which ``user_id``'s tokens are refused, if any."""

    def lookup(self, jti: str, user_id: str) -> tuple[bool, float | None]:
        """Both answers the verifier needs, in one round trip where the store allows it."""


class MemoryRevocationStore:
    """A process-local store: right for one process (tests, the embedded development server)."""

    def __init__(self) -> None:
        self._tokens: dict[str, float] = {}
        self._users: dict[str, float] = {}
        self._lock = threading.Lock()

    def revoke_token(self, jti: str, expires_at: float) -> None:
        with self._lock:
            now = time.time()
            self._tokens = {key: exp for key, exp in self._tokens.items() if exp > now}
            self._tokens[jti] = expires_at

    def is_token_revoked(self, jti: str) -> bool:
        with self._lock:
            expires_at = self._tokens.get(jti)
        return expires_at is not None and expires_at > time.time()

    def revoke_user_tokens(self, user_id: str, at: float | None = None) -> None:
        with self._lock:
            self._users[user_id] = time.time() if at is None else at

    def user_tokens_valid_after(self, user_id: str) -> float | None:
        with self._lock:
            return self._users.get(user_id)

    def lookup(self, jti: str, user_id: str) -> tuple[bool, float | None]:
        return self.is_token_revoked(jti), self.user_tokens_valid_after(user_id)


class RedisRevocationStore:
    """A store shared by every worker and service through Redis."""

    def __init__(self, client: redis.Redis, prefix: str = "revoked") -> None:
        self.client = client
        self.prefix = prefix

    def revoke_token(self, jti: str, expires_at: float) -> None:
        ttl = max(1, int(expires_at - time.time()) + 1)
        self.client.set(f"{self.prefix}:jti:{jti}", "1", ex=ttl)

    def is_token_revoked(self, jti: str) -> bool:
        return bool(self.client.exists(f"{self.prefix}:jti:{jti}"))

    def revoke_user_tokens(self, user_id: str, at: float | None = None) -> None:
        moment = time.time() if at is None else at
        self.client.set(f"{self.prefix}:user:{user_id}", repr(moment), ex=USER_MARK_TTL_SECONDS)

    def user_tokens_valid_after(self, user_id: str) -> float | None:
        return _moment(self.client.get(f"{self.prefix}:user:{user_id}"))

    def lookup(self, jti: str, user_id: str) -> tuple[bool, float | None]:
        # One MGET instead of two commands: this runs on every authenticated request.
        revoked, mark = self.client.mget(
            [f"{self.prefix}:jti:{jti}", f"{self.prefix}:user:{user_id}"]
        )
        return revoked is not None, _moment(mark)


def _moment(value: bytes | str | None) -> float | None:
    if value is None:
        return None
    return float(value.decode() if isinstance(value, bytes) else value)


_memory_stores: dict[str, MemoryRevocationStore] = {}
_memory_lock = threading.Lock()


def revocation_store_from_uri(uri: str) -> RevocationStore:
    """``memory://[name]`` (one store per name in this process) or ``redis://...``.

    Services in one process that name the same memory store share it, which is how the embedded
    development server makes a logout in auth visible to blog and api.
    """
    if uri.startswith("memory://"):
        name = uri.removeprefix("memory://")
        with _memory_lock:
            return _memory_stores.setdefault(name, MemoryRevocationStore())
    if uri.startswith(("redis://", "rediss://", "unix://")):
        client = redis.Redis.from_url(uri, socket_timeout=2, socket_connect_timeout=2)
        return RedisRevocationStore(client)
    raise ValueError(f"unsupported revocation store URI: {uri!r} (use memory:// or redis://)")
