"""The command-line tools: demo content, and signing in without the auth service."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from blog_service import create_app
from blog_service.extensions import db
from blog_service.models import Comment, Post, Tag
from servicekit.testing import csrf_token_in


def counts(app: Flask) -> tuple[int, int, int]:
    with app.app_context():
        return tuple(  # type: ignore[return-value]
            db.session.scalar(select(func.count()).select_from(model))
            for model in (Post, Comment, Tag)
        )


def test_seed_demo_is_idempotent(app: Flask) -> None:
    runner = app.test_cli_runner()
    first = runner.invoke(args=["seed-demo"])
    assert first.exit_code == 0, first.output
    assert "3 post(s) added" in first.output
    seeded = counts(app)
    assert seeded == (3, 3, 4)
    second = runner.invoke(args=["seed-demo"])
    assert "0 post(s) added, 3 already there" in second.output
    assert counts(app) == seeded
    page = app.test_client().get("/").get_data(as_text=True)
    assert "Welcome to the Flask services blog" in page


DevAppFactory = Callable[..., Flask]


@pytest.fixture
def dev_app_factory(tmp_path: Path) -> Iterator[DevAppFactory]:
    """Builds the blog in development mode; closes every app's database connections after."""
    apps: list[Flask] = []

    def factory(config: dict[str, Any] | None = None, **environ: str) -> Flask:
        app = create_app(
            config,
            environ={
                "APP_ENV": "development",
                "BLOG_INSTANCE_PATH": str(tmp_path),
                "BLOG_DATABASE_URL": f"sqlite:///{tmp_path / 'dev.sqlite3'}",
                **environ,
            },
        )
        apps.append(app)
        return app

    yield factory
    for app in apps:
        with app.app_context():
            db.engine.dispose()


@pytest.fixture
def dev_app(dev_app_factory: DevAppFactory) -> Flask:
    """The blog in development, alone: it trusts its own development key."""
    app = dev_app_factory()
    with app.app_context():
        db.create_all()
    return app


def test_dev_login_signs_in_without_auth(dev_app: Flask, tmp_path: Path) -> None:
    result = dev_app.test_cli_runner().invoke(
        args=["dev-login", "--name", "dora", "--role", "author"]
    )
    assert result.exit_code == 0, result.output
    token = result.output.split("\n")[1]
    assert (tmp_path / "dev-jwks.json").exists()
    assert (tmp_path / "dev-signing-key.pem").stat().st_mode & 0o077 == 0

    client = dev_app.test_client()
    path = re.search(r"^(/dev/sign-in\?token=\S+)$", result.output, re.M)
    assert path is not None
    page = client.get(path.group(1)).get_data(as_text=True)
    assert "Sign in as <strong>dora</strong>" in page
    assert client.get("/posts/new").status_code == 302  # the GET set nothing
    csrf = csrf_token_in(page)
    assert csrf is not None
    response = client.post("/dev/sign-in", data={"token": token, "csrf_token": csrf})
    assert response.status_code == 302
    assert client.get("/posts/new").status_code == 200
    home = client.get("/").get_data(as_text=True)
    assert 'href="/dev/sign-out">Sign out</a>' in home
    csrf = csrf_token_in(client.get("/dev/sign-out").get_data(as_text=True))
    assert csrf is not None
    assert client.post("/dev/sign-out", data={"csrf_token": csrf}).status_code == 302
    assert client.get("/posts/new").status_code == 302


def test_dev_identity_gives_way_to_a_configured_source(dev_app_factory: DevAppFactory) -> None:
    app = dev_app_factory({"AUTH_JWKS": {"keys": []}})
    assert app.config["AUTH_JWKS_FILE"] is None
    assert app.config["LOGOUT_URL"] == "/auth/logout"
    assert app.test_client().get("/dev/sign-out").status_code == 404


def test_dev_sign_in_refuses_a_bad_token(dev_app: Flask) -> None:
    assert dev_app.test_client().get("/dev/sign-in?token=nope").status_code == 400


def test_dev_login_is_refused_outside_development(app: Flask) -> None:
    result = app.test_cli_runner().invoke(args=["dev-login", "--name", "eve"])
    assert result.exit_code != 0
    assert "only with APP_ENV=development" in result.output
    assert app.test_client().get("/dev/sign-in?token=x").status_code == 404


def test_dev_key_is_not_trusted_when_auth_is_configured(
    dev_app_factory: DevAppFactory, tmp_path: Path
) -> None:
    app = dev_app_factory(BLOG_AUTH_JWKS_FILE=str(tmp_path / "auth-jwks.json"))
    result = app.test_cli_runner().invoke(args=["dev-login"])
    assert result.exit_code != 0
    assert "sign in through the auth service" in result.output
    assert app.config["AUTH_JWKS_FILE"] == str(tmp_path / "auth-jwks.json")


def test_standalone_sign_in_link_leads_to_the_development_sign_in(dev_app: Flask) -> None:
    client = dev_app.test_client()
    page = client.get("/search?q=flask").get_data(as_text=True)
    link = re.search(r'<a href="([^"]+)">Sign in</a>', page)
    assert link is not None
    assert link.group(1) == "/dev/sign-in?next=/search%3Fq%3Dflask"
    form = client.get(link.group(1))
    assert form.status_code == 200
    assert 'name="next"' in form.get_data(as_text=True)


def test_development_sign_in_form_mints_a_token_with_the_chosen_roles(dev_app: Flask) -> None:
    client = dev_app.test_client()
    page = client.get("/dev/sign-in?next=/drafts").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    assert csrf is not None
    response = client.post(
        "/dev/sign-in",
        data={"csrf_token": csrf.group(1), "name": "Dora Writer", "author": "y", "next": "/drafts"},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/drafts"
    home = client.get("/").get_data(as_text=True)
    assert 'Signed in as <strong class="user-name">Dora Writer</strong>' in home
    assert 'href="/posts/new"' in home  # an author may write
    assert client.get("/posts/new").status_code == 200


def test_development_sign_in_refuses_a_blank_name_and_foreign_next(dev_app: Flask) -> None:
    client = dev_app.test_client()
    page = client.get("/dev/sign-in").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    assert csrf is not None
    blank = client.post("/dev/sign-in", data={"csrf_token": csrf.group(1), "name": " "})
    assert blank.status_code == 200
    assert "This field is required." in blank.get_data(as_text=True)
    foreign = client.post(
        "/dev/sign-in",
        data={"csrf_token": csrf.group(1), "name": "eve", "next": "//evil.example/"},
    )
    assert foreign.status_code == 302
    assert foreign.headers["Location"] == "/"
    reader = client.get("/").get_data(as_text=True)
    assert 'Signed in as <strong class="user-name">eve</strong>' in reader
    assert 'href="/posts/new"' not in reader  # a reader only


def test_the_sign_in_link_goes_to_auth_when_the_blog_trusts_auth(app: Flask) -> None:
    page = app.test_client().get("/").get_data(as_text=True)
    assert '<a href="/auth/login?next=/">Sign in</a>' in page
    assert app.test_client().get("/dev/sign-in").status_code == 404
