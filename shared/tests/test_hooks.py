from __future__ import annotations

import json
import logging
import os

import pytest
from werkzeug.test import create_environ

from servicekit.hooks import ACCESS_LOGGED_KEY
from servicekit.logging import JsonFormatter
from tests.support import AppFactory


def test_valid_incoming_request_id_is_kept(make_app: AppFactory) -> None:
    response = make_app().test_client().get("/hello", headers={"X-Request-ID": "abc-123.XYZ_789"})
    assert response.headers["X-Request-ID"] == "abc-123.XYZ_789"


@pytest.mark.parametrize(
    "incoming",
    ["x" * 200, "has space inside", "evil\u00e9id-123", "<script>1234", "short", "-leading-dash1"],
)
def test_invalid_request_id_is_replaced(make_app: AppFactory, incoming: str) -> None:
    response = make_app().test_client().get("/hello", headers={"X-Request-ID": incoming})
    generated = response.headers["X-Request-ID"]
    assert generated != incoming
    assert len(generated) == 32


def test_missing_request_id_is_generated(make_app: AppFactory) -> None:
    client = make_app().test_client()
    first = client.get("/hello").headers["X-Request-ID"]
    second = client.get("/hello").headers["X-Request-ID"]
    assert first != second


def test_security_headers_are_set(make_app: AppFactory) -> None:
    response = make_app().test_client().get("/hello")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "Strict-Transport-Security" not in response.headers


def test_hsts_only_under_https(make_app: AppFactory) -> None:
    response = make_app().test_client().get("/hello", base_url="https://example.test")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


def test_security_headers_on_errors_too(make_app: AppFactory) -> None:
    response = make_app().test_client().get("/nowhere")
    assert response.status_code == 404
    assert "Content-Security-Policy" in response.headers
    assert "X-Request-ID" in response.headers


def test_csp_can_be_configured(make_app: AppFactory) -> None:
    app = make_app(CONTENT_SECURITY_POLICY="default-src 'none'")
    assert (
        app.test_client().get("/hello").headers["Content-Security-Policy"] == "default-src 'none'"
    )


def test_server_timing(make_app: AppFactory) -> None:
    timing = make_app().test_client().get("/hello").headers["Server-Timing"]
    assert timing.startswith("app;dur=")
    float(timing.removeprefix("app;dur="))


def test_one_json_access_log_line_per_request(
    make_app: AppFactory, caplog: pytest.LogCaptureFixture
) -> None:
    app = make_app()

    caplog.set_level(logging.INFO, logger="servicekit.access")
    with app.test_client() as client:
        client.get("/who?x=1", headers={"X-Request-ID": "req-12345678"})
        records = [r for r in caplog.records if r.name == "servicekit.access"]
        assert len(records) == 1
        with app.test_request_context(headers={"X-Request-ID": "req-12345678"}):
            from flask import g

            g.request_id = "req-12345678"
            line = json.loads(JsonFormatter("demo").format(records[0]))
    assert line["method"] == "GET"
    assert line["path"] == "/who?x=1"
    assert line["status"] == 200
    assert line["user_id"] == "42"
    assert line["request_id"] == "req-12345678"
    assert isinstance(line["duration_ms"], float)
    assert line["service"] == "demo"
    assert line["message"] == "request"
    assert line["pid"] == os.getpid()  # which gunicorn worker answered


def test_the_environ_says_whether_the_app_wrote_the_access_line(
    make_app: AppFactory, caplog: pytest.LogCaptureFixture
) -> None:
    # gunicorn's access logger (deploy/gunicorn.conf.py) skips a request the app logged
    app = make_app()

    def logged(level: int) -> bool:
        caplog.set_level(level, logger="servicekit.access")
        environ = create_environ("/hello")
        b"".join(app(environ, lambda *_args: None))  # as gunicorn calls it: the same environ
        return bool(environ.get(ACCESS_LOGGED_KEY))

    assert logged(logging.INFO)
    assert not logged(logging.WARNING)  # the app's line is off: gunicorn's is kept


def test_proxyfix_honours_forwarded_prefix_when_trusted(make_app: AppFactory) -> None:
    app = make_app(environ={"TRUSTED_PROXIES": "1"})
    headers = {
        "X-Forwarded-Prefix": "/api",
        "X-Forwarded-Proto": "https",
        "X-Forwarded-Host": "example.test",
        "X-Forwarded-For": "203.0.113.9",
    }
    body = app.test_client().get("/where", headers=headers).get_json()
    assert body["url"] == "/api/hello"
    assert body["external"] == "https://example.test/api/hello"
    assert body["remote_addr"] == "203.0.113.9"


