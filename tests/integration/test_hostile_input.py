"""Hostile input through every route of every service: never a 5xx, never a logged error.

An external review found a handful of inputs that crashed a view (huge integers, NUL bytes, lone
surrogates, JSON nested 100,000 deep, url_for keywords in a query string). Each has a test that
replays it in its service's suite; this sweep looks for the same class of fault everywhere else.

It lives here, not in each service's suite, because here the three apps run as one system
through the embedded dispatcher: one enumeration of ``app.url_map`` per service, real cross-
service sign-in (auth's cookie opens the blog, auth's token opens the API), and one place to add
a strategy. For every route and method, Hypothesis fills the URL parameters, the query string
and a form or JSON body (or a raw, deeply nested one) with hostile text: NUL, lone surrogates,
control characters, huge integers, very long strings, url_for's own keywords. The requests come
from a signed-in admin (every role), with a valid CSRF token so forms reach their validation, or
from an anonymous client.

Bounded for the default ``nox``: the ``hostile-sweep`` profile runs a few examples per route
(``HOSTILE_SWEEP_EXAMPLES``, default 8), derandomized so CI sees the same cases every run.
``HOSTILE_SWEEP_EXAMPLES=200 pytest tests/integration/test_hostile_input.py`` digs deeper.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.routing import Rule
from werkzeug.test import Client, EnvironBuilder, TestResponse

from system.embedded import installed_mounts
from tests.integration.harness import Browser, System

settings.register_profile(
    "hostile-sweep",
    max_examples=int(os.environ.get("HOSTILE_SWEEP_EXAMPLES", "8")),
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
SWEEP = settings.get_profile("hostile-sweep")

PREFIXES = {mount.name: mount.prefix for mount in installed_mounts()}

# --- strategies ------------------------------------------------------------------------------

#: Characters that broke something somewhere, or could: NUL, lone surrogates, C0/C1 controls,
#: line and paragraph separators, a BOM, non-characters, SQL LIKE wildcards, markup, traversal.
NASTY = [
    "\ud800", "\x00", "\udfff", "\x07", "\x08", "\x0b", "\x1b", "\x7f", "\x85", "\u2028",
    "\ufeff", "\uffff", "\U0010ffff", "%", "_", "'", '"', "<", ">", "&", "\\", "/", "..",
    "\n", "\r\n", "\t", " ", "é", "😀", "%00", "%ZZ",
]  # fmt: skip
#: Integers around every boundary a column, a driver or int() has.
#: The first ones first: Hypothesis tries a list's first element most, and few examples run.
HUGE_NUMBERS = [
    "99999999999999999999", str(2**63), "9" * 5000, str(2**31), str(2**31 - 1), str(2**63 - 1),
    str(2**64), "0", "-1", "1e308", "4.0", "NaN",
]  # fmt: skip
#: Query arguments: url_for's own keywords first (fed to url_for, they made the blog's
#: pagination fail), then the ones the views read.
QUERY_NAMES = [
    "endpoint", "_method", "page", "_external", "_anchor", "_scheme", "q", "next", "per_page",
    "sort", "tag", "status", "priority", "due_before", "due_after", "archived",
]  # fmt: skip
#: Form fields and JSON members the views read.
FIELD_NAMES = [
    "title", "summary", "body", "tags", "cover_alt", "remove_cover", "published", "version",
    "login", "password", "remember", "next", "username", "email", "confirm", "current_password",
    "roles", "q", "page", "per_page", "sort", "tag", "status", "priority", "due_date",
    "due_before", "due_after", "archived", "name", "description", "notes",
]  # fmt: skip
#: Values that exist after seeding, so parameters sometimes name a real object.
KNOWN = ["seed", "common", "root", "1", "2", "reader", "author", "admin", "todo", "-priority"]

nasty_text = st.lists(
    st.one_of(st.sampled_from(NASTY), st.text(max_size=4)), min_size=1, max_size=8
).map("".join)
long_text = st.builds(
    lambda char, size: char * size,
    st.sampled_from("a\x00é "),
    st.sampled_from([300, 5_000, 70_000]),
)
hostile_text = st.one_of(
    nasty_text,
    st.sampled_from(KNOWN),
    st.sampled_from(HUGE_NUMBERS),
    st.text(max_size=30),
    st.text(st.characters(categories=["Cc", "Cs", "Co", "Cn", "Zl", "Zp"]), max_size=10),
    long_text,
)
json_leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.sampled_from([2**31, 2**63, 10**30, -(2**64), 4.0, 4.5, 1e308, float("inf"), float("nan")]),
    hostile_text,
)
json_values = st.recursive(
    json_leaves,
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.dictionaries(st.sampled_from(FIELD_NAMES) | hostile_text, children, max_size=3),
    ),
    max_leaves=8,
)
json_documents = st.one_of(
    st.dictionaries(st.sampled_from(FIELD_NAMES), json_values, max_size=6), json_values
)
deep_json = st.builds(
    lambda opening, depth: opening * depth,
    st.sampled_from(["[", '{"a":', '{"title":[', "[" * 10 + "]" * 10]),
    st.sampled_from([1_000, 30_000]),
)


def encode(text: str) -> str:
    """Percent-encode ``text`` as a client would send it, lone surrogates included.

    A lone surrogate cannot be UTF-8; encoded anyway (``surrogatepass``) it is the invalid bytes
    a hostile client sends, which the server must decode without failing.
    """
    return quote(text.encode("utf-8", "surrogatepass"), safe="")


def form_encode(fields: list[tuple[str, str]]) -> bytes:
    return "&".join(f"{encode(name)}={encode(value)}" for name, value in fields).encode()


# --- the system under attack -----------------------------------------------------------------


class ClientFrom(Client):
    """A test client whose requests come from ``address`` (the rate limits key on it)."""

    def __init__(self, application: Any, address: str) -> None:
        super().__init__(application)
        self.address = address

    def open(self, *args: Any, **kwargs: Any) -> TestResponse:
        if not (args and isinstance(args[0], EnvironBuilder | dict)):  # not a redirect replay
            kwargs["environ_base"] = {**kwargs.get("environ_base", {}), "REMOTE_ADDR": self.address}
        return super().open(*args, **kwargs)


@dataclass
class Attacker:
    """Who sends the requests: an admin with every role, signed in everywhere, or nobody."""

    admin: Browser
    anonymous: Client
    token: str
    csrf: dict[str, str]


def seeded(system: System, number: int, token: str) -> Attacker:
    """Sign in root (every role) from a fresh address and read each service's CSRF token.

    A fresh address per route: the per-IP limits one route's examples reach stay its own.
    """
    address = f"10.{number // 250}.{number % 250}"
    admin = Browser(ClientFrom(system.wsgi, f"{address}.1"))
    assert admin.log_in("root").status_code == 302
    csrf = {
        "auth": admin.csrf_token("/auth/account"),
        "blog": admin.csrf_token("/posts/new"),
        "api": "",
    }
    return Attacker(admin, ClientFrom(system.wsgi, f"{address}.2"), token, csrf)


@pytest.fixture
def world(system: System) -> System:
    """The system with root (every role), two published posts with a tag, a comment, and a
    project with a task, so that parameters like ``1`` or ``seed`` reach real objects."""
    system.make_admin("root")
    # root signs in afresh for every route; the per-account budget (tested in auth's suite)
    # would refuse that after five sign-ins a minute.
    system.apps["auth"].config["LOGIN_RATE_LIMIT_ACCOUNT"] = "10000 per minute"
    # Two pages of one post each: the pagination links are drawn (they once fed url_for).
    system.apps["blog"].config["BLOG_POSTS_PER_PAGE"] = 1
    root = system.browser()
    assert root.log_in("root").status_code == 302
    for title in ("Seed two", "Seed"):
        response = root.submit(
            "/posts/new", "/posts/new", title=title, body="Text.", tags="common", published="y"
        )
        assert response.status_code == 302, response.get_data(as_text=True)
    assert root.submit("/posts/seed", "/posts/seed/comments", body="A comment.").status_code == 302
    token = system.token("root")
    project = system.api("POST", "/v1/projects", token, json={"name": "Seed"})
    assert project.status_code == 201
    task = {"title": "Seed", "tags": ["common"]}
    assert system.api("POST", "/v1/projects/1/tasks", token, json=task).status_code == 201
    return system


class ErrorRecords(logging.Handler):
    """Collects every record at ERROR or above: an unhandled exception logs one."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def logged_errors() -> Iterator[ErrorRecords]:
    handler = ErrorRecords()
    root = logging.getLogger()
    root.addHandler(handler)
    yield handler
    root.removeHandler(handler)


