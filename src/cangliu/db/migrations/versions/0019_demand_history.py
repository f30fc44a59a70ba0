"""demand history: daily demand per SKU × site, with stock-out days flagged

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

import cangliu.db.types

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "demand_day",
        sa.Column("id", ID, nullable=False),
        sa.Column("sku_id", ID, nullable=False),
        sa.Column("site_id", ID, nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("qty", cangliu.db.types.Exact(), nullable=False),
        sa.Column("stockout", sa.Boolean(), nullable=False),
        sa.Column("lost_qty", cangliu.db.types.Exact(), nullable=True),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.CheckConstraint("qty >= 0", name=op.f("ck_demand_day_qty_not_negative")),
        sa.CheckConstraint("lost_qty IS NULL OR lost_qty >= 0",
                           name=op.f("ck_demand_day_lost_qty_not_negative")),
        sa.CheckConstraint("source IN ('ledger', 'import')", name=op.f("ck_demand_day_source")),
        sa.ForeignKeyConstraint(["sku_id"], ["sku.id"], name=op.f("fk_demand_day_sku_id_sku")),
        sa.ForeignKeyConstraint(["site_id"], ["location.id"],
                                name=op.f("fk_demand_day_site_id_location")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_demand_day")),
        sa.UniqueConstraint("sku_id", "site_id", "day", name=op.f("uq_demand_day_sku_id")),
    )
    op.create_index("ix_demand_day_site_day", "demand_day", ["site_id", "day"])


def downgrade() -> None:
    op.drop_table("demand_day")
