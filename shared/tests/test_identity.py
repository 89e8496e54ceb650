from __future__ import annotations

import base64
import json
import time
from pathlib import Path
from typing import Any

import jwt
import pytest
from conftest import AppFactory
from flask import Flask, g, jsonify
from flask_login import LoginManager, current_user

from servicekit.errors import Problem
from servicekit.identity import (
    Identity,
    RevocationStateUnknownError,
    TokenError,
    TokenVerifier,
    bearer_required,
    get_verifier,
    init_identity,
    install_cookie_login,
    require_scope,
    roles_required,
)
from servicekit.revocation import MemoryRevocationStore, RevocationUnknownError
from servicekit.settings import ConfigError
from servicekit.testing import SigningKey


@pytest.fixture
def key() -> SigningKey:
    return SigningKey("key-1")


@pytest.fixture
def store() -> MemoryRevocationStore:
    return MemoryRevocationStore()


@pytest.fixture
def verifier(key: SigningKey, store: MemoryRevocationStore) -> TokenVerifier:
    return TokenVerifier(
        issuer=key.issuer, audience=key.audience, revocations=store, jwks=key.jwks(), leeway=0
    )


def test_a_good_token_gives_its_identity(key: SigningKey, verifier: TokenVerifier) -> None:
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


def test_admins_pass_every_role_check(key: SigningKey, verifier: TokenVerifier) -> None:
    identity = verifier.verify(key.mint(roles=["admin"]))
    assert identity.has_role("author")
    assert identity.is_admin


def test_bad_signature_is_refused(key: SigningKey, verifier: TokenVerifier) -> None:
    forged = SigningKey("key-1").mint()
    with pytest.raises(TokenError, match="invalid token"):
        verifier.verify(forged)


def test_wrong_audience_and_issuer_are_refused(key: SigningKey, verifier: TokenVerifier) -> None:
    with pytest.raises(TokenError, match=r"(?i)audience"):
        verifier.verify(key.mint(aud="someone-else"))
    with pytest.raises(TokenError, match=r"(?i)issuer"):
        verifier.verify(key.mint(iss="https://evil.example"))


def test_expired_token_is_refused(key: SigningKey, verifier: TokenVerifier) -> None:
    with pytest.raises(TokenError, match="expired"):
        verifier.verify(key.mint(issued_at=time.time() - 600, lifetime=60))


def test_leeway_tolerates_small_clock_skew(key: SigningKey, store: MemoryRevocationStore) -> None:
    lenient = TokenVerifier(
        issuer=key.issuer, audience=key.audience, revocations=store, jwks=key.jwks(), leeway=30
    )
    lenient.verify(key.mint(issued_at=time.time() - 70, lifetime=60))


def _unsigned(claims: dict[str, Any], header: dict[str, Any]) -> str:
    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return f"{part(header)}.{part(claims)}."


def test_alg_none_is_refused(key: SigningKey, verifier: TokenVerifier) -> None:
    claims = jwt.decode(key.mint(), options={"verify_signature": False})
    with pytest.raises(TokenError, match="not allowed"):
        verifier.verify(_unsigned(claims, {"alg": "none", "kid": "key-1"}))


def test_hmac_with_the_public_key_is_refused(key: SigningKey, verifier: TokenVerifier) -> None:
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


def test_algorithm_must_match_the_key(key: SigningKey, verifier: TokenVerifier) -> None:
    claims = jwt.decode(key.mint(), options={"verify_signature": False})
    with pytest.raises(TokenError, match="does not match"):
        verifier.verify(_unsigned(claims, {"alg": "RS256", "kid": "key-1"}))


def test_malformed_and_kidless_tokens_are_refused(key: SigningKey, verifier: TokenVerifier) -> None:
    with pytest.raises(TokenError, match="malformed"):
        verifier.verify("not-a-token")
    token = jwt.encode({"sub": "1"}, key.private_key, algorithm="EdDSA")
    with pytest.raises(TokenError, match="no key id"):
        verifier.verify(token)