# --- requests --------------------------------------------------------------------------------

PARAMETER = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")
#: GETs first, DELETEs last: the seeded objects survive as long as possible.
METHOD_ORDER = {"GET": 0, "POST": 1, "PUT": 2, "PATCH": 3, "DELETE": 4}


def routes(system: System, service: str) -> list[tuple[Rule, str]]:
    """Every (rule, method) of ``service``, in an order that keeps the seeded data longest."""
    app = system.apps[service]
    pairs = [
        (rule, method)
        for rule in app.url_map.iter_rules()
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})
    ]
    return sorted(pairs, key=lambda pair: (METHOD_ORDER.get(pair[1], 9), pair[0].rule))


@st.composite
def hostile_requests(draw: st.DrawFn, rule: Rule, method: str) -> dict[str, Any]:
    """Arguments for ``Client.open``: a URL for ``rule`` and, for writes, a body."""

    def parameter(match: re.Match[str]) -> str:
        if match.group(1) == "int":
            return encode(draw(st.sampled_from([*HUGE_NUMBERS, "1", "2", "3"])))
        return encode(draw(hostile_text))

    path = PARAMETER.sub(parameter, rule.rule)
    query = draw(
        st.lists(st.tuples(st.sampled_from(QUERY_NAMES) | hostile_text, hostile_text), max_size=3)
    )
    if query:
        path += "?" + form_encode(query).decode()
    arguments: dict[str, Any] = {"path": path, "method": method}
    if method in {"POST", "PUT", "PATCH"}:
        kind = draw(st.sampled_from(["form", "form", "json", "json", "deep", "none"]))
        if kind == "form":
            fields = draw(
                st.lists(st.tuples(st.sampled_from(FIELD_NAMES), hostile_text), max_size=6)
            )
            arguments["fields"] = fields
        elif kind == "json":
            document = draw(json_documents)
            arguments["data"] = json.dumps(document)  # lone surrogates become "\ud800"
            arguments["content_type"] = "application/json"
        elif kind == "deep":
            arguments["data"] = draw(deep_json)
            arguments["content_type"] = "application/json"
    if method in {"PUT", "PATCH", "DELETE"}:
        arguments["headers"] = {
            "If-Match": draw(st.sampled_from(["*", '"x"', 'W/"x"', "", "a" * 5000]))
        }
    arguments["anonymous"] = draw(st.booleans())
    return arguments


