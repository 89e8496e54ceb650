"""Cover images: content-checked, size-limited, stored atomically, served safely."""

from __future__ import annotations

import errno
import io
from pathlib import Path
from typing import BinaryIO

import pytest
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy import func, select, update
from sqlalchemy.exc import OperationalError

from blog_service import uploads
from blog_service.extensions import db
from blog_service.markdown import render_markdown
from blog_service.models import Post
from blog_service.posts import views
from tests.conftest import csrf_token
from tests.factories import make_post


def image_bytes(image_format: str = "PNG", size: tuple[int, int] = (8, 8)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buffer, format=image_format)
    return buffer.getvalue()


def new_post(client: FlaskClient, data: bytes, filename: str = "cover.png", **fields: str):  # type: ignore[no-untyped-def]
    form = {
        "csrf_token": csrf_token(client, "/posts/new"),
        "title": "With cover",
        "body": "Text",
        "published": "y",
        "cover_alt": "A red square",
        "cover": (io.BytesIO(data), filename),
        **fields,
    }
    return client.post("/posts/new", data=form, content_type="multipart/form-data")


def stored_files(app: Flask) -> list[Path]:
    folder = Path(app.config["BLOG_UPLOAD_FOLDER"])
    return sorted(folder.iterdir()) if folder.exists() else []


def post_count(app: Flask) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(Post.id))) or 0


@pytest.mark.parametrize("image_format", ["PNG", "JPEG", "GIF", "WEBP"])
def test_cover_image_is_stored_and_served(
    app: Flask, alice: FlaskClient, client: FlaskClient, image_format: str
) -> None:
    data = image_bytes(image_format)
    response = new_post(alice, data, filename="whatever.txt")  # the name does not matter
    assert response.status_code == 302
    [stored] = stored_files(app)
    assert stored.read_bytes() == data
    assert uploads.STORED_NAME.fullmatch(stored.name)
    page = client.get("/posts/with-cover").get_data(as_text=True)
    assert f'src="/uploads/{stored.name}" alt="A red square"' in page
    with client.get(f"/uploads/{stored.name}") as image:  # closes the served file
        assert image.status_code == 200
        assert image.data == data
        expected = "jpeg" if image_format == "JPEG" else image_format.lower()
        assert image.mimetype == f"image/{expected}"
        assert image.headers["X-Content-Type-Options"] == "nosniff"
        assert "max-age=31536000" in image.headers["Cache-Control"]


def test_a_file_that_is_not_an_image_is_refused(app: Flask, alice: FlaskClient) -> None:
    response = new_post(alice, b"<script>alert(1)</script>", filename="cover.png")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "The file is not a PNG, JPEG, GIF or WebP image." in page
    assert 'id="cover-error"' in page
    assert post_count(app) == 0
    assert stored_files(app) == []


def test_other_image_formats_are_refused(app: Flask, alice: FlaskClient) -> None:
    response = new_post(alice, image_bytes("BMP"), filename="cover.png")
    assert response.status_code == 422
    assert "not a PNG, JPEG, GIF or WebP image" in response.get_data(as_text=True)


def test_a_too_large_image_is_refused(app: Flask, alice: FlaskClient) -> None:
    app.config["BLOG_MAX_IMAGE_BYTES"] = 2048
    big = image_bytes("PNG", (64, 64)) + b"\0" * 4096
    response = new_post(alice, big)
    assert response.status_code == 422
    assert "The image is too large: the limit is 2 KiB." in response.get_data(as_text=True)
    assert post_count(app) == 0
    assert stored_files(app) == []


def test_too_many_pixels_are_refused(app: Flask, alice: FlaskClient) -> None:
    app.config["BLOG_MAX_IMAGE_PIXELS"] = 100
    response = new_post(alice, image_bytes("PNG", (20, 20)))
    assert response.status_code == 422
    assert "too many pixels" in response.get_data(as_text=True)


def test_a_request_over_the_size_limit_gets_the_friendly_413(
    app: Flask, alice: FlaskClient
) -> None:
    app.config["MAX_CONTENT_LENGTH"] = 4096
    response = new_post(alice, b"\0" * 10_000)
    assert response.status_code == 413
    assert "That was too large" in response.get_data(as_text=True)
    assert post_count(app) == 0


