"""Pages cost a fixed number of SQL statements, however many posts the blog has."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient

from blog_service.extensions import db
from blog_service.models import Comment
from servicekit.testing import count_queries
from tests.factories import make_post


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


def queries_for(app: Flask, client: FlaskClient, url: str) -> int:
    with app.app_context(), count_queries(db) as statements:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(statements)


def page_costs(app: Flask, client: FlaskClient, posts: int) -> dict[str, int]:
    fill(app, posts)
    return {
        url: queries_for(app, client, url)
        for url in ("/", "/?page=1", "/posts/post-1", "/tags/common", "/feed.xml", "/search?q=post")
    }


def test_query_count_does_not_grow_with_posts(app: Flask, client: FlaskClient) -> None:
    small = page_costs(app, client, 3)
    with app.app_context():
        db.drop_all()
        db.create_all()
    large = page_costs(app, client, 300)
    assert small == large, (small, large)
    assert small["/"] <= 3  # count, page, tags of the page
