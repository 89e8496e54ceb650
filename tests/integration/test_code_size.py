"""Modules and functions a reader can hold in their head, or a comment that says why not.

Every Python file under services/ and shared/ stays under :data:`MODULE_LINES` lines and every
function under :data:`FUNCTION_LINES`, unless the module carries a ``# length: <why>`` comment
(anywhere at its top level) or the function has one in the comment block above its ``def`` (or
its decorators) or on its first line. Migration scripts are exempt: each is one schema step, written
to be read top to bottom once and never changed.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MODULE_LINES = 300
FUNCTION_LINES = 50
MARKER = "# length:"


def python_files() -> Iterator[Path]:
    for folder in ("services", "shared"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            parts = set(path.relative_to(ROOT).parts)
            if parts & {".nox", ".venv", "node_modules", "build"}:
                continue
            if "migrations" in parts and "versions" in parts:
                continue  # one schema step each, read once, never edited
            yield path


def has_marker(line: str) -> bool:
    return line.strip().startswith(MARKER) and len(line.strip()) > len(MARKER) + 3


def oversized(path: Path, root: Path = ROOT) -> list[str]:
    """What in ``path`` is longer than the limits and says nothing about why."""
    source = path.read_text()
    lines = source.splitlines()
    found = []
    if len(lines) > MODULE_LINES and not any(has_marker(line) for line in lines):
        found.append(f"{path.relative_to(root)}: {len(lines)} lines")
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        length = (node.end_lineno or node.lineno) - node.lineno + 1
        if length <= FUNCTION_LINES:
            continue
        first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
        nearby = [lines[node.body[0].lineno - 1]]
        above = first - 2
        while above >= 0 and lines[above].lstrip().startswith("#"):  # the comment block above
            nearby.append(lines[above])
            above -= 1
        if isinstance(node.body[0], ast.Expr) and len(node.body) > 1:  # after the docstring
            nearby.append(lines[node.body[1].lineno - 2])
            nearby.append(lines[node.body[1].lineno - 1])
        if not any(has_marker(line) for line in nearby):
            found.append(f"{path.relative_to(root)}:{node.lineno} {node.name}: {length} lines")
    return found


def test_the_check_finds_long_modules_and_functions(tmp_path: Path) -> None:
    body = "\n".join(f"    x{n} = {n}" for n in range(FUNCTION_LINES + 1))
    probe = tmp_path / "probe.py"
    probe.write_text(f"def f() -> None:\n{body}\n")
    assert oversized(probe, tmp_path) == [f"probe.py:1 f: {FUNCTION_LINES + 2} lines"]
    probe.write_text(f"# length: one table, kept whole\ndef f() -> None:\n{body}\n")
    assert oversized(probe, tmp_path) == []
    probe.write_text("x = 1\n" * (MODULE_LINES + 1))
    assert oversized(probe, tmp_path) == [f"probe.py: {MODULE_LINES + 1} lines"]


@pytest.mark.parametrize("path", list(python_files()), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_module_or_function_is_long_without_a_reason(path: Path) -> None:
    assert oversized(path) == []
