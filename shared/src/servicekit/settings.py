"""Settings read from the environment, validated once at start-up.

Every variable is looked up first with the service's prefix (``BLOG_DATABASE_URL``) and then
without it (``DATABASE_URL``), so one service in its own container needs no prefix while the
three services sharing one process (the embedded development mode) can still be told apart.

Configuration takes one path, in one direction (docs/architecture.md, "Configuration"):

    environment + overrides  ->  Env  ->  Settings (and the service's own keys)  ->  app.config

An app factory's ``overrides`` (what tests pass) are read by :class:`Env` exactly as variables
of the same name, before anything is built from them: ``create_app({"TRUSTED_PROXIES": 1})``
and ``TRUSTED_PROXIES=1`` in the environment make the same app. Only overrides that name no
variable (plain Flask keys such as ``WTF_CSRF_ENABLED``) go to ``app.config`` as they are, and
they too are applied before any part of the app reads its configuration.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from servicekit.redisclient import DEFAULT_TIMEOUT_MS, client_options
from servicekit.variables import ConfigError, Env

__all__ = ["ConfigError", "Env", "Settings", "instance_path_from_env", "normalize_database_url"]

ENVIRONMENTS = ("development", "testing", "production")

#: Values people paste from tutorials. Refused outside development, like a missing key.
WEAK_SECRET_KEYS = frozenset(
    {"", "dev", "development", "secret", "changeme", "change-me", "please-change-me", "test"}
)
MIN_SECRET_KEY_LENGTH = 32


def normalize_database_url(url: str) -> str:
    """Send ``postgresql://`` and ``postgres://`` URLs to the psycopg 3 driver."""
    for scheme in ("postgres://", "postgresql://"):
        if url.startswith(scheme):
            return "postgresql+psycopg://" + url[len(scheme) :]
    return url


def instance_path_from_env(
    service: str, environ: Mapping[str, str] | Env | None = None
) -> str | None:
    """The absolute instance folder named by ``<SERVICE>_INSTANCE_PATH`` / ``INSTANCE_PATH``.

    ``None`` lets Flask choose its default (``instance/`` beside the package).
    """
    env = environ if isinstance(environ, Env) else Env(service, environ)
    value = env.optional("INSTANCE_PATH")
    return None if value is None else str(Path(value).resolve())


def _development_secret_key(instance_path: Path) -> str:
    """A random key kept in the instance folder, so development sessions survive restarts."""
    path = instance_path / "secret_key"
    if path.exists():
        return path.read_text().strip()
    instance_path.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key


def _secret_key(env: Env, service: str, app_env: str, instance: Path) -> str:
    """The secret key: a real one in production, else the one given or a kept random one."""
    secret_key = env.optional("SECRET_KEY")
    if app_env == "production":
        if secret_key is None or secret_key.lower() in WEAK_SECRET_KEYS:
            raise ConfigError(
                f"{service.upper()}_SECRET_KEY (or SECRET_KEY) is missing or a known default. "
                "Production refuses to start without a real secret: generate one with "
                "`python -c 'import secrets; print(secrets.token_urlsafe(48))'`, "
                "or set APP_ENV=development on a development machine."
            )
        if len(secret_key) < MIN_SECRET_KEY_LENGTH:
            raise ConfigError(
                f"{service.upper()}_SECRET_KEY (or SECRET_KEY) is too short: production needs "
                f"at least {MIN_SECRET_KEY_LENGTH} random characters."
            )
        return secret_key
    return secret_key if secret_key is not None else _development_secret_key(instance)


