"""Where revoked identity tokens are remembered: in-process for development, Redis in production.

Two kinds of revocation, both checked by the verifier:

* one token, by its ``jti`` (kept until the token would have expired anyway);
* every token of a user issued before a moment (``valid_after``): logout, password change,
  deactivation and role changes use this, since they must end every session at once.

In production the auth service's database is the source of truth for both kinds of marks and
Redis is a cache of them that every verifier reads. A cache can lose what it holds (Redis restarted
empty: it keeps nothing on disk) or miss a write (Redis stalled while auth wrote). So the store
holds one more key, the *epoch*, written only by :meth:`RevocationStore.republish` after every
mark that still matters was copied from the database. No epoch means "this Redis may have lost
marks": :meth:`RevocationStore.lookup` then raises :class:`RevocationUnknownError`, as it does when
Redis does not answer in time, and the verifier decides what an unknown answer is worth.
"""

# length: the two stores (memory, Redis) and the epoch that tells a complete Redis from one that
# lost marks share their rules; kept in one module so the rules are read together.
from __future__ import annotations

import socket
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Protocol

import redis

from servicekit.redisclient import DEFAULT_TIMEOUT_MS, is_redis_uri, redis_client

#: How long a user's "tokens valid after" mark is kept; longer than any token lives.
USER_MARK_TTL_SECONDS = 30 * 24 * 3600
#: How long a revoked token's mark outlives the token: verifiers accept a token a little past
#: its expiry (their clock-skew leeway, 30 s by default), and it must stay refused meanwhile.
TOKEN_MARK_GRACE_SECONDS = 120
#: After Redis failed a lookup, how long lookups answer "unknown" without asking it again: a
#: stalled Redis then costs one request the timeout, not every request.
DEFAULT_RETRY_AFTER_SECONDS = 1.0


class RevocationUnknownError(Exception):
    """The store cannot tell whether a token was revoked: unreachable, or it may have lost marks."""


class RevocationStore(Protocol):
    """What the token verifier asks, and what the auth service tells."""

    def revoke_token(self, jti: str, expires_at: float) -> None:
        """Refuse the token ``jti`` from now until ``expires_at`` (a Unix time)."""

    def revoke_tokens(self, tokens: Mapping[str, float]) -> None:
        """:meth:`revoke_token` for each ``jti: expires_at`` of ``tokens``, in one round trip."""

    def is_token_revoked(self, jti: str) -> bool:
        """Whether the token ``jti`` was revoked."""

    def revoke_user_tokens(self, user_id: str, at: float | None = None) -> None:
        """Refuse every token of ``user_id`` issued before ``at`` (default: now).

        A later mark already stored wins: marks only move forward.
        """

    def user_tokens_valid_after(self, user_id: str) -> float | None:
        """The moment before which ``user_id``'s tokens are refused, if any."""

    def lookup(self, jti: str, user_id: str) -> tuple[bool, float | None]:
        """Both answers the verifier needs, in one round trip where the store allows it.

        Raises :class:`RevocationUnknownError` when the answer cannot be trusted.
        """

    def republish(
        self, marks: Mapping[str, float], tokens: Mapping[str, float] | None = None
    ) -> None:
        """Store every user mark of ``marks`` (keeping later ones) and every revoked token of
        ``tokens`` (jti to expiry), and declare the store whole."""

    def needs_republish(self) -> bool:
        """Whether the store may have lost marks (no epoch); raises if it cannot be reached."""


class MemoryRevocationStore:
    """A process-local store: right for one process (tests, the embedded development server).

    It cannot lose a write without losing the process, so it never needs a republish.
    """

    def __init__(self) -> None:
        self._tokens: dict[str, float] = {}
        self._users: dict[str, float] = {}
        self._lock = threading.Lock()

    def revoke_token(self, jti: str, expires_at: float) -> None:
        with self._lock:
            now = time.time()
            horizon = now - TOKEN_MARK_GRACE_SECONDS
            self._tokens = {key: exp for key, exp in self._tokens.items() if exp > horizon}
            self._tokens[jti] = expires_at

    def revoke_tokens(self, tokens: Mapping[str, float]) -> None:
        for jti, expires_at in tokens.items():
            self.revoke_token(jti, expires_at)

    def is_token_revoked(self, jti: str) -> bool:
        with self._lock:
            expires_at = self._tokens.get(jti)
        return expires_at is not None and expires_at + TOKEN_MARK_GRACE_SECONDS > time.time()

    def revoke_user_tokens(self, user_id: str, at: float | None = None) -> None:
        moment = time.time() if at is None else at
        with self._lock:
            self._users[user_id] = max(moment, self._users.get(user_id, moment))

    def user_tokens_valid_after(self, user_id: str) -> float | None:
        with self._lock:
            return self._users.get(user_id)

    def lookup(self, jti: str, user_id: str) -> tuple[bool, float | None]:
        return self.is_token_revoked(jti), self.user_tokens_valid_after(user_id)

    def republish(
        self, marks: Mapping[str, float], tokens: Mapping[str, float] | None = None
    ) -> None:
        for user_id, moment in marks.items():
            self.revoke_user_tokens(user_id, moment)
        self.revoke_tokens(tokens or {})

    def needs_republish(self) -> bool:
        return False


