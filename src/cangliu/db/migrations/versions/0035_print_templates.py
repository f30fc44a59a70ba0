"""print templates per document type

Revision ID: 0035
Revises: 0034
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

import cangliu.db.types

revision = "0035"
down_revision = "0034"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "print_template",
        sa.Column("id", ID, nullable=False),
        sa.Column("document_type", sa.String(length=30), nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", cangliu.db.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_print_template")),
        sa.UniqueConstraint("document_type", "name", name=op.f("uq_print_template_document_type")),
    )


def downgrade() -> None:
    op.drop_table("print_template")