def test_forwarded_headers_are_ignored_without_trusted_proxies(make_app: AppFactory) -> None:
    body = make_app().test_client().get("/where", headers={"X-Forwarded-Prefix": "/api"}).get_json()
    assert body["url"] == "/hello"


def test_a_view_keeps_its_own_policy_but_not_its_own_request_id(make_app: AppFactory) -> None:
    app = make_app()

    @app.get("/framed")
    def framed() -> tuple[str, dict[str, str]]:
        headers = {
            "Content-Security-Policy": "frame-ancestors 'self'",
            "X-Request-ID": "forged1234",
        }
        return "ok", headers

    response = app.test_client().get("/framed", headers={"X-Request-ID": "kept-12345"})
    assert response.headers["Content-Security-Policy"] == "frame-ancestors 'self'"
    assert response.headers.getlist("X-Request-ID") == ["kept-12345"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_a_request_stopped_before_our_hook_still_gets_an_id(make_app: AppFactory) -> None:
    from flask import abort

    app = make_app()

    def refuse_early() -> None:
        abort(403)

    app.before_request_funcs.setdefault(None, []).insert(0, refuse_early)
    response = app.test_client().get("/hello")
    assert response.status_code == 403
    assert len(response.headers["X-Request-ID"]) == 32
    assert response.headers["Server-Timing"].startswith("app;dur=")


def test_the_access_log_records_the_address_proxyfix_resolved(
    make_app: AppFactory, caplog: pytest.LogCaptureFixture
) -> None:
    # One trusted proxy: of a chain the client started itself, only the hop the proxy appended
    # (the address it saw) is the client; the forged first entry must not reach the log.
    app = make_app(environ={"TRUSTED_PROXIES": "1"})
    caplog.set_level(logging.INFO, logger="servicekit.access")
    headers = {"X-Forwarded-For": "203.0.113.66, 198.51.100.7"}
    app.test_client().get("/hello", headers=headers, environ_base={"REMOTE_ADDR": "10.0.0.2"})
    (record,) = [r for r in caplog.records if r.name == "servicekit.access"]
    assert record.remote_addr == "198.51.100.7"  # type: ignore[attr-defined]


def test_without_a_trusted_proxy_the_access_log_records_the_peer(
    make_app: AppFactory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="servicekit.access")
    headers = {"X-Forwarded-For": "203.0.113.66"}
    make_app().test_client().get(
        "/hello", headers=headers, environ_base={"REMOTE_ADDR": "10.0.0.2"}
    )
    (record,) = [r for r in caplog.records if r.name == "servicekit.access"]
    assert record.remote_addr == "10.0.0.2"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "value",
    [
        "203.0.113.9",
        "203.0.113.66, 198.51.100.7",
        " a ,, b ,c\t",
        ",",
        "",
        '"quoted, value", 198.51.100.7',
        'a, "b',
        "x\\y, z",
        "[2001:db8::1]:443",
    ],
)
@pytest.mark.parametrize("trusted", [1, 2, 3])
def test_the_fast_forwarded_header_reader_reads_as_werkzeug_does(value: str, trusted: int) -> None:
    from werkzeug.middleware.proxy_fix import ProxyFix

    from servicekit.hooks import TrustedProxyFix

    ours = TrustedProxyFix(lambda *_: [], x_for=trusted)
    werkzeugs = ProxyFix(lambda *_: [], x_for=trusted)
    assert ours._get_real_value(trusted, value) == werkzeugs._get_real_value(trusted, value)


def test_the_access_log_path_has_the_mount_prefix_and_is_decoded(
    make_app: AppFactory, caplog: pytest.LogCaptureFixture
) -> None:
    # Mounted under a prefix (the gateway's X-Forwarded-Prefix): the line has the path the
    # client sent, non-ASCII as the client sent it.
    app = make_app(environ={"TRUSTED_PROXIES": "1"})
    caplog.set_level(logging.INFO, logger="servicekit.access")
    headers = {"X-Forwarded-Prefix": "/auth"}
    app.test_client().get("/caf%C3%A9?q=th%C3%A9", headers=headers)
    (record,) = [r for r in caplog.records if r.name == "servicekit.access"]
    assert record.path == "/auth/café?q=th%C3%A9"  # type: ignore[attr-defined]
