"""The compiled dumps answer exactly what the output schemas' ``dump`` would."""

from __future__ import annotations

from datetime import date

import pytest
from flask import Flask
from marshmallow import Schema, fields
from sqlalchemy import select

from api_service.dumping import compile_dump
from api_service.extensions import db
from api_service.models import Project, Task
from api_service.schemas import ProjectSchema, TaskSchema
from tests.support import ApiClient, create_project, create_task


def test_objects_and_rows_dump_as_the_schemas_do(app: Flask, alice: ApiClient) -> None:
    project = create_project(alice, description="", archived=True)
    create_task(alice, project["id"], tags=["b", "a"], due_date="2030-01-02", status="doing")
    create_task(alice, project["id"])  # no tags, no due date
    with app.app_context():
        for model, schema in ((Project, ProjectSchema()), (Task, TaskSchema())):
            for item in db.session.scalars(select(model)):
                assert compile_dump(schema)(item) == schema.dump(item)
            without_tags = schema.__class__(exclude=("tags",)) if model is Task else schema
            for row in db.session.execute(select(model.__table__)).mappings():
                dumped = compile_dump(without_tags, from_mapping=True)(row)
                assert dumped == without_tags.dump(row)


def test_none_and_lists_dump_as_the_schemas_do() -> None:
    class Sample(Schema):
        day = fields.Date(allow_none=True)
        names = fields.List(fields.String())
        renamed = fields.Integer(attribute="number")

    sample = {"day": None, "names": ["x", None], "number": 4}
    assert compile_dump(Sample(), from_mapping=True)(sample) == Sample().dump(sample)
    sample["day"] = date(2030, 1, 2)
    assert compile_dump(Sample(), from_mapping=True)(sample) == Sample().dump(sample)


def test_a_field_type_without_a_compiled_dump_is_refused_at_once() -> None:
    class Unknown(Schema):
        amount = fields.Decimal()

    with pytest.raises(TypeError, match="Decimal"):
        compile_dump(Unknown())
