"""servicekit.verifier: signature, algorithm, claims, keys and revocation of identity tokens."""

# length: the tests of servicekit.verifier: every way a token is refused has its own test.
from __future__ import annotations

import base64
import json
import os
import time
from pathlib import Path
from typing import Any

import jwt
import pytest

from servicekit import verifier as verifier_module
from servicekit.revocation import MemoryRevocationStore
from servicekit.settings import ConfigError
from servicekit.testing import TestTokenIssuer
from servicekit.verifier import (
    Identity,
    KeysUnavailableError,
    RevocationStateUnknownError,
    TokenError,
    TokenVerifier,
)


def test_a_good_token_gives_its_identity(key: TestTokenIssuer, verifier: TokenVerifier) -> None:
    identity = verifier.verify(key.mint(sub="7", name="bob", roles=["author"]))
    assert identity == Identity(
        id="7",
        name="bob",
        roles=frozenset({"author"}),
        token_id=identity.token_id,
        issued_at=identity.issued_at,
        expires_at=identity.expires_at,
    )
    assert identity.get_id() == "7"
    assert identity.has_role("author")
    assert not identity.has_role("admin")
    assert not identity.is_admin


def test_admins_pass_every_role_check(key: TestTokenIssuer, verifier: TokenVerifier) -> None:
    identity = verifier.verify(key.mint(roles=["admin"]))
    assert identity.has_role("author")
    assert identity.is_admin


def test_bad_signature_is_refused(key: TestTokenIssuer, verifier: TokenVerifier) -> None:
    forged = TestTokenIssuer("key-1").mint()
    with pytest.raises(TokenError, match="invalid token"):
        verifier.verify(forged)


def test_wrong_audience_and_issuer_are_refused(
    key: TestTokenIssuer, verifier: TokenVerifier
) -> None:
    with pytest.raises(TokenError, match=r"(?i)audience"):
        verifier.verify(key.mint(aud="someone-else"))
    with pytest.raises(TokenError, match=r"(?i)issuer"):
        verifier.verify(key.mint(iss="https://evil.example"))


def test_expired_token_is_refused(key: TestTokenIssuer, verifier: TokenVerifier) -> None:
    with pytest.raises(TokenError, match="expired"):
        verifier.verify(key.mint(issued_at=time.time() - 600, lifetime=60))


def test_leeway_tolerates_small_clock_skew(
    key: TestTokenIssuer, store: MemoryRevocationStore
) -> None:
    lenient = TokenVerifier(
        issuer=key.issuer, audience=key.audience, revocations=store, jwks=key.jwks(), leeway=30
    )
    lenient.verify(key.mint(issued_at=time.time() - 70, lifetime=60))


def _unsigned(claims: dict[str, Any], header: dict[str, Any]) -> str:
    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return f"{part(header)}.{part(claims)}."


def test_alg_none_is_refused(key: TestTokenIssuer, verifier: TokenVerifier) -> None:
    claims = jwt.decode(key.mint(), options={"verify_signature": False})
    with pytest.raises(TokenError, match="not allowed"):
        verifier.verify(_unsigned(claims, {"alg": "none", "kid": "key-1"}))


def test_hmac_with_the_public_key_is_refused(key: TestTokenIssuer, verifier: TokenVerifier) -> None:
    claims = jwt.decode(key.mint(), options={"verify_signature": False})
    public = json.dumps(key.public_jwk()).encode()
    header = base64.urlsafe_b64encode(json.dumps({"alg": "HS256", "kid": "key-1"}).encode())
    body = base64.urlsafe_b64encode(json.dumps(claims).encode())
    import hashlib
    import hmac

    signing_input = header.rstrip(b"=") + b"." + body.rstrip(b"=")
    signature = base64.urlsafe_b64encode(hmac.new(public, signing_input, hashlib.sha256).digest())
    with pytest.raises(TokenError, match="not allowed"):
        verifier.verify((signing_input + b"." + signature.rstrip(b"=")).decode())


def test_algorithm_must_match_the_key(key: TestTokenIssuer, verifier: TokenVerifier) -> None:
    claims = jwt.decode(key.mint(), options={"verify_signature": False})
    with pytest.raises(TokenError, match="does not match"):
        verifier.verify(_unsigned(claims, {"alg": "RS256", "kid": "key-1"}))


