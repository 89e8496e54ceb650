"""Write the small subset of TOML a pyproject.toml needs (the standard library only reads TOML).

Tables of strings, integers, booleans, lists of those, nested tables and arrays of tables.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

_BARE_KEY = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")


def _key(key: str) -> str:
    return key if key and set(key) <= _BARE_KEY else json.dumps(key)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # a JSON string is a valid TOML basic string
    if isinstance(value, list):
        if not value:
            return "[]"
        items = [_value(item) for item in value]
        one_line = "[" + ", ".join(items) + "]"
        if len(one_line) <= 80:
            return one_line
        return "[\n" + "".join(f"    {item},\n" for item in items) + "]"
    if isinstance(value, Mapping):
        return "{ " + ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"cannot write {type(value).__name__} as TOML")


def _is_table_array(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, Mapping) for v in value)


def _table(path: list[str], table: Mapping[str, Any], out: list[str]) -> None:
    scalars = {
        k: v for k, v in table.items() if not isinstance(v, Mapping) and not _is_table_array(v)
    }
    if path and (scalars or not table):
        out.append(f"\n[{'.'.join(map(_key, path))}]")
    out.extend(f"{_key(k)} = {_value(v)}" for k, v in scalars.items())
    for key, value in table.items():
        if isinstance(value, Mapping):
            _table([*path, key], value, out)
        elif _is_table_array(value):
            for item in value:
                out.append(f"\n[[{'.'.join(map(_key, [*path, key]))}]]")
                out.extend(f"{_key(k)} = {_value(v)}" for k, v in item.items())


def dumps(document: Mapping[str, Any]) -> str:
    """``document`` as TOML text."""
    out: list[str] = []
    _table([], document, out)
    return "\n".join(out).lstrip("\n") + "\n"
