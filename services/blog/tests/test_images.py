"""Cover images: re-encoded without metadata, stored in the database by hash, served cacheably."""

# length: one feature's tests (upload, validation, serving, caching, access), kept together.
from __future__ import annotations

import hashlib
import io
import re
import struct
import zlib

import pytest
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy import false, func, select, update
from sqlalchemy.exc import OperationalError

from blog_service import forms, images
from blog_service.extensions import db
from blog_service.markdown import render_markdown
from blog_service.models import Post, StoredImage
from tests.support import csrf_token, make_post

IMAGE_SRC = re.compile(r'src="/images/([0-9a-f]{64})"')


def image_bytes(
    image_format: str = "PNG",
    size: tuple[int, int] = (8, 8),
    color: tuple[int, int, int] = (200, 30, 30),
    **options: object,
) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format=image_format, **options)
    return buffer.getvalue()


def png_claiming(width: int, height: int, idat: bytes = b"") -> bytes:
    """A PNG whose header claims ``width`` x ``height``, followed by ``idat`` as pixel data."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat)


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


def edit_post(client: FlaskClient, version: int, slug: str = "with-cover", **fields: object):  # type: ignore[no-untyped-def]
    form = {
        "csrf_token": csrf_token(client, f"/posts/{slug}/edit"),
        "title": "With cover",
        "body": "Text",
        "published": "y",
        "version": str(version),
        **fields,
    }
    return client.post(f"/posts/{slug}/edit", data=form, content_type="multipart/form-data")


def cover_of(client: FlaskClient, slug: str = "with-cover") -> str:
    """The image hash the post page shows."""
    match = IMAGE_SRC.search(client.get(f"/posts/{slug}").get_data(as_text=True))
    assert match is not None, "the post shows no cover image"
    return match.group(1)


def stored_hashes(app: Flask) -> list[str]:
    with app.app_context():
        return sorted(db.session.scalars(select(StoredImage.sha256)))


def post_count(app: Flask) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(Post.id))) or 0


def assert_refused(app: Flask, response, message: str) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert message in page
    assert 'id="cover-errors"' in page  # beside the field, not a generic error page
    assert post_count(app) == 0
    assert stored_hashes(app) == []


# --- stored and served ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("image_format", "served_format"),
    [("PNG", "PNG"), ("JPEG", "JPEG"), ("GIF", "PNG"), ("WEBP", "WEBP")],
)
def test_a_cover_is_re_encoded_stored_and_served_by_its_hash(
    app: Flask, alice: FlaskClient, client: FlaskClient, image_format: str, served_format: str
) -> None:
    response = new_post(alice, image_bytes(image_format, (12, 7)), filename="whatever.txt")
    assert response.status_code == 302
    sha256 = cover_of(client)
    assert stored_hashes(app) == [sha256]
    page = client.get("/posts/with-cover").get_data(as_text=True)
    assert f'src="/images/{sha256}" alt="A red square"' in page

    image = client.get(f"/images/{sha256}")
    assert image.status_code == 200
    assert hashlib.sha256(image.data).hexdigest() == sha256
    with Image.open(io.BytesIO(image.data)) as served:
        assert served.format == served_format
        assert served.size == (12, 7)
    assert image.mimetype == Image.MIME[served_format]
    assert image.headers["ETag"] == f'"{sha256}"'  # strong: the hash of the exact bytes
    assert image.headers["X-Content-Type-Options"] == "nosniff"
    cache_control = {part.strip() for part in image.headers["Cache-Control"].split(",")}
    assert cache_control == {"public", "max-age=31536000", "immutable"}
    # The gateway keeps one copy for everyone (it ignores Flask-Login's "Vary: Cookie" there):
    # it would keep none of a response that sets a cookie.
    assert "Set-Cookie" not in image.headers
    assert "Set-Cookie" not in alice.get(f"/images/{sha256}").headers


def test_if_none_match_gets_a_304(app: Flask, alice: FlaskClient, client: FlaskClient) -> None:
    assert new_post(alice, image_bytes()).status_code == 302
    sha256 = cover_of(client)
    for tag in (f'"{sha256}"', f'"other", "{sha256}"', "*"):
        response = client.get(f"/images/{sha256}", headers={"If-None-Match": tag})
        assert response.status_code == 304, tag
        assert response.data == b""
        assert response.headers["ETag"] == f'"{sha256}"'
        assert "immutable" in response.headers["Cache-Control"]
    changed = client.get(f"/images/{sha256}", headers={"If-None-Match": '"other"'})
    assert changed.status_code == 200


def test_the_same_image_twice_is_one_row(
    app: Flask, alice: FlaskClient, client: FlaskClient
) -> None:
    assert new_post(alice, image_bytes()).status_code == 302
    assert new_post(alice, image_bytes(), title="Same cover").status_code == 302
    assert cover_of(client, "with-cover") == cover_of(client, "same-cover")
    assert len(stored_hashes(app)) == 1


# --- re-encoding: only the pixels survive ---------------------------------------------------


def test_exif_with_gps_and_author_is_gone_from_the_served_bytes(
    app: Flask, alice: FlaskClient, client: FlaskClient
) -> None:
    exif = Image.Exif()
    exif[0x013B] = "Alice Secretname"  # Artist
    exif[0x8298] = "Copyright Alice Secretname"
    exif[0x8825] = {1: "N", 2: (48.0, 51.0, 29.0), 3: "E", 4: (2.0, 17.0, 40.0)}  # GPS
    upload = image_bytes("JPEG", (16, 16), exif=exif, comment=b"shot at home by Alice Secretname")
    assert b"Alice Secretname" in upload
    with Image.open(io.BytesIO(upload)) as original:
        assert original.getexif().get_ifd(0x8825)  # the upload does carry a position

    assert new_post(alice, upload).status_code == 302
    served = client.get(f"/images/{cover_of(client)}").data
    assert b"Alice Secretname" not in served
    assert b"Exif" not in served
    with Image.open(io.BytesIO(served)) as image:
        assert dict(image.getexif()) == {}
        assert "comment" not in image.info
        assert image.size == (16, 16)


def test_the_exif_orientation_is_applied_before_it_is_dropped(
    app: Flask, alice: FlaskClient, client: FlaskClient
) -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90° clockwise to display
    assert new_post(alice, image_bytes("JPEG", (20, 10), exif=exif)).status_code == 302
    with Image.open(io.BytesIO(client.get(f"/images/{cover_of(client)}").data)) as image:
        assert image.size == (10, 20)


def test_a_gif_with_a_script_appended_comes_back_without_it(
    app: Flask, alice: FlaskClient, client: FlaskClient
) -> None:
    script = b"<script>alert(document.cookie)</script>"
    upload = image_bytes("GIF") + script
    assert new_post(alice, upload, filename="cover.gif").status_code == 302
    served = client.get(f"/images/{cover_of(client)}")
    assert served.mimetype == "image/png"
    assert b"<script" not in served.data
    with Image.open(io.BytesIO(served.data)) as image:
        assert image.getpixel((0, 0)) == (200, 30, 30)


def test_an_animated_gif_keeps_its_first_frame(
    app: Flask, alice: FlaskClient, client: FlaskClient
) -> None:
    frames = [Image.new("RGB", (8, 8), color) for color in ((0, 0, 255), (0, 255, 0))]
    buffer = io.BytesIO()
    frames[0].save(buffer, format="GIF", save_all=True, append_images=frames[1:])
    assert new_post(alice, buffer.getvalue()).status_code == 302
    with Image.open(io.BytesIO(client.get(f"/images/{cover_of(client)}").data)) as image:
        assert getattr(image, "n_frames", 1) == 1
        assert image.getpixel((0, 0)) == (0, 0, 255)


def test_transparency_is_kept(app: Flask, alice: FlaskClient, client: FlaskClient) -> None:
    buffer = io.BytesIO()
    Image.new("RGBA", (8, 8), (10, 20, 30, 0)).save(buffer, format="PNG")
    assert new_post(alice, buffer.getvalue()).status_code == 302
    with Image.open(io.BytesIO(client.get(f"/images/{cover_of(client)}").data)) as image:
        assert image.mode == "RGBA"
        assert image.getpixel((0, 0))[3] == 0


# --- refused, with a message beside the field -----------------------------------------------


@pytest.mark.parametrize("stream_ends", [False, True], ids=["cut-mid-stream", "short-stream"])
def test_a_truncated_png_claiming_6000_by_6000_is_refused(
    app: Flask, alice: FlaskClient, stream_ends: bool
) -> None:
    compressor = zlib.compressobj()
    first_rows = compressor.compress((b"\x00" + b"\x10\x20\x30" * 6000) * 10)
    first_rows += compressor.flush() if stream_ends else compressor.flush(zlib.Z_SYNC_FLUSH)
    response = new_post(alice, png_claiming(6000, 6000, first_rows))
    assert_refused(app, response, "The file is not a complete PNG, JPEG, GIF or WebP image.")


def test_a_truncated_jpeg_is_refused(app: Flask, alice: FlaskClient) -> None:
    jpeg = image_bytes("JPEG", (64, 64))
    response = new_post(alice, jpeg[: len(jpeg) // 2])
    assert_refused(app, response, "not a complete PNG, JPEG, GIF or WebP image")


def test_a_decompression_bomb_is_refused(app: Flask, alice: FlaskClient) -> None:
    buffer = io.BytesIO()
    Image.new("1", (8000, 8000)).save(buffer, format="PNG")  # 64 megapixels...
    assert len(buffer.getvalue()) < 20_000  # ...in a few kilobytes
    response = new_post(alice, buffer.getvalue())
    assert_refused(app, response, "The image is too large in pixels: at most 40,000,000 pixels")


def test_pillows_own_bomb_limit_is_a_form_error_too(app: Flask, alice: FlaskClient) -> None:
    """Even with our limit set too high, Pillow's (about 89 megapixels) still refuses."""
    app.config["BLOG_MAX_IMAGE_PIXELS"] = 10**12
    for width, height in ((10_000, 10_000), (100_000, 100_000)):  # warning, then error
        response = new_post(alice, png_claiming(width, height))
        assert_refused(app, response, "The image is too large in pixels")