def test_unknown_kid_is_refused(verifier: TokenVerifier) -> None:
    with pytest.raises(TokenError, match="unknown key id"):
        verifier.verify(SigningKey("other").mint())


def test_missing_claims_are_refused(key: SigningKey, verifier: TokenVerifier) -> None:
    with pytest.raises(TokenError, match="jti"):
        verifier.verify(key.mint(jti=None))


@pytest.mark.parametrize(
    ("claims", "message"),
    [({"roles": "admin"}, "roles"), ({"name": 7}, "strings"), ({"roles": [1]}, "roles")],
)
def test_claims_of_the_wrong_type_are_refused(
    key: SigningKey, verifier: TokenVerifier, claims: dict[str, Any], message: str
) -> None:
    payload = jwt.decode(key.mint(), options={"verify_signature": False}) | claims
    token = jwt.encode(payload, key.private_key, algorithm="EdDSA", headers={"kid": key.kid})
    with pytest.raises(TokenError, match=message):
        verifier.verify(token)


def test_revoked_token_is_refused(
    key: SigningKey, verifier: TokenVerifier, store: MemoryRevocationStore
) -> None:
    token = key.mint()
    identity = verifier.verify(token)
    store.revoke_token(identity.token_id, identity.expires_at)
    with pytest.raises(TokenError, match="revoked"):
        verifier.verify(token)


def test_tokens_issued_before_a_user_mark_are_refused(
    key: SigningKey, verifier: TokenVerifier, store: MemoryRevocationStore
) -> None:
    old = key.mint(sub="5")
    store.revoke_user_tokens("5")
    with pytest.raises(TokenError, match="revoked"):
        verifier.verify(old)
    verifier.verify(key.mint(sub="5"))
    verifier.verify(key.mint(sub="6", issued_at=time.time() - 10))


class DownStore(MemoryRevocationStore):
    """A revocation store that cannot answer (Redis stalled, or restarted without its marks)."""

    def lookup(self, jti: str, user_id: str) -> tuple[bool, float | None]:
        raise RevocationUnknownError("redis down")


def test_unreachable_revocation_store_fails_closed(key: SigningKey) -> None:
    verifier = TokenVerifier(
        issuer=key.issuer, audience=key.audience, revocations=DownStore(), jwks=key.jwks()
    )
    with pytest.raises(TokenError, match="revocation state unknown") as refused:
        verifier.verify(key.mint(name="erin"))
    # A TokenError (callers that know nothing of degraded modes refuse it) that still says who.
    assert isinstance(refused.value, RevocationStateUnknownError)
    assert refused.value.identity.name == "erin"
    assert refused.value.identity.revocation_checked is False


def test_a_bad_token_is_refused_before_revocation_is_even_asked(key: SigningKey) -> None:
    verifier = TokenVerifier(
        issuer=key.issuer, audience=key.audience, revocations=DownStore(), jwks=key.jwks()
    )
    with pytest.raises(TokenError) as refused:
        verifier.verify(key.mint(lifetime=-3600))
    assert not isinstance(refused.value, RevocationStateUnknownError)


def test_exactly_one_key_source(store: MemoryRevocationStore) -> None:
    with pytest.raises(ConfigError):
        TokenVerifier(issuer="i", audience="a", revocations=store)
    with pytest.raises(ConfigError):
        TokenVerifier(issuer="i", audience="a", revocations=store, jwks={}, jwks_url="http://x")


def test_jwks_file_is_reread_when_keys_rotate(tmp_path: Path, store: MemoryRevocationStore) -> None:
    old, new = SigningKey("old"), SigningKey("new")
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
    tmp_path: Path, key: SigningKey, store: MemoryRevocationStore
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
    first, second = SigningKey("first"), SigningKey("second")
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
    key = SigningKey("k")
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
            verifier.verify(SigningKey("stranger").mint())
    assert server.fetches == 1


