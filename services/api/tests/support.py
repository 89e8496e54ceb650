"""Helpers the api suite's tests import: the app, a client with a bearer token, projects and tasks.

conftest.py holds only fixtures; a test module imports helpers from here, never from
conftest or from another test module.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from api_service import create_app
from servicekit.testing import TestTokenIssuer


def make_app(tmp_path: Path, token_issuer: TestTokenIssuer, **overrides: Any) -> Flask:
    """A testing app whose instance folder is ``tmp_path``."""
    config: dict[str, Any] = {"AUTH_JWKS": token_issuer.jwks(), **overrides}
    database_url = os.environ.get("TEST_DATABASE_URL")
    environ = {"APP_ENV": "testing", "API_INSTANCE_PATH": str(tmp_path)}
    if database_url:
        environ["API_DATABASE_URL"] = database_url
    return create_app(config, environ=environ)


class ApiClient:
    """A test client that sends one user's bearer token with every request."""

    def __init__(self, client: FlaskClient, token: str) -> None:
        self.client = client
        self.token = token

    def request(self, method: str, url: str, **kwargs: Any) -> Any:
        headers = {"Authorization": f"Bearer {self.token}", **kwargs.pop("headers", {})}
        return self.client.open(url, method=method, headers=headers, **kwargs)

    def get(self, url: str, **kwargs: Any) -> Any:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> Any:
        return self.request("POST", url, **kwargs)

    def put(self, url: str, **kwargs: Any) -> Any:
        return self.request("PUT", url, **kwargs)

    def patch(self, url: str, **kwargs: Any) -> Any:
        return self.request("PATCH", url, **kwargs)

    def delete(self, url: str, **kwargs: Any) -> Any:
        return self.request("DELETE", url, **kwargs)


def create_project(client: ApiClient, **fields: Any) -> dict[str, Any]:
    """Create a project for ``client``'s user and return its JSON plus its ETag."""
    response = client.post("/v1/projects", json={"name": "Household", **fields})
    assert response.status_code == 201, response.json
    return {**response.json, "etag": response.headers["ETag"]}


def create_task(client: ApiClient, project_id: int, **fields: Any) -> dict[str, Any]:
    """Create a task in ``project_id`` and return its JSON plus its ETag."""
    response = client.post(
        f"/v1/projects/{project_id}/tasks", json={"title": "Water plants", **fields}
    )
    assert response.status_code == 201, response.json
    return {**response.json, "etag": response.headers["ETag"]}
