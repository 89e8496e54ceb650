"""``link_for``: ``url_for`` for the links a list repeats on every card, at a fraction of its cost.

A page of ten cards links each post, its author and its tags: some fifty ``url_for`` calls, and
each one walks Flask's URL defaults, the blueprint and the rule's parts again, for paths that
differ only in their last segment. ``link_for("posts.tag", name="flask")`` asks ``url_for``
once per request for the path with a placeholder as the argument, keeps what comes before it,
and appends each value quoted as the rule's converter quotes it. The answer is the same string
``url_for`` gives (tests/test_links.py compares them); a rule whose argument is not the end of
its path is simply left to ``url_for``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from flask import g, url_for

#: What Werkzeug's default converter leaves unquoted in a path segment (BaseConverter.to_url).
_SAFE = "!$&'()*+,/:;=@"
_PLACEHOLDER = "PLACEHOLDER"


def link_for(endpoint: str, **argument: Any) -> str:
    """``url_for(endpoint, name=value)`` for an endpoint whose path ends with its one argument."""
    ((name, value),) = argument.items()
    prefixes: dict[str, str | None] = g.setdefault("link_prefixes", {})
    if endpoint not in prefixes:
        # Built per request, not per process: the prefix holds the request's script root.
        placeholder: dict[str, Any] = {name: _PLACEHOLDER}
        path = url_for(endpoint, **placeholder)
        ends_with_it = path.endswith(_PLACEHOLDER)
        prefixes[endpoint] = path.removesuffix(_PLACEHOLDER) if ends_with_it else None
    prefix = prefixes[endpoint]
    if prefix is None:
        return url_for(endpoint, **argument)
    return prefix + quote(str(value), safe=_SAFE)
