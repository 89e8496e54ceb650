"""A durable token revocation mark per user

Revision ID: b5f0c8d17e64
Revises: 7d2e9a41c3b8
Create Date: 2026-12-02 05:52:00.000000

users.tokens_valid_after: identity tokens issued before it are revoked. The database is the
source of truth; Redis holds a copy every verifier reads (auth_service.revocations).
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b5f0c8d17e64'
down_revision = '7d2e9a41c3b8'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('users', sa.Column('tokens_valid_after', sa.Float(), nullable=True))


def downgrade():
    # SQLite drops a column natively since 3.35 (every supported Python ships a newer one).
    op.drop_column('users', 'tokens_valid_after')
