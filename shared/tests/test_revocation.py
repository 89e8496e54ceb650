from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import redis

from servicekit.redisclient import DEFAULT_TIMEOUT_MS, redis_client
from servicekit.revocation import (
    TOKEN_MARK_GRACE_SECONDS,
    MemoryRevocationStore,
    RedisRevocationStore,
    RevocationStore,
    RevocationUnknownError,
    revocation_store_from_uri,
)
from servicekit.testing import PrivateRedis, redis_server_binary


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateRedis]:
    """A redis-server of these tests' own: they flush, freeze and restart it."""
    if redis_server_binary() is None:
        pytest.skip("needs redis-server")
    with PrivateRedis.started(tmp_path_factory.mktemp("redis")) as server:
        yield server


@pytest.fixture
def redis_store(redis_server: PrivateRedis) -> RedisRevocationStore:
    """A Redis store over an empty server, made whole (it holds an epoch)."""
    client = redis_client(redis_server.url)
    client.flushdb()
    store = RedisRevocationStore(client, prefix="test", retry_after=0)
    store.republish({})
    return store


STORES = ["memory", "redis"]


@pytest.fixture(params=STORES)
def store(request: pytest.FixtureRequest) -> RevocationStore:
    if request.param == "memory":
        return MemoryRevocationStore()
    redis_store: RedisRevocationStore = request.getfixturevalue("redis_store")
    return redis_store


def test_token_revocation(store: RevocationStore) -> None:
    assert not store.is_token_revoked("a")
    store.revoke_token("a", time.time() + 60)
    assert store.is_token_revoked("a")
    assert not store.is_token_revoked("b")


def test_expired_revocations_are_forgotten(store: RevocationStore) -> None:
    """Once no verifier accepts the token anyway (its expiry plus the grace)."""
    store.revoke_token("old", time.time() - TOKEN_MARK_GRACE_SECONDS - 5)
    assert not store.is_token_revoked("old")


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


def test_redis_uri_gives_a_client_bounded_in_time_without_retries() -> None:
    store = revocation_store_from_uri("redis://127.0.0.1:6379/0", timeout_ms=300)
    assert isinstance(store, RedisRevocationStore)
    options = store.client.connection_pool.connection_kwargs
    assert options["socket_timeout"] == options["socket_connect_timeout"] == 0.3
    assert options["retry"].get_retries() == 1  # a broken pooled connection, never a timeout
    default = revocation_store_from_uri("redis://127.0.0.1:6379/0")
    assert isinstance(default, RedisRevocationStore)
    timeout = default.client.connection_pool.connection_kwargs["socket_timeout"]
    assert timeout == DEFAULT_TIMEOUT_MS / 1000


def test_unknown_uri() -> None:
    with pytest.raises(ValueError, match="unsupported"):
        revocation_store_from_uri("sqlite:///x")


def test_lookup_answers_both_questions(store: RevocationStore) -> None:
    assert store.lookup("j1", "u1") == (False, None)
    store.revoke_token("j1", time.time() + 60)
    store.revoke_user_tokens("u1", at=99.5)
    assert store.lookup("j1", "u1") == (True, 99.5)
    assert store.lookup("j2", "u2") == (False, None)


def test_a_redis_lookup_can_travel_in_a_callers_own_pipeline(
    redis_store: RedisRevocationStore,
) -> None:
    redis_store.revoke_token("j1", time.time() + 60)
    redis_store.revoke_user_tokens("u1", at=42.5)
    with redis_store.client.pipeline(transaction=False) as pipe:
        pipe.ping()  # the caller's own command
        pipe.mget(redis_store.lookup_keys("j1", "u1"))
        pipe.mget(redis_store.lookup_keys("j2", "u2"))
        _, first, second = pipe.execute()
    assert redis_store.answer(first) == (True, 42.5) == redis_store.lookup("j1", "u1")
    assert redis_store.answer(second) == (False, None)
    with pytest.raises(RevocationUnknownError, match="epoch"):
        redis_store.answer([None, None, None])


def test_marks_only_move_forward(store: RevocationStore) -> None:
    store.revoke_user_tokens("u", at=200.0)
    store.revoke_user_tokens("u", at=100.0)  # e.g. a republish that read the database earlier
    assert store.user_tokens_valid_after("u") == 200.0
    store.republish({"u": 150.0, "v": 50.0})
    assert store.lookup("j", "u") == (False, 200.0)
    assert store.lookup("j", "v") == (False, 50.0)


def test_memory_store_never_needs_a_republish() -> None:
    assert MemoryRevocationStore().needs_republish() is False


def test_a_redis_without_epoch_cannot_vouch_for_a_token(
    redis_server: PrivateRedis, redis_store: RedisRevocationStore
) -> None:
    redis_store.revoke_user_tokens("u", at=10.0)
    assert redis_store.needs_republish() is False
    redis_store.client.flushdb()  # what a restart of a Redis without persistence does
    assert redis_store.needs_republish() is True
    with pytest.raises(RevocationUnknownError, match="epoch"):
        redis_store.lookup("j", "u")
    redis_store.republish({"u": 10.0})
    assert redis_store.lookup("j", "u") == (False, 10.0)


