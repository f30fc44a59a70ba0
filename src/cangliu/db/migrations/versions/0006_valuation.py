"""valuation

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

import cangliu.db.types

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sku_cost",
        sa.Column("sku_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("qty", cangliu.db.types.Exact(), nullable=False),
        sa.Column("value", cangliu.db.types.Exact(), nullable=False),
        sa.ForeignKeyConstraint(["sku_id"], ["sku.id"], name=op.f("fk_sku_cost_sku_id_sku")),
        sa.PrimaryKeyConstraint("sku_id", name=op.f("pk_sku_cost")),
    )
    with op.batch_alter_table("stock_move", schema=None) as batch_op:
        batch_op.add_column(sa.Column("value", cangliu.db.types.Exact(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("stock_move", schema=None) as batch_op:
        batch_op.drop_column("value")

    op.drop_table("sku_cost")
