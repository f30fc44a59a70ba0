"""daily KPI snapshots

Revision ID: 0031
Revises: 0030
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

import cangliu.db.types

revision = "0031"
down_revision = "0030"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _money(name: str) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, cangliu.db.types.Exact(), nullable=False)


def _count(name: str) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.Integer(), nullable=False)


def upgrade() -> None:
    op.create_table(
        "kpi_snapshot",
        sa.Column("id", ID, nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("site_id", ID, nullable=False),
        sa.Column("category_id", sa.Integer(), nullable=False),
        *[_money(n) for n in ("on_hand_qty", "stock_value", "cogs", "receipts_value", "issues_qty")],
        _count("lines"), _count("lines_short"), _money("transfers_value"),
        _count("receipt_lines"), _count("receipt_lines_exact"),
        sa.Column("taken_at", cangliu.db.types.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["site_id"], ["location.id"],
                                name=op.f("fk_kpi_snapshot_site_id_location")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kpi_snapshot")),
        sa.UniqueConstraint("day", "site_id", "category_id", name="uq_kpi_snapshot_key"),
    )
    op.create_index(op.f("ix_kpi_snapshot_day"), "kpi_snapshot", ["day"], unique=False)
    op.create_table(
        "kpi_site_snapshot",
        sa.Column("id", ID, nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("site_id", ID, nullable=False),
        _count("orders"), _count("orders_short"), _count("transfers_shipped"),
        _count("transit_count"), _money("transit_hours_sum"), _count("approvals"),
        _money("approval_hours_sum"),
        sa.ForeignKeyConstraint(["site_id"], ["location.id"],
                                name=op.f("fk_kpi_site_snapshot_site_id_location")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kpi_site_snapshot")),
        sa.UniqueConstraint("day", "site_id", name="uq_kpi_site_snapshot_key"),
    )
    op.create_index(op.f("ix_kpi_site_snapshot_day"), "kpi_site_snapshot", ["day"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_kpi_site_snapshot_day"), table_name="kpi_site_snapshot")
    op.drop_table("kpi_site_snapshot")
    op.drop_index(op.f("ix_kpi_snapshot_day"), table_name="kpi_snapshot")
    op.drop_table("kpi_snapshot")
