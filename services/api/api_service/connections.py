"""The database connection a request's Core statements run on.

A request that only reads (GET, HEAD, OPTIONS) takes a connection from the engine when it first
needs one and gives it back when the request ends. The ORM session is never made: its
transaction object, identity map and state tracking would be work for nothing, about a tenth of
a task read (docs/benchmarks.md, "API"). A request that changes something runs on the session's
connection, so its reads and its writes share the session's one transaction.

Either way the statements of a request share one connection and one transaction (PostgreSQL's
READ COMMITTED: each statement sees what was committed when it started), and the connection
goes back to the pool, its transaction rolled back, when the request ends, whatever happened.
"""

from __future__ import annotations

from flask import Flask, g, request
from sqlalchemy import Connection

from api_service.extensions import db

#: The methods that only read; every other one changes something.
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def request_connection() -> Connection:
    """The connection this request's statements run on (see the module's docstring)."""
    if request.method not in READ_METHODS:
        return db.session.connection()
    connection: Connection | None = g.get("read_connection")
    if connection is None:
        connection = g.read_connection = db.engine.connect()
    return connection


def _give_back_read_connection(_error: BaseException | None = None) -> None:
    connection: Connection | None = g.pop("read_connection", None)
    if connection is not None:
        connection.close()


def init_connections(app: Flask) -> None:
    """Give each request's read connection back to the pool when the request ends."""
    app.teardown_appcontext(_give_back_read_connection)
