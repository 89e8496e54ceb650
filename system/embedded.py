"""The embedded default: the three services in one process, at their prefixes, on SQLite.

    nox -s dev                    # or: python system/embedded.py  (in a venv with the packages)
    nox -s dev -- auth create-admin   # a service's flask command, with the embedded settings

One port (http://127.0.0.1:8000, or $PORT) serves the whole site the way the nginx gateway does
in production: blog at /, auth at /auth, api at /api. Werkzeug's DispatcherMiddleware sets
SCRIPT_NAME for each mounted app, so url_for builds the prefixed URLs by itself. Every service
keeps its SQLite database in instance/<service>/; migrations are applied at start. Outgoing
email is delivered in this process too (a background thread), as one .eml file per message in
instance/mail/, with its subject, recipient and links printed to the console. The first start
on an instance without users makes the demo accounts and posts and prints the accounts'
passwords, that once (development only: see demo_content); every start prints the URLs to open.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import os
import re
import sys
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.wrappers import Response

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Mount:
    """A service mounted at ``prefix``: its package and its environment-variable prefix."""

    prefix: str
    package: str
    name: str


#: Every service of the system. A service joins by being added here; one whose package is not
#: installed is not mounted.
MOUNTS = [
    Mount("/auth", "auth_service", "auth"),  # first: it writes the JWKS the others read
    Mount("/api", "api_service", "api"),
    Mount("", "blog_service", "blog"),
]


def system_environ(instance_root: Path, base: Mapping[str, str]) -> dict[str, str]:
    """The environment the services get: development mode, one instance folder each."""
    environ = dict(base)
    environ.setdefault("APP_ENV", "development")
    # one in-process revocation store shared by the three apps: a logout in auth is seen at once
    environ.setdefault("REVOCATION_STORE_URI", "memory://embedded")
    # auth's mail as .eml files beside the databases, not to an SMTP server
    environ.setdefault("AUTH_MAIL_TRANSPORT", "files")
    environ.setdefault("AUTH_MAIL_DIR", str(instance_root / "mail"))
    jwks = instance_root / "auth" / "jwks.json"
    for mount in MOUNTS:
        prefix = mount.name.upper()
        environ.setdefault(f"{prefix}_INSTANCE_PATH", str(instance_root / mount.name))
        if mount.name != "auth" and not environ.get("AUTH_JWKS_URL"):
            environ.setdefault(f"{prefix}_AUTH_JWKS_FILE", str(jwks))
    return environ


def installed_mounts() -> list[Mount]:
    """The services whose packages are installed."""
    return [mount for mount in MOUNTS if importlib.util.find_spec(mount.package) is not None]


def create_apps(
    environ: Mapping[str, str], overrides: Mapping[str, Any] | None = None
) -> dict[str, Flask]:
    """Create every installed service's app, keyed by prefix ("" for the root)."""
    apps: dict[str, Flask] = {}
    for mount in installed_mounts():
        module = importlib.import_module(mount.package)
        apps[mount.prefix] = module.create_app(overrides, environ=environ)
    return apps


def _index(_environ: dict[str, Any], start_response: Any) -> Any:
    """Answers at / until the blog is installed: lists what is mounted."""
    mounted = ", ".join(m.prefix for m in installed_mounts() if m.prefix) or "nothing yet"
    return Response(f"Flask services (embedded). Mounted: {mounted}\n")(_environ, start_response)


def dispatcher(apps: Mapping[str, Flask]) -> DispatcherMiddleware:
    """One WSGI app serving each service at its prefix, the blog at the root."""
    mounts = {prefix: app for prefix, app in apps.items() if prefix}
    root = apps.get("", _index)
    return DispatcherMiddleware(root, mounts)  # type: ignore[arg-type]


def upgrade_databases(apps: Mapping[str, Flask]) -> None:
    """Apply every service's migrations (Flask-Migrate's ``upgrade``)."""
    from flask_migrate import upgrade

    for app in apps.values():
        with app.app_context():
            upgrade()


def start_mail_sender(
    apps: Mapping[str, Flask], stop: threading.Event | None = None
) -> threading.Thread | None:
    """Deliver auth's outbox from a thread of this process: no worker to start in development."""
    auth = apps.get("/auth")
    if auth is None:
        return None
    from auth_service.mail.sender import start_background_sender

    return start_background_sender(auth, stop)


#: An ANSI escape sequence (Werkzeug colours its request lines by status).
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")
#: The request line Werkzeug logs: ``"GET /auth/login HTTP/1.1"`` (the path is the second word).
_REQUEST_LINE = re.compile(r'"[A-Z]+ (/[^ "]*)')


def mount_for_path(path: str, mounts: list[Mount]) -> Mount | None:
    """The mount that serves ``path``, as the dispatcher chooses it (the longest prefix)."""
    for mount in sorted(mounts, key=lambda m: len(m.prefix), reverse=True):
        if not mount.prefix or path == mount.prefix or path.startswith(mount.prefix + "/"):
            return mount
    return None


class WerkzeugLines(logging.Filter):
    """Werkzeug's own log lines, fit for the JSON log: the service that answered, no colours.

    Werkzeug logs each request after the app returned, outside every app context, so the line
    would name the process's first service; its path says which one answered. Its colour codes
    are kept only when stderr is a terminal (they make a log file or a pipe unreadable).
    """

    def __init__(self, mounts: list[Mount], *, colours: bool) -> None:
        super().__init__()
        self.mounts = mounts
        self.colours = colours

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.colours:
            record.msg = ANSI_ESCAPE.sub("", str(record.msg))
            if isinstance(record.args, tuple):
                record.args = tuple(
                    ANSI_ESCAPE.sub("", arg) if isinstance(arg, str) else arg for arg in record.args
                )
        found = _REQUEST_LINE.search(ANSI_ESCAPE.sub("", record.getMessage()))
        mount = mount_for_path(found.group(1), self.mounts) if found else None
        if mount is not None:
            record.__dict__["service"] = mount.name  # an extra= field, as the formatter reads
        return True


