"""Flask extensions, created once here and initialised in the app factory (create_app)."""

from __future__ import annotations

from flask import g, request
from flask_cors import CORS
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import DeclarativeBase
from werkzeug.exceptions import HTTPException

from servicekit.bearer import bearer_identity


class Base(DeclarativeBase):
    """The declarative base of every model of this service."""


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
cors = CORS()


def rate_limit_key() -> str:
    """Count requests per token subject; callers without a valid token per client address.

    The token is verified here (not just decoded) so nobody can spend another user's budget by
    sending a forged token with that user's ``sub``.
    """
    if request.headers.get("Authorization"):
        try:
            identity = g.identity if "identity" in g else bearer_identity()
        except HTTPException:
            pass
        else:
            return f"user:{identity.id}"
    return f"addr:{request.remote_addr or '127.0.0.1'}"
