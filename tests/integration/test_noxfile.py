"""The nox sessions behave as the README says (read from noxfile.py: nox itself is not needed)."""

from __future__ import annotations

import ast
import sys
import types
from pathlib import Path

import pytest

NOXFILE = Path(__file__).resolve().parents[2] / "noxfile.py"


def session_options(name: str) -> dict[str, ast.expr]:
    """The keyword arguments of ``@nox.session(...)`` on the session function ``name``."""
    tree = ast.parse(NOXFILE.read_text())
    function = next(
        node for node in tree.body if isinstance(node, ast.FunctionDef) and node.name == name
    )
    decorator = function.decorator_list[0]
    assert isinstance(decorator, ast.Call)
    return {keyword.arg: keyword.value for keyword in decorator.keywords if keyword.arg}


def test_the_dev_session_reuses_its_virtualenv() -> None:
    """`nox -s dev -- <service> <command>` beside a running server must not rebuild the venv the
    server runs from (nox recreates a session's venv on every run unless told to reuse it)."""
    reuse = session_options("dev")["reuse_venv"]
    assert isinstance(reuse, ast.Constant)
    assert reuse.value is True


def test_the_postgres_sessions_database_script_creates_and_drops_each_database(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The script `nox -s postgres` runs with `python -c`, run here against a fake psycopg."""
    tree = ast.parse(NOXFILE.read_text())
    script = next(
        node.value.value
        for node in tree.body
        if isinstance(node, ast.Assign)
        and getattr(node.targets[0], "id", "") == "_DATABASES_SCRIPT"
        and isinstance(node.value, ast.Constant)
    )
    executed: list[str] = []

    class Connection:
        def __enter__(self) -> Connection:
            return self

        def __exit__(self, *exc: object) -> None:
            pass

        def execute(self, statement: str) -> None:
            executed.append(statement)

    fake = types.ModuleType("psycopg")
    fake.connect = lambda *_args, **_options: Connection()  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "psycopg", fake)
    monkeypatch.setattr(sys, "argv", ["-c", "postgresql://x/postgres", "create", "a", "b"])
    exec(compile(script, "<_DATABASES_SCRIPT>", "exec"), {"__name__": "__main__"})  # noqa: S102
    assert executed == [
        'DROP DATABASE IF EXISTS "a" WITH (FORCE)',
        'CREATE DATABASE "a"',
        'DROP DATABASE IF EXISTS "b" WITH (FORCE)',
        'CREATE DATABASE "b"',
    ]
