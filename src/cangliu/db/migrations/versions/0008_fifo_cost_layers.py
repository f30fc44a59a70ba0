"""FIFO cost layers and the valuation method per category

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

import cangliu.db.types

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("category", schema=None) as batch_op:
        batch_op.add_column(sa.Column("valuation", sa.String(length=20),
                                      server_default="moving_average", nullable=False))
        batch_op.create_check_constraint(op.f("ck_category_valuation"),
                                         "valuation IN ('moving_average', 'fifo')")
    op.create_table(
        "cost_layer",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("sku_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("ref", sa.String(length=40), nullable=True),
        sa.Column("entered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("qty", cangliu.db.types.Exact(), nullable=False),
        sa.Column("remaining", cangliu.db.types.Exact(), nullable=False),
        sa.Column("unit_cost", cangliu.db.types.Exact(), nullable=False),
        sa.Column("value", cangliu.db.types.Exact(), nullable=False),
        sa.CheckConstraint("remaining >= 0 AND remaining <= qty",
                           name=op.f("ck_cost_layer_remaining_within_qty")),
        sa.CheckConstraint("value >= 0", name=op.f("ck_cost_layer_value_not_negative")),
        sa.ForeignKeyConstraint(["sku_id"], ["sku.id"], name=op.f("fk_cost_layer_sku_id_sku")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cost_layer")),
    )
    with op.batch_alter_table("cost_layer", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_cost_layer_ref"), ["ref"], unique=False)
        batch_op.create_index("ix_cost_layer_open", ["sku_id", "id"], unique=False,
                              postgresql_where=sa.text("remaining > 0"),
                              sqlite_where=sa.text("remaining > 0"))


def downgrade() -> None:
    with op.batch_alter_table("cost_layer", schema=None) as batch_op:
        batch_op.drop_index("ix_cost_layer_open")
        batch_op.drop_index(batch_op.f("ix_cost_layer_ref"))
    op.drop_table("cost_layer")
    with op.batch_alter_table("category", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_category_valuation"), type_="check")
        batch_op.drop_column("valuation")