def test_jwks_outage_keeps_the_cached_keys(
    monkeypatch: pytest.MonkeyPatch, store: MemoryRevocationStore
) -> None:
    key = SigningKey("k")
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


# -- Flask integration ---------------------------------------------------------------------------


@pytest.fixture
def browser_app(make_app: AppFactory, key: SigningKey) -> Flask:
    app = make_app("html", AUTH_JWKS=key.jwks(), REVOCATION_STORE_URI="memory://browser-tests")
    init_identity(app)
    install_cookie_login(app, LoginManager())

    @app.get("/me")
    def me() -> Any:
        return jsonify(user=current_user.name if current_user.is_authenticated else None)

    @app.get("/write")
    @roles_required("author")
    def write() -> str:
        return "editor"

    return app


def test_cookie_login(browser_app: Flask, key: SigningKey) -> None:
    client = browser_app.test_client()
    assert client.get("/me").get_json() == {"user": None}
    client.set_cookie("identity", key.mint(name="carol"))
    assert client.get("/me").get_json() == {"user": "carol"}


def test_a_token_limited_to_scopes_is_no_cookie(browser_app: Flask, key: SigningKey) -> None:
    client = browser_app.test_client()
    client.set_cookie("identity", key.mint(name="carol", scope="tasks:read"))
    assert client.get("/me").get_json() == {"user": None}


def test_scopes_and_what_they_allow(key: SigningKey, verifier: TokenVerifier) -> None:
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


def test_require_scope_names_the_missing_scope(key: SigningKey, verifier: TokenVerifier) -> None:
    require_scope(verifier.verify(key.mint(scope="tasks:write")), "tasks:write")
    with pytest.raises(Problem) as raised:
        require_scope(verifier.verify(key.mint(scope="tasks:read")), "tasks:write")
    problem = raised.value
    assert problem.code == 403
    assert problem.extensions == {"missing_scope": "tasks:write"}
    assert 'scope="tasks:write"' in problem.extra_headers["WWW-Authenticate"]


def test_bad_cookie_is_anonymous(browser_app: Flask) -> None:
    client = browser_app.test_client()
    client.set_cookie("identity", "garbage")
    assert client.get("/me").get_json() == {"user": None}


def test_roles_required_sends_strangers_to_login(browser_app: Flask) -> None:
    response = browser_app.test_client().get("/write?draft=1")
    assert response.status_code == 302
    assert response.headers["Location"] == "/auth/login?next=/write%3Fdraft%3D1"


def test_roles_required_forbids_the_wrong_role(browser_app: Flask, key: SigningKey) -> None:
    client = browser_app.test_client()
    client.set_cookie("identity", key.mint(roles=["reader"]))
    assert client.get("/write").status_code == 403
    client.set_cookie("identity", key.mint(roles=["author"]))
    assert client.get("/write").get_data(as_text=True) == "editor"


@pytest.fixture
def api_app(make_app: AppFactory, key: SigningKey) -> Flask:
    app = make_app("problem", AUTH_JWKS=key.jwks())
    init_identity(app)

    @app.get("/mine")
    @bearer_required()
    def mine() -> Any:
        return jsonify(user=g.identity.name)

    @app.get("/admin")
    @bearer_required(roles=["admin"])
    def admin() -> Any:
        return jsonify(ok=True)

    return app


