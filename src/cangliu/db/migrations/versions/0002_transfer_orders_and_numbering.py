"""transfer orders and numbering

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

import cangliu.db.types

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "number_counter",
        sa.Column("doc_type", sa.String(length=30), nullable=False),
        sa.Column("period", sa.String(length=10), nullable=False),
        sa.Column("last", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("doc_type", "period", name=op.f("pk_number_counter")),
    )
    op.create_table(
        "transfer_order",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("number", sa.String(length=40), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("source_site_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("dest_site_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("expected_arrival", sa.Date(), nullable=True),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", cangliu.db.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("shipped_at", cangliu.db.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("received_at", cangliu.db.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint("source_site_id <> dest_site_id", name=op.f("ck_transfer_order_two_sites")),
        sa.ForeignKeyConstraint(
            ["dest_site_id"], ["location.id"], name=op.f("fk_transfer_order_dest_site_id_location")
        ),
        sa.ForeignKeyConstraint(
            ["source_site_id"], ["location.id"], name=op.f("fk_transfer_order_source_site_id_location")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transfer_order")),
        sa.UniqueConstraint("number", name=op.f("uq_transfer_order_number")),
    )
    with op.batch_alter_table("transfer_order", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_transfer_order_dest_site_id"), ["dest_site_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_transfer_order_source_site_id"), ["source_site_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_transfer_order_state"), ["state"], unique=False)

    op.create_table(
        "transfer_line",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("transfer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("sku_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("lot", sa.String(length=64), nullable=False),
        sa.Column("qty", cangliu.db.types.Exact(), nullable=False),
        sa.Column("shipped_qty", cangliu.db.types.Exact(), nullable=False),
        sa.Column("received_qty", cangliu.db.types.Exact(), nullable=False),
        sa.Column("damaged_qty", cangliu.db.types.Exact(), nullable=False),
        sa.Column("shortage_qty", cangliu.db.types.Exact(), nullable=False),
        sa.CheckConstraint("qty > 0", name=op.f("ck_transfer_line_qty_positive")),
        sa.CheckConstraint(
            "received_qty + damaged_qty + shortage_qty <= shipped_qty",
            name=op.f("ck_transfer_line_receipt_within_shipment"),
        ),
        sa.ForeignKeyConstraint(["sku_id"], ["sku.id"], name=op.f("fk_transfer_line_sku_id_sku")),
        sa.ForeignKeyConstraint(
            ["transfer_id"], ["transfer_order.id"], name=op.f("fk_transfer_line_transfer_id_transfer_order")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transfer_line")),
        sa.UniqueConstraint("transfer_id", "line_no", name=op.f("uq_transfer_line_transfer_id")),
    )
    with op.batch_alter_table("transfer_line", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_transfer_line_transfer_id"), ["transfer_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("transfer_line", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_transfer_line_transfer_id"))

    op.drop_table("transfer_line")
    with op.batch_alter_table("transfer_order", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_transfer_order_state"))
        batch_op.drop_index(batch_op.f("ix_transfer_order_source_site_id"))
        batch_op.drop_index(batch_op.f("ix_transfer_order_dest_site_id"))

    op.drop_table("transfer_order")
    op.drop_table("number_counter")
