"""auth's OpenAPI document: valid, complete, and true of what the endpoints actually answer.

schemathesis drives every documented operation with requests generated from the document; each
response must not be a server error and must match the documented status codes, content types,
headers and schemas. `nox -s security` runs the same document against the production stack.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings
from openapi_spec_validator import validate
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from servicekit.errors import PROBLEM_MIMETYPE
from tests.support import PASSWORD, AppFactory, make_user

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]


@pytest.fixture
def quiet_app(app_factory: AppFactory) -> Flask:
    """An app with a user, and budgets no run exhausts: generated cases would soon get only
    429. (Not RATELIMIT_ENABLED=False: Flask-Limiter keeps that on its one shared instance,
    and every app made afterwards in the process would run without limits.)"""
    unlimited = "1000000 per minute"
    app = app_factory({"LOGIN_RATE_LIMIT_IP": unlimited, "LOGIN_RATE_LIMIT_ACCOUNT": unlimited})
    make_user(app, "alice")
    return app


def test_the_document_is_valid_openapi_and_names_where_auth_is_mounted(app: Flask) -> None:
    client = app.test_client()
    document = client.get("/openapi.json").get_json()
    validate(document)
    assert document["servers"] == [{"url": "/"}]
    mounted = client.get("/openapi.json", base_url="http://localhost/auth/").get_json()
    assert mounted["servers"] == [{"url": "/auth"}]


def test_the_document_describes_every_json_endpoint(app: Flask) -> None:
    documented = {
        (path, method.upper())
        for path, operations in app.test_client().get("/openapi.json").get_json()["paths"].items()
        for method in operations
    }
    served = {
        (rule.rule, method)
        for rule in app.url_map.iter_rules()
        if rule.endpoint.split(".")[0] in {"api", "health"} and rule.endpoint != "api.openapi_json"
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    assert documented == served


def test_a_real_token_matches_the_document(quiet_app: Flask) -> None:
    schema = schemathesis.openapi.from_wsgi("/openapi.json", quiet_app)
    operation = schema["/api/token"]["POST"]
    case = operation.Case(body={"username": "alice", "password": PASSWORD})
    response = case.call_and_validate(checks=CHECKS)
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("request_args", "status"),
    [
        ({"data": "{", "content_type": "application/json"}, 400),
        ({"data": {"username": "alice", "password": PASSWORD}}, 415),
        ({"json": [1, 2]}, 422),
        ({"json": {"username": "alice"}}, 422),
        ({"json": {"grant_type": "client_credentials"}}, 422),
        ({"json": {"username": "alice", "password": "wrong password"}}, 401),
    ],
)
def test_every_error_of_the_token_endpoint_is_a_documented_problem(
    quiet_app: Flask, request_args: dict[str, Any], status: int
) -> None:
    client = quiet_app.test_client()
    responses = client.get("/openapi.json").get_json()["paths"]["/api/token"]["post"]["responses"]
    response = client.post("/api/token", **request_args)
    assert response.status_code == status
    assert response.mimetype == PROBLEM_MIMETYPE
    assert PROBLEM_MIMETYPE in responses[str(status)]["content"]


def test_the_app_conforms_to_its_openapi_document(quiet_app: Flask) -> None:
    schema = schemathesis.openapi.from_wsgi("/openapi.json", quiet_app)
    operations = [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]
    assert len(operations) == 4

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=30,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        )
        def conforms(case: Any) -> None:
            case.call_and_validate(checks=CHECKS)

        conforms()
