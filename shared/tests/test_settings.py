from __future__ import annotations

import stat
from pathlib import Path

import pytest

from servicekit.settings import (
    ConfigError,
    Env,
    Settings,
    instance_path_from_env,
    normalize_database_url,
)

STRONG = "k" * 40


def test_prefixed_variable_wins_over_plain() -> None:
    env = Env("blog", {"BLOG_LOG_LEVEL": "debug", "LOG_LEVEL": "warning"})
    assert env.text("LOG_LEVEL", "INFO") == "debug"
    assert Env("api", {"LOG_LEVEL": "warning"}).text("LOG_LEVEL", "INFO") == "warning"


def test_blank_values_count_as_missing() -> None:
    assert Env("x", {"X_NAME": "  "}).optional("NAME") is None


def test_typed_values_and_their_errors() -> None:
    env = Env("x", {"N": "12", "B": "yes", "F": "off", "L": "a, b,,c", "BAD": "twelve"})
    assert env.integer("N", 1) == 12
    assert env.integer("MISSING", 7) == 7
    assert env.flag("B", False) is True
    assert env.flag("F", True) is False
    assert env.flag("MISSING", True) is True
    assert env.comma_list("L") == ("a", "b", "c")
    assert env.comma_list("MISSING", ("d",)) == ("d",)
    with pytest.raises(ConfigError, match="X_BAD"):
        env.integer("BAD", 1)
    with pytest.raises(ConfigError, match="true or false"):
        env.flag("BAD", True)
    with pytest.raises(ConfigError, match=">= 20"):
        env.integer("N", 1, minimum=20)


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
