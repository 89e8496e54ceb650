"""Reading configuration variables: the environment, with the app factory's overrides first.

Every variable is looked up first with the service's prefix (``BLOG_DATABASE_URL``) and then
without it (``DATABASE_URL``). :mod:`servicekit.settings` builds the typed settings from an
:class:`Env`; each service's ``config.py`` reads its own keys from the same one.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any


class ConfigError(RuntimeError):
    """A setting is missing or invalid; the message says which variable and how to fix it."""


#: Flask keys that are only a rendering of a variable: overriding the key means the variable,
#: so everything the variable decides (the URL scheme with the cookie flag, the psycopg driver
#: with the URL) follows the override too.
FLASK_KEY_VARIABLES = {
    "SQLALCHEMY_DATABASE_URI": "DATABASE_URL",
    "SESSION_COOKIE_SECURE": "SECURE_COOKIES",
}


def _as_variable_text(key: str, value: object) -> str | None:
    """An override's value written as the variable would be (None: the variable is unset)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int):
        return str(value)
    if isinstance(value, list | tuple):
        return ",".join(str(item) for item in value)
    raise ConfigError(f"override {key} must be text, a number, a flag or a list, got {value!r}")


class Env:
    """Typed access to environment variables with a per-service prefix and a plain fallback.

    Each method says what it reads: ``text``, ``integer``, ``flag`` (a boolean) or
    ``comma_list``; ``optional`` is text that may be absent.

    ``overrides`` (an app factory's argument) come before the environment and are read the same
    way, by the same names: an override of ``TRUSTED_PROXIES`` is the variable
    ``TRUSTED_PROXIES``, validated alike. :meth:`unread_overrides` hands on the rest.
    """

    def __init__(
        self,
        prefix: str,
        environ: Mapping[str, str] | None = None,
        overrides: Mapping[str, Any] | None = None,
    ) -> None:
        self.prefix = prefix.upper()
        self.environ: Mapping[str, str] = os.environ if environ is None else environ
        self.overrides: dict[str, Any] = {
            FLASK_KEY_VARIABLES.get(key, key): value for key, value in (overrides or {}).items()
        }
        self._asked: set[str] = set()

    def names(self, name: str) -> tuple[str, str]:
        """The two variable names looked up for ``name``, prefixed first."""
        return f"{self.prefix}_{name}", name

    def raw(self, name: str) -> str | None:
        """The first of the prefixed and plain variables that is set and not empty, an
        override of either name counting before the environment."""
        keys = self.names(name)
        self._asked.update(keys)
        for key in keys:
            if key in self.overrides:
                value = _as_variable_text(key, self.overrides[key])
                return None if value is None or value.strip() == "" else value.strip()
        for key in keys:
            value = self.environ.get(key)
            if value is not None and value.strip() != "":
                return value.strip()
        return None

    def unread_overrides(self) -> dict[str, Any]:
        """The overrides no setting has read so far: plain Flask keys, applied as they are.

        Call it after every setting is read (the app factory does, once).
        """
        return {key: value for key, value in self.overrides.items() if key not in self._asked}

    def text(self, name: str, default: str) -> str:
        """A string setting."""
        value = self.raw(name)
        return default if value is None else value

    def optional(self, name: str) -> str | None:
        """A string setting that may be absent."""
        return self.raw(name)

    def integer(self, name: str, default: int, *, minimum: int = 0) -> int:
        """An integer setting, refusing anything that is not a whole number >= ``minimum``."""
        value = self.raw(name)
        if value is None:
            return default
        try:
            number = int(value)
        except ValueError:
            raise ConfigError(
                f"{self.names(name)[0]} (or {name}) must be a whole number, got {value!r}"
            ) from None
        if number < minimum:
            raise ConfigError(f"{self.names(name)[0]} (or {name}) must be >= {minimum}")
        return number

    def flag(self, name: str, default: bool) -> bool:
        """A boolean setting: 1/true/yes/on or 0/false/no/off."""
        value = self.raw(name)
        if value is None:
            return default
        lowered = value.lower()
        if lowered in {"1", "true", "yes", "on"}:
            return True
        if lowered in {"0", "false", "no", "off"}:
            return False
        raise ConfigError(f"{self.names(name)[0]} (or {name}) must be true or false, got {value!r}")

    def comma_list(self, name: str, default: tuple[str, ...] = ()) -> tuple[str, ...]:
        """A comma-separated list setting."""
        value = self.raw(name)
        if value is None:
            return default
        return tuple(item.strip() for item in value.split(",") if item.strip())