@dataclass(frozen=True)
class Settings:
    """What every service needs to know about where and how it runs."""

    service: str
    env: str
    secret_key: str
    database_url: str
    instance_path: Path
    trusted_proxies: int
    max_content_length: int
    secure_cookies: bool
    session_lifetime: timedelta
    ratelimit_storage_uri: str
    revocation_store_uri: str
    log_level: str
    auth_issuer: str
    auth_audience: str
    auth_jwks_url: str | None
    auth_jwks_file: str | None
    identity_cookie_name: str
    login_url: str
    logout_url: str
    # Time bounds on every dependency: a stalled one costs a request at most this much.
    redis_timeout_ms: int = DEFAULT_TIMEOUT_MS
    database_connect_timeout: int = 3
    database_pool_timeout: int = 3
    database_statement_timeout_ms: int = 5000

    @property
    def is_production(self) -> bool:
        """True outside development and testing."""
        return self.env == "production"

    @classmethod
    def from_env(
        cls,
        service: str,
        instance_path: str | os.PathLike[str],
        environ: Mapping[str, str] | Env | None = None,
    ) -> Settings:
        """Read and validate the settings of ``service``; raise ConfigError on a bad value.

        ``environ`` is a mapping of variables (default ``os.environ``) or an :class:`Env`
        that already carries the app factory's overrides.
        """
        env = environ if isinstance(environ, Env) else Env(service, environ)
        instance = Path(instance_path)
        app_env = env.text("APP_ENV", "production").lower()
        if app_env not in ENVIRONMENTS:
            raise ConfigError(f"APP_ENV must be one of {', '.join(ENVIRONMENTS)}, got {app_env!r}")

        secret_key = _secret_key(env, service, app_env, instance)
        default_db = f"sqlite:///{instance / (service + '.sqlite3')}"
        return cls(
            service=service,
            env=app_env,
            secret_key=secret_key,
            database_url=normalize_database_url(env.text("DATABASE_URL", default_db)),
            instance_path=instance,
            trusted_proxies=env.integer("TRUSTED_PROXIES", 0),
            max_content_length=env.integer("MAX_CONTENT_LENGTH", 8 * 1024 * 1024, minimum=1024),
            secure_cookies=env.flag("SECURE_COOKIES", app_env == "production"),
            session_lifetime=timedelta(hours=env.integer("SESSION_LIFETIME_HOURS", 12, minimum=1)),
            ratelimit_storage_uri=env.text("RATELIMIT_STORAGE_URI", "memory://"),
            revocation_store_uri=env.text("REVOCATION_STORE_URI", "memory://"),
            log_level=env.text("LOG_LEVEL", "INFO").upper(),
            auth_issuer=env.text("AUTH_ISSUER", "flask-services-auth"),
            auth_audience=env.text("AUTH_AUDIENCE", "flask-services"),
            auth_jwks_url=env.optional("AUTH_JWKS_URL"),
            auth_jwks_file=env.optional("AUTH_JWKS_FILE"),
            identity_cookie_name=env.text("IDENTITY_COOKIE_NAME", "identity"),
            login_url=env.text("LOGIN_URL", "/auth/login"),
            logout_url=env.text("LOGOUT_URL", "/auth/logout"),
            redis_timeout_ms=env.integer("REDIS_TIMEOUT_MS", DEFAULT_TIMEOUT_MS, minimum=1),
            # libpq counts whole seconds and treats 1 as 2
            database_connect_timeout=env.integer("DATABASE_CONNECT_TIMEOUT", 3, minimum=2),
            database_pool_timeout=env.integer("DATABASE_POOL_TIMEOUT", 3, minimum=1),
            database_statement_timeout_ms=env.integer(
                "DATABASE_STATEMENT_TIMEOUT_MS", 5000, minimum=0
            ),
        )

    def flask_config(self) -> dict[str, Any]:
        """The Flask (and extension) configuration keys these settings imply."""
        return {
            "APP_ENV": self.env,
            "SERVICE_NAME": self.service,
            "TESTING": self.env == "testing",
            "SECRET_KEY": self.secret_key,
            "SQLALCHEMY_DATABASE_URI": self.database_url,
            "MAX_CONTENT_LENGTH": self.max_content_length,
            "TRUSTED_PROXIES": self.trusted_proxies,
            # One origin, three services: each needs its own session cookie name.
            "SESSION_COOKIE_NAME": f"{self.service}_session",
            "SESSION_COOKIE_HTTPONLY": True,
            "SESSION_COOKIE_SAMESITE": "Lax",
            "SESSION_COOKIE_SECURE": self.secure_cookies,
            "PERMANENT_SESSION_LIFETIME": self.session_lifetime,
            "PREFERRED_URL_SCHEME": "https" if self.secure_cookies else "http",
            "RATELIMIT_STORAGE_URI": self.ratelimit_storage_uri,
            "RATELIMIT_HEADERS_ENABLED": True,
            # Redis down: keep limiting per worker instead of failing every request or
            # silently dropping the limit (docs/design.md, security decisions).
            "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
            "RATELIMIT_KEY_PREFIX": self.service,
            # Bounded and without redis-py's retries, so the fallback above starts at once.
            # Always set: the in-memory storage ignores them, and a storage URI changed later
            # (configuration overrides) still gets them.
            "RATELIMIT_STORAGE_OPTIONS": client_options(self.redis_timeout_ms),
            "REDIS_TIMEOUT_MS": self.redis_timeout_ms,
            "DATABASE_CONNECT_TIMEOUT": self.database_connect_timeout,
            "DATABASE_POOL_TIMEOUT": self.database_pool_timeout,
            "DATABASE_STATEMENT_TIMEOUT_MS": self.database_statement_timeout_ms,
            "REVOCATION_STORE_URI": self.revocation_store_uri,
            "LOG_LEVEL": self.log_level,
            "AUTH_ISSUER": self.auth_issuer,
            "AUTH_AUDIENCE": self.auth_audience,
            "AUTH_JWKS_URL": self.auth_jwks_url,
            "AUTH_JWKS_FILE": self.auth_jwks_file,
            "IDENTITY_COOKIE_NAME": self.identity_cookie_name,
            "LOGIN_URL": self.login_url,
            "LOGOUT_URL": self.logout_url,
        }
