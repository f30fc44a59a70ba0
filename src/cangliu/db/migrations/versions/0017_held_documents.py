"""held documents: scrap and customer returns waiting for their approval

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "held_document",
        sa.Column("id", ID, nullable=False),
        sa.Column("document_type", sa.String(length=20), nullable=False),
        sa.Column("number", sa.String(length=40), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("site_id", ID, nullable=False),
        sa.Column("parent", sa.String(length=40), nullable=True),
        sa.Column("request", sa.Text(), nullable=False),
        sa.Column("fields", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint("state IN ('pending_approval', 'posted', 'rejected', 'cancelled')",
                           name=op.f("ck_held_document_state")),
        sa.ForeignKeyConstraint(["site_id"], ["location.id"],
                                name=op.f("fk_held_document_site_id_location")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_held_document")),
        sa.UniqueConstraint("document_type", "number",
                            name=op.f("uq_held_document_document_type")),
    )
    op.create_index(op.f("ix_held_document_number"), "held_document", ["number"])
    op.create_index(op.f("ix_held_document_state"), "held_document", ["state"])
    op.create_index(op.f("ix_held_document_site_id"), "held_document", ["site_id"])
    op.create_index(op.f("ix_held_document_parent"), "held_document", ["parent"])


def downgrade() -> None:
    op.drop_table("held_document")
