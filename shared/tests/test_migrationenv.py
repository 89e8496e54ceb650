"""The one Alembic env every service's migrations/env.py calls, run on a throwaway migration."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from flask_migrate import Migrate, upgrade
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import inspect

from servicekit.database import init_database

REVISION = """
from alembic import op
import sqlalchemy as sa

revision = "0001"
down_revision = None


def upgrade():
    op.create_table("notes", sa.Column("id", sa.Integer, primary_key=True))


def downgrade():
    op.drop_table("notes")
"""


def migrations_folder(tmp_path: Path) -> Path:
    """A migrations folder as every service has: the two-line env.py and one revision."""
    folder = tmp_path / "migrations"
    (folder / "versions").mkdir(parents=True)
    (folder / "env.py").write_text(
        "from servicekit.migrationenv import run_migrations\n\nrun_migrations()\n"
    )
    (folder / "versions" / "0001_notes.py").write_text(REVISION)
    (folder / "alembic.ini").write_text("[alembic]\n")
    return folder


def test_the_shared_env_runs_a_service_migration(tmp_path: Path) -> None:
    app = Flask("migrated", instance_path=str(tmp_path / "instance"))
    app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    db = SQLAlchemy()
    init_database(app, db, Migrate(), migrations_folder(tmp_path))

    with app.app_context():
        upgrade()
        assert "notes" in inspect(db.engine).get_table_names()
        upgrade()  # again: nothing left to do, nothing fails
        db.engine.dispose()


def test_offline_mode_prints_the_sql_instead(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app = Flask("offline", instance_path=str(tmp_path / "instance"))
    app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    db = SQLAlchemy()
    init_database(app, db, Migrate(), migrations_folder(tmp_path))

    with app.app_context():
        upgrade(sql=True)
        assert "CREATE TABLE notes" in capsys.readouterr().out
        assert "notes" not in inspect(db.engine).get_table_names()
        db.engine.dispose()
