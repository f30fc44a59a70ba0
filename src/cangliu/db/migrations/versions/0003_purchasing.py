"""purchasing

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

import cangliu.db.types

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "purchase_order",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("number", sa.String(length=40), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("supplier_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("site_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("rate", cangliu.db.types.Exact(), nullable=False),
        sa.Column("expected_date", sa.Date(), nullable=True),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", cangliu.db.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint("rate > 0", name=op.f("ck_purchase_order_rate_positive")),
        sa.ForeignKeyConstraint(
            ["site_id"], ["location.id"], name=op.f("fk_purchase_order_site_id_location")
        ),
        sa.ForeignKeyConstraint(
            ["supplier_id"], ["supplier.id"], name=op.f("fk_purchase_order_supplier_id_supplier")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_purchase_order")),
        sa.UniqueConstraint("number", name=op.f("uq_purchase_order_number")),
    )
    with op.batch_alter_table("purchase_order", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_purchase_order_site_id"), ["site_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_purchase_order_state"), ["state"], unique=False)
        batch_op.create_index(batch_op.f("ix_purchase_order_supplier_id"), ["supplier_id"], unique=False)

    op.create_table(
        "purchase_line",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("purchase_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("sku_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("qty", cangliu.db.types.Exact(), nullable=False),
        sa.Column("price", cangliu.db.types.Exact(), nullable=False),
        sa.Column("received_qty", cangliu.db.types.Exact(), nullable=False),
        sa.CheckConstraint("qty > 0", name=op.f("ck_purchase_line_qty_positive")),
        sa.CheckConstraint("received_qty >= 0", name=op.f("ck_purchase_line_received_not_negative")),
        sa.ForeignKeyConstraint(
            ["purchase_id"], ["purchase_order.id"], name=op.f("fk_purchase_line_purchase_id_purchase_order")
        ),
        sa.ForeignKeyConstraint(["sku_id"], ["sku.id"], name=op.f("fk_purchase_line_sku_id_sku")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_purchase_line")),
        sa.UniqueConstraint("purchase_id", "line_no", name=op.f("uq_purchase_line_purchase_id")),
    )
    with op.batch_alter_table("purchase_line", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_purchase_line_purchase_id"), ["purchase_id"], unique=False)
        batch_op.create_index("ix_purchase_line_sku_open", ["sku_id", "purchase_id"], unique=False)

    op.create_table(
        "supplier_price",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("supplier_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("sku_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("price", cangliu.db.types.Exact(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("min_order_qty", cangliu.db.types.Exact(), nullable=False),
        sa.Column("lead_time_days", sa.Integer(), nullable=True),
        sa.CheckConstraint("price >= 0", name=op.f("ck_supplier_price_price_not_negative")),
        sa.ForeignKeyConstraint(["sku_id"], ["sku.id"], name=op.f("fk_supplier_price_sku_id_sku")),
        sa.ForeignKeyConstraint(
            ["supplier_id"], ["supplier.id"], name=op.f("fk_supplier_price_supplier_id_supplier")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_supplier_price")),
        sa.UniqueConstraint("supplier_id", "sku_id", name=op.f("uq_supplier_price_supplier_id")),
    )
    with op.batch_alter_table("supplier_price", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_supplier_price_sku_id"), ["sku_id"], unique=False)

    with op.batch_alter_table("sku", schema=None) as batch_op:
        batch_op.add_column(sa.Column("inspection", sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("sku", schema=None) as batch_op:
        batch_op.drop_column("inspection")

    with op.batch_alter_table("supplier_price", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_supplier_price_sku_id"))

    op.drop_table("supplier_price")
    with op.batch_alter_table("purchase_line", schema=None) as batch_op:
        batch_op.drop_index("ix_purchase_line_sku_open")
        batch_op.drop_index(batch_op.f("ix_purchase_line_purchase_id"))

    op.drop_table("purchase_line")
    with op.batch_alter_table("purchase_order", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_purchase_order_supplier_id"))
        batch_op.drop_index(batch_op.f("ix_purchase_order_state"))
        batch_op.drop_index(batch_op.f("ix_purchase_order_site_id"))

    op.drop_table("purchase_order")
