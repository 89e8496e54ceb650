"""cover images in the database: an images table named by SHA-256, imported from the old folder

Until this revision a cover image was a file in the uploads folder (BLOG_UPLOAD_FOLDER, by
default <instance>/uploads) and posts.cover_image held its name. Now the re-encoded bytes live
in the ``images`` table and posts.cover_sha256 names the row, so every blog replica can serve
them.

Upgrading imports each post's file: it is re-encoded exactly as a new upload would be (metadata
dropped, see blog_service/images.py) and stored once per distinct image. A file that is missing
or no longer decodes is logged and the post loses its cover; nothing else stops the upgrade. The
folder itself is left as it was: delete it (or its volume) once the upgrade has succeeded.

Downgrading writes each post's image back into the folder under a new random name.

Revision ID: 5d1e7c0a9b3f
Revises: 94824a45df68
Create Date: 2026-12-02 05:45:00.000000

"""
import logging
import secrets
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from alembic import op
from flask import current_app

from blog_service.images import UploadError, reencode
from servicekit.settings import Env

# revision identifiers, used by Alembic.
revision = "5d1e7c0a9b3f"
down_revision = "94824a45df68"
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")

#: Old files were at most BLOG_MAX_IMAGE_BYTES when uploaded; their re-encoding may be larger.
IMPORT_MAX_BYTES = 64 * 1024 * 1024
EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp"}

posts = sa.table(
    "posts",
    sa.column("id", sa.Integer),
    sa.column("cover_image", sa.String),
    sa.column("cover_sha256", sa.String),
)
images = sa.table(
    "images",
    sa.column("sha256", sa.String),
    sa.column("media_type", sa.String),
    sa.column("size", sa.Integer),
    sa.column("data", sa.LargeBinary),
    sa.column("created_at", sa.DateTime),
)


def upload_folder() -> Path:
    """Where the old version kept the files: the setting it read, or its default."""
    default = Path(current_app.instance_path) / "uploads"
    return Path(Env("blog").text("UPLOAD_FOLDER", str(default)))


def upgrade():
    op.create_table(
        "images",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("media_type", sa.String(length=32), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("sha256"),
    )
    with op.batch_alter_table("posts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("cover_sha256", sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f("ix_posts_cover_sha256"), ["cover_sha256"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_posts_cover_sha256_images"), "images", ["cover_sha256"], ["sha256"]
        )

    import_files(op.get_bind(), upload_folder())

    with op.batch_alter_table("posts", schema=None) as batch_op:
        batch_op.drop_column("cover_image")


def import_files(connection: sa.Connection, folder: Path) -> None:
    max_pixels = current_app.config["BLOG_MAX_IMAGE_PIXELS"]
    rows = connection.execute(
        sa.select(posts.c.id, posts.c.cover_image).where(posts.c.cover_image.is_not(None))
    ).all()
    stored: set[str] = set()
    now = datetime.now(UTC).replace(tzinfo=None)  # stored in UTC, without a zone
    for post_id, name in rows:
        try:
            image = reencode((folder / Path(name).name).read_bytes(), IMPORT_MAX_BYTES, max_pixels)
        except (OSError, UploadError) as error:
            log.warning("post %s loses its cover image %s: %s", post_id, name, error)
            continue
        if image.sha256 not in stored:
            connection.execute(
                images.insert().values(
                    sha256=image.sha256,
                    media_type=image.media_type,
                    size=len(image.data),
                    data=image.data,
                    created_at=now,
                )
            )
            stored.add(image.sha256)
        connection.execute(
            posts.update().where(posts.c.id == post_id).values(cover_sha256=image.sha256)
        )
    log.info("imported %d cover images from %s", len(stored), folder)


def downgrade():
    with op.batch_alter_table("posts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("cover_image", sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_posts_cover_image"), ["cover_image"])

    export_files(op.get_bind(), upload_folder())

    with op.batch_alter_table("posts", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_posts_cover_sha256_images"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_posts_cover_sha256"))
        batch_op.drop_column("cover_sha256")
    op.drop_table("images")


def export_files(connection: sa.Connection, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    rows = connection.execute(
        sa.select(posts.c.id, images.c.media_type, images.c.data).join(
            images, images.c.sha256 == posts.c.cover_sha256
        )
    ).all()
    for post_id, media_type, data in rows:
        # The old schema wants one file per post (its cover_image column is unique).
        name = f"{secrets.token_hex(16)}.{EXTENSIONS[media_type]}"
        (folder / name).write_bytes(data)
        connection.execute(posts.update().where(posts.c.id == post_id).values(cover_image=name))