def test_a_frozen_redis_costs_two_timeouts_then_answers_unknown_at_once(
    redis_server: PrivateRedis,
) -> None:
    client = redis_client(redis_server.url, timeout_ms=200)
    client.flushdb()
    store = RedisRevocationStore(client, retry_after=60)
    store.republish({})
    store.lookup("j", "u")  # connected and healthy
    with redis_server.frozen():
        started = time.monotonic()
        with pytest.raises(RevocationUnknownError, match="did not answer"):
            store.lookup("j", "u")
        assert time.monotonic() - started < 2  # the 200 ms timeout twice, no more
        started = time.monotonic()
        with pytest.raises(RevocationUnknownError, match="a moment ago"):
            store.lookup("j", "u")
        assert time.monotonic() - started < 0.1  # not asked again within retry_after
    store._unavailable_until = 0  # the pause is over
    assert store.lookup("j", "u") == (False, None)


def test_one_slow_answer_is_asked_again_before_failing_closed(
    redis_store: RedisRevocationStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A node short of CPU (tasks starting in a rolling update) can delay one answer past the
    # timeout; refusing the request then would refuse a token that is fine.
    redis_store.retry_after = 60  # a failed lookup would pause the store for a minute
    asked: list[object] = []
    answer = redis_store.client.mget

    def late_once(keys: list[str]) -> list[bytes | str | None]:
        asked.append(keys)
        if len(asked) == 1:
            raise redis.TimeoutError("Timeout reading from socket")
        return answer(keys)

    monkeypatch.setattr(redis_store.client, "mget", late_once)
    assert redis_store.lookup("j", "u") == (False, None)
    assert len(asked) == 2
    # and the store did not pause: the next lookup asks Redis as usual
    assert redis_store.lookup("j", "u") == (False, None)
    assert len(asked) == 3


def test_an_unreachable_redis_is_unknown_not_an_error(free_tcp_port: int) -> None:
    store = revocation_store_from_uri(f"redis://127.0.0.1:{free_tcp_port}/0")
    with pytest.raises(RevocationUnknownError):
        store.lookup("j", "u")


def test_a_mark_written_while_redis_is_frozen_lands_when_it_wakes(
    redis_server: PrivateRedis,
) -> None:
    store = RedisRevocationStore(redis_client(redis_server.url, timeout_ms=200), retry_after=0)
    store.client.flushdb()
    store.republish({})
    # Its pooled connection dies with a restart, as after an earlier outage: no retry on it.
    redis_server.restart_empty()
    RedisRevocationStore(redis_client(redis_server.url)).republish({})
    with redis_server.frozen(), pytest.raises(redis.RedisError):
        store.revoke_user_tokens("u", at=42.5)
    fresh = RedisRevocationStore(redis_client(redis_server.url))
    assert fresh.lookup("j", "u") == (False, 42.5), "applied on wake, before any later reader"


def test_a_token_revoked_while_redis_is_frozen_lands_when_it_wakes(
    redis_server: PrivateRedis,
) -> None:
    store = RedisRevocationStore(redis_client(redis_server.url, timeout_ms=200), retry_after=0)
    store.client.flushdb()
    store.republish({})
    with redis_server.frozen(), pytest.raises(redis.RedisError):
        store.revoke_token("j", time.time() + 60)
    fresh = RedisRevocationStore(redis_client(redis_server.url))
    assert fresh.lookup("j", "u") == (True, None), "applied on wake, before any later reader"


def test_a_republish_restores_revoked_tokens_until_they_expire(
    redis_store: RedisRevocationStore,
) -> None:
    redis_store.client.flushdb()  # a Redis restarted empty
    redis_store.republish({}, {"live": time.time() + 60})
    assert redis_store.lookup("live", "u") == (True, None)
    assert 0 < redis_store.client.ttl("test:jti:live") <= 60 + TOKEN_MARK_GRACE_SECONDS + 1


def test_a_revoked_token_stays_refused_within_the_verifiers_leeway(store: RevocationStore) -> None:
    """A verifier accepts a token up to 30 s past its expiry: the mark must outlive that."""
    store.revoke_token("late", time.time() - 20)
    assert store.lookup("late", "u") == (True, None)


def test_marks_are_sent_with_the_database_and_password_they_need() -> None:
    sent: list[bytes] = []

    class Recorder:
        def __enter__(self) -> Recorder:
            return self

        def __exit__(self, *_: object) -> None:
            pass

        def sendall(self, data: bytes) -> None:
            sent.append(data)

    client = redis.Redis.from_url("redis://user:secret@127.0.0.1:1/3")
    store = RedisRevocationStore(client)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("socket.create_connection", lambda *_a, **_k: Recorder())
        store._send_without_waiting(("SET", "revoked:user:u", "1.5"))
    assert sent[0].startswith(b"*3\r\n$4\r\nAUTH\r\n$4\r\nuser\r\n$6\r\nsecret\r\n")
    assert b"*2\r\n$6\r\nSELECT\r\n$1\r\n3\r\n" in sent[0]
    assert b"$14\r\nrevoked:user:u\r\n$3\r\n1.5\r\n" in sent[0]
