"""stock thresholds: safety stock, reorder point and max per SKU × site and day; user overrides

Revision ID: 0020
Revises: 0019
Create Date: 2026-11-23
"""

from typing import Any

import sqlalchemy as sa
from alembic import op

import cangliu.db.types

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
LEVELS = ("safety_stock", "reorder_point", "max_stock")


def _keys(table: str) -> list[Any]:
    return [sa.Column("id", ID, nullable=False),
            sa.Column("sku_id", ID, nullable=False),
            sa.Column("site_id", ID, nullable=False),
            sa.ForeignKeyConstraint(["sku_id"], ["sku.id"], name=op.f(f"fk_{table}_sku_id_sku")),
            sa.ForeignKeyConstraint(["site_id"], ["location.id"],
                                    name=op.f(f"fk_{table}_site_id_location")),
            sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}"))]


def _levels() -> list[Any]:
    return [sa.Column(name, cangliu.db.types.Exact(), nullable=False) for name in LEVELS]


def upgrade() -> None:
    op.create_table(
        "stock_threshold", *_keys("stock_threshold"),
        sa.Column("computed_on", sa.Date(), nullable=False),
        *(sa.Column(name, sa.Float(), nullable=False)
          for name in ("demand", "demand_sd", "lead_time", "lead_time_sd")),
        sa.Column("lead_time_source", sa.String(length=10), nullable=False),
        sa.Column("abc", sa.String(length=1), nullable=True),
        sa.Column("pattern", sa.String(length=20), nullable=True),
        sa.Column("model", sa.String(length=30), nullable=True),
        sa.Column("z", sa.Float(), nullable=False),
        *_levels(),
        sa.Column("explanation", sa.String(length=400), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=True),
        sa.UniqueConstraint("sku_id", "site_id", "computed_on",
                            name=op.f("uq_stock_threshold_sku_id")),
    )
    op.create_index("ix_stock_threshold_computed_on", "stock_threshold", ["computed_on"])
    op.create_table(
        "threshold_override", *_keys("threshold_override"), *_levels(),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("safety_stock >= 0 AND reorder_point >= safety_stock "
                           "AND max_stock >= reorder_point",
                           name=op.f("ck_threshold_override_levels_ordered")),
    )
    op.create_index("ix_threshold_override_key", "threshold_override", ["sku_id", "site_id"])


def downgrade() -> None:
    op.drop_table("threshold_override")
    op.drop_table("stock_threshold")
