"""Flask-SQLAlchemy and Flask-Migrate wiring with engine options that suit each database."""

from __future__ import annotations

import logging
import select
import sqlite3
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flask import Flask, Response
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import DateTime, TypeDecorator, event, text
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.engine.url import make_url
from sqlalchemy.exc import DisconnectionError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from werkzeug.exceptions import HTTPException, ServiceUnavailable

from servicekit.errors import handle_http_exception
from servicekit.health import ReadinessCheck, add_readiness_check
from servicekit.metrics import watch_pool

log = logging.getLogger("servicekit.database")

#: Seconds a client is asked to wait before trying again when the database cannot answer.
DATABASE_RETRY_AFTER_SECONDS = 2
#: A pooled PostgreSQL connection unused for longer than this is pinged before it is handed out.
PING_IDLE_SECONDS = 1.0
_RETURNED_AT = "servicekit.returned_at"


def engine_options(
    database_url: str,
    *,
    connect_timeout: int = 3,
    pool_timeout: int = 3,
    statement_timeout_ms: int = 5000,
) -> dict[str, Any]:
    """SQLAlchemy engine options for ``database_url``.

    PostgreSQL gets three time bounds so a stalled database costs a request seconds, not minutes
    (:func:`ping_stale_connections`, installed by :func:`init_database`, replaces a connection a
    restart killed): ``connect_timeout`` (seconds, libpq), ``pool_timeout``
    (seconds waiting for a free pooled connection) and ``statement_timeout_ms`` (the server
    cancels a longer statement; 0 turns it off). SQLite waits for a lock instead of failing at
    once.
    """
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        return {"connect_args": {"timeout": 15}}
    return {
        "pool_recycle": 1800,
        "pool_timeout": pool_timeout,
        "connect_args": {
            "connect_timeout": connect_timeout,
            "options": f"-c statement_timeout={statement_timeout_ms}",
        },
    }


def _has_unread_data(dbapi_connection: Any) -> bool:
    """Whether the server sent something to a connection that asked nothing (or it is closed)."""
    try:
        poller = select.poll()
        poller.register(dbapi_connection.fileno(), select.POLLIN)
    except (OSError, ValueError, AttributeError):
        return True  # no socket any more: let the ping find out
    return bool(poller.poll(0))


def ping_stale_connections(engine: Engine, idle_seconds: float = PING_IDLE_SECONDS) -> None:
    """Replace a pooled connection the server ended (a restart, a terminated backend) before a
    request gets it, with a round trip only when there is reason to doubt the connection.

    SQLAlchemy's ``pool_pre_ping`` pings at every checkout: one more round trip per request.
    But a PostgreSQL server that shuts down, restarts or ends a backend first sends each client
    a FATAL message and closes the socket, so a connection with something to read while it
    asked nothing is one to check; so is one that sat unused for more than ``idle_seconds``
    (a network or a firewall may have dropped it silently). Only those are pinged; one that
    fails the ping is discarded and the pool connects afresh (a database still down is then a
    503, :func:`database_unavailable`).
    """

    def returned(_dbapi_connection: Any, record: Any) -> None:
        record.info[_RETURNED_AT] = time.monotonic()

    def check(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        returned_at = record.info.get(_RETURNED_AT)
        if returned_at is None:
            return  # just connected
        idle = time.monotonic() - returned_at > idle_seconds
        if not idle and not _has_unread_data(dbapi_connection):
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as error:
            raise DisconnectionError("the pooled connection did not answer a ping") from error

    event.listen(engine, "checkin", returned)
    event.listen(engine, "checkout", check)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        # SQLite ignores foreign keys unless asked, per connection.
        cursor.execute("PRAGMA foreign_keys=ON")
        # WAL lets readers work while one writer writes (several threads or workers).
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back timezone-aware (SQLite forgets zones).

    Shared because the api and the blog both store times: on PostgreSQL the column is a
    ``timestamp with time zone``; SQLite keeps no zone, so one is attached on the way back.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(
        self,
        value: datetime | None,
        dialect: Dialect,  # noqa: ARG002
    ) -> datetime | None:
        """``value`` converted to UTC (a naive time is taken as the machine's local time)."""
        if value is None:
            return None
        return value.astimezone(UTC)

    def process_result_value(
        self,
        value: datetime | None,
        dialect: Dialect,  # noqa: ARG002
    ) -> datetime | None:
        """``value`` as an aware time in UTC."""
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def database_check(db: SQLAlchemy) -> ReadinessCheck:
    """A readiness check that runs ``SELECT 1`` on ``db``."""

    def check() -> None:
        with db.engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    return check


def database_unavailable(error: OperationalError | PoolTimeoutError) -> Response | HTTPException:
    """Answer a request the database could not serve now with 503 and ``Retry-After``.

    The database down or restarting, every pooled connection busy past the pool timeout, a
    statement cancelled by its timeout, a deadlock: the same request may well succeed in a
    moment, which is what 503 says (500 says the code is wrong), and Retry-After tells clients
    when. Logged without the statement's parameters, which may hold a user's data.
    """
    log.warning("database unavailable: %s", getattr(error, "orig", None) or type(error).__name__)
    return handle_http_exception(
        ServiceUnavailable(
            "The database is not answering right now; nothing was changed. "
            "Please try again in a moment.",
            retry_after=DATABASE_RETRY_AFTER_SECONDS,
        )
    )


def init_database(app: Flask, db: SQLAlchemy, migrate: Migrate, migrations_directory: Path) -> None:
    """Initialise ``db`` and ``migrate`` on ``app`` and register the database readiness check.

    A SQLite file's folder is created if missing; SQLite connections get foreign keys and WAL;
    PostgreSQL connections are checked before use (:func:`ping_stale_connections`).
    A request the database cannot serve now gets 503 with Retry-After
    (:func:`database_unavailable`).
    """
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    config = app.config
    options = engine_options(
        url,
        connect_timeout=config.get("DATABASE_CONNECT_TIMEOUT", 3),
        pool_timeout=config.get("DATABASE_POOL_TIMEOUT", 3),
        statement_timeout_ms=config.get("DATABASE_STATEMENT_TIMEOUT_MS", 5000),
    )
    options.update(app.config.get("SQLALCHEMY_ENGINE_OPTIONS", {}))
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    db.init_app(app)
    migrate.init_app(app, db, directory=str(migrations_directory))
    with app.app_context():
        engine: Engine = db.engine
        if engine.dialect.name == "sqlite":
            event.listen(engine, "connect", _sqlite_pragmas)
        elif engine.dialect.name == "postgresql":
            ping_stale_connections(engine)
        watch_pool(engine, app.config.get("SERVICE_NAME") or app.name)
    add_readiness_check(app, "database", database_check(db))
    app.register_error_handler(OperationalError, database_unavailable)
    app.register_error_handler(PoolTimeoutError, database_unavailable)