def test_huge_dimensions_are_refused_before_decoding(app: Flask, alice: FlaskClient) -> None:
    response = new_post(alice, png_claiming(1_000_000, 1_000_000))
    assert_refused(app, response, "The image is too large in pixels")
    app.config["BLOG_MAX_IMAGE_PIXELS"] = 100
    response = new_post(alice, image_bytes("PNG", (20, 20)))
    assert_refused(app, response, "at most 100 pixels")


def test_a_file_that_is_not_an_image_is_refused(app: Flask, alice: FlaskClient) -> None:
    response = new_post(alice, b"<script>alert(1)</script>", filename="cover.png")
    assert_refused(app, response, "The file is not a complete PNG, JPEG, GIF or WebP image.")


def test_other_image_formats_are_refused(app: Flask, alice: FlaskClient) -> None:
    response = new_post(alice, image_bytes("BMP"), filename="cover.png")
    assert_refused(app, response, "not a complete PNG, JPEG, GIF or WebP image")


def test_an_empty_file_is_refused(app: Flask, alice: FlaskClient) -> None:
    assert_refused(app, new_post(alice, b""), "The file is empty.")


def test_a_too_large_upload_is_refused(app: Flask, alice: FlaskClient) -> None:
    app.config["BLOG_MAX_IMAGE_BYTES"] = 2048
    big = image_bytes("PNG", (64, 64)) + b"\0" * 4096
    assert_refused(app, new_post(alice, big), "The image is too large: the limit is 2 KiB.")


