"""servicekit.bearer: API clients and their ``Authorization: Bearer`` tokens."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask, g, jsonify

from servicekit.bearer import bearer_required, require_scope
from servicekit.errors import Problem
from servicekit.identity import get_verifier, init_identity
from servicekit.revocation import MemoryRevocationStore
from servicekit.testing import TestTokenIssuer
from servicekit.verifier import TokenVerifier
from tests.support import AppFactory


def test_require_scope_names_the_missing_scope(
    key: TestTokenIssuer, verifier: TokenVerifier
) -> None:
    require_scope(verifier.verify(key.mint(scope="tasks:write")), "tasks:write")
    with pytest.raises(Problem) as raised:
        require_scope(verifier.verify(key.mint(scope="tasks:read")), "tasks:write")
    problem = raised.value
    assert problem.code == 403
    assert problem.extensions == {"missing_scope": "tasks:write"}
    assert 'scope="tasks:write"' in problem.extra_headers["WWW-Authenticate"]


@pytest.fixture
def api_app(make_app: AppFactory, key: TestTokenIssuer) -> Flask:
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


def test_bearer_required(api_app: Flask, key: TestTokenIssuer) -> None:
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


def test_bearer_ignores_cookies(api_app: Flask, key: TestTokenIssuer) -> None:
    client = api_app.test_client()
    client.set_cookie("identity", key.mint())
    assert client.get("/mine").status_code == 401


def test_bearer_roles(api_app: Flask, key: TestTokenIssuer) -> None:
    client = api_app.test_client()
    reader = {"Authorization": f"Bearer {key.mint(roles=['reader'])}"}
    admin = {"Authorization": f"Bearer {key.mint(roles=['admin'])}"}
    assert client.get("/admin", headers=reader).status_code == 403
    assert client.get("/admin", headers=admin).status_code == 200


# -- When the revocation store cannot answer: the API says 503 -------------------------------------


def test_the_api_answers_503_not_401_when_revocations_cannot_be_checked(
    api_app: Flask, key: TestTokenIssuer, down_store: MemoryRevocationStore
) -> None:
    with api_app.app_context():
        get_verifier().revocations = down_store
    response = api_app.test_client().get("/mine", headers={"Authorization": f"Bearer {key.mint()}"})
    assert response.status_code == 503
    assert response.mimetype == "application/problem+json"
    assert response.headers["Retry-After"] == "2"
    # An invalid token is still a plain 401: degraded mode opens nothing.
    bad = api_app.test_client().get("/mine", headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401


def test_the_api_answers_503_not_401_when_the_signing_keys_cannot_be_fetched(
    make_app: AppFactory, key: TestTokenIssuer, monkeypatch: pytest.MonkeyPatch
) -> None:
    def auth_busy(*_args: Any, **_kwargs: Any) -> Any:
        raise OSError("timed out")

    monkeypatch.setattr("urllib.request.urlopen", auth_busy)
    app = make_app("problem")
    store = MemoryRevocationStore()
    jwks_url = "http://auth/jwks"
    verifier = TokenVerifier(
        issuer=key.issuer, audience=key.audience, revocations=store, jwks_url=jwks_url
    )
    init_identity(app, verifier)

    @app.get("/mine")
    @bearer_required()
    def mine() -> Any:
        return jsonify(user=g.identity.name)

    response = app.test_client().get("/mine", headers={"Authorization": f"Bearer {key.mint()}"})
    assert response.status_code == 503
    assert response.mimetype == "application/problem+json"
    assert response.headers["Retry-After"] == "2"