#: Sets a user's mark unless a later one is stored (a republish from a database read a moment
#: ago must not move back a mark that a logout has just moved forward).
_KEEP_LATEST_MARK = """
local current = tonumber(redis.call('GET', KEYS[1]))
if current == nil or current < tonumber(ARGV[1]) then
    redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
end
return 1
"""


class RedisRevocationStore:
    """A store shared by every worker and service through Redis."""

    def __init__(
        self,
        client: redis.Redis,
        prefix: str = "revoked",
        retry_after: float = DEFAULT_RETRY_AFTER_SECONDS,
    ) -> None:
        self.client = client
        self.prefix = prefix
        self.retry_after = retry_after
        self.epoch_key = f"{prefix}:epoch"
        self._keep_latest_mark = client.register_script(_KEEP_LATEST_MARK)
        self._unavailable_until = 0.0

    def revoke_token(self, jti: str, expires_at: float) -> None:
        self.revoke_tokens({jti: expires_at})

    def revoke_tokens(self, tokens: Mapping[str, float]) -> None:
        keys = self._token_keys(tokens)
        if not keys:
            return
        try:
            with self.client.pipeline(transaction=False) as pipe:  # one round trip for all
                for key, ttl in keys.items():
                    pipe.set(key, "1", ex=ttl)
                pipe.execute()
        except redis.RedisError:
            self._send_without_waiting(*(("SET", key, "1", "EX", ttl) for key, ttl in keys.items()))
            raise

    def _token_keys(self, tokens: Mapping[str, float]) -> dict[str, int]:
        """Each revoked token's key and how long to keep it: until no verifier accepts the
        token anyway (its expiry plus the grace). Tokens past that need no key."""
        now = time.time()
        keys = {
            f"{self.prefix}:jti:{jti}": int(expires_at + TOKEN_MARK_GRACE_SECONDS - now) + 1
            for jti, expires_at in tokens.items()
        }
        return {key: ttl for key, ttl in keys.items() if ttl > 0}

    def is_token_revoked(self, jti: str) -> bool:
        return bool(self.client.exists(f"{self.prefix}:jti:{jti}"))

    def revoke_user_tokens(self, user_id: str, at: float | None = None) -> None:
        moment = time.time() if at is None else at
        try:
            self._mark(self.client, user_id, moment)
        except redis.RedisError:
            key = f"{self.prefix}:user:{user_id}"
            self._send_without_waiting(
                ("EVAL", _KEEP_LATEST_MARK, 1, key, repr(moment), USER_MARK_TTL_SECONDS)
            )
            raise

    def _send_without_waiting(self, *marks: tuple[object, ...]) -> None:
        """Put the marks' commands into a stalled Redis's socket, to run the moment it wakes up.

        A Redis that is frozen (a stopped process, a stalled host) still accepts connections
        in its kernel and keeps what they send; it runs those commands, in order, as soon as it
        runs again, before it can answer any later reader. redis-py cannot get a command there:
        a new connection first waits for a reply to its handshake, and a pooled one may be dead.
        So this opens a bare socket, writes the command (SELECT and AUTH included, as RESP) and
        closes it. Nothing is lost if it fails: the caller has the mark republished anyway.
        """
        options = self.client.connection_pool.connection_kwargs
        commands: list[tuple[object, ...]] = []
        if options.get("password"):
            credentials = [options["username"]] if options.get("username") else []
            commands.append(("AUTH", *credentials, options["password"]))
        if options.get("db"):
            commands.append(("SELECT", options["db"]))
        commands.extend(marks)
        timeout = options.get("socket_connect_timeout") or 1
        try:
            if options.get("path"):
                bare = socket.socket(socket.AF_UNIX)
                bare.settimeout(timeout)
                bare.connect(options["path"])
            else:
                address = (options.get("host", "localhost"), options.get("port", 6379))
                bare = socket.create_connection(address, timeout=timeout)
            with bare:
                bare.sendall(b"".join(_resp(command) for command in commands))
        except OSError:
            pass  # Redis is gone, not stalled: its restart comes back without an epoch

    def _mark(self, client: redis.Redis | redis.client.Pipeline, user_id: str, at: float) -> None:
        key = f"{self.prefix}:user:{user_id}"
        self._keep_latest_mark(keys=[key], args=[repr(at), USER_MARK_TTL_SECONDS], client=client)

    def user_tokens_valid_after(self, user_id: str) -> float | None:
        return _moment(self.client.get(f"{self.prefix}:user:{user_id}"))

    def lookup(self, jti: str, user_id: str) -> tuple[bool, float | None]:
        if self.failed_recently():
            raise RevocationUnknownError("Redis failed a moment ago")
        try:
            values = self._read(self.lookup_keys(jti, user_id))
        except redis.RedisError as error:
            self._unavailable_until = time.monotonic() + self.retry_after
            raise RevocationUnknownError(f"Redis did not answer: {error}") from error
        return self.answer(values)

    def failed_recently(self) -> bool:
        """Whether Redis failed a lookup less than ``retry_after`` seconds ago (and is not
        asked again until then)."""
        return time.monotonic() < self._unavailable_until

    def lookup_keys(self, jti: str, user_id: str) -> list[str]:
        """The keys one MGET reads to answer :meth:`lookup`.

        One MGET instead of three commands: this runs on every authenticated request. A caller
        may send it in a pipeline with commands of its own (one round trip for both) and hand
        the values to :meth:`answer`.
        """
        return [f"{self.prefix}:jti:{jti}", f"{self.prefix}:user:{user_id}", self.epoch_key]

    def answer(self, values: Sequence[bytes | str | None]) -> tuple[bool, float | None]:
        """What :meth:`lookup` answers, from the values of the keys of :meth:`lookup_keys`."""
        revoked, mark, epoch = values
        if epoch is None:
            raise RevocationUnknownError("Redis holds no epoch: it may have lost marks")
        return revoked is not None, _moment(mark)

    def _read(self, keys: list[str]) -> list[bytes | str | None]:
        """MGET ``keys``, asked a second time at once if the first answer timed out.

        A Redis that is well can still miss one 250 ms deadline: on a node short of CPU (new
        tasks starting during a rolling update) its answer, or the client thread, waits for a
        core. Failing closed on that one miss refused writes and API calls whose tokens were
        fine; a Redis that really stalls misses twice, and costs a request two timeouts, not one.
        A broken connection is already retried once by the client (servicekit.redisclient).
        """
        try:
            return list(self.client.mget(keys))
        except redis.TimeoutError:
            return list(self.client.mget(keys))

    def republish(
        self, marks: Mapping[str, float], tokens: Mapping[str, float] | None = None
    ) -> None:
        # One transaction: the epoch appears together with the marks, never before them.
        with self.client.pipeline(transaction=True) as pipe:
            for user_id, moment in marks.items():
                self._mark(pipe, user_id, moment)
            for key, ttl in self._token_keys(tokens or {}).items():
                pipe.set(key, "1", ex=ttl)
            pipe.set(self.epoch_key, repr(time.time()))
            pipe.execute()

    def needs_republish(self) -> bool:
        return not self.client.exists(self.epoch_key)


