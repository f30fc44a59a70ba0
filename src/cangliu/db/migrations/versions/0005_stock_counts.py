"""stock counts

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

import cangliu.db.types

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "stock_count",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("number", sa.String(length=40), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("site_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("zone_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("blind", sa.Boolean(), nullable=False),
        sa.Column("snapshot_at", cangliu.db.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("posted_at", cangliu.db.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["site_id"], ["location.id"], name=op.f("fk_stock_count_site_id_location")),
        sa.ForeignKeyConstraint(["zone_id"], ["location.id"], name=op.f("fk_stock_count_zone_id_location")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stock_count")),
        sa.UniqueConstraint("number", name=op.f("uq_stock_count_number")),
    )
    with op.batch_alter_table("stock_count", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_stock_count_site_id"), ["site_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_stock_count_state"), ["state"], unique=False)

    op.create_table(
        "stock_count_line",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("count_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("sku_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("location_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("lot", sa.String(length=64), nullable=False),
        sa.Column("snapshot_qty", cangliu.db.types.Exact(), nullable=False),
        sa.Column("counted_qty", cangliu.db.types.Exact(), nullable=True),
        sa.Column("counted_at", cangliu.db.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("counted_by", sa.String(length=64), nullable=True),
        sa.CheckConstraint("counted_qty >= 0", name=op.f("ck_stock_count_line_counted_not_negative")),
        sa.ForeignKeyConstraint(
            ["count_id"], ["stock_count.id"], name=op.f("fk_stock_count_line_count_id_stock_count")
        ),
        sa.ForeignKeyConstraint(
            ["location_id"], ["location.id"], name=op.f("fk_stock_count_line_location_id_location")
        ),
        sa.ForeignKeyConstraint(["sku_id"], ["sku.id"], name=op.f("fk_stock_count_line_sku_id_sku")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stock_count_line")),
        sa.UniqueConstraint(
            "count_id", "sku_id", "location_id", "lot", name=op.f("uq_stock_count_line_count_id")
        ),
    )
    with op.batch_alter_table("stock_count_line", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_stock_count_line_count_id"), ["count_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("stock_count_line", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_stock_count_line_count_id"))

    op.drop_table("stock_count_line")
    with op.batch_alter_table("stock_count", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_stock_count_state"))
        batch_op.drop_index(batch_op.f("ix_stock_count_site_id"))

    op.drop_table("stock_count")
