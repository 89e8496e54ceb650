"""Helpers the shared suite's tests import (conftest.py holds only fixtures)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Flask, abort, jsonify

from servicekit import Settings, init_service
from servicekit.errors import ErrorStyle, Problem
from servicekit.settings import Env

AppFactory = Callable[..., Flask]


# length: one small view per shared behaviour the suites exercise, kept in one app.
def demo_app(
    tmp_path: Path,
    style: ErrorStyle = "problem",
    environ: dict[str, str] | None = None,
    **overrides: Any,
) -> Flask:
    """A small service built the way each service builds its own (environment and overrides
    → settings → app), with views that exercise the shared hooks."""
    env = Env("demo", {"APP_ENV": "testing", **(environ or {})}, overrides)
    app = Flask("demo", instance_path=str(tmp_path / "instance"))
    settings = Settings.from_env("demo", app.instance_path, env)
    init_service(app, settings, env.unread_overrides(), error_style=style)

    @app.get("/hello")
    def hello() -> Any:
        return jsonify(message="hello")

    @app.post("/echo")
    def echo() -> Any:
        from flask import request

        return jsonify(size=len(request.get_data()))

    @app.get("/boom")
    def boom() -> Any:
        raise RuntimeError("secret internals")

    @app.get("/forbidden")
    def forbidden() -> Any:
        abort(403)

    @app.get("/invalid")
    def invalid() -> Any:
        raise Problem(422, "Some fields are invalid.", errors={"title": ["Required."]})

    @app.get("/where")
    def where() -> Any:
        from flask import request, url_for

        return jsonify(
            url=url_for("hello"),
            external=url_for("hello", _external=True),
            remote_addr=request.remote_addr,
        )

    @app.get("/who")
    def who() -> str:
        from flask import g

        g.user_id = "42"  # as the services' identity code does for a signed-in user
        return "me"

    return app
