"""One configuration pipeline: an app factory's override means what the variable means.

``create_app(overrides, environ)`` reads ``overrides`` as variables of the same name, builds the
typed settings from them and configures the app once (servicekit.settings). Each family of
settings is checked on the service that has it: the app built with the override and the app
built with the variable have the same whole configuration, and it is not the default one.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, jsonify, request
from werkzeug.middleware.proxy_fix import ProxyFix

from api_service import create_app as create_api
from auth_service import create_app as create_auth
from blog_service import create_app as create_blog
from tests.integration.harness import CHEAP_HASHING

FACTORIES: dict[str, Callable[..., Flask]] = {
    "auth": create_auth,
    "blog": create_blog,
    "api": create_api,
}


def build(
    service: str,
    tmp_path: Path,
    overrides: Mapping[str, Any] | None = None,
    variables: Mapping[str, str] | None = None,
) -> Flask:
    """``service`` in testing mode on ``tmp_path``, given ``overrides`` and ``variables``."""
    environ = {
        "APP_ENV": "testing",
        f"{service.upper()}_INSTANCE_PATH": str(tmp_path / service),
        "REVOCATION_STORE_URI": f"memory://{tmp_path.name}-{service}",
        # auth's cheap hashing; blog and api need somewhere to fetch keys from (never asked)
        **(CHEAP_HASHING_TEXT if service == "auth" else {"AUTH_JWKS_URL": JWKS_URL}),
        **(variables or {}),
    }
    return FACTORIES[service](dict(overrides or {}), environ=environ)


JWKS_URL = "http://auth.invalid/.well-known/jwks.json"
CHEAP_HASHING_TEXT = {name: str(value) for name, value in CHEAP_HASHING.items()}

#: A setting family, the service that has it, and the overrides (as the test suites write
#: them) with the variables that mean the same.
FAMILIES = [
    pytest.param("blog", {"TRUSTED_PROXIES": 1}, {"TRUSTED_PROXIES": "1"}, id="proxies"),
    pytest.param(
        "api",
        {"SQLALCHEMY_DATABASE_URI": "postgres://u@db.example/api", "DATABASE_POOL_TIMEOUT": 7},
        {"DATABASE_URL": "postgres://u@db.example/api", "DATABASE_POOL_TIMEOUT": "7"},
        id="database",
    ),
    pytest.param(
        "api",
        {
            "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:1/0",
            "REDIS_TIMEOUT_MS": 150,
            "API_RATE_LIMIT": "2 per minute",
        },
        {
            "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:1/0",
            "REDIS_TIMEOUT_MS": "150",
            "API_RATE_LIMIT": "2 per minute",
        },
        id="redis-and-rate-limits",
    ),
    pytest.param(
        "auth",
        {"AUTH_TOKEN_LIFETIME": 60, "AUTH_ISSUER": "elsewhere", "LOGIN_RATE_LIMIT_IP": "1/hour"},
        {"AUTH_TOKEN_LIFETIME": "60", "AUTH_ISSUER": "elsewhere", "LOGIN_RATE_LIMIT_IP": "1/hour"},
        id="identity-and-tokens",
    ),
    pytest.param(
        "auth",
        {"SESSION_COOKIE_SECURE": True, "REMEMBER_COOKIE_DAYS": 2},
        {"SECURE_COOKIES": "true", "AUTH_REMEMBER_COOKIE_DAYS": "2"},
        id="cookies",
    ),
    pytest.param(
        "auth",
        {"MAIL_TRANSPORT": "smtp", "MAIL_SMTP_PORT": 2525, "MAIL_MAX_ATTEMPTS": 3},
        {"AUTH_MAIL_TRANSPORT": "smtp", "MAIL_SMTP_PORT": "2525", "MAIL_MAX_ATTEMPTS": "3"},
        id="mail",
    ),
    pytest.param(
        "blog",
        {"LOG_LEVEL": "debug", "BLOG_POSTS_PER_PAGE": 3, "BLOG_TITLE": "Notes"},
        {"BLOG_LOG_LEVEL": "debug", "POSTS_PER_PAGE": "3", "TITLE": "Notes"},
        id="logging-and-blog",
    ),
    pytest.param(
        "api",
        {"API_CORS_ORIGINS": ["https://a.example", "https://b.example"]},
        {"API_CORS_ORIGINS": "https://a.example,https://b.example"},
        id="cors",
    ),
]


@pytest.mark.parametrize(("service", "overrides", "variables"), FAMILIES)
def test_an_override_means_what_the_variable_means(
    tmp_path: Path, service: str, overrides: dict[str, Any], variables: dict[str, str]
) -> None:
    by_override = build(service, tmp_path, overrides=overrides)
    by_variable = build(service, tmp_path, variables=variables)
    default = build(service, tmp_path)

    assert _config(by_override) == _config(by_variable)
    assert _config(by_override) != _config(default)
    assert type(by_override.wsgi_app) is type(by_variable.wsgi_app)
    assert sorted(by_override.extensions) == sorted(by_variable.extensions)


def _config(app: Flask) -> dict[str, Any]:
    """The app's configuration, less what Flask-Limiter writes into the first app it meets
    (its Limiter is one object per process)."""
    return {key: value for key, value in app.config.items() if key != "RATELIMIT_STRATEGY"}


def _remote(app: Flask) -> dict[str, str]:
    """Where a request through the app's WSGI stack says it came from."""

    @app.get("/probe/remote")
    def remote() -> Any:
        return jsonify(addr=request.remote_addr, scheme=request.scheme)

    response = app.test_client().get(
        "/probe/remote",
        headers={"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"},
    )
    return dict(response.get_json())


@pytest.mark.parametrize("service", sorted(FACTORIES))
def test_trusted_proxies_as_an_override_installs_proxy_fix(tmp_path: Path, service: str) -> None:
    # The trap this pipeline removes: the key was set after the hooks had read the settings,
    # so the app said it trusted one proxy and believed none.
    app = build(service, tmp_path, overrides={"TRUSTED_PROXIES": 1})

    assert app.config["TRUSTED_PROXIES"] == 1
    assert isinstance(app.wsgi_app, ProxyFix)
    assert _remote(app) == {"addr": "203.0.113.9", "scheme": "https"}
    untrusting = build(service, tmp_path / uuid.uuid4().hex)
    assert _remote(untrusting) == {"addr": "127.0.0.1", "scheme": "http"}


def test_an_override_is_validated_like_the_variable(tmp_path: Path) -> None:
    from servicekit.settings import ConfigError

    with pytest.raises(ConfigError, match="TRUSTED_PROXIES"):
        build("api", tmp_path, overrides={"TRUSTED_PROXIES": "one"})
    with pytest.raises(ConfigError, match="TRUSTED_PROXIES"):
        build("api", tmp_path, variables={"TRUSTED_PROXIES": "one"})


def test_an_override_naming_no_variable_is_a_flask_key(tmp_path: Path) -> None:
    app = build("blog", tmp_path, overrides={"WTF_CSRF_ENABLED": False, "BLOG_DEV_IDENTITY": 1})

    assert app.config["WTF_CSRF_ENABLED"] is False
    assert app.config["BLOG_DEV_IDENTITY"] is False  # set by the factory, after the keys