def send(attacker: Attacker, service: str, arguments: dict[str, Any]) -> TestResponse:
    arguments = dict(arguments)
    anonymous = arguments.pop("anonymous")
    arguments["path"] = PREFIXES[service] + arguments["path"]
    if "fields" in arguments:
        fields = arguments.pop("fields")
        if not anonymous:  # a real form carries its token: the request reaches the validation
            fields = [("csrf_token", attacker.csrf[service]), *fields]
        arguments["data"] = form_encode(fields)
        arguments["content_type"] = "application/x-www-form-urlencoded"
    if service == "api" and not anonymous:
        arguments["headers"] = {
            **arguments.get("headers", {}),
            "Authorization": f"Bearer {attacker.token}",
        }
    client = attacker.anonymous if anonymous else attacker.admin.client
    return client.open(**arguments)


def replays(rule: Rule, method: str) -> list[dict[str, Any]]:
    """The review's findings, sent to every route whatever Hypothesis draws: huge ids, NUL and
    lone surrogates in parameters, url_for's keywords and a huge page in the query, control
    characters in every form field, unstorable text and 30,000 nested arrays in JSON."""

    def path(int_value: str, text_value: str, query: str) -> str:
        def parameter(match: re.Match[str]) -> str:
            return encode(int_value if match.group(1) == "int" else text_value)

        return PARAMETER.sub(parameter, rule.rule) + "?" + query

    cases: list[dict[str, Any]] = [
        {"path": path("99999999999999999999", "a\x00b", "endpoint=x&_method=POST&_anchor=x")},
        {"path": path("9" * 5000, "\ud800", "page=99999999999999999999&_external=1")},
        {"path": path(str(2**63), "seed", "q=a%00b&next=%ED%A0%80&page=-1")},
    ]
    if method in {"POST", "PUT", "PATCH"}:
        unstorable = dict.fromkeys(FIELD_NAMES, "\ud800a\x00")
        cases += [
            {"path": path("1", "seed", ""), "fields": [(n, "a\x07\x1b\x85") for n in FIELD_NAMES]},
            {"path": path("1", "seed", ""), "fields": [(n, "a\x00b") for n in FIELD_NAMES]},
            {
                "path": path("1", "seed", ""),
                "data": json.dumps({**unstorable, "priority": 4.0, "tags": ["abc\n"]}),
                "content_type": "application/json",
            },
            {
                "path": path("1", "seed", ""),
                "data": "[" * 30_000 + "]" * 30_000,  # under every service's size limit
                "content_type": "application/json",
            },
        ]
    if method in {"PUT", "PATCH", "DELETE"}:
        for case in cases:
            case["headers"] = {"If-Match": "*"}
    return [{**case, "method": method, "anonymous": False} for case in cases]


def sweep(attacker: Attacker, service: str, rule: Rule, method: str, errors: ErrorRecords) -> None:
    """Send the replays, then what Hypothesis draws, to one route; any 5xx or error fails."""

    def check(arguments: dict[str, Any]) -> None:
        errors.records.clear()
        with send(attacker, service, arguments) as response:  # closes the files it sends
            assert response.status_code < 500, (method, arguments["path"], response.status)
            assert b"Traceback" not in response.get_data()
        assert not errors.records, [record.getMessage() for record in errors.records]

    for arguments in replays(rule, method):
        check(arguments)
    given(arguments=hostile_requests(rule, method))(SWEEP(check))()


@pytest.mark.parametrize("service", ["auth", "blog", "api"])
def test_no_route_answers_hostile_input_with_a_server_error(
    world: System, logged_errors: ErrorRecords, service: str
) -> None:
    token = world.token("root")
    swept = routes(world, service)
    for number, (rule, method) in enumerate(swept):
        sweep(seeded(world, number, token), service, rule, method, logged_errors)
    assert len(swept) >= 10  # every route of the service, not a silently empty sweep
