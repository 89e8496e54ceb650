"""cheap pages: a comment count per post, a keyset index, a search index, zone-aware times

- ``posts.comment_count``, filled from the comments already there; from now on the blog keeps it
  up to date as comments are added and deleted, so no page counts comments.
- The index of the lists gets ``id`` as its last column: keyset pages ("older than this post")
  read ``(status, published_at, id)`` straight from it.
- PostgreSQL: a GIN index on the posts' text search document (see models.search_document).
- Every timestamp becomes ``timestamp with time zone`` on PostgreSQL; the values were UTC
  already, and are read as such. (SQLite stores times as text either way: nothing to change.)

Revision ID: c3a8f1d2e4b5
Revises: 5d1e7c0a9b3f
Create Date: 2026-12-02 09:50:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "c3a8f1d2e4b5"
down_revision = "5d1e7c0a9b3f"
branch_labels = None
depends_on = None

#: (table, column, nullable) of every timestamp.
TIMESTAMPS = [
    ("images", "created_at", False),
    ("posts", "published_at", True),
    ("posts", "created_at", False),
    ("posts", "updated_at", False),
    ("comments", "created_at", False),
]
#: The expression of models.search_document, as the migration must not import the models.
SEARCH_DOCUMENT = "to_tsvector('english'::regconfig, (title::text || ' '::text) || body)"


def on_postgresql() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade() -> None:
    with op.batch_alter_table("posts", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("comment_count", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.drop_index("ix_posts_status_published_at")
        batch_op.create_index(
            "ix_posts_status_published_at_id", ["status", "published_at", "id"], unique=False
        )
    op.execute(
        "UPDATE posts SET comment_count ="
        " (SELECT count(*) FROM comments WHERE comments.post_id = posts.id)"
    )
    if on_postgresql():
        op.create_index(
            "ix_posts_search", "posts", [sa.text(SEARCH_DOCUMENT)], postgresql_using="gin"
        )
        for table, column, nullable in TIMESTAMPS:
            op.alter_column(
                table,
                column,
                type_=sa.DateTime(timezone=True),
                existing_type=sa.DateTime(),
                existing_nullable=nullable,
                postgresql_using=f"{column} AT TIME ZONE 'UTC'",
            )


def downgrade() -> None:
    if on_postgresql():
        for table, column, nullable in TIMESTAMPS:
            op.alter_column(
                table,
                column,
                type_=sa.DateTime(),
                existing_type=sa.DateTime(timezone=True),
                existing_nullable=nullable,
                postgresql_using=f"{column} AT TIME ZONE 'UTC'",
            )
        op.drop_index("ix_posts_search", table_name="posts", postgresql_using="gin")
    with op.batch_alter_table("posts", schema=None) as batch_op:
        batch_op.drop_index("ix_posts_status_published_at_id")
        batch_op.create_index(
            "ix_posts_status_published_at", ["status", "published_at"], unique=False
        )
        batch_op.drop_column("comment_count")
