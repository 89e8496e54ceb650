from __future__ import annotations

import stat
from pathlib import Path

import pytest

from servicekit.settings import (
    ConfigError,
    Settings,
    instance_path_from_env,
    normalize_database_url,
)

STRONG = "k" * 40


def test_production_refuses_a_missing_secret_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"BLOG_SECRET_KEY .* missing"):
        Settings.from_env("blog", tmp_path, {})


@pytest.mark.parametrize("key", ["dev", "changeme", "Secret"])
def test_production_refuses_a_default_secret_key(tmp_path: Path, key: str) -> None:
    with pytest.raises(ConfigError, match="known default"):
        Settings.from_env("blog", tmp_path, {"APP_ENV": "production", "SECRET_KEY": key})


def test_production_refuses_a_short_secret_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="too short"):
        Settings.from_env("blog", tmp_path, {"SECRET_KEY": "x" * 20})


def test_production_settings_are_strict(tmp_path: Path) -> None:
    settings = Settings.from_env(
        "blog", tmp_path, {"SECRET_KEY": STRONG, "DATABASE_URL": "postgres://u@db/blog"}
    )
    config = settings.flask_config()
    assert settings.is_production
    assert config["SECRET_KEY"] == STRONG
    assert config["SESSION_COOKIE_SECURE"] is True
    assert config["SESSION_COOKIE_NAME"] == "blog_session"
    assert config["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@db/blog"
    assert config["MAX_CONTENT_LENGTH"] == 8 * 1024 * 1024
    assert config["RATELIMIT_IN_MEMORY_FALLBACK_ENABLED"] is True


def test_development_generates_and_keeps_a_secret_key(tmp_path: Path) -> None:
    first = Settings.from_env("auth", tmp_path / "inst", {"APP_ENV": "development"})
    second = Settings.from_env("auth", tmp_path / "inst", {"APP_ENV": "development"})
    assert len(first.secret_key) >= 32
    assert first.secret_key == second.secret_key
    mode = (tmp_path / "inst" / "secret_key").stat().st_mode
    assert stat.S_IMODE(mode) == 0o600
    assert not first.is_production
    assert first.database_url == f"sqlite:///{tmp_path / 'inst' / 'auth.sqlite3'}"


def test_unknown_environment_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="APP_ENV"):
        Settings.from_env("blog", tmp_path, {"APP_ENV": "staging"})


def test_database_urls_use_psycopg3() -> None:
    assert normalize_database_url("postgresql://a/b") == "postgresql+psycopg://a/b"
    assert normalize_database_url("sqlite:///x.db") == "sqlite:///x.db"


def test_instance_path_from_env(tmp_path: Path) -> None:
    assert instance_path_from_env("blog", {}) is None
    relative = instance_path_from_env("blog", {"BLOG_INSTANCE_PATH": "inst"})
    assert relative is not None
    assert Path(relative).is_absolute()
