"""The migrations build exactly the schema the models describe."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Flask
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from auth_service.extensions import db

#: Expression indexes: SQLite's reflection skips them and PostgreSQL's spells the expression its
#: own way, so autogenerate cannot compare them; they are checked by name instead.
EXPRESSION_INDEXES = {"uq_users_username_lower", "uq_users_email_lower"}


def _not_an_expression_index(_object: object, name: str | None, *_: object) -> bool:
    return name not in EXPRESSION_INDEXES


def _index_names(connection: Connection) -> set[str]:
    if connection.dialect.name == "sqlite":
        query = "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'users'"
    else:
        query = "SELECT indexname FROM pg_indexes WHERE tablename = 'users'"
    return set(connection.exec_driver_sql(query).scalars())


@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index")
@pytest.mark.filterwarnings(
    "ignore:autogenerate skipping metadata-specified expression-based index"
)
def test_migrations_match_the_models(app: Flask) -> None:
    with app.app_context():
        db.drop_all()
        upgrade()
        try:
            with db.engine.connect() as connection:
                options = {"include_object": _not_an_expression_index}
                context = MigrationContext.configure(connection, opts=options)
                assert compare_metadata(context, db.metadata) == []
                assert _index_names(connection) >= EXPRESSION_INDEXES
        finally:
            downgrade(revision="base")
            assert "users" not in inspect(db.engine).get_table_names()
            with db.engine.begin() as connection:
                connection.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
