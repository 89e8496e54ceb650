from __future__ import annotations

import time
from typing import Any

import pytest
import redis

from servicekit.revocation import (
    MemoryRevocationStore,
    RedisRevocationStore,
    RevocationStore,
    revocation_store_from_uri,
)


class FakeRedis:
    """The three Redis commands the store uses, with expiry."""

    def __init__(self) -> None:
        self.data: dict[str, tuple[bytes, float]] = {}

    def set(self, key: str, value: str, ex: int) -> None:
        self.data[key] = (value.encode(), time.time() + ex)

    def get(self, key: str) -> bytes | None:
        item = self.data.get(key)
        return item[0] if item and item[1] > time.time() else None

    def exists(self, key: str) -> int:
        return int(self.get(key) is not None)

    def mget(self, keys: list[str]) -> list[bytes | None]:
        return [self.get(key) for key in keys]


def _real_redis() -> Any:
    client = redis.Redis.from_url("redis://127.0.0.1:6379/15", socket_connect_timeout=0.5)
    try:
        client.ping()
    except redis.RedisError:
        return None
    return client


STORES = ["memory", "fake-redis", "redis"]


@pytest.fixture(params=STORES)
def store(request: pytest.FixtureRequest) -> RevocationStore:
    if request.param == "memory":
        return MemoryRevocationStore()
    if request.param == "fake-redis":
        return RedisRevocationStore(FakeRedis(), prefix="test")  # type: ignore[arg-type]
    client = _real_redis()
    if client is None:
        pytest.skip("no Redis at 127.0.0.1:6379")
    client.flushdb()
    return RedisRevocationStore(client, prefix=f"test-{time.time_ns()}")


def test_token_revocation(store: RevocationStore) -> None:
    assert not store.is_token_revoked("a")
    store.revoke_token("a", time.time() + 60)
    assert store.is_token_revoked("a")
    assert not store.is_token_revoked("b")


def test_expired_revocations_are_forgotten(store: RevocationStore) -> None:
    store.revoke_token("old", time.time() - 5)
    assert not store.is_token_revoked("old") or isinstance(store, RedisRevocationStore)


def test_user_marks(store: RevocationStore) -> None:
    assert store.user_tokens_valid_after("7") is None
    store.revoke_user_tokens("7", at=1234.5)
    assert store.user_tokens_valid_after("7") == 1234.5
    before = time.time()
    store.revoke_user_tokens("7")
    mark = store.user_tokens_valid_after("7")
    assert mark is not None
    assert mark >= before


def test_memory_uris_share_a_store_per_name() -> None:
    assert revocation_store_from_uri("memory://x") is revocation_store_from_uri("memory://x")
    assert revocation_store_from_uri("memory://x") is not revocation_store_from_uri("memory://y")


def test_redis_uri() -> None:
    store = revocation_store_from_uri("redis://127.0.0.1:6379/0")
    assert isinstance(store, RedisRevocationStore)


def test_unknown_uri() -> None:
    with pytest.raises(ValueError, match="unsupported"):
        revocation_store_from_uri("sqlite:///x")


def test_lookup_answers_both_questions(store: RevocationStore) -> None:
    assert store.lookup("j1", "u1") == (False, None)
    store.revoke_token("j1", time.time() + 60)
    store.revoke_user_tokens("u1", at=99.5)
    assert store.lookup("j1", "u1") == (True, 99.5)
    assert store.lookup("j2", "u2") == (False, None)
