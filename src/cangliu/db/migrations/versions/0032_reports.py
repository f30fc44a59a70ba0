"""scheduled reports and report subscriptions

Revision ID: 0032
Revises: 0031
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

import cangliu.db.types

revision = "0032"
down_revision = "0031"
branch_labels = None
depends_on = None

KINDS = "kind IN ('daily', 'weekly', 'monthly')"
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "report",
        sa.Column("id", ID, nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("generated_at", cangliu.db.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("generated_by", sa.String(length=64), nullable=False),
        sa.Column("xlsx", sa.LargeBinary(), nullable=False),
        sa.Column("pdf", sa.LargeBinary(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("sent_at", cangliu.db.types.UtcDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(KINDS, name=op.f("ck_report_kind")),
        sa.CheckConstraint("period_end >= period_start", name=op.f("ck_report_period")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report")),
        sa.UniqueConstraint("kind", "period_start", name="uq_report_kind_period"),
    )
    op.create_table(
        "report_subscription",
        sa.Column("id", ID, nullable=False),
        sa.Column("user_id", ID, nullable=True),
        sa.Column("role", sa.String(length=40), nullable=True),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("created_at", cangliu.db.types.UtcDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "channel IN ('in_app', 'email')", name=op.f("ck_report_subscription_channel")
        ),
        sa.CheckConstraint(KINDS, name=op.f("ck_report_subscription_kind")),
        sa.CheckConstraint(
            "(user_id IS NULL) <> (role IS NULL)",
            name=op.f("ck_report_subscription_one_subscriber"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["app_user.id"], name=op.f("fk_report_subscription_user_id_app_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_subscription")),
    )
    with op.batch_alter_table("report_subscription", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_report_subscription_user_id"), ["user_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("report_subscription", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_report_subscription_user_id"))
    op.drop_table("report_subscription")
    op.drop_table("report")