def configure_embedded_logging(environ: Mapping[str, str]) -> None:
    """JSON log lines on stderr: a line outside every app is the system's, Werkzeug's adapted."""
    from servicekit.logging import configure_logging

    # First: the lines logged outside every app (the start, Werkzeug's) name the system, not
    # whichever service happened to configure logging first.
    configure_logging("embedded", environ.get("LOG_LEVEL", "INFO"))
    werkzeug = logging.getLogger("werkzeug")
    for old in [f for f in werkzeug.filters if isinstance(f, WerkzeugLines)]:
        werkzeug.removeFilter(old)
    werkzeug.addFilter(WerkzeugLines(installed_mounts(), colours=sys.stderr.isatty()))


#: The pages a newcomer opens first: (prefix of the service that serves it, path, what it is).
FIRST_PAGES = [
    ("", "/", "the blog"),
    ("/auth", "/auth/login", "sign in (a demo account, or register)"),
    ("", "/posts/new", "write a post (as the author or the admin)"),
    ("/auth", "/auth/admin/users", "users and their roles (as the admin)"),
    ("/api", "/api/docs", "the API's interactive documentation"),
]


def demo_content(apps: Mapping[str, Flask]) -> list[str]:
    """On an instance without users: the demo accounts and posts. Lines saying what was made.

    Development only: auth refuses to make demo accounts outside APP_ENV=development, and the
    refusal is all that is said. The passwords are in the lines returned and nowhere else.
    """
    auth, blog = apps.get("/auth"), apps.get("")
    if auth is None:
        return []
    from auth_service.demo import NotDevelopmentError, create_demo_accounts

    with auth.app_context():
        try:
            accounts = create_demo_accounts()
        except NotDevelopmentError as refused:
            return [f"No demo accounts: {refused}."]
    if not accounts:
        return []
    lines = ["Demo accounts (development only; the passwords are shown this once, stored nowhere):"]
    lines += [
        f"  {account.username:<12} password {account.password}   roles: {' '.join(account.roles)}"
        for account in accounts
    ]
    lines.append(
        "  Lost one? Reset it at /auth/password/forgot (the email lands in instance/mail/), "
        "or delete instance/ to start afresh."
    )
    author = next((a for a in accounts if "author" in a.roles and "admin" not in a.roles), None)
    if blog is not None and author is not None:
        from blog_service.cli import add_demo_posts

        with blog.app_context():
            added = add_demo_posts(str(author.id), author.username)
        lines.append(f"Demo posts: {added}, by {author.username} (who may edit them).")
    return lines


def welcome(apps: Mapping[str, Flask], base_url: str, instance_root: Path) -> str:
    """What the runner prints at start: the demo content made now, and the URLs to open."""
    lines = demo_content(apps)
    lines.append(f"The system runs at {base_url}/ :")
    lines += [
        f"  {base_url}{path:<20} {what}" for prefix, path, what in FIRST_PAGES if prefix in apps
    ]
    if "/auth" in apps:
        lines.append(f"  Emails the system sends: {instance_root / 'mail'}")
    return "\n".join(lines)


def run_service_command(service: str, args: list[str], environ: Mapping[str, str]) -> None:
    """Run ``flask <args>`` for one service, configured as in the embedded system."""
    from flask.cli import FlaskGroup

    mount = next((m for m in installed_mounts() if m.name == service), None)
    if mount is None:
        names = ", ".join(m.name for m in installed_mounts())
        raise SystemExit(f"unknown service {service!r}; installed: {names}")
    module = importlib.import_module(mount.package)
    cli = FlaskGroup(create_app=lambda: module.create_app(environ=environ))
    cli.main(args=args, prog_name=f"nox -s dev -- {service}")


def main() -> None:
    """Run the system on one port with the reloader, or one service's flask command."""
    from dotenv import load_dotenv
    from werkzeug.serving import run_simple

    load_dotenv(ROOT / ".env")
    environ = system_environ(ROOT / "instance", os.environ)
    if len(sys.argv) > 1:
        run_service_command(sys.argv[1], sys.argv[2:], environ)
        return
    configure_embedded_logging(environ)
    apps = create_apps(environ)
    upgrade_databases(apps)
    # With the reloader this runs twice: in the watching parent and in the serving child
    # (WERKZEUG_RUN_MAIN set). Only the child sends, so no message goes out twice.
    if os.environ.get("WERKZEUG_RUN_MAIN") == "true":
        start_mail_sender(apps)
    port = int(os.environ.get("PORT", "8000"))
    # Once, in the process that watches for changes: not again at every reload.
    if os.environ.get("WERKZEUG_RUN_MAIN") != "true":
        print(welcome(apps, f"http://127.0.0.1:{port}", ROOT / "instance"), flush=True)
    run_simple(
        "127.0.0.1",
        port,
        dispatcher(apps),
        use_reloader=True,
        extra_files=[str(ROOT / ".env")] if (ROOT / ".env").exists() else None,
        threaded=True,
    )


if __name__ == "__main__":
    main()