def test_malformed_and_kidless_tokens_are_refused(
    key: TestTokenIssuer, verifier: TokenVerifier
) -> None:
    with pytest.raises(TokenError, match="malformed"):
        verifier.verify("not-a-token")
    token = jwt.encode({"sub": "1"}, key.private_key, algorithm="EdDSA")
    with pytest.raises(TokenError, match="no key id"):
        verifier.verify(token)


def test_unknown_kid_is_refused(verifier: TokenVerifier) -> None:
    with pytest.raises(TokenError, match="unknown key id"):
        verifier.verify(TestTokenIssuer("other").mint())


def test_missing_claims_are_refused(key: TestTokenIssuer, verifier: TokenVerifier) -> None:
    with pytest.raises(TokenError, match="jti"):
        verifier.verify(key.mint(jti=None))


@pytest.mark.parametrize(
    ("claims", "message"),
    [({"roles": "admin"}, "roles"), ({"name": 7}, "strings"), ({"roles": [1]}, "roles")],
)
def test_claims_of_the_wrong_type_are_refused(
    key: TestTokenIssuer, verifier: TokenVerifier, claims: dict[str, Any], message: str
) -> None:
    payload = jwt.decode(key.mint(), options={"verify_signature": False}) | claims
    token = jwt.encode(payload, key.private_key, algorithm="EdDSA", headers={"kid": key.kid})
    with pytest.raises(TokenError, match=message):
        verifier.verify(token)


def test_revoked_token_is_refused(
    key: TestTokenIssuer, verifier: TokenVerifier, store: MemoryRevocationStore
) -> None:
    token = key.mint()
    identity = verifier.verify(token)
    store.revoke_token(identity.token_id, identity.expires_at)
    with pytest.raises(TokenError, match="revoked"):
        verifier.verify(token)


def test_tokens_issued_before_a_user_mark_are_refused(
    key: TestTokenIssuer, verifier: TokenVerifier, store: MemoryRevocationStore
) -> None:
    old = key.mint(sub="5")
    store.revoke_user_tokens("5")
    with pytest.raises(TokenError, match="revoked"):
        verifier.verify(old)
    verifier.verify(key.mint(sub="5"))
    verifier.verify(key.mint(sub="6", issued_at=time.time() - 10))


def test_a_signed_identity_is_not_yet_checked_for_revocation(
    key: TestTokenIssuer, verifier: TokenVerifier, store: MemoryRevocationStore
) -> None:
    token = key.mint(sub="7")
    signed = verifier.signed_identity(token)
    assert signed.id == "7"
    assert signed.revocation_checked is False  # never to be taken as verified
    store.revoke_token(signed.token_id, signed.expires_at)
    with pytest.raises(TokenError, match="revoked"):
        verifier.verify(token)


def test_a_lookup_given_to_verify_answers_instead_of_the_store(
    key: TestTokenIssuer, down_store: MemoryRevocationStore
) -> None:
    verifier = TokenVerifier(
        issuer=key.issuer, audience=key.audience, revocations=down_store, jwks=key.jwks()
    )
    token = key.mint(sub="9")
    asked: list[tuple[str, str]] = []

    def not_revoked(jti: str, user_id: str) -> tuple[bool, float | None]:
        asked.append((jti, user_id))
        return False, None

    identity = verifier.verify(token, not_revoked)  # the store, which is down, is not asked
    assert identity.revocation_checked is True
    assert asked == [(identity.token_id, "9")]
    with pytest.raises(TokenError, match="revoked"):
        verifier.verify(token, lambda _jti, _user: (True, None))
    with pytest.raises(TokenError, match="sessions were revoked"):
        verifier.verify(token, lambda _jti, _user: (False, time.time() + 5))


def test_unreachable_revocation_store_fails_closed(
    key: TestTokenIssuer, down_store: MemoryRevocationStore
) -> None:
    verifier = TokenVerifier(
        issuer=key.issuer, audience=key.audience, revocations=down_store, jwks=key.jwks()
    )
    with pytest.raises(TokenError, match="revocation state unknown") as refused:
        verifier.verify(key.mint(name="erin"))
    # A TokenError (callers that know nothing of degraded modes refuse it) that still says who.
    assert isinstance(refused.value, RevocationStateUnknownError)
    assert refused.value.identity.name == "erin"
    assert refused.value.identity.revocation_checked is False