def test_an_image_too_large_once_re_encoded_is_refused(app: Flask, alice: FlaskClient) -> None:
    noise = Image.effect_noise((96, 96), 100).convert("RGB")
    buffer = io.BytesIO()
    noise.save(buffer, format="JPEG", quality=5)  # small, but 85% quality is much larger
    app.config["BLOG_MAX_IMAGE_BYTES"] = len(buffer.getvalue()) + 100
    response = new_post(alice, buffer.getvalue())
    assert_refused(app, response, "The image is too large: the limit is")


def test_a_request_over_the_size_limit_gets_the_friendly_413(
    app: Flask, alice: FlaskClient
) -> None:
    app.config["MAX_CONTENT_LENGTH"] = 4096
    response = new_post(alice, b"\0" * 10_000)
    assert response.status_code == 413
    assert "That was too large" in response.get_data(as_text=True)
    assert post_count(app) == 0


# --- one transaction: the post and its image, or neither ------------------------------------


def test_a_failed_commit_stores_neither_post_nor_image(
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
    assert stored_hashes(app) == []


def test_a_stale_edit_stores_no_image(app: Flask, alice: FlaskClient) -> None:
    with app.app_context():
        make_post("With cover")
    cover = (io.BytesIO(image_bytes()), "c.png")
    assert edit_post(alice, 99, cover=cover).status_code == 409
    assert stored_hashes(app) == []


def test_a_save_racing_another_is_a_conflict_and_stores_no_image(
    app: Flask, alice: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Someone saves between our version check and our UPDATE: the version column catches it."""
    with app.app_context():
        make_post("Raced")

    def render_while_someone_else_saves(text: str) -> str:
        with db.engine.begin() as other:  # another request's connection
            other.execute(update(Post).values(title="Theirs", version=Post.version + 1))
        return render_markdown(text)

    monkeypatch.setattr(forms, "render_markdown", render_while_someone_else_saves)
    cover = (io.BytesIO(image_bytes()), "c.png")
    response = edit_post(alice, 1, slug="raced", title="Mine", body="My text", cover=cover)
    assert response.status_code == 409
    assert "My text" in response.get_data(as_text=True)
    assert stored_hashes(app) == []
    with app.app_context():
        assert db.session.scalar(select(Post.title)) == "Theirs"


def test_replacing_and_removing_a_cover_deletes_the_unused_image(
    app: Flask, alice: FlaskClient, client: FlaskClient
) -> None:
    assert new_post(alice, image_bytes()).status_code == 302
    first = cover_of(client)
    cover = (io.BytesIO(image_bytes("GIF", color=(0, 0, 255))), "c.gif")
    assert edit_post(alice, 1, cover=cover).status_code == 302
    second = cover_of(client)
    assert second != first
    assert stored_hashes(app) == [second]
    assert client.get(f"/images/{first}").status_code == 404

    assert edit_post(alice, 2, remove_cover="y").status_code == 302
    assert stored_hashes(app) == []
    assert client.get(f"/images/{second}").status_code == 404


def test_an_image_two_posts_use_stays_until_neither_does(
    app: Flask, alice: FlaskClient, client: FlaskClient
) -> None:
    assert new_post(alice, image_bytes()).status_code == 302
    assert new_post(alice, image_bytes(), title="Same cover").status_code == 302
    sha256 = cover_of(client)
    confirm = csrf_token(alice, "/posts/with-cover")
    assert alice.post("/posts/with-cover/delete", data={"csrf_token": confirm}).status_code == 302
    assert stored_hashes(app) == [sha256]
    assert client.get(f"/images/{sha256}").status_code == 200
    assert alice.post("/posts/same-cover/delete", data={"csrf_token": confirm}).status_code == 302
    assert stored_hashes(app) == []


# --- who may see an image -------------------------------------------------------------------


def test_a_drafts_cover_is_private(
    app: Flask, alice: FlaskClient, bob: FlaskClient, client: FlaskClient
) -> None:
    assert new_post(alice, image_bytes(), published="").status_code == 302
    [sha256] = stored_hashes(app)
    assert client.get(f"/images/{sha256}").status_code == 404
    assert bob.get(f"/images/{sha256}").status_code == 404
    own = alice.get(f"/images/{sha256}")
    assert own.status_code == 200
    assert "private" in own.headers["Cache-Control"]
    assert "public" not in own.headers["Cache-Control"]
    not_modified = alice.get(f"/images/{sha256}", headers={"If-None-Match": f'"{sha256}"'})
    assert not_modified.status_code == 304
    assert client.get(f"/images/{sha256}", headers={"If-None-Match": "*"}).status_code == 404


def test_unknown_image_names_are_404(client: FlaskClient) -> None:
    assert client.get("/images/../secret_key").status_code == 404
    assert client.get("/images/" + "a" * 64).status_code == 404
    assert client.get("/images/" + "A" * 64).status_code == 404
    assert client.get("/images/" + "a" * 63).status_code == 404


def test_an_image_a_post_started_using_meanwhile_is_kept(
    app: Flask, alice: FlaskClient, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The "still used?" check cannot see another request's uncommitted post; the key can."""
    assert new_post(alice, image_bytes()).status_code == 302
    sha256 = cover_of(client)
    with app.app_context():
        # As if the check ran before the other request's post became visible.
        monkeypatch.setattr(images, "exists", lambda _query: false())
        images.delete_if_unused(sha256)
        db.session.commit()
    assert stored_hashes(app) == [sha256]
    assert client.get(f"/images/{sha256}").status_code == 200
