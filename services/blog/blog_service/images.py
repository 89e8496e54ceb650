"""Cover images: decoded and re-encoded by the server, stored in the database by content hash.

An upload is never kept as sent. Pillow decodes every pixel (a damaged or truncated file fails
here, not in a reader's browser), and a fresh file is encoded from those pixels alone: EXIF
(camera, author, GPS position), XMP, comments and anything appended after the image (a script
behind a GIF) are gone. The colour profile (ICC) is kept, because dropping it changes the colours
of photos taken in a wide gamut; it describes the colours, not the person.

The re-encoded bytes are stored in the ``images`` table under their SHA-256, in the same
transaction as the post that uses them: one commit writes both or neither, and every blog
replica reads the same rows. The same picture uploaded twice is one row.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy import delete, exists, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from werkzeug.datastructures import FileStorage

from blog_service.extensions import db
from blog_service.models import Post, StoredImage

#: What we accept (Pillow's format names) and what each becomes. GIF turns into PNG: its first
#: frame, losslessly; JPEG and WebP photos stay in their (lossy) format.
OUTPUT_FORMATS = {"PNG": "PNG", "GIF": "PNG", "JPEG": "JPEG", "WEBP": "WEBP"}
MEDIA_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}
#: Lossy re-encoding quality: visually the same as the upload for photos.
QUALITY = 85


class UploadError(ValueError):
    """The upload is not acceptable; the message is meant for the person who sent it."""


NOT_AN_IMAGE = "The file is not a complete PNG, JPEG, GIF or WebP image."
TOO_MANY_PIXELS = (
    "The image is too large in pixels: at most {limit:,} pixels; please make it smaller."
)


@dataclass(frozen=True)
class EncodedImage:
    """An image re-encoded by us, ready to store."""

    data: bytes
    media_type: str

    @property
    def sha256(self) -> str:
        """The hex SHA-256 of ``data``: the image's name in the database and in its URL."""
        return hashlib.sha256(self.data).hexdigest()


def reencode(data: bytes, max_bytes: int, max_pixels: int) -> EncodedImage:
    """Decode ``data`` completely and encode its pixels again, without any metadata.

    Raises UploadError when the content is not one of our formats (whatever the file name or
    the browser's Content-Type said), is damaged or truncated, has more than ``max_pixels``
    pixels, or is still larger than ``max_bytes`` once re-encoded.
    """
    try:
        with warnings.catch_warnings():
            # Pillow warns about (and above twice its limit refuses) a decompression bomb: a
            # small file that would decode into a huge bitmap. Both become the same refusal.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as probe:
                source_format = probe.format or ""
                if source_format not in OUTPUT_FORMATS:
                    raise UploadError(NOT_AN_IMAGE)
                # The header's size is checked before a single pixel is decoded.
                width, height = probe.size
                if width * height > max_pixels:
                    raise UploadError(TOO_MANY_PIXELS.format(limit=max_pixels))
                probe.verify()  # the structure: chunk checksums, an end marker
            with Image.open(io.BytesIO(data)) as image:  # verify() leaves a probe unusable
                image.load()  # every pixel: truncated or damaged data fails here
                pixels = _clean_pixels(image)
    except UploadError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise UploadError(TOO_MANY_PIXELS.format(limit=max_pixels)) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError):
        # What Pillow raises on files it cannot read.
        raise UploadError(NOT_AN_IMAGE) from None
    encoded = _encode(pixels, OUTPUT_FORMATS[source_format])
    if len(encoded.data) > max_bytes:
        raise UploadError(f"The image is too large: the limit is {max_bytes // 1024} KiB.")
    return encoded


def _clean_pixels(image: Image.Image) -> Image.Image:
    """The decoded pixels upright, in RGB(A) or L, with no metadata attached."""
    icc_profile = image.info.get("icc_profile")
    # A phone stores "rotate me" in EXIF instead of rotating: apply it, since EXIF goes.
    upright = ImageOps.exif_transpose(image)
    has_alpha = upright.has_transparency_data
    mode = "RGBA" if has_alpha else ("L" if upright.mode in ("1", "L") else "RGB")
    pixels = upright.convert(mode)
    # convert() copies .info (EXIF, comments, XMP...); the encoder must see none of it.
    pixels.info = {}
    if icc_profile and mode == image.mode:  # a profile only fits the colour space it describes
        pixels.info["icc_profile"] = icc_profile
    return pixels


def _encode(pixels: Image.Image, output_format: str) -> EncodedImage:
    if output_format == "JPEG" and pixels.mode == "RGBA":  # a JPEG never has transparency
        pixels = pixels.convert("RGB")
    options: dict[str, object] = {"icc_profile": pixels.info.get("icc_profile")}
    if output_format in ("JPEG", "WEBP"):
        options["quality"] = QUALITY
    buffer = io.BytesIO()
    pixels.save(buffer, format=output_format, **options)
    return EncodedImage(buffer.getvalue(), MEDIA_TYPES[output_format])


def read_upload(upload: FileStorage, max_bytes: int, max_pixels: int) -> EncodedImage:
    """The uploaded image, re-encoded (see :func:`reencode`); UploadError says what is wrong."""
    data = upload.stream.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise UploadError(f"The image is too large: the limit is {max_bytes // 1024} KiB.")
    if not data:
        raise UploadError("The file is empty.")
    return reencode(data, max_bytes, max_pixels)


def store_image(image: EncodedImage) -> str:
    """Write ``image`` in the current transaction unless it is already stored; its SHA-256.

    Nothing is committed here: the commit that saves the post using the image writes both.
    """
    row = {
        "sha256": image.sha256,
        "media_type": image.media_type,
        "size": len(image.data),
        "data": image.data,
    }
    # One row per distinct image, even when two requests store the same one at once: the
    # database skips a row whose hash is already there (INSERT ... ON CONFLICT DO NOTHING).
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    # Before the post's own changes are flushed: they name this row.
    with db.session.no_autoflush:
        db.session.execute(insert(StoredImage).values(row).on_conflict_do_nothing())
    return image.sha256


def replace_cover(post: Post, image: EncodedImage | None, *, remove: bool = False) -> None:
    """Give ``post`` the cover ``image`` (or none, if ``remove``), in the current transaction.

    The new image is stored, the post flushed, and the old image deleted if no post uses it
    any more: the caller's commit writes all of it or none of it.
    """
    old_cover = post.cover_sha256
    if image is not None:
        post.cover_sha256 = store_image(image)
    elif remove:
        post.cover_sha256 = None
    db.session.add(post)
    db.session.flush()
    if old_cover != post.cover_sha256:
        delete_if_unused(old_cover)


def delete_if_unused(sha256: str | None) -> None:
    """Delete an image no post names any more (part of the caller's transaction).

    Call it after the change that stopped using the image has been flushed.
    """
    if sha256 is None:
        return
    still_used = exists(select(Post.id).where(Post.cover_sha256 == sha256))
    try:
        with db.session.begin_nested():
            db.session.execute(
                delete(StoredImage).where(StoredImage.sha256 == sha256, ~still_used),
                execution_options={"synchronize_session": False},
            )
    except IntegrityError:
        # Another request gave the image to a post at this very moment (its row is not
        # visible to us yet, but the foreign key sees it): the image is used, keep it.
        pass
