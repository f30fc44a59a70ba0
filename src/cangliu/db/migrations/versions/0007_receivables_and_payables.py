"""receivables and payables

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

import cangliu.db.types

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "open_item",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("partner_code", sa.String(length=40), nullable=False),
        sa.Column("document_type", sa.String(length=30), nullable=False),
        sa.Column("document_number", sa.String(length=40), nullable=False),
        sa.Column("posting_ref", sa.String(length=40), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("rate", cangliu.db.types.Exact(), nullable=False),
        sa.Column("amount", cangliu.db.types.Exact(), nullable=False),
        sa.Column("amount_base", cangliu.db.types.Exact(), nullable=False),
        sa.Column("settled_base", cangliu.db.types.Exact(), nullable=False),
        sa.Column("item_date", sa.Date(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.CheckConstraint("kind IN ('receivable', 'payable')", name=op.f("ck_open_item_kind")),
        sa.CheckConstraint("settled_base <= amount_base", name=op.f("ck_open_item_not_over_settled")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_open_item")),
    )
    with op.batch_alter_table("open_item", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_open_item_document_number"), ["document_number"], unique=False)
        batch_op.create_index("ix_open_item_partner", ["kind", "partner_code", "item_date"], unique=False)

    op.create_table(
        "payment",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("number", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("partner_code", sa.String(length=40), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("rate", cangliu.db.types.Exact(), nullable=False),
        sa.Column("amount", cangliu.db.types.Exact(), nullable=False),
        sa.Column("amount_base", cangliu.db.types.Exact(), nullable=False),
        sa.Column("paid_on", sa.Date(), nullable=False),
        sa.Column("reference", sa.String(length=100), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", cangliu.db.types.UtcDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount > 0", name=op.f("ck_payment_amount_positive")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment")),
        sa.UniqueConstraint("number", name=op.f("uq_payment_number")),
    )
    with op.batch_alter_table("payment", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_payment_partner_code"), ["partner_code"], unique=False)

    op.create_table(
        "allocation",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("payment_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("item_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("amount_base", cangliu.db.types.Exact(), nullable=False),
        sa.CheckConstraint("amount_base > 0", name=op.f("ck_allocation_amount_positive")),
        sa.ForeignKeyConstraint(["item_id"], ["open_item.id"], name=op.f("fk_allocation_item_id_open_item")),
        sa.ForeignKeyConstraint(
            ["payment_id"], ["payment.id"], name=op.f("fk_allocation_payment_id_payment")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_allocation")),
    )
    with op.batch_alter_table("allocation", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_allocation_item_id"), ["item_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_allocation_payment_id"), ["payment_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("allocation", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_allocation_payment_id"))
        batch_op.drop_index(batch_op.f("ix_allocation_item_id"))

    op.drop_table("allocation")
    with op.batch_alter_table("payment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_payment_partner_code"))

    op.drop_table("payment")
    with op.batch_alter_table("open_item", schema=None) as batch_op:
        batch_op.drop_index("ix_open_item_partner")
        batch_op.drop_index(batch_op.f("ix_open_item_document_number"))

    op.drop_table("open_item")
