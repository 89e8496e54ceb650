"""Pages cost a fixed number of SQL statements, however many posts the blog has, and none of
them counts anything."""

from __future__ import annotations

import os
import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, text

from blog_service.extensions import db
from blog_service.models import Comment, Post
from blog_service.queries import search_criteria
from servicekit.testing import count_queries
from tests.support import make_post


def fill(app: Flask, posts: int) -> None:
    """``posts`` published posts, each with two tags and three comments."""
    with app.app_context():
        made = [
            make_post(f"Post {n}", tags=["common", f"tag-{n % 7}"], age_minutes=n, commit=False)
            for n in range(posts)
        ]
        db.session.flush()
        for post in made:
            for number in range(3):
                db.session.add(
                    Comment(post_id=post.id, author_id="3", author_name="c", body=f"c{number}")
                )
        db.session.commit()


PAGES = ("/", "/posts/post-1", "/tags/common", "/authors/1", "/feed.xml", "/search?q=post")


def statements_for(app: Flask, client: FlaskClient, url: str) -> list[str]:
    with app.app_context(), count_queries(db) as statements:
        response = client.get(url)
    assert response.status_code == 200, url
    return statements


def queries_for(app: Flask, client: FlaskClient, url: str) -> int:
    return len(statements_for(app, client, url))


def page_costs(app: Flask, client: FlaskClient, posts: int) -> dict[str, int]:
    fill(app, posts)
    return {url: queries_for(app, client, url) for url in PAGES}


def test_query_count_does_not_grow_with_posts(app: Flask, client: FlaskClient) -> None:
    small = page_costs(app, client, 3)
    with app.app_context():
        db.drop_all()
        db.create_all()
    large = page_costs(app, client, 300)
    assert small == large, (small, large)


def test_a_list_is_one_statement(app: Flask, client: FlaskClient) -> None:
    """The page and the tags of its posts come in one SELECT, on SQLite as on PostgreSQL."""
    fill(app, 12)
    for url in ("/", "/tags/common", "/authors/1", "/feed.xml", "/search?q=post"):
        assert queries_for(app, client, url) == 1, url


def test_a_post_page_is_two_statements(app: Flask, client: FlaskClient) -> None:
    """The post with its tags (joined), then its comments."""
    fill(app, 3)
    assert queries_for(app, client, "/posts/post-1") == 2


def older_page(app: Flask, client: FlaskClient, url: str) -> str:
    """The URL of the "Older posts" link on ``url``."""
    page = client.get(url).get_data(as_text=True)
    match = re.search(r'<a rel="next" href="([^"]+)">Older', page)
    assert match is not None, url
    return match.group(1).replace("&amp;", "&")


#: What counting looks like in SQL: COUNT(...) or any GROUP BY.
COUNTING = re.compile(r"\bcount\s*\(|\bgroup\s+by\b", re.IGNORECASE)
#: Any read of the comments table.
READS_COMMENTS = re.compile(r"\bfrom\s+comments\b", re.IGNORECASE)


def test_no_page_view_counts_or_aggregates_comments(app: Flask, client: FlaskClient) -> None:
    fill(app, 25)
    later_pages = [older_page(app, client, url) for url in ("/", "/tags/common")]
    for url in (*PAGES, *later_pages):
        statements = statements_for(app, client, url)
        assert not [s for s in statements if COUNTING.search(s)], url
        if url != "/posts/post-1":  # the post's own page lists its comments (one SELECT)
            assert not [s for s in statements if READS_COMMENTS.search(s)], url


def test_a_later_page_costs_what_the_first_costs(app: Flask, client: FlaskClient) -> None:
    fill(app, 40)
    second = older_page(app, client, "/")
    third = older_page(app, client, second)
    costs = {queries_for(app, client, url) for url in ("/", second, third)}
    assert costs == {1}


ON_POSTGRES = os.environ.get("TEST_DATABASE_URL", "").startswith(("postgresql", "postgres:"))


@pytest.mark.skipif(not ON_POSTGRES, reason="full-text search is PostgreSQL's")
def test_search_reads_the_text_search_index(app: Flask, client: FlaskClient) -> None:
    with app.app_context():
        make_post("Deploying services", body="Gunicorn behind nginx.")
        make_post("Something else", body="Nothing to see.")
        statement = select(Post.id).where(search_criteria("deployed"))
        compiled = statement.compile(
            dialect=db.engine.dialect, compile_kwargs={"literal_binds": True}
        )
        db.session.execute(text("SET LOCAL enable_seqscan = off"))  # a tiny table: force a choice
        plan = "\n".join(db.session.scalars(text(f"EXPLAIN {compiled}")))
        db.session.rollback()
    assert "ix_posts_search" in plan
    # Stemmed words, not substrings: "deployed" finds "Deploying"; "Depl" finds nothing.
    assert "Deploying services" in client.get("/search?q=deployed").get_data(as_text=True)
    assert "Deploying services" not in client.get("/search?q=Depl").get_data(as_text=True)
