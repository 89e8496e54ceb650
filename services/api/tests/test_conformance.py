"""Property-based conformance: schemathesis drives the app through its own OpenAPI document.

Every operation gets generated requests (valid by the document) with a valid bearer token;
each response must not be a server error, must use a documented status code and content type, and
must match the documented schema and headers. Kept small (a few dozen examples per operation)
so the run stays well under a minute.

The test drives hypothesis itself rather than through schemathesis' pytest plugin, whose
fixture-based loader (``schemathesis.pytest.from_fixture``) does not work with pytest 9.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api_service.extensions import db
from servicekit.testing import TestTokenIssuer
from tests.support import ApiClient, create_project, create_task, make_app

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]


@pytest.fixture
def conformance_app(tmp_path: Path, token_issuer: TestTokenIssuer) -> Iterator[tuple[Flask, str]]:
    """An app with a project and a task (id 1) owned by the token's user, and that token."""
    app = make_app(tmp_path, token_issuer, RATELIMIT_ENABLED=False)
    with app.app_context():
        db.drop_all()
        db.create_all()
    token = token_issuer.mint(sub="1", name="alice")
    client = ApiClient(app.test_client(), token)
    project = create_project(client)
    create_task(client, project["id"], tags=["seed"])
    yield app, token
    with app.app_context():
        db.session.remove()
        db.drop_all()
        db.engine.dispose()


def test_the_app_conforms_to_its_openapi_document(conformance_app: tuple[Flask, str]) -> None:
    app, token = conformance_app
    # The document as the app serves it; every operation in it is exercised.
    schema = schemathesis.openapi.from_wsgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]
    assert len(operations) == 12

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=30,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        )
        def conforms(case: Any) -> None:
            case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=CHECKS)

        conforms()
