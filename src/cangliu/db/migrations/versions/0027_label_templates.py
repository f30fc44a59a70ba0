"""label templates: size, layout (single label or A4 sheet) and the fields each label shows

Revision ID: 0027
Revises: 0026
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
MM = sa.Numeric(precision=6, scale=1, asdecimal=False)


def upgrade() -> None:
    op.create_table(
        "label_template",
        sa.Column("id", ID, nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("width_mm", MM, nullable=False),
        sa.Column("height_mm", MM, nullable=False),
        sa.Column("sheet", sa.String(length=10), nullable=False),
        sa.Column("columns", sa.Integer(), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("margin_mm", MM, nullable=False),
        sa.Column("gap_mm", MM, nullable=False),
        sa.Column("fields", sa.Text(), nullable=False),
        sa.Column("font_size", MM, nullable=False),
        sa.Column("builtin", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_by", sa.String(length=64), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("sheet IN ('single', 'a4')", name=op.f("ck_label_template_sheet")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_label_template")),
        sa.UniqueConstraint("code", name=op.f("uq_label_template_code")),
    )


def downgrade() -> None:
    op.drop_table("label_template")
