"""Compiled dumps: an output schema turned once into a plain function that builds its JSON.

marshmallow's ``Schema.dump`` walks its fields, hooks and error handling for every object; on a
page of tasks that was a fifth of the API's own CPU per request (docs/benchmarks.md, "API").
The output schemas stay the single description of a response (the OpenAPI document comes from
them): :func:`compile_dump` reads each field's name, attribute and type once and returns a
function doing only what ``dump`` does for those types. A field type it does not know is an
error when the module is imported, never a silently different answer, and the tests compare the
two on every output schema.
"""

from __future__ import annotations

from collections.abc import Callable
from operator import attrgetter, itemgetter
from typing import Any

from marshmallow import Schema, fields

Format = Callable[[Any], Any]


def _isoformat(value: Any) -> str:
    text: str = value.isoformat()
    return text


def _format(field: fields.Field[Any]) -> Format:
    """What ``field`` does to a value that is not None when it serialises it."""
    if isinstance(field, fields.DateTime | fields.Date):
        if field.format not in {None, "iso", "iso8601"}:
            raise TypeError(f"no compiled dump for the date format {field.format!r}")
        return _isoformat
    if isinstance(field, fields.Enum):
        return attrgetter("value") if field.by_value is not False else attrgetter("name")
    if isinstance(field, fields.Boolean):
        return bool
    if isinstance(field, fields.Integer) and not field.as_string:
        return int
    if isinstance(field, fields.String):
        return str
    if isinstance(field, fields.List):
        inner = _format(field.inner)
        return lambda values: [None if value is None else inner(value) for value in values]
    raise TypeError(f"no compiled dump for a {type(field).__name__} field")


class CompiledDump:
    """A function doing what ``schema.dump`` does, for objects (attributes) or, with
    ``from_mapping``, for mappings such as SQLAlchemy's ``Row._mapping``.

    A class rather than a closure so that a resource class can hold one as a class attribute
    without Python binding it as a method.
    """

    def __init__(self, schema: Schema, *, from_mapping: bool = False) -> None:
        getter = itemgetter if from_mapping else attrgetter
        self.plan = [
            (name, getter(field.attribute or name), _format(field))
            for name, field in schema.dump_fields.items()
        ]

    def __call__(self, source: Any) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for name, read, format_value in self.plan:
            value = read(source)
            result[name] = None if value is None else format_value(value)
        return result


def compile_dump(schema: Schema, *, from_mapping: bool = False) -> CompiledDump:
    """``schema.dump`` compiled (see :class:`CompiledDump`)."""
    return CompiledDump(schema, from_mapping=from_mapping)
