"""The names a fork gets, and the rules that rewrite upstream text into them.

A fork of service ``blog`` as package ``journal`` renames, in every copied file:

* the import package ``blog_service`` -> ``journal`` (imports, ``flask --app``, package data);
* the distributions ``flask-services-blog`` and ``flask-services-kit`` -> ``journal`` (one
  distribution now holds both), and the family name ``flask-services`` -> ``journal`` (so the
  default token issuer ``flask-services-auth`` becomes ``journal-auth`` and the audience
  ``flask-services`` becomes ``journal``; in an auth fork the issuer is the fork's own name);
* the human title ``Flask services`` -> ``Journal``;

and, in the service's own files only (the shared library has no service of its own):

* the service name as a whole string literal, ``"blog"`` -> ``"journal"``: what ``Env``,
  ``Settings.from_env`` and ``instance_path_from_env`` are given, so the environment prefix
  (``JOURNAL_``), the SQLite file, the session cookie and the metrics label follow;
* the environment prefix in upper-case names, ``BLOG_TITLE`` -> ``JOURNAL_TITLE``, except names
  the shared library itself uses (``AUTH_ISSUER`` stays the library's setting in an auth fork);
* what the shared library derives from the service name, ``blog_session`` (the session
  cookie) and ``blog.sqlite3`` (the SQLite file) -> ``journal_session``, ``journal.sqlite3``.

Prose such as "the blog" is left alone: a fork of the blog is still a blog.
"""

from __future__ import annotations

import keyword
import re
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

#: The upstream family name: distributions are ``flask-services-<service>`` and ``-kit``.
UPSTREAM_FAMILY = "flask-services"
UPSTREAM_TITLE = "Flask services"
#: Names a fork's package may not take: they would shadow what it vendors or contains.
RESERVED = {"servicekit", "tests", "docs", "migrations", "noxfile"}

_PACKAGE = re.compile(r"[a-z][a-z0-9_]*\Z")
_UPPER_NAME = re.compile(r"\b[A-Z][A-Z0-9_]*\b")
_QUOTED_UPPER_NAME = re.compile(r"[\"']([A-Z][A-Z0-9_]*)[\"']")


class ForkNameError(ValueError):
    """The package name cannot be used; the message says why."""


def check_package_name(package: str) -> str:
    """Return ``package`` if it can name the fork's import package, else raise ForkNameError."""
    if not _PACKAGE.match(package):
        raise ForkNameError(
            f"{package!r}: a package name is lower case letters, digits and underscores, "
            "starting with a letter"
        )
    if keyword.iskeyword(package) or package in sys.stdlib_module_names or package in RESERVED:
        raise ForkNameError(f"{package!r} is taken (a keyword, a standard module or a folder)")
    return package


def package_from_folder(folder_name: str) -> str:
    """The default package of a fork written to ``folder_name`` (``my-blog``: ``my_blog``)."""
    name = re.sub(r"[^a-z0-9]+", "_", folder_name.lower()).strip("_")
    return check_package_name(name)


@dataclass(frozen=True)
class Names:
    """Every name of one fork, derived from the upstream service and the new package."""

    service: str
    package: str
    library_names: frozenset[str] = field(default=frozenset())
    derived_suffixes: frozenset[str] = field(default=frozenset())

    @property
    def upstream_package(self) -> str:
        return f"{self.service}_service"

    @property
    def distribution(self) -> str:
        return self.package.replace("_", "-")

    @property
    def env_prefix(self) -> str:
        """The environment prefix without its underscore: ``JOURNAL`` reads ``JOURNAL_TITLE``."""
        return self.package.upper()

    @property
    def title(self) -> str:
        return self.package.replace("_", " ").capitalize()

    @property
    def growth(self) -> int:
        """How many characters longer a renamed name can be than the upstream one it replaces
        (0 if none grows): a line can grow by that much per name on it."""
        pairs = [
            (self.package, self.upstream_package),
            (self.env_prefix, self.service.upper()),
            (self.distribution, f"{UPSTREAM_FAMILY}-{self.service}"),
            (self.title, UPSTREAM_TITLE),
        ]
        return max(0, *(len(new) - len(old) for new, old in pairs))


Rule = Callable[[str], str]


def _substitute(pattern: str, replacement: str | Callable[[re.Match[str]], str]) -> Rule:
    compiled = re.compile(pattern)
    return lambda text: compiled.sub(replacement, text)


def common_rules(names: Names) -> list[Rule]:
    """The rules for every copied file, the shared library's included, in the order applied."""
    family = re.escape(UPSTREAM_FAMILY)
    return [
        _substitute(rf"\b{re.escape(names.upstream_package)}\b", names.package),
        # f"flask-services-{service}" (the version lookup): the distribution is now the
        # service's own name, which is the package name.
        _substitute(rf"{family}-\{{(\w+)\}}", r"{\1}"),
        _substitute(rf"\b{family}-(?:{re.escape(names.service)}|kit)\b", names.distribution),
        _substitute(rf"\b{family}\b", names.distribution),
        _substitute(rf"\b{re.escape(UPSTREAM_TITLE)}\b", names.title),
    ]


def service_rules(names: Names) -> list[Rule]:
    """The rules for the service's own files (package, tests, docs), after common_rules."""
    upper = names.service.upper() + "_"

    def prefix(match: re.Match[str]) -> str:
        name = match.group(0)
        if not name.startswith(upper) or name in names.library_names:
            return name
        return f"{names.env_prefix}_{name[len(upper) :]}"

    literal = re.escape(names.service)
    return [
        _substitute(rf"([\"']){literal}\1", rf"\g<1>{names.package}\g<1>"),
        _substitute(_UPPER_NAME.pattern, prefix),
    ] + [
        _substitute(rf"\b{literal}{re.escape(suffix)}\b", f"{names.package}{suffix}")
        for suffix in sorted(names.derived_suffixes)
    ]


def library_names(texts: Iterable[str]) -> frozenset[str]:
    """The settings and configuration keys the shared library reads: upper-case names in its
    string literals (``"AUTH_ISSUER"``), not the examples in its prose (``BLOG_DATABASE_URL``)."""
    return frozenset(name for text in texts for name in _QUOTED_UPPER_NAME.findall(text))


_DERIVED = [
    re.compile(r"\{(?:self\.)?service\}([._][A-Za-z]\w*)"),  # f"{self.service}_session"
    re.compile(r"\bservice \+ [\"']([._][A-Za-z]\w*)[\"']"),  # service + ".sqlite3"
]


def derived_suffixes(texts: Iterable[str]) -> frozenset[str]:
    """What the shared library appends to a service's name to name its things: ``_session``
    (the session cookie), ``.sqlite3`` (the default database file)."""
    return frozenset(
        suffix for text in texts for pattern in _DERIVED for suffix in pattern.findall(text)
    )


def rename(text: str, rules: Iterable[Rule]) -> str:
    """``text`` with every rule applied in order."""
    for rule in rules:
        text = rule(text)
    return text