def test_bearer_required(api_app: Flask, key: SigningKey) -> None:
    client = api_app.test_client()
    missing = client.get("/mine")
    assert missing.status_code == 401
    assert missing.headers["WWW-Authenticate"] == 'Bearer realm="api"'
    assert missing.mimetype == "application/problem+json"
    bad = client.get("/mine", headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401
    assert 'error="invalid_token"' in bad.headers["WWW-Authenticate"]
    assert client.get("/mine", headers={"Authorization": "Basic abc"}).status_code == 401
    good = client.get("/mine", headers={"Authorization": f"Bearer {key.mint(name='dan')}"})
    assert good.get_json() == {"user": "dan"}


def test_bearer_ignores_cookies(api_app: Flask, key: SigningKey) -> None:
    client = api_app.test_client()
    client.set_cookie("identity", key.mint())
    assert client.get("/mine").status_code == 401


def test_bearer_roles(api_app: Flask, key: SigningKey) -> None:
    client = api_app.test_client()
    reader = {"Authorization": f"Bearer {key.mint(roles=['reader'])}"}
    admin = {"Authorization": f"Bearer {key.mint(roles=['admin'])}"}
    assert client.get("/admin", headers=reader).status_code == 403
    assert client.get("/admin", headers=admin).status_code == 200


def test_init_identity_needs_one_source(make_app: AppFactory, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="AUTH_JWKS_URL"):
        init_identity(make_app())
    app = make_app(AUTH_JWKS_FILE=str(tmp_path / "jwks.json"))
    assert init_identity(app) is app.extensions["servicekit.identity"]


def test_a_token_is_verified_once_per_request(api_app: Flask, key: SigningKey) -> None:
    from servicekit.identity import bearer_identity, get_verifier

    good = {"Authorization": f"Bearer {key.mint(name='erin')}"}
    with api_app.test_request_context(headers=good):
        verifier = get_verifier()
        calls = []
        original = verifier.verify

        def counting(token: str) -> Identity:
            calls.append(token)
            return original(token)

        verifier.verify = counting  # type: ignore[method-assign]
        try:
            assert bearer_identity().name == "erin"
            assert bearer_identity().name == "erin"
        finally:
            verifier.verify = original  # type: ignore[method-assign]
        assert len(calls) == 1


def test_a_refused_token_stays_refused_within_the_request(api_app: Flask) -> None:
    from werkzeug.exceptions import HTTPException

    from servicekit.identity import bearer_identity

    with api_app.test_request_context(headers={"Authorization": "Bearer forged"}):
        for _ in range(2):
            with pytest.raises(HTTPException):
                bearer_identity()


# -- When the revocation store cannot answer: read pages, never write; the API says 503 ----------


@pytest.fixture
def degraded_browser_app(browser_app: Flask) -> Flask:
    get_verifier_of(browser_app).revocations = DownStore()

    @browser_app.post("/comment")
    def comment() -> Any:
        return jsonify(user=current_user.name if current_user.is_authenticated else None)

    return browser_app


def get_verifier_of(app: Flask) -> TokenVerifier:
    with app.app_context():
        return get_verifier()


def test_pages_still_render_for_a_signed_in_reader_when_revocations_cannot_be_checked(
    degraded_browser_app: Flask, key: SigningKey
) -> None:
    client = degraded_browser_app.test_client()
    client.set_cookie("identity", key.mint(name="carol"))
    assert client.get("/me").get_json() == {"user": "carol"}


def test_writes_are_refused_when_revocations_cannot_be_checked(
    degraded_browser_app: Flask, key: SigningKey
) -> None:
    client = degraded_browser_app.test_client()
    client.set_cookie("identity", key.mint(name="carol"))
    response = client.post("/comment")
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "2"
    assert "cannot confirm your sign-in" in response.get_data(as_text=True)
    # An anonymous write is not about identity at all: it goes on.
    client.delete_cookie("identity")
    assert client.post("/comment").get_json() == {"user": None}


def test_the_api_answers_503_not_401_when_revocations_cannot_be_checked(
    api_app: Flask, key: SigningKey
) -> None:
    get_verifier_of(api_app).revocations = DownStore()
    response = api_app.test_client().get("/mine", headers={"Authorization": f"Bearer {key.mint()}"})
    assert response.status_code == 503
    assert response.mimetype == "application/problem+json"
    assert response.headers["Retry-After"] == "2"
    # An invalid token is still a plain 401: degraded mode opens nothing.
    bad = api_app.test_client().get("/mine", headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401
