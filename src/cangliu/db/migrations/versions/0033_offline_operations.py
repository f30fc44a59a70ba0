"""offline operations from scanning devices and their review queue

Revision ID: 0033
Revises: 0032
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

import cangliu.db.types

revision = "0033"
down_revision = "0032"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
AT = cangliu.db.types.UtcDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "offline_device",
        sa.Column("device", sa.String(length=64), nullable=False),
        sa.Column("next_seq", sa.Integer(), nullable=False),
        sa.Column("lease_token", sa.String(length=32), nullable=True),
        sa.Column("lease_until", AT, nullable=True),
        sa.Column("last_user_id", ID, nullable=True),
        sa.Column("last_seen_at", AT, nullable=False),
        sa.ForeignKeyConstraint(["last_user_id"], ["app_user.id"],
                                name=op.f("fk_offline_device_last_user_id_app_user")),
        sa.PrimaryKeyConstraint("device", name=op.f("pk_offline_device")),
    )
    op.create_table(
        "offline_op",
        sa.Column("id", ID, nullable=False),
        sa.Column("device", sa.String(length=64), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", ID, nullable=False),
        sa.Column("site_id", ID, nullable=True),
        sa.Column("occurred_at", AT, nullable=True),
        sa.Column("received_at", AT, nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("result", sa.Text(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("applied_at", AT, nullable=True),
        sa.Column("reviewed_by", ID, nullable=True),
        sa.Column("reviewed_at", AT, nullable=True),
        sa.Column("review_note", sa.Text(), nullable=False),
        sa.CheckConstraint("seq >= 1", name=op.f("ck_offline_op_seq")),
        sa.CheckConstraint("status IN ('queued', 'applied', 'failed', 'dismissed')",
                           name=op.f("ck_offline_op_status")),
        sa.ForeignKeyConstraint(["user_id"], ["app_user.id"],
                                name=op.f("fk_offline_op_user_id_app_user")),
        sa.ForeignKeyConstraint(["site_id"], ["location.id"],
                                name=op.f("fk_offline_op_site_id_location")),
        sa.ForeignKeyConstraint(["reviewed_by"], ["app_user.id"],
                                name=op.f("fk_offline_op_reviewed_by_app_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_offline_op")),
        sa.UniqueConstraint("device", "client_id", name="uq_offline_op_device_client"),
        sa.UniqueConstraint("device", "seq", name="uq_offline_op_device_seq"),
    )
    op.create_index("ix_offline_op_status", "offline_op", ["status", "id"])


def downgrade() -> None:
    op.drop_index("ix_offline_op_status", table_name="offline_op")
    op.drop_table("offline_op")
    op.drop_table("offline_device")
