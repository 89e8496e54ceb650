"""Tokens for API clients carry scopes: reads need tasks:read, changes tasks:write."""

from __future__ import annotations

import pytest
from flask import Flask

from servicekit.testing import TestTokenIssuer
from tests.support import ApiClient, create_project


def scoped(app: Flask, token_issuer: TestTokenIssuer, scope: str) -> ApiClient:
    """alice (user 1) with a token limited to ``scope``, as auth issues for a personal token."""
    return ApiClient(app.test_client(), token_issuer.mint(sub="1", scope=scope, pat=7))


def test_a_read_only_token_reads_but_cannot_write(
    app: Flask, token_issuer: TestTokenIssuer, alice: ApiClient
) -> None:
    project = create_project(alice)
    reader = scoped(app, token_issuer, "tasks:read")

    assert reader.get("/v1/projects").status_code == 200
    assert reader.get(f"/v1/projects/{project['id']}").status_code == 200
    response = reader.post("/v1/projects", json={"name": "Nope"})

    assert response.status_code == 403
    assert response.mimetype == "application/problem+json"
    assert response.json["missing_scope"] == "tasks:write"
    assert "tasks:write" in response.json["detail"]
    assert 'error="insufficient_scope"' in response.headers["WWW-Authenticate"]
    assert alice.get("/v1/projects").json["total"] == 1  # nothing was written


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
def test_every_change_needs_tasks_write(
    app: Flask, token_issuer: TestTokenIssuer, alice: ApiClient, method: str
) -> None:
    project = create_project(alice)
    reader = scoped(app, token_issuer, "tasks:read")
    response = reader.request(
        method,
        f"/v1/projects/{project['id']}",
        json={"name": "Renamed"},
        headers={"If-Match": project["etag"]},
    )
    assert response.status_code == 403
    assert response.json["missing_scope"] == "tasks:write"


def test_a_write_only_token_cannot_read(app: Flask, token_issuer: TestTokenIssuer) -> None:
    writer = scoped(app, token_issuer, "tasks:write")
    assert writer.post("/v1/projects", json={"name": "Blind"}).status_code == 201
    response = writer.get("/v1/projects")
    assert response.status_code == 403
    assert response.json["missing_scope"] == "tasks:read"


def test_both_scopes_allow_everything_and_no_scope_means_full_rights(
    app: Flask, token_issuer: TestTokenIssuer, alice: ApiClient
) -> None:
    both = scoped(app, token_issuer, "tasks:read tasks:write")
    assert both.post("/v1/projects", json={"name": "Full"}).status_code == 201
    assert both.get("/v1/projects").json["total"] == 1
    # alice's fixture token has no scope claim: a session or password token, all rights.
    assert alice.post("/v1/projects", json={"name": "Mine"}).status_code == 201


def test_a_token_with_an_unknown_scope_only_is_refused_everything(
    app: Flask, token_issuer: TestTokenIssuer
) -> None:
    other = scoped(app, token_issuer, "blog:write")
    assert other.get("/v1/projects").status_code == 403
    assert other.post("/v1/projects", json={"name": "x"}).status_code == 403
