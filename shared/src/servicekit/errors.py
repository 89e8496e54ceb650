"""Error rendering: RFC 9457 problem+json for programs, HTML pages for people. Never a traceback."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, Literal

from flask import Flask, Response, current_app, g, json, render_template, request
from werkzeug.exceptions import HTTPException, InternalServerError
from werkzeug.http import HTTP_STATUS_CODES

from servicekit.pages import install_pages

log = logging.getLogger("servicekit.errors")

PROBLEM_MIMETYPE = "application/problem+json"
ErrorStyle = Literal["html", "problem"]

# Headers an HTTPException may carry that the client needs (Allow on 405, Retry-After on 429...).
_KEPT_HEADERS = (
    "Allow",
    "Retry-After",
    "WWW-Authenticate",
    "Location",
    "RateLimit",
    "RateLimit-Policy",
)


class Problem(HTTPException):
    """An HTTP error with problem+json extension members, e.g. ``errors`` for field messages.

    ``raise Problem(422, "Some fields are invalid", errors={"title": ["Required."]})``
    """

    def __init__(
        self,
        status: int,
        detail: str | None = None,
        *,
        title: str | None = None,
        headers: Mapping[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        super().__init__(description=detail)
        self.code = status
        self.title = title
        self.extra_headers = dict(headers or {})
        self.extensions = extensions

    def get_headers(self, *args: Any, **kwargs: Any) -> list[tuple[str, str]]:
        return [*super().get_headers(*args, **kwargs), *self.extra_headers.items()]


def invalid_fields(errors: Mapping[str, Any], what: str = "request body") -> Problem:
    """The 422 for a well-formed ``what`` (request body, query string) whose fields are invalid.

    ``errors`` maps each field to its messages (``{"name": ["Required."]}``; ``_schema`` for the
    body as a whole, as marshmallow names it). Every JSON API answers bad fields with this::

        raise invalid_fields({"username": ["Required, a non-empty string."]})
    """
    return Problem(
        422, f"The {what} is invalid; 'errors' lists the messages of each field.", errors=errors
    )


def problem_response(
    status: int,
    detail: str | None = None,
    *,
    title: str | None = None,
    headers: Mapping[str, str] | None = None,
    **extensions: Any,
) -> Response:
    """Build an ``application/problem+json`` response (RFC 9457)."""
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": title or HTTP_STATUS_CODES.get(status, "Error"),
        "status": status,
    }
    if detail:
        body["detail"] = detail
    # The URL the client asked for, with the prefix the service is mounted at (/api/v1/...),
    # like the Location headers url_for builds.
    body["instance"] = request.script_root + request.path
    if "request_id" in g:
        body["request_id"] = g.request_id
    body.update(extensions)
    response = current_app.response_class(
        json.dumps(body), status=status, mimetype=PROBLEM_MIMETYPE
    )
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def wants_problem_json() -> bool:
    """Whether this request's errors should be problem+json rather than an HTML page."""
    if current_app.config.get("ERROR_STYLE") == "problem":
        return True
    if request.blueprint in current_app.config.get("PROBLEM_JSON_BLUEPRINTS", ()):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json", PROBLEM_MIMETYPE])
    return best in {"application/json", PROBLEM_MIMETYPE} or (
        request.is_json and best != "text/html"
    )


def _kept_headers(error: HTTPException) -> dict[str, str]:
    return {name: value for name, value in error.get_headers() if name in _KEPT_HEADERS}


def _description(error: HTTPException) -> str | None:
    # Werkzeug's stock descriptions are fine for people; a handler may pass its own.
    return error.description


def handle_http_exception(error: HTTPException) -> Response | HTTPException:
    """Render any HTTPException in the style this request wants."""
    if error.code is None:
        return error
    if error.code >= 500:
        log.error("server error %s: %s", error.code, error.description)
    headers = _kept_headers(error)
    if wants_problem_json():
        extensions = error.extensions if isinstance(error, Problem) else {}
        title = error.title if isinstance(error, Problem) else None
        return problem_response(
            error.code, _description(error), title=title, headers=headers, **extensions
        )
    page = render_template(
        [f"errors/{error.code}.html", "errors/error.html"],
        code=error.code,
        title=HTTP_STATUS_CODES.get(error.code, "Error"),
        description=_description(error),
        request_id=g.get("request_id"),
        error=error,
    )
    response = current_app.response_class(page, status=error.code, mimetype="text/html")
    response.headers.update(headers)
    return response


def handle_unexpected_error(error: Exception) -> Response | HTTPException:
    """Log an unhandled exception with its request id; answer a plain 500 that shows the id."""
    if isinstance(error, HTTPException):  # pragma: no cover - Flask routes these elsewhere
        return handle_http_exception(error)
    log.exception("unhandled exception", extra={"error_type": type(error).__name__})
    result = handle_http_exception(
        InternalServerError(
            "Something went wrong on our side. The error has been logged; "
            "quote the request id if you report it."
        )
    )
    return result


def install_error_handlers(app: Flask, style: ErrorStyle) -> None:
    """Render every error of ``app`` as HTML pages (``html``) or problem+json (``problem``).

    HTML services can still answer problem+json on chosen blueprints: list their names in
    ``PROBLEM_JSON_BLUEPRINTS``. HTML pages are servicekit's ``errors/error.html`` in the
    service's layout (:mod:`servicekit.pages`); a template ``errors/<code>.html`` or
    ``errors/error.html`` of the service takes precedence.
    """
    app.config["ERROR_STYLE"] = style
    app.config.setdefault("PROBLEM_JSON_BLUEPRINTS", set())
    if style == "html":
        install_pages(app)  # the error page is in the site's layout
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(Exception, handle_unexpected_error)
