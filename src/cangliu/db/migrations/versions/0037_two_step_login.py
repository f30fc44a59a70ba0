"""two-step login: a TOTP secret and recovery codes per user

Revision ID: 0037
Revises: 0036
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "0037"
down_revision = "0036"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("app_user", sa.Column("totp_secret", sa.String(length=64), nullable=True))
    op.add_column("app_user", sa.Column("totp_pending", sa.String(length=64), nullable=True))
    op.add_column("app_user", sa.Column("totp_step", sa.BigInteger(), nullable=True))
    op.add_column("app_user", sa.Column("recovery_codes", sa.Text(), server_default="",
                                        nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("app_user") as batch:
        for column in ("recovery_codes", "totp_step", "totp_pending", "totp_secret"):
            batch.drop_column(column)