def _resp(command: tuple[object, ...]) -> bytes:
    """One command in the Redis protocol (RESP): an array of bulk strings."""
    parts = [str(part).encode() for part in command]
    return b"*%d\r\n" % len(parts) + b"".join(
        b"$%d\r\n%s\r\n" % (len(part), part) for part in parts
    )


def _moment(value: bytes | str | None) -> float | None:
    if value is None:
        return None
    return float(value.decode() if isinstance(value, bytes) else value)


_memory_stores: dict[str, MemoryRevocationStore] = {}
_memory_lock = threading.Lock()


def revocation_store_from_uri(uri: str, timeout_ms: int = DEFAULT_TIMEOUT_MS) -> RevocationStore:
    """``memory://[name]`` (one store per name in this process) or ``redis://...``.

    Services in one process that name the same memory store share it, which is how the embedded
    development server makes a logout in auth visible to blog and api. A Redis store answers or
    fails within ``timeout_ms``.
    """
    if uri.startswith("memory://"):
        name = uri.removeprefix("memory://")
        with _memory_lock:
            return _memory_stores.setdefault(name, MemoryRevocationStore())
    if is_redis_uri(uri):
        return RedisRevocationStore(redis_client(uri, timeout_ms))
    raise ValueError(f"unsupported revocation store URI: {uri!r} (use memory:// or redis://)")
