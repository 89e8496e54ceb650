"""Flask's cookie sessions through servicekit.sessions: same cookies, less work per request."""

from __future__ import annotations

from typing import Any

from flask import Flask, session

from tests.support import AppFactory


def with_session_views(app: Flask) -> Flask:
    @app.post("/remember/<word>")
    def remember(word: str) -> Any:
        session["word"] = word
        return {"ok": True}

    @app.get("/recall")
    def recall() -> Any:
        return {"word": session.get("word")}

    return app


def test_a_session_set_in_one_request_is_read_in_the_next(make_app: AppFactory) -> None:
    client = with_session_views(make_app()).test_client()
    assert client.post("/remember/apple").headers.get("Set-Cookie")
    assert client.get("/recall").get_json() == {"word": "apple"}


def test_a_request_that_does_not_touch_the_session_sets_no_cookie(make_app: AppFactory) -> None:
    response = make_app().test_client().get("/hello")
    assert "Set-Cookie" not in response.headers
    assert "Cookie" not in response.headers.get("Vary", "")


def test_reading_an_empty_session_varies_on_the_cookie(make_app: AppFactory) -> None:
    response = with_session_views(make_app()).test_client().get("/recall")
    assert response.get_json() == {"word": None}
    assert "Set-Cookie" not in response.headers
    assert "Cookie" in response.headers["Vary"]


def test_a_new_secret_key_is_used_at_once_and_the_old_one_only_as_a_fallback(
    make_app: AppFactory,
) -> None:
    app = with_session_views(make_app())
    client = app.test_client()
    client.post("/remember/pear")
    old_key = app.secret_key
    app.secret_key = app.config["SECRET_KEY"] = "a-new-key-" + "x" * 40
    assert client.get("/recall").get_json() == {"word": None}
    app.config["SECRET_KEY_FALLBACKS"] = [old_key]
    assert client.get("/recall").get_json() == {"word": "pear"}


def test_clearing_the_session_deletes_the_cookie(make_app: AppFactory) -> None:
    app = with_session_views(make_app())

    @app.post("/forget")
    def forget() -> Any:
        session.clear()
        return {"ok": True}

    client = app.test_client()
    client.post("/remember/plum")
    cookie = client.post("/forget").headers["Set-Cookie"]
    assert "Expires=Thu, 01 Jan 1970" in cookie
    assert client.get("/recall").get_json() == {"word": None}
