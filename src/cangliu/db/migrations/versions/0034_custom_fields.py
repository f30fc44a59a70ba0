"""custom fields defined by administrators and their values

Revision ID: 0034
Revises: 0033
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import cangliu.db.types

revision = "0034"
down_revision = "0033"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
VALUES = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
# Every table whose records carry custom field values (sites are rows of ``location``).
TABLES = ("sku", "location", "supplier", "customer", "serial", "purchase_order", "sales_order",
          "transfer_order")


def upgrade() -> None:
    op.create_table(
        "custom_field",
        sa.Column("id", ID, nullable=False),
        sa.Column("entity", sa.String(30), nullable=False),
        sa.Column("key", sa.String(40), nullable=False),
        sa.Column("label_zh", sa.String(100), nullable=False),
        sa.Column("label_en", sa.String(100), nullable=False),
        sa.Column("type", sa.String(20), nullable=False),
        sa.Column("required", sa.Boolean(), nullable=False),
        sa.Column("default", sa.Text(), nullable=True),
        sa.Column("rules", sa.Text(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", cangliu.db.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("updated_at", cangliu.db.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_custom_field")),
        sa.UniqueConstraint("entity", "key", name=op.f("uq_custom_field_entity")),
    )
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("custom", VALUES, nullable=True))


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_column("custom")
    op.drop_table("custom_field")
