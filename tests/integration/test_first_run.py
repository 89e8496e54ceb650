"""The first `nox -s dev` on an empty instance: demo accounts, demo posts, the URLs to open.

Built as ``nox -s dev`` builds the system (``system_environ`` in development mode, no test
overrides), so the demo accounts are made exactly as a newcomer gets them.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask_sqlalchemy import SQLAlchemy

from system.embedded import create_apps, dispatcher, system_environ, upgrade_databases, welcome
from tests.integration.harness import System

BASE_URL = "http://127.0.0.1:8000"
ACCOUNT_LINE = re.compile(r"^  (demo-\w+) +password (\S+) +roles: (.+)$", re.MULTILINE)


@pytest.fixture
def development(tmp_path: Path) -> Iterator[System]:
    """The system as `nox -s dev` runs it, on a fresh instance folder."""
    base = {"APP_ENV": "development", "REVOCATION_STORE_URI": f"memory://{uuid.uuid4().hex}"}
    environ = system_environ(tmp_path / "instance", base)
    apps = create_apps(environ)
    try:
        upgrade_databases(apps)
        by_name = {"auth": apps["/auth"], "blog": apps[""], "api": apps["/api"]}
        yield System(apps=by_name, wsgi=dispatcher(apps), environ=environ)
    finally:
        for app in apps.values():
            database: SQLAlchemy = app.extensions["sqlalchemy"]
            with app.app_context():
                database.session.remove()
                database.engine.dispose()


def _apps(system: System) -> dict[str, Flask]:
    return {"/auth": system.apps["auth"], "": system.apps["blog"], "/api": system.apps["api"]}


def test_the_first_start_makes_an_admin_and_an_author_and_says_where_to_go(
    development: System, tmp_path: Path
) -> None:
    instance = tmp_path / "instance"
    text = welcome(_apps(development), BASE_URL, instance)

    accounts = {name: (password, roles) for name, password, roles in ACCOUNT_LINE.findall(text)}
    assert set(accounts) == {"demo-admin", "demo-author"}, text
    assert accounts["demo-admin"][1] == "reader author admin"
    assert accounts["demo-author"][1] == "reader author"
    assert accounts["demo-admin"][0] != accounts["demo-author"][0]
    assert "Demo posts: 3, by demo-author" in text
    for url in ("/", "/auth/login", "/posts/new", "/auth/admin/users", "/api/docs"):
        assert f"  {BASE_URL}{url} " in text
    assert str(instance / "mail") in text

    # The author writes at once, and the demo posts are theirs to edit.
    author = development.browser()
    assert author.log_in("demo-author", accounts["demo-author"][0]).status_code == 302
    assert author.get("/posts/new").status_code == 200
    home = author.get("/").get_data(as_text=True)
    assert "Welcome to the Flask services blog" in home
    slug = re.search(r'href="/posts/(welcome[\w-]*)"', home)
    assert slug
    assert author.get(f"/posts/{slug.group(1)}/edit").status_code == 200
    # The admin grants roles.
    admin = development.browser()
    assert admin.log_in("demo-admin", accounts["demo-admin"][0]).status_code == 302
    assert admin.get("/auth/admin/users").status_code == 200

    # The passwords were shown, not kept: no file of the instance holds them.
    for path in instance.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert all(password.encode() not in data for password, _ in accounts.values()), path


def test_later_starts_make_nothing_and_still_say_where_to_go(development: System) -> None:
    apps = _apps(development)
    first = welcome(apps, BASE_URL, Path("instance"))
    again = welcome(apps, BASE_URL, Path("instance"))
    assert ACCOUNT_LINE.search(first)
    assert not ACCOUNT_LINE.search(again)
    assert "Demo" not in again
    assert f"{BASE_URL}/posts/new" in again


def test_passwords_differ_from_one_instance_folder_to_the_next(tmp_path: Path) -> None:
    passwords = []
    for name in ("one", "two"):
        base = {"APP_ENV": "development", "REVOCATION_STORE_URI": f"memory://{name}"}
        apps = create_apps(system_environ(tmp_path / name, base))
        upgrade_databases(apps)
        passwords.append(ACCOUNT_LINE.findall(welcome(apps, BASE_URL, tmp_path / name)))
        for app in apps.values():
            with app.app_context():
                app.extensions["sqlalchemy"].engine.dispose()
    assert passwords[0]
    assert passwords[1]
    assert {p for _, p, _ in passwords[0]}.isdisjoint({p for _, p, _ in passwords[1]})


def test_outside_development_no_demo_account_is_made(system: System) -> None:
    # the `system` fixture runs in APP_ENV=testing, as production would refuse it too
    text = welcome(_apps(system), BASE_URL, Path("instance"))
    assert "No demo accounts: demo accounts are made only with APP_ENV=development" in text
    assert not ACCOUNT_LINE.search(text)
    assert development_users(system) == 0
    assert f"{BASE_URL}/auth/login" in text


def development_users(system: System) -> int:
    from auth_service.extensions import db
    from auth_service.models import User

    with system.apps["auth"].app_context():
        return db.session.query(User).count()
