"""The Flask extensions of the auth service, created once here and initialised in create_app.

Creating them without an app (and calling ``init_app`` in the factory) lets every test make a
fresh app while views and models import the same objects.
"""

from __future__ import annotations

from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect  # type: ignore[import-untyped]
from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    """The declarative base of every model of this service."""


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
# No default limits: only the endpoints that take credentials are limited, each on purpose.
# The client IP is request.remote_addr, which ProxyFix corrects behind nginx (TRUSTED_PROXIES).
limiter = Limiter(key_func=get_remote_address)
