"""promotion calendar: promotions with their dates and uplift, the SKUs and sites they cover

Revision ID: 0022
Revises: 0021
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

import cangliu.db.types

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _link(table: str, column: str, target: str) -> None:
    op.create_table(
        table,
        sa.Column("id", ID, nullable=False),
        sa.Column("promotion_id", ID, nullable=False),
        sa.Column(column, ID, nullable=False),
        sa.ForeignKeyConstraint(["promotion_id"], ["promotion.id"],
                                name=op.f(f"fk_{table}_promotion_id_promotion")),
        sa.ForeignKeyConstraint([column], [f"{target}.id"],
                                name=op.f(f"fk_{table}_{column}_{target}")),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
        sa.UniqueConstraint("promotion_id", column, name=op.f(f"uq_{table}_promotion_id")),
    )
    op.create_index(op.f(f"ix_{table}_{column}"), table, [column])


def upgrade() -> None:
    op.create_table(
        "promotion",
        sa.Column("id", ID, nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("uplift_pct", cangliu.db.types.Exact(), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancelled_by", sa.String(length=64), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint("ends_on >= starts_on", name=op.f("ck_promotion_dates_ordered")),
        sa.CheckConstraint("uplift_pct > -100000000 AND uplift_pct <= 1000000000",
                           name=op.f("ck_promotion_uplift_range")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_promotion")),
        sa.UniqueConstraint("code", name=op.f("uq_promotion_code")),
    )
    op.create_index("ix_promotion_dates", "promotion", ["starts_on", "ends_on"])
    _link("promotion_sku", "sku_id", "sku")
    _link("promotion_site", "site_id", "location")


def downgrade() -> None:
    op.drop_table("promotion_site")
    op.drop_table("promotion_sku")
    op.drop_table("promotion")
