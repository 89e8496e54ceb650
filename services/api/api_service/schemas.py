"""marshmallow schemas: what the API accepts (``*Input``), what it returns, and its query strings.

The same classes validate requests, serialise responses and, through apispec, describe both in
the OpenAPI document, so the documentation cannot drift from the code. Unknown fields are
rejected (marshmallow's default, ``RAISE``): a typo in a field name is an error, not a no-op.
"""

from __future__ import annotations

from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate

from api_service.models import Status

NAME_MAX = 200
DESCRIPTION_MAX = 5000
NOTES_MAX = 10000
TAG_PATTERN = r"^[a-z0-9][a-z0-9_-]*$"
MAX_TAGS = 20
SORTABLE_TASK_FIELDS = ("created_at", "updated_at", "due_date", "priority", "title", "status")
SORTABLE_PROJECT_FIELDS = ("created_at", "updated_at", "name")
#: At least one character that is not white space.
NOT_BLANK = validate.Regexp(r"^\s*\S", error="Must not be blank.")


class Text(fields.String):
    """A string a database can store: no NUL character, no lone UTF-16 surrogate.

    JSON allows both (``"\\u0000"``, ``"\\ud800"``); PostgreSQL refuses the first and every
    driver fails to encode the second, which would otherwise surface as a 500.
    """

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        if "\x00" in text:
            raise ValidationError("Must not contain NUL characters.")
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise ValidationError("Must be valid Unicode text.") from None
        return text


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
    priority = fields.Integer(strict=True, load_default=3, validate=validate.Range(min=1, max=5))
    due_date = fields.Date(load_default=None, allow_none=True)
    tags = fields.List(
        Text(validate=[validate.Length(min=1, max=40), validate.Regexp(TAG_PATTERN)]),
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

    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=1_000_000))
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
    tag = Text(validate=[validate.Length(min=1, max=40), validate.Regexp(TAG_PATTERN)])
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
