"""sales orders

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

import cangliu.db.types

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sales_order",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("number", sa.String(length=40), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("customer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("site_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("rate", cangliu.db.types.Exact(), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", cangliu.db.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint("rate > 0", name=op.f("ck_sales_order_rate_positive")),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customer.id"], name=op.f("fk_sales_order_customer_id_customer")
        ),
        sa.ForeignKeyConstraint(["site_id"], ["location.id"], name=op.f("fk_sales_order_site_id_location")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sales_order")),
        sa.UniqueConstraint("number", name=op.f("uq_sales_order_number")),
    )
    with op.batch_alter_table("sales_order", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sales_order_customer_id"), ["customer_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_sales_order_site_id"), ["site_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_sales_order_state"), ["state"], unique=False)

    op.create_table(
        "customer_price",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("customer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("sku_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("price", cangliu.db.types.Exact(), nullable=False),
        sa.CheckConstraint("price >= 0", name=op.f("ck_customer_price_price_not_negative")),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customer.id"], name=op.f("fk_customer_price_customer_id_customer")
        ),
        sa.ForeignKeyConstraint(["sku_id"], ["sku.id"], name=op.f("fk_customer_price_sku_id_sku")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_price")),
        sa.UniqueConstraint("customer_id", "sku_id", name=op.f("uq_customer_price_customer_id")),
    )
    with op.batch_alter_table("customer_price", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_customer_price_sku_id"), ["sku_id"], unique=False)

    op.create_table(
        "sales_line",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("sales_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("sku_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("qty", cangliu.db.types.Exact(), nullable=False),
        sa.Column("price", cangliu.db.types.Exact(), nullable=False),
        sa.Column("reservation", sa.String(length=40), nullable=True),
        sa.Column("shipped_qty", cangliu.db.types.Exact(), nullable=False),
        sa.Column("returned_qty", cangliu.db.types.Exact(), nullable=False),
        sa.CheckConstraint("qty > 0", name=op.f("ck_sales_line_qty_positive")),
        sa.CheckConstraint("returned_qty <= shipped_qty", name=op.f("ck_sales_line_return_within_shipment")),
        sa.CheckConstraint("shipped_qty <= qty", name=op.f("ck_sales_line_ship_within_order")),
        sa.ForeignKeyConstraint(
            ["sales_id"], ["sales_order.id"], name=op.f("fk_sales_line_sales_id_sales_order")
        ),
        sa.ForeignKeyConstraint(["sku_id"], ["sku.id"], name=op.f("fk_sales_line_sku_id_sku")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sales_line")),
        sa.UniqueConstraint("sales_id", "line_no", name=op.f("uq_sales_line_sales_id")),
    )
    with op.batch_alter_table("sales_line", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sales_line_sales_id"), ["sales_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("sales_line", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sales_line_sales_id"))

    op.drop_table("sales_line")
    with op.batch_alter_table("customer_price", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_customer_price_sku_id"))

    op.drop_table("customer_price")
    with op.batch_alter_table("sales_order", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sales_order_state"))
        batch_op.drop_index(batch_op.f("ix_sales_order_site_id"))
        batch_op.drop_index(batch_op.f("ix_sales_order_customer_id"))

    op.drop_table("sales_order")