def test_a_bad_token_is_refused_before_revocation_is_even_asked(
    key: TestTokenIssuer, down_store: MemoryRevocationStore
) -> None:
    verifier = TokenVerifier(
        issuer=key.issuer, audience=key.audience, revocations=down_store, jwks=key.jwks()
    )
    with pytest.raises(TokenError) as refused:
        verifier.verify(key.mint(lifetime=-3600))
    assert not isinstance(refused.value, RevocationStateUnknownError)


def test_a_token_is_checked_in_full_once_and_its_revocation_every_time(
    key: TestTokenIssuer,
    verifier: TokenVerifier,
    store: MemoryRevocationStore,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    token = key.mint(sub="8")
    first = verifier.verify(token)
    decoded: list[str] = []
    monkeypatch.setattr(jwt, "decode", lambda token, **_options: decoded.append(token))
    assert verifier.verify(token) == first
    assert decoded == []  # the signature was not checked again...
    store.revoke_token(first.token_id, first.expires_at)
    with pytest.raises(TokenError, match="revoked"):  # ...but the revocation was
        verifier.verify(token)


def test_the_verifier_remembers_a_bounded_number_of_tokens(
    key: TestTokenIssuer, verifier: TokenVerifier, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(verifier_module, "VERIFIED_TOKENS_KEPT", 1)
    decoded: list[str] = []
    decode = jwt.decode

    def counted(token: str, **options: Any) -> Any:
        decoded.append(token)
        return decode(token, **options)

    monkeypatch.setattr(jwt, "decode", counted)
    first, second = key.mint(), key.mint()
    for token in (first, first, second, first):
        verifier.verify(token)
    assert decoded == [first, second, first]  # the second forgot the first


def test_a_remembered_token_still_expires(
    key: TestTokenIssuer, verifier: TokenVerifier, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = key.mint(lifetime=60)
    expires_at = verifier.verify(token).expires_at
    monkeypatch.setattr(time, "time", lambda: expires_at)  # leeway 0: expired at exp
    with pytest.raises(TokenError, match="expired"):
        verifier.verify(token)


def test_a_remembered_token_is_refused_once_its_key_is_withdrawn(
    tmp_path: Path, store: MemoryRevocationStore
) -> None:
    old, new = TestTokenIssuer("old"), TestTokenIssuer("new")
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps({"keys": [new.public_jwk(), old.public_jwk()]}))
    verifier = TokenVerifier(
        issuer=old.issuer, audience=old.audience, revocations=store, jwks_file=str(path)
    )
    old_token = old.mint()
    verifier.verify(old_token)
    path.write_text(json.dumps(new.jwks()))
    later = time.time() + 5
    os.utime(path, (later, later))
    with pytest.raises(TokenError, match="unknown key id"):
        verifier.verify(old_token)


def test_exactly_one_key_source(store: MemoryRevocationStore) -> None:
    with pytest.raises(ConfigError):
        TokenVerifier(issuer="i", audience="a", revocations=store)
    with pytest.raises(ConfigError):
        TokenVerifier(issuer="i", audience="a", revocations=store, jwks={}, jwks_url="http://x")


def test_jwks_file_is_reread_when_keys_rotate(tmp_path: Path, store: MemoryRevocationStore) -> None:
    old, new = TestTokenIssuer("old"), TestTokenIssuer("new")
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps(old.jwks()))
    verifier = TokenVerifier(
        issuer=old.issuer, audience=old.audience, revocations=store, jwks_file=str(path)
    )
    old_token = old.mint()
    verifier.verify(old_token)
    # rotation: the new key signs, the old one stays published until its tokens expire
    path.write_text(json.dumps({"keys": [new.public_jwk(), old.public_jwk()]}))
    import os

    os.utime(path, (time.time() + 5, time.time() + 5))
    verifier.verify(new.mint())
    verifier.verify(old_token)


def test_missing_jwks_file_refuses_tokens(
    tmp_path: Path, key: TestTokenIssuer, store: MemoryRevocationStore
) -> None:
    verifier = TokenVerifier(
        issuer=key.issuer,
        audience=key.audience,
        revocations=store,
        jwks_file=str(tmp_path / "absent.json"),
    )
    with pytest.raises(TokenError, match="unknown key id"):
        verifier.verify(key.mint())


class FakeJwksServer:
    """Stands in for urllib.request.urlopen, counting fetches."""

    def __init__(self, jwks: dict[str, Any]) -> None:
        self.jwks = jwks
        self.fetches = 0
        self.fail = False

    def __call__(self, url: str, timeout: float) -> Any:
        import io

        self.fetches += 1
        if self.fail:
            raise OSError("connection refused")
        return io.BytesIO(json.dumps(self.jwks).encode())


def test_jwks_url_is_cached_and_refetched_for_unknown_kids(
    monkeypatch: pytest.MonkeyPatch, store: MemoryRevocationStore
) -> None:
    first, second = TestTokenIssuer("first"), TestTokenIssuer("second")
    server = FakeJwksServer(first.jwks())
    monkeypatch.setattr("urllib.request.urlopen", server)
    verifier = TokenVerifier(
        issuer=first.issuer,
        audience=first.audience,
        revocations=store,
        jwks_url="http://auth/.well-known/jwks.json",
        refetch_interval=0,
    )
    verifier.verify(first.mint())
    verifier.verify(first.mint())
    assert server.fetches == 1
    server.jwks = {"keys": [second.public_jwk(), first.public_jwk()]}
    verifier.verify(second.mint())
    assert server.fetches == 2


def test_unknown_kids_do_not_hammer_the_jwks(
    monkeypatch: pytest.MonkeyPatch, store: MemoryRevocationStore
) -> None:
    key = TestTokenIssuer("k")
    server = FakeJwksServer(key.jwks())
    monkeypatch.setattr("urllib.request.urlopen", server)
    verifier = TokenVerifier(
        issuer=key.issuer,
        audience=key.audience,
        revocations=store,
        jwks_url="http://auth/jwks",
        refetch_interval=60,
    )
    verifier.verify(key.mint())
    for _ in range(5):
        with pytest.raises(TokenError):
            verifier.verify(TestTokenIssuer("stranger").mint())
    assert server.fetches == 1


def test_jwks_outage_keeps_the_cached_keys(
    monkeypatch: pytest.MonkeyPatch, store: MemoryRevocationStore
) -> None:
    key = TestTokenIssuer("k")
    server = FakeJwksServer(key.jwks())
    monkeypatch.setattr("urllib.request.urlopen", server)
    verifier = TokenVerifier(
        issuer=key.issuer,
        audience=key.audience,
        revocations=store,
        jwks_url="http://auth/jwks",
        cache_seconds=0,
        refetch_interval=0,
    )
    verifier.verify(key.mint())
    server.fail = True
    verifier.verify(key.mint())
    assert server.fetches == 2


def test_a_verifier_that_cannot_fetch_its_keys_cannot_tell_and_asks_again_soon(
    monkeypatch: pytest.MonkeyPatch, store: MemoryRevocationStore
) -> None:
    # A new replica whose first fetch found auth busy (a rolling update of both): the token is
    # not known to be bad, and the next fetch comes after a second, not refetch_interval.
    key = TestTokenIssuer("k")
    server = FakeJwksServer(key.jwks())
    server.fail = True
    monkeypatch.setattr("urllib.request.urlopen", server)
    verifier = TokenVerifier(
        issuer=key.issuer,
        audience=key.audience,
        revocations=store,
        jwks_url="http://auth/jwks",
        refetch_interval=60,
    )
    for _ in range(3):
        with pytest.raises(KeysUnavailableError, match="unknown key id"):
            verifier.verify(key.mint())
    assert server.fetches == 1  # not hammered meanwhile
    server.fail = False
    monkeypatch.setattr("servicekit.verifier.FAILED_FETCH_RETRY_SECONDS", 0)
    assert verifier.verify(key.mint(name="dan")).name == "dan"
    assert server.fetches == 2
    # Keys in hand, a key nobody published is plainly unknown again.
    with pytest.raises(TokenError, match="unknown key id") as raised:
        verifier.verify(TestTokenIssuer("stranger").mint())
    assert not isinstance(raised.value, KeysUnavailableError)


def test_scopes_and_what_they_allow(key: TestTokenIssuer, verifier: TokenVerifier) -> None:
    full = verifier.verify(key.mint())
    assert full.scopes is None
    assert full.allows("anything")
    limited = verifier.verify(key.mint(scope="tasks:read tasks:write"))
    assert limited.scopes == {"tasks:read", "tasks:write"}
    assert limited.allows("tasks:write")
    assert not limited.allows("blog:write")
    odd = verifier.verify(key.mint(scope=["tasks:read"]))  # not a string: allows nothing
    assert odd.scopes == frozenset()
    assert not odd.allows("tasks:read")
