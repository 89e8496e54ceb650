"""Cover images: checked from their content, stored under random names, never half-written.

The order of a save matters (see ``posts.views``): the image is first written to a temporary
file in the uploads folder, then the database row that names it commits, and only then is the
file renamed into place. A failed write (disk full) leaves no file and no row; a failed commit
deletes the temporary file. ``os.replace`` within one folder is atomic, so a reader never sees a
partial image under its final name.
"""

from __future__ import annotations

import io
import os
import re
import secrets
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from PIL import Image, UnidentifiedImageError
from werkzeug.datastructures import FileStorage

#: Pillow's name for a format -> (file extension, content type).
IMAGE_TYPES = {
    "PNG": ("png", "image/png"),
    "JPEG": ("jpg", "image/jpeg"),
    "GIF": ("gif", "image/gif"),
    "WEBP": ("webp", "image/webp"),
}
CONTENT_TYPES = dict(IMAGE_TYPES.values())
#: What a stored file's name looks like; anything else is not ours to serve.
STORED_NAME = re.compile(r"[0-9a-f]{32}\.(?:png|jpg|gif|webp)")


class UploadError(ValueError):
    """The upload is not acceptable; the message is meant for the person who sent it."""


def read_image(upload: FileStorage, max_bytes: int, max_pixels: int) -> tuple[bytes, str]:
    """The bytes and file extension of an uploaded image, or UploadError saying what is wrong.

    The type comes from the content (Pillow parses it), never from the file name or the
    Content-Type the browser sent.
    """
    data = upload.stream.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise UploadError(f"The image is too large: the limit is {max_bytes // 1024} KiB.")
    if not data:
        raise UploadError("The file is empty.")
    not_an_image = UploadError("The file is not a PNG, JPEG, GIF or WebP image.")
    try:
        with warnings.catch_warnings():
            # A "decompression bomb" (a tiny file claiming huge dimensions) is refused too.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                image_format = image.format
                width, height = image.size
                image.verify()
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise not_an_image from None
    except (OSError, SyntaxError, ValueError, EOFError):  # what Pillow raises on damaged files
        raise not_an_image from None
    if image_format not in IMAGE_TYPES:
        raise not_an_image
    if width * height > max_pixels:
        raise UploadError("The image has too many pixels; please make it smaller.")
    return data, IMAGE_TYPES[image_format][0]


def write_all(handle: BinaryIO, data: bytes) -> None:
    """Write ``data`` and make sure it reached the disk (a separate step so tests can fail it)."""
    handle.write(data)
    handle.flush()
    os.fsync(handle.fileno())


@dataclass(frozen=True)
class PendingUpload:
    """An image written to a temporary file, waiting for its database row to commit."""

    temporary: Path
    final: Path

    @property
    def name(self) -> str:
        """The file name the database row stores."""
        return self.final.name

    def move_into_place(self) -> None:
        """Give the file its final name (atomic: same folder)."""
        os.replace(self.temporary, self.final)

    def discard(self) -> None:
        """Delete the temporary file."""
        self.temporary.unlink(missing_ok=True)


def write_pending(folder: Path, data: bytes, extension: str) -> PendingUpload:
    """Write ``data`` to a temporary file in ``folder``; on any failure, leave no file behind."""
    folder.mkdir(parents=True, exist_ok=True)
    final = folder / f"{secrets.token_hex(16)}.{extension}"
    descriptor, temporary = tempfile.mkstemp(dir=folder, prefix=".upload-", suffix=".part")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            write_all(handle, data)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return PendingUpload(Path(temporary), final)


def delete_stored(folder: Path, name: str | None) -> None:
    """Delete a stored image that no row names any more (missing is fine)."""
    if name and STORED_NAME.fullmatch(name):
        (folder / name).unlink(missing_ok=True)
