"""Command-line tools: ``flask --app blog_service seed-demo`` and ``dev-login``."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    """Add the blog's commands to ``app.cli``."""
