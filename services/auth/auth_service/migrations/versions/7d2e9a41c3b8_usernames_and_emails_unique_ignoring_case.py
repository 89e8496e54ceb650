"""Usernames and emails unique ignoring case, in the database itself

Revision ID: 7d2e9a41c3b8
Revises: 314fe33c5338
Create Date: 2026-12-02 05:50:00.000000

A unique index on lower(username) and on lower(email): PostgreSQL and SQLite both index
expressions. Accounts created before this may differ only in case ("Frank" and "frank"); the
index cannot be built over them, so the upgrade stops and names them for an admin to rename.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '7d2e9a41c3b8'
down_revision = '314fe33c5338'
branch_labels = None
depends_on = None


def _refuse_duplicates(column):
    duplicates = op.get_bind().execute(
        sa.text(
            f"SELECT lower({column}) FROM users GROUP BY lower({column}) HAVING count(*) > 1"
        )
    ).scalars().all()
    if duplicates:
        raise RuntimeError(
            f"users differ only in the case of their {column}: {', '.join(duplicates)}. "
            "Rename all but one (flask shell), then upgrade again."
        )


def upgrade():
    _refuse_duplicates('username')
    _refuse_duplicates('email')
    op.create_index('uq_users_username_lower', 'users', [sa.text('lower(username)')], unique=True)
    op.create_index('uq_users_email_lower', 'users', [sa.text('lower(email)')], unique=True)


def downgrade():
    op.drop_index('uq_users_email_lower', table_name='users')
    op.drop_index('uq_users_username_lower', table_name='users')
