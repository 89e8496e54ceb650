"""The Flask extensions, created once here and initialised on each app in ``create_app``."""

from __future__ import annotations

from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager, current_user
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect  # type: ignore[import-untyped]
from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    """The declarative base of the blog's models (SQLAlchemy 2 typed mappings)."""


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
csrf = CSRFProtect()
login_manager = LoginManager()


def rate_limit_key() -> str:
    """Signed-in users are limited per account (many may share one address), others per address."""
    if current_user.is_authenticated:
        return f"user:{current_user.id}"
    return get_remote_address()


# Storage, headers and the in-memory fallback come from servicekit's settings (RATELIMIT_*).
limiter = Limiter(key_func=rate_limit_key)
