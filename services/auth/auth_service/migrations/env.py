"""Alembic runs this for every migration command; servicekit holds the one env for all services."""

from servicekit.migrationenv import run_migrations

run_migrations()
