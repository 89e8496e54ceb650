"""servicekit.identity: the app's verifier, and a request's token verified once."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from werkzeug.exceptions import HTTPException

from servicekit.bearer import bearer_identity
from servicekit.identity import get_verifier, init_identity
from servicekit.settings import ConfigError
from servicekit.testing import TestTokenIssuer
from servicekit.verifier import Identity, RevocationLookup
from tests.support import AppFactory


@pytest.fixture
def api_app(make_app: AppFactory, key: TestTokenIssuer) -> Flask:
    app = make_app("problem", AUTH_JWKS=key.jwks())
    init_identity(app)
    return app


def test_init_identity_needs_one_source(make_app: AppFactory, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="AUTH_JWKS_URL"):
        init_identity(make_app())
    app = make_app(AUTH_JWKS_FILE=str(tmp_path / "jwks.json"))
    assert init_identity(app) is app.extensions["servicekit.identity"]


def test_a_token_is_verified_once_per_request(api_app: Flask, key: TestTokenIssuer) -> None:
    good = {"Authorization": f"Bearer {key.mint(name='erin')}"}
    with api_app.test_request_context(headers=good):
        verifier = get_verifier()
        calls = []
        original = verifier.verify

        def counting(token: str, lookup: RevocationLookup | None = None) -> Identity:
            calls.append(token)
            return original(token, lookup)

        verifier.verify = counting  # type: ignore[method-assign]
        try:
            assert bearer_identity().name == "erin"
            assert bearer_identity().name == "erin"
        finally:
            verifier.verify = original  # type: ignore[method-assign]
        assert len(calls) == 1


def test_a_refused_token_stays_refused_within_the_request(api_app: Flask) -> None:
    with api_app.test_request_context(headers={"Authorization": "Bearer forged"}):
        for _ in range(2):
            with pytest.raises(HTTPException):
                bearer_identity()
