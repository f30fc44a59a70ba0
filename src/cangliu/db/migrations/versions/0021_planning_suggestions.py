"""planning suggestions; pack size per SKU; a transfer's planning rule and exception flag

Revision ID: 0021
Revises: 0020
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

import cangliu.db.types

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("sku", schema=None) as batch_op:
        batch_op.add_column(sa.Column("pack_size", cangliu.db.types.Exact(), nullable=False,
                                      server_default="1"))
    with op.batch_alter_table("transfer_order", schema=None) as batch_op:
        batch_op.add_column(sa.Column("generated_by_rule", sa.String(length=60), nullable=False,
                                      server_default=""))
        batch_op.add_column(sa.Column("exception", sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
    op.create_table(
        "planning_suggestion",
        sa.Column("id", ID, nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("rule", sa.String(length=60), nullable=False),
        sa.Column("sku_id", ID, nullable=False),
        sa.Column("from_site_id", ID, nullable=True),
        sa.Column("to_site_id", ID, nullable=False),
        sa.Column("qty", cangliu.db.types.Exact(), nullable=False),
        sa.Column("trigger", sa.Text(), nullable=False),
        sa.Column("cover_before", sa.Float(), nullable=True),
        sa.Column("cover_after", sa.Float(), nullable=True),
        sa.Column("exception", sa.Boolean(), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("run_on", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("document", sa.String(length=40), nullable=True),
        sa.Column("decided_by", sa.String(length=64), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reason", sa.String(length=200), nullable=True),
        sa.CheckConstraint("qty > 0", name=op.f("ck_planning_suggestion_qty_positive")),
        sa.CheckConstraint("kind IN ('transfer', 'purchase')", name=op.f("ck_planning_suggestion_kind")),
        sa.CheckConstraint("state IN ('open', 'accepted', 'dismissed', 'superseded')",
                           name=op.f("ck_planning_suggestion_state")),
        sa.ForeignKeyConstraint(["sku_id"], ["sku.id"], name=op.f("fk_planning_suggestion_sku_id_sku")),
        sa.ForeignKeyConstraint(["from_site_id"], ["location.id"],
                                name=op.f("fk_planning_suggestion_from_site_id_location")),
        sa.ForeignKeyConstraint(["to_site_id"], ["location.id"],
                                name=op.f("fk_planning_suggestion_to_site_id_location")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_planning_suggestion")),
    )
    op.create_index("ix_planning_suggestion_state", "planning_suggestion", ["state", "rule"])


def downgrade() -> None:
    op.drop_table("planning_suggestion")
    with op.batch_alter_table("transfer_order", schema=None) as batch_op:
        batch_op.drop_column("exception")
        batch_op.drop_column("generated_by_rule")
    with op.batch_alter_table("sku", schema=None) as batch_op:
        batch_op.drop_column("pack_size")
