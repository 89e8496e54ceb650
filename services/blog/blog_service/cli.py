"""Command-line tools: ``flask --app blog_service seed-demo`` and ``dev-login``."""

from __future__ import annotations

from typing import Any

import click
from flask import Flask
from flask.cli import with_appcontext
from sqlalchemy import select

from blog_service import card_lists
from blog_service.devidentity import dev_login
from blog_service.extensions import db
from blog_service.markdown import render_markdown
from blog_service.models import Comment, Post, Tag

DEMO_AUTHOR = ("demo-author", "ada")
DEMO_READER = ("demo-reader", "grace")
DEMO_POSTS: list[dict[str, Any]] = [
    {
        "title": "Welcome to the Flask services blog",
        "summary": "What this blog is and how it is built.",
        "tags": ["flask", "meta"],
        "body": (
            "This blog is one of three small Flask services that share a library.\n\n"
            "* Posts are written in **Markdown** and sanitized before they are shown.\n"
            "* Sign-in happens in the *auth* service; the blog only verifies a token.\n\n"
            "Read the code top to bottom: it is meant to be copied."
        ),
        "comments": ["Looks good!", "Where do I start reading?"],
    },
    {
        "title": "Application factories in five minutes",
        "summary": "Why create_app() beats a global app object.",
        "tags": ["flask", "patterns"],
        "body": (
            "An application factory builds a fresh app per call, so tests get their own:\n\n"
            "```python\ndef create_app(overrides=None):\n    app = Flask(__name__)\n"
            "    app.config.from_mapping(overrides or {})\n    return app\n```\n"
        ),
        "comments": ["Tests with a fresh app each are so much calmer."],
    },
    {
        "title": "No lost updates",
        "summary": "A version column turns a silent overwrite into a clear conflict.",
        "tags": ["sqlalchemy", "patterns"],
        "body": (
            "Each post carries a `version`. The edit form remembers the version it loaded; "
            "saving a stale form is refused with a **409** and your text is kept."
        ),
        "comments": [],
    },
]


def add_demo_posts(author_id: str, author_name: str) -> int:
    """Add the demo posts (with their tags and comments) by this author; how many were new.

    A post the author already has (by title) is not added again. The embedded runner gives the
    demo author's real id, so that account can edit them; ``seed-demo`` a placeholder author.
    """
    reader_id, reader_name = DEMO_READER
    created = 0
    for demo in DEMO_POSTS:
        already_there = db.session.scalar(
            select(Post.id).where(Post.author_id == author_id, Post.title == demo["title"])
        )
        if already_there is not None:
            continue
        tags = Tag.get_or_create(demo["tags"])
        post = Post(
            slug=Post.unique_slug(demo["title"]),
            title=demo["title"],
            summary=demo["summary"],
            body=demo["body"],
            body_html=render_markdown(demo["body"]),
            author_id=author_id,
            author_name=author_name,
            tags=tags,
        )
        post.publish(True)
        db.session.add(post)
        db.session.flush()  # gives the post its id for the comments
        for text in demo["comments"]:
            db.session.add(
                Comment(post_id=post.id, author_id=reader_id, author_name=reader_name, body=text)
            )
        created += 1
    db.session.commit()
    # The embedded runner's first start adds them in the process that then serves the pages.
    card_lists.forget_all()
    return created


@click.command("seed-demo")
@with_appcontext
def seed_demo() -> None:
    """Add demo posts, tags and comments; running it again adds nothing twice."""
    created = add_demo_posts(*DEMO_AUTHOR)
    click.echo(f"Demo content: {created} post(s) added, {len(DEMO_POSTS) - created} already there.")


def register_commands(app: Flask) -> None:
    """Add the blog's commands to ``app.cli``."""
    app.cli.add_command(seed_demo)
    app.cli.add_command(dev_login)