def test_disk_full_leaves_no_file_and_no_row(
    app: Flask, alice: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def disk_full(handle: BinaryIO, data: bytes) -> None:
        handle.write(data[: len(data) // 2])  # a partial file, as a full disk leaves it
        handle.flush()
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(uploads, "write_all", disk_full)
    response = new_post(alice, image_bytes())
    assert response.status_code == 507
    page = response.get_data(as_text=True)
    assert "The image could not be stored (the server may be out of disk space)." in page
    assert "Nothing was saved" in page
    assert post_count(app) == 0
    assert stored_files(app) == []


def test_failed_commit_deletes_the_temporary_file(
    app: Flask, alice: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def database_down() -> None:
        raise OperationalError("COMMIT", {}, Exception("server closed the connection"))

    token = csrf_token(alice, "/posts/new")
    monkeypatch.setattr(db.session, "commit", database_down)
    form = {
        "csrf_token": token,
        "title": "T",
        "body": "B",
        "cover": (io.BytesIO(image_bytes()), "c.png"),
    }
    response = alice.post("/posts/new", data=form)
    assert response.status_code == 503
    assert "The post could not be saved (a database error)." in response.get_data(as_text=True)
    monkeypatch.undo()
    assert post_count(app) == 0
    assert stored_files(app) == []


def test_a_stale_edit_writes_no_file(app: Flask, alice: FlaskClient) -> None:
    with app.app_context():
        make_post("With cover")
    form = {
        "csrf_token": csrf_token(alice, "/posts/with-cover/edit"),
        "title": "With cover",
        "body": "Text",
        "version": "99",
        "cover": (io.BytesIO(image_bytes()), "c.png"),
    }
    assert alice.post("/posts/with-cover/edit", data=form).status_code == 409
    assert stored_files(app) == []


def test_replacing_and_removing_a_cover_deletes_the_old_file(
    app: Flask, alice: FlaskClient
) -> None:
    assert new_post(alice, image_bytes()).status_code == 302
    [first] = stored_files(app)
    token = csrf_token(alice, "/posts/with-cover/edit")
    form = {
        "csrf_token": token,
        "title": "With cover",
        "body": "Text",
        "version": "1",
        "cover": (io.BytesIO(image_bytes("GIF")), "c.gif"),
    }
    assert alice.post("/posts/with-cover/edit", data=form).status_code == 302
    [second] = stored_files(app)
    assert second != first
    assert second.suffix == ".gif"
    form = {"csrf_token": token, "title": "With cover", "body": "Text", "version": "2",
            "remove_cover": "y"}  # fmt: skip
    assert alice.post("/posts/with-cover/edit", data=form).status_code == 302
    assert stored_files(app) == []
    assert alice.get(f"/uploads/{second.name}").status_code == 404


def test_a_drafts_cover_is_private(app: Flask, alice: FlaskClient, client: FlaskClient) -> None:
    assert new_post(alice, image_bytes(), published="").status_code == 302
    [stored] = stored_files(app)
    assert client.get(f"/uploads/{stored.name}").status_code == 404
    with alice.get(f"/uploads/{stored.name}") as own:
        assert own.status_code == 200
        assert "private" in own.headers["Cache-Control"]


def test_unknown_upload_names_are_404(client: FlaskClient) -> None:
    assert client.get("/uploads/../secret_key").status_code == 404
    assert client.get("/uploads/" + "a" * 32 + ".png").status_code == 404


def test_a_save_racing_another_is_a_conflict_and_writes_no_file(
    app: Flask, alice: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Someone saves between our version check and our UPDATE: the version column catches it."""
    with app.app_context():
        make_post("Raced")

    def render_while_someone_else_saves(text: str) -> str:
        with db.engine.begin() as other:  # another request's connection
            other.execute(update(Post).values(title="Theirs", version=Post.version + 1))
        return render_markdown(text)

    monkeypatch.setattr(views, "render_markdown", render_while_someone_else_saves)
    form = {
        "csrf_token": csrf_token(alice, "/posts/raced/edit"),
        "title": "Mine",
        "body": "My text",
        "version": "1",
        "cover": (io.BytesIO(image_bytes()), "c.png"),
    }
    response = alice.post("/posts/raced/edit", data=form)
    assert response.status_code == 409
    assert "My text" in response.get_data(as_text=True)
    assert stored_files(app) == []
    with app.app_context():
        assert db.session.scalar(select(Post.title)) == "Theirs"
