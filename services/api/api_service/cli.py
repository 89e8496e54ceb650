"""Command-line tools of the api service (``flask --app api_service <command>``).

``dev-token`` (api_service.devidentity): a bearer token to call the API without auth.
"""

from __future__ import annotations

from flask import Flask

from api_service.devidentity import dev_token


def register_commands(app: Flask) -> None:
    """Add the service's commands to ``flask --app api_service``."""
    app.cli.add_command(dev_token)
