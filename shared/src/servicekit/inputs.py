"""Hostile input stopped where it enters: ids in URLs, page numbers, text, JSON bodies.

Each defence here turns an input a database or a parser cannot take into a 4xx before it reaches
a query. :func:`install_input_guards` (called by ``init_service``) installs the ones that apply
to every request; the functions are for the places that read input themselves.

* ``<int:...>`` in a route matches only ids an id column can hold (1 to :data:`MAX_ID`): a
  larger one is a 404 like any missing object, not an overflow in the driver.
* :func:`page_number` reads ``?page=`` as a whole number from 1 to :data:`MAX_PAGE`.
* A NUL character (PostgreSQL cannot store it in text) or a lone UTF-16 surrogate (no driver can
  encode it) in the path, the query string or a form is a 400. JSON bodies are checked by the
  code that validates them (:func:`unstorable`), so that an API can name the field.
* A JSON body nested deeper than Python's recursion limit is malformed JSON (a 400), not a
  ``RecursionError``.
* :func:`json_body` reads a JSON API's body: ``415`` when it is not JSON, ``400`` when it is
  malformed; the API then answers ``422`` for invalid fields (``servicekit.errors.invalid_fields``).
"""

from __future__ import annotations

import re
from itertools import chain
from typing import Any

from flask import Flask, request
from flask.globals import _cv_request
from flask.json.provider import DefaultJSONProvider
from werkzeug.exceptions import BadRequest
from werkzeug.routing import IntegerConverter, Map, ValidationError

from servicekit.errors import Problem

#: The largest id a route accepts: PostgreSQL's INTEGER, the type of every id column.
MAX_ID = 2**31 - 1
#: The largest page number a list accepts; far past any real list, far from any overflow.
MAX_PAGE = 1_000_000

_FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})
#: C0 and C1 control characters, and DEL.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
#: The same without tab, line feed and carriage return (multi-line text keeps them).
_CONTROL_BUT_LINES = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


class BoundedIntConverter(IntegerConverter):
    """The ``int`` URL converter, refusing numbers larger than :data:`MAX_ID` (or ``max``).

    Werkzeug's own converter turns any run of digits into a Python int, which a database driver
    then fails to bind: a 500 for ``/users/99999999999999999999``. Here it simply does not match.
    """

    # The parameters are Werkzeug's, by name: a rule may say <int(max=100):n>.
    def __init__(
        self,
        map: Map,
        fixed_digits: int = 0,
        min: int | None = None,
        max: int | None = MAX_ID,
        signed: bool = False,
    ) -> None:
        super().__init__(map, fixed_digits, min, max, signed)
        # Checked before int(): Python refuses to parse more than 4,300 digits (a ValueError).
        self.max_digits = len(str(max if max is not None else MAX_ID)) + 1

    def to_python(self, value: str) -> int:
        if len(value) > self.max_digits:
            raise ValidationError()
        number: int = super().to_python(value)
        return number


def page_number(name: str = "page") -> int:
    """The page asked for in query argument ``name``: a whole number from 1 to :data:`MAX_PAGE`.

    Anything that is not a number reads as page 1 (a mangled link still shows the list); a larger
    number reads as :data:`MAX_PAGE`, which is past the end of any list.
    """
    raw = request.args.get(name, "")
    if not (raw.isascii() and raw.isdigit()):
        return 1
    if len(raw) > len(str(MAX_PAGE)):
        return MAX_PAGE
    return min(max(int(raw), 1), MAX_PAGE)


def unstorable(text: str) -> str | None:
    """Why ``text`` cannot be stored (a sentence for the user), or None when it can.

    JSON and URLs can carry a NUL character (``"\\u0000"``, ``%00``), which PostgreSQL refuses in
    text, and JSON a lone surrogate (``"\\ud800"``), which no driver can encode.
    """
    if "\x00" in text:
        return "Must not contain NUL characters."
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "Must be valid Unicode text."
    return None


def json_body() -> Any:
    """The request's JSON body: a 415 problem when it is not JSON, a 400 when it is malformed.

    Any well-formed JSON value is returned (an object, a list, ``null``...): whether it has the
    right shape is the validation's to say, with a 422.
    """
    if not request.is_json:
        raise Problem(415, "Send the request body as JSON with 'Content-Type: application/json'.")
    try:
        return request.get_json()
    except BadRequest:
        # Thousands of nested brackets are malformed JSON too (BoundedJSONProvider).
        raise Problem(400, "The request body is not well-formed JSON.") from None


def has_control_characters(text: str, *, multiline: bool = False) -> bool:
    """Whether ``text`` holds control characters (except tab and line breaks when ``multiline``).

    They are invisible on a page, and most of them are not allowed in XML at all (a feed).
    """
    pattern = _CONTROL_BUT_LINES if multiline else _CONTROL
    return pattern.search(text) is not None


def _request_strings() -> chain[Any]:
    """Every string of the request that views read: path parameters, query string, form."""
    parts: list[Any] = [(request.view_args or {}).values(), request.args.items(multi=True)]
    if request.mimetype in _FORM_TYPES:
        parts.append(request.form.items(multi=True))
    return chain.from_iterable(
        item if isinstance(item, tuple) else (item,) for item in chain.from_iterable(parts)
    )


def refuse_unstorable_text() -> None:
    """before_request: a 400 when the path, query string or form holds what cannot be stored."""
    current = _cv_request.get().request  # runs on every request: no proxy lookups
    environ = current.environ
    # Most requests have none of the three: answered from the environ, without parsing.
    if not (current.view_args or environ.get("QUERY_STRING") or environ.get("CONTENT_TYPE")):
        return
    for value in _request_strings():
        if isinstance(value, str) and unstorable(value):
            raise BadRequest(
                "The request holds text that cannot be stored: a NUL character or invalid Unicode."
            )


class BoundedJSONProvider(DefaultJSONProvider):
    """Flask's JSON provider, reading a body nested too deeply as malformed JSON.

    Python's parser raises RecursionError past about a thousand levels (``[[[[...]]]]``), which
    is not a ValueError, so ``request.get_json`` let it through as a 500 even with
    ``silent=True``. As a ValueError it becomes a 400, or None when silent.
    """

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        try:
            return super().loads(s, **kwargs)
        except RecursionError:
            raise ValueError("The JSON document is nested too deeply.") from None


def install_input_guards(app: Flask) -> None:
    """Bound ``<int:...>`` routes, refuse unstorable text, read deep JSON as malformed.

    Call it before registering blueprints: a route's converter is chosen when it is added.
    """
    app.url_map.converters["int"] = BoundedIntConverter
    app.json = BoundedJSONProvider(app)
    app.before_request(refuse_unstorable_text)
