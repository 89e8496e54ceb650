"""Variables read from the environment, with the app factory's overrides first."""

from __future__ import annotations

import pytest

from servicekit.variables import ConfigError, Env


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


def test_an_override_is_read_as_the_variable_of_that_name() -> None:
    env = Env(
        "blog",
        {"TRUSTED_PROXIES": "3", "LOG_LEVEL": "warning"},
        {"TRUSTED_PROXIES": 1, "BLOG_LOG_LEVEL": "debug", "SECURE_COOKIES": True},
    )
    assert env.integer("TRUSTED_PROXIES", 0) == 1
    assert env.text("LOG_LEVEL", "INFO") == "debug"
    assert env.flag("SECURE_COOKIES", False) is True
    assert Env("x", {}, {"L": ["a", "b"], "F": False}).comma_list("L") == ("a", "b")
    assert Env("x", {}, {"F": False}).flag("F", True) is False


def test_an_override_of_none_unsets_the_variable() -> None:
    assert Env("x", {"NAME": "set"}, {"NAME": None}).optional("NAME") is None


def test_an_override_is_validated_like_the_variable() -> None:
    with pytest.raises(ConfigError, match="X_N"):
        Env("x", {}, {"N": "twelve"}).integer("N", 1)
    with pytest.raises(ConfigError, match="override N must be"):
        Env("x", {}, {"N": {"a": 1}}).integer("N", 1)


def test_a_flask_key_that_renders_a_variable_overrides_the_variable() -> None:
    env = Env("x", {}, {"SQLALCHEMY_DATABASE_URI": "sqlite://", "SESSION_COOKIE_SECURE": True})
    assert env.optional("DATABASE_URL") == "sqlite://"
    assert env.flag("SECURE_COOKIES", False) is True
    assert env.unread_overrides() == {}


def test_overrides_no_setting_read_are_handed_on() -> None:
    env = Env("x", {}, {"N": 2, "WTF_CSRF_ENABLED": False, "X_M": 3})
    env.integer("N", 1)
    env.integer("M", 1)
    assert env.unread_overrides() == {"WTF_CSRF_ENABLED": False}
