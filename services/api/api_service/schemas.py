"""marshmallow schemas: what the API accepts (``*Input``), what it returns, and its query strings.

The same classes validate requests, serialise responses and, through apispec, describe both in
the OpenAPI document, so the documentation cannot drift from the code. Unknown fields are
rejected (marshmallow's default, ``RAISE``): a typo in a field name is an error, not a no-op.
"""

from __future__ import annotations

from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate

from api_service.models import Status
from servicekit.inputs import MAX_PAGE, unstorable

NAME_MAX = 200
DESCRIPTION_MAX = 5000
NOTES_MAX = 10000
MAX_TAGS = 20
SORTABLE_TASK_FIELDS = ("created_at", "updated_at", "due_date", "priority", "title", "status")
SORTABLE_PROJECT_FIELDS = ("created_at", "updated_at", "name")

# The patterns are matched against the whole value (re.fullmatch), which is what ``^...$`` means
# in the OpenAPI document: JSON Schema patterns are ECMA-262 regular expressions, where ``$`` is
# the end of the string. (Python's re.match would also take "abc\n".)
TAG_PATTERN = r"^[a-z0-9][a-z0-9_-]*$"
#: Any text without a NUL character (PostgreSQL cannot store one).
TEXT_PATTERN = r"^[^\u0000]*$"
#: The same, with at least one character that is not white space.
NOT_BLANK_PATTERN = r"^[^\u0000]*[^\s\u0000][^\u0000]*$"


class FullMatch(validate.Regexp):
    """A pattern the whole value must match; the OpenAPI document shows it as it is."""

    def __call__(self, value: Any) -> Any:
        if self.regex.fullmatch(value) is None:
            raise ValidationError(self._format_error(value))
        return value


NOT_BLANK = FullMatch(NOT_BLANK_PATTERN, error="Must not be blank.")
TAG = FullMatch(TAG_PATTERN)


class Text(fields.String):
    """A string a database can store: no NUL character, no lone UTF-16 surrogate.

    JSON allows both (``"\\u0000"``, ``"\\ud800"``); PostgreSQL refuses the first and every
    driver fails to encode the second, which would otherwise surface as a 500. The OpenAPI
    document says so with a pattern (a field's own pattern excludes NUL too); JSON Schema has
    no way to say "no lone surrogate", which the API README notes.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not any(isinstance(validator, validate.Regexp) for validator in self.validators):
            self.metadata = {"pattern": TEXT_PATTERN, **self.metadata}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        problem = unstorable(text)
        if problem:
            raise ValidationError(problem)
        return text


class WholeNumber(fields.Integer):
    """An integer, written ``4`` or ``4.0``: JSON Schema's ``integer`` is any number whose
    fractional part is zero, so the document's ``type: integer`` allows both. ``4.5``, ``"4"``
    and ``true`` are refused."""

    def _deserialize(self, value: Any, *_args: Any, **_kwargs: Any) -> int:
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.make_error("invalid")
        return value


class StrictBoolean(fields.Boolean):
    """``true`` or ``false`` only: JSON bodies do not get "yes", 1 or "on"."""

    def _deserialize(self, value: Any, *_args: Any, **_kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value


class StrictSchema(Schema):
    """Base of every input schema: unknown fields are an error."""

    class Meta:
        unknown = RAISE


# -- projects -------------------------------------------------------------------------------------


class ProjectInputSchema(StrictSchema):
    """The fields a client sends to create (POST), replace (PUT) or change (PATCH) a project."""

    name = Text(required=True, validate=[validate.Length(min=1, max=NAME_MAX), NOT_BLANK])
    description = Text(load_default="", validate=validate.Length(max=DESCRIPTION_MAX))
    archived = StrictBoolean(load_default=False)


class ProjectSchema(Schema):
    """A project as the API returns it."""

    id = fields.Integer(required=True)
    owner = fields.String(required=True, attribute="owner_id")
    name = fields.String(required=True)
    description = fields.String(required=True)
    archived = fields.Boolean(required=True)
    created_at = fields.AwareDateTime(required=True)
    updated_at = fields.AwareDateTime(required=True)
    version = fields.Integer(required=True)


# -- tasks ----------------------------------------------------------------------------------------


class TaskInputSchema(StrictSchema):
    """The fields a client sends to create, replace or change a task."""

    title = Text(required=True, validate=[validate.Length(min=1, max=NAME_MAX), NOT_BLANK])
    notes = Text(load_default="", validate=validate.Length(max=NOTES_MAX))
    status = fields.Enum(Status, by_value=True, load_default=Status.TODO)
    priority = WholeNumber(load_default=3, validate=validate.Range(min=1, max=5))
    due_date = fields.Date(load_default=None, allow_none=True)
    tags = fields.List(
        Text(validate=[validate.Length(min=1, max=40), TAG]),
        load_default=list,
        validate=validate.Length(max=MAX_TAGS),
    )


class TaskSchema(Schema):
    """A task as the API returns it."""

    id = fields.Integer(required=True)
    project_id = fields.Integer(required=True)
    owner = fields.String(required=True, attribute="owner_id")
    title = fields.String(required=True)
    notes = fields.String(required=True)
    status = fields.Enum(Status, by_value=True, required=True)
    priority = fields.Integer(required=True)
    due_date = fields.Date(required=True, allow_none=True)
    tags = fields.List(fields.String(), required=True)
    created_at = fields.AwareDateTime(required=True)
    updated_at = fields.AwareDateTime(required=True)
    version = fields.Integer(required=True)


# -- lists ----------------------------------------------------------------------------------------


def sort_choices(names: tuple[str, ...]) -> list[str]:
    """Each sortable field, ascending and (with a leading ``-``) descending."""
    return [*names, *(f"-{name}" for name in names)]


class PageQuerySchema(StrictSchema):
    """``page`` and ``per_page`` (at most 100) of any list."""

    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=MAX_PAGE))
    per_page = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))


class ProjectListQuerySchema(PageQuerySchema):
    """Query string of ``GET /v1/projects``."""

    archived = fields.Boolean()
    sort = fields.String(
        load_default="-created_at",
        validate=validate.OneOf(sort_choices(SORTABLE_PROJECT_FIELDS)),
    )


class TaskListQuerySchema(PageQuerySchema):
    """Query string of ``GET /v1/projects/{id}/tasks``: filters, sort and page."""

    status = fields.Enum(Status, by_value=True)
    priority = fields.Integer(validate=validate.Range(min=1, max=5))
    tag = Text(validate=[validate.Length(min=1, max=40), TAG])
    due_before = fields.Date()
    due_after = fields.Date()
    q = Text(validate=validate.Length(min=1, max=200))
    sort = fields.String(
        load_default="-created_at",
        validate=validate.OneOf(sort_choices(SORTABLE_TASK_FIELDS)),
    )


def page_schema(name: str, item: type[Schema]) -> type[Schema]:
    """A list response: one page of ``item`` plus where it sits in the whole list."""
    return Schema.from_dict(
        {
            "items": fields.List(fields.Nested(item), required=True),
            "total": fields.Integer(required=True),
            "page": fields.Integer(required=True),
            "per_page": fields.Integer(required=True),
        },
        name=name,
    )


ProjectPageSchema = page_schema("ProjectPage", ProjectSchema)
TaskPageSchema = page_schema("TaskPage", TaskSchema)
