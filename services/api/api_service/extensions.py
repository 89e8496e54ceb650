"""Flask extensions, created once here and initialised in the app factory (create_app)."""

from __future__ import annotations

from flask_cors import CORS
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    """The declarative base of every model of this service."""


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
cors = CORS()
