"""The OpenAPI document and the interactive documentation page."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask_restful import Resource
from openapi_spec_validator import validate

from api_service.openapi import build_spec


def document(app: Flask, **kwargs: Any) -> dict[str, Any]:
    response = app.test_client().get("/openapi.json", **kwargs)
    assert response.status_code == 200
    body: dict[str, Any] = response.json  # type: ignore[assignment]
    return body


def test_the_document_is_valid_openapi_3_1(app: Flask) -> None:
    spec = document(app)
    assert spec["openapi"] == "3.1.0"
    validate(spec)


def test_every_operation_documents_the_400_for_text_that_cannot_be_stored(app: Flask) -> None:
    """servicekit answers 400 before any view for a NUL anywhere in a request (the security
    session's schemathesis run found an undocumented 400 on the task list's query)."""
    for path, operations in document(app)["paths"].items():
        for method, operation in operations.items():
            if method in {"get", "post", "put", "patch", "delete"}:
                assert "400" in operation["responses"], f"{method.upper()} {path}"


def test_every_route_and_method_is_documented(app: Flask) -> None:
    spec = document(app)
    documented = {
        (path, method.upper())
        for path, operations in spec["paths"].items()
        for method in operations
        if method != "parameters"
    }
    routed = {
        (rule.rule.replace("<int:", "{").replace(">", "}"), method)
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("v1.")
        for method in rule.methods or ()
        if method not in {"HEAD", "OPTIONS"}
    }
    assert documented == routed


def test_schemas_come_from_the_marshmallow_schemas(app: Flask) -> None:
    schemas = document(app)["components"]["schemas"]
    task_input = schemas["TaskInput"]
    assert task_input["required"] == ["title"]
    assert task_input["additionalProperties"] is False
    assert task_input["properties"]["status"]["enum"] == ["todo", "doing", "done"]
    assert task_input["properties"]["tags"]["maxItems"] == 20
    assert "required" not in schemas["TaskPatch"]
    assert schemas["ProjectInput"]["properties"]["name"]["maxLength"] == 200


def test_bearer_security_and_error_shapes(app: Flask) -> None:
    spec = document(app)
    assert spec["security"] == [{"bearerAuth": []}]
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    patch = spec["paths"]["/v1/tasks/{task_id}"]["patch"]
    assert set(patch["responses"]) == {
        "200",
        "400",
        "401",
        "403",
        "404",
        "412",
        "413",
        "415",
        "422",
        "428",
        "429",
    }
    problem = spec["components"]["responses"]["422"]["content"]
    assert problem["application/problem+json"]["schema"] == {"$ref": "#/components/schemas/Problem"}


def test_the_server_url_follows_the_mount_point(app: Flask) -> None:
    assert document(app)["servers"] == [{"url": "/"}]
    assert document(app, base_url="http://localhost/api")["servers"] == [{"url": "/api"}]


def test_the_docs_page_loads_swagger_ui_from_this_app_without_inline_script(app: Flask) -> None:
    client = app.test_client()
    page = client.get("/docs", base_url="http://localhost/api")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'data-spec-url="/api/openapi.json"' in html
    assert "<script>" not in html  # every script has a src on this origin
    assert "http" not in html.replace('"http://', "")  # no CDN
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    for asset in (
        "/docs/assets/swagger-ui-bundle.js",
        "/docs/assets/swagger-ui.css",
        "/static/docs-init.js",
    ):
        response = client.get(asset)
        assert response.status_code == 200, asset
        response.close()


def test_each_link_names_an_operation_and_its_parameters(app: Flask) -> None:
    # A creation links to the operations on the new object (schemathesis follows them in
    # `nox -s security`); a link to a missing operation or parameter would be silently skipped.
    spec = document(app)
    links = [
        link
        for operations in spec["paths"].values()
        for operation in operations.values()
        if isinstance(operation, dict) and "responses" in operation
        for response in operation["responses"].values()
        for link in response.get("links", {}).values()
    ]
    assert len(links) == 8
    for link in links:
        _, path, method = link["operationRef"].rsplit("/", 2)
        path = path.replace("~1", "/").replace("~0", "~")
        target = spec["paths"][path]
        names = {
            f"{parameter['in'].replace('path', '')}.{parameter['name']}".lstrip(".")
            for parameter in [*target.get("parameters", []), *target[method].get("parameters", [])]
        }
        assert set(link["parameters"]) <= names, link


def test_an_endpoint_that_does_not_describe_itself_stops_the_document(app: Flask) -> None:
    class Undocumented(Resource):  # type: ignore[misc]
        def get(self) -> dict[str, str]:
            return {}

    app.add_url_rule("/v1/undocumented", view_func=Undocumented.as_view("v1.undocumented"))
    with pytest.raises(LookupError, match=r"GET /v1/undocumented \(Undocumented.get\)"):
        build_spec(app)
