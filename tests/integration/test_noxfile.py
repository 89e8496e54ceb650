"""The nox sessions behave as the README says (read from noxfile.py: nox itself is not needed)."""

from __future__ import annotations

import ast
from pathlib import Path

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
