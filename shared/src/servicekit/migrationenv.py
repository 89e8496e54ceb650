"""What every service's ``migrations/env.py`` runs: Alembic on the app's own engine.

Flask-Migrate starts Alembic inside the app (``flask db upgrade``, or
:func:`servicekit.database.upgrade` at start-up); Alembic then executes the service's
``env.py``, which is two lines calling :func:`run_migrations`. One copy here, so the three
services cannot drift apart again.
"""

from __future__ import annotations

import logging
from typing import Any

from alembic import context
from flask import current_app
from sqlalchemy import Engine, MetaData

# Logging is configured by the app (servicekit's JSON lines); alembic.ini's logging sections
# would replace those handlers, so they are not applied here.
logger = logging.getLogger("alembic.env")


def _engine() -> Engine:
    # Flask-SQLAlchemy 3: the app's engine (get_engine() is deprecated).
    engine: Engine = current_app.extensions["migrate"].db.engine
    return engine


def _metadata() -> MetaData:
    db = current_app.extensions["migrate"].db
    metadata: MetaData = db.metadatas[None] if hasattr(db, "metadatas") else db.metadata
    return metadata


def _skip_empty_autogenerate(_context: Any, _revision: Any, directives: list[Any]) -> None:
    """``flask db migrate`` with no schema change writes no empty revision."""
    if getattr(context.config.cmd_opts, "autogenerate", False):
        script = directives[0]
        if script.upgrade_ops.is_empty():
            directives[:] = []
            logger.info("No changes in schema detected.")


def _run_offline() -> None:
    """Emit the SQL instead of running it (``flask db upgrade --sql``)."""
    context.configure(
        url=context.config.get_main_option("sqlalchemy.url"),
        target_metadata=_metadata(),
        literal_binds=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _run_online() -> None:
    conf_args = current_app.extensions["migrate"].configure_args
    if conf_args.get("process_revision_directives") is None:
        conf_args["process_revision_directives"] = _skip_empty_autogenerate
    with _engine().connect() as connection:
        if connection.dialect.name == "postgresql":
            # The services' statement timeout bounds requests; a migration may take longer.
            connection.exec_driver_sql("SET statement_timeout = 0")
            connection.commit()
        context.configure(connection=connection, target_metadata=_metadata(), **conf_args)
        with context.begin_transaction():
            context.run_migrations()


def run_migrations() -> None:
    """Run the service's migrations on its app's database (or print them, offline)."""
    url = _engine().url.render_as_string(hide_password=False).replace("%", "%%")
    context.config.set_main_option("sqlalchemy.url", url)
    if context.is_offline_mode():
        _run_offline()
    else:
        _run_online()
