"""The migrations build exactly the schema the models describe, and move data forward."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import downgrade, upgrade
from PIL import Image
from sqlalchemy import Connection, select, text

from blog_service.extensions import db
from blog_service.models import Post, StoredImage


# SQLite cannot reflect the PostgreSQL-only search index (an expression): alembic says it skips
# it there. On PostgreSQL (nox -s postgres) the index is compared like every other.
@pytest.mark.filterwarnings("ignore:autogenerate skipping metadata-specified expression-based")
def test_migrations_match_the_models(app: Flask) -> None:
    with app.app_context():
        db.drop_all()
        upgrade()
        with db.engine.connect() as connection:
            differences = compare_metadata(MigrationContext.configure(connection), db.metadata)
    assert differences == []


BEFORE_IMAGES = "94824a45df68"


def old_post(connection: Connection, number: int, cover_image: str | None) -> None:
    """A post row as the schema before the images table stored it."""
    # As text: Python 3.12 deprecated sqlite3's own datetime adapter (and PostgreSQL casts it).
    now = datetime(2026, 1, 1).isoformat(" ")
    connection.execute(
        text(
            "INSERT INTO posts (id, slug, title, summary, body, body_html, status, author_id,"
            " author_name, cover_image, cover_alt, created_at, updated_at, version) VALUES"
            " (:id, :slug, 'T', '', 'B', '<p>B</p>', 'published', '1', 'alice', :cover, '',"
            " :now, :now, 1)"
        ),
        {"id": number, "slug": f"post-{number}", "cover": cover_image, "now": now},
    )


def jpeg_with_exif() -> bytes:
    exif = Image.Exif()
    exif[0x013B] = "Alice Secretname"
    buffer = io.BytesIO()
    Image.new("RGB", (6, 4), (1, 2, 3)).save(buffer, format="JPEG", exif=exif)
    return buffer.getvalue()


def test_upgrading_imports_the_old_upload_folder(
    app: Flask, tmp_path: Path, client: FlaskClient
) -> None:
    folder = tmp_path / "uploads"  # the old default: <instance>/uploads
    folder.mkdir()
    photo = jpeg_with_exif()
    (folder / ("a" * 32 + ".jpg")).write_bytes(photo)
    (folder / ("b" * 32 + ".jpg")).write_bytes(photo)  # the same picture twice
    (folder / ("c" * 32 + ".png")).write_bytes(b"not an image at all")
    with app.app_context():
        db.drop_all()
        upgrade(revision=BEFORE_IMAGES)
        with db.engine.begin() as connection:
            old_post(connection, 1, "a" * 32 + ".jpg")
            old_post(connection, 2, "b" * 32 + ".jpg")
            old_post(connection, 3, "c" * 32 + ".png")  # no longer decodes: loses its cover
            old_post(connection, 4, "d" * 32 + ".png")  # the file is gone: loses its cover
            old_post(connection, 5, None)
        upgrade()
        covers = {
            row.id: row.cover_sha256
            for row in db.session.execute(select(Post.id, Post.cover_sha256))
        }
        images = db.session.scalars(select(StoredImage)).all()
    [image] = images
    assert covers == {1: image.sha256, 2: image.sha256, 3: None, 4: None, 5: None}
    assert image.media_type == "image/jpeg"
    served = client.get(f"/images/{image.sha256}")
    assert served.status_code == 200
    assert b"Alice Secretname" not in served.data  # imported files are re-encoded too
    assert (folder / ("a" * 32 + ".jpg")).exists()  # the folder is left for the operator


def test_the_old_folder_setting_is_still_read_and_downgrading_writes_files_back(
    app: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    monkeypatch.setenv("BLOG_UPLOAD_FOLDER", str(folder))
    (folder / ("a" * 32 + ".jpg")).write_bytes(jpeg_with_exif())
    with app.app_context():
        db.drop_all()
        upgrade(revision=BEFORE_IMAGES)
        with db.engine.begin() as connection:
            old_post(connection, 1, "a" * 32 + ".jpg")
        upgrade()
        assert db.session.scalar(select(Post.cover_sha256)) is not None
        db.session.remove()

        downgrade(revision=BEFORE_IMAGES)
        with db.engine.connect() as connection:
            name = connection.execute(text("SELECT cover_image FROM posts")).scalar_one()
        assert name != "a" * 32 + ".jpg"
        with Image.open(folder / name) as image:
            assert image.format == "JPEG"
            assert image.size == (6, 4)
        upgrade()  # and back again, for the fixture's teardown


BEFORE_CHEAP_PAGES = "5d1e7c0a9b3f"


def test_upgrading_counts_the_comments_already_there(app: Flask) -> None:
    with app.app_context():
        db.drop_all()
        upgrade(revision=BEFORE_CHEAP_PAGES)
        with db.engine.begin() as connection:
            now = datetime(2026, 1, 1).isoformat(" ")
            for post_id in (1, 2):
                connection.execute(
                    text(
                        "INSERT INTO posts (id, slug, title, summary, body, body_html, status,"
                        " author_id, author_name, cover_alt, created_at, updated_at, version)"
                        " VALUES (:id, :slug, 'T', '', 'B', '<p>B</p>', 'published', '1',"
                        " 'alice', '', :now, :now, 1)"
                    ),
                    {"id": post_id, "slug": f"post-{post_id}", "now": now},
                )
            for post_id in (1, 1, 1, 2):
                connection.execute(
                    text(
                        "INSERT INTO comments (post_id, author_id, author_name, body, created_at)"
                        " VALUES (:post_id, '3', 'carol', 'Hi', :now)"
                    ),
                    {"post_id": post_id, "now": now},
                )
            connection.execute(text("UPDATE posts SET published_at = :now"), {"now": now})
        upgrade()
        rows = db.session.execute(select(Post.id, Post.comment_count))
        counts = {row.id: row.comment_count for row in rows}
        published = db.session.scalar(select(Post.published_at).where(Post.id == 1))
        db.session.remove()
        downgrade(revision=BEFORE_CHEAP_PAGES)
        upgrade()  # and back again, for the fixture's teardown
    assert counts == {1: 3, 2: 1}
    # The old rows' times were UTC without a zone: they are read as UTC.
    assert published == datetime(2026, 1, 1, tzinfo=UTC)
