"""serial numbers: generation rules and their counters, serials, batches and serial events

Revision ID: 0026
Revises: 0025
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
STATUSES = ("generated", "in_stock", "reserved", "in_transit", "sold", "returned", "in_repair",
            "scrapped", "retired")


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [f"{target}.id"],
                                   name=op.f(f"fk_{table}_{column}_{target}"))


def _rule() -> None:
    op.create_table(
        "serial_rule",
        sa.Column("id", ID, nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("template", sa.Text(), nullable=False),
        sa.Column("sku_id", ID, nullable=True),
        sa.Column("category_id", ID, nullable=True),
        sa.Column("line", sa.String(length=40), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("updated_by", sa.String(length=64), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint("kind IN ('serial', 'lot')", name=op.f("ck_serial_rule_kind")),
        sa.CheckConstraint("sku_id IS NULL OR category_id IS NULL",
                           name=op.f("ck_serial_rule_one_scope")),
        _fk("serial_rule", "sku_id", "sku"),
        _fk("serial_rule", "category_id", "category"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_serial_rule")),
        sa.UniqueConstraint("code", name=op.f("uq_serial_rule_code")),
    )
    op.create_index(op.f("ix_serial_rule_sku_id"), "serial_rule", ["sku_id"])
    op.create_index(op.f("ix_serial_rule_category_id"), "serial_rule", ["category_id"])
    op.create_table(
        "serial_counter",
        sa.Column("rule_id", ID, nullable=False),
        sa.Column("period", sa.String(length=10), nullable=False),
        sa.Column("last", sa.Integer(), nullable=False),
        _fk("serial_counter", "rule_id", "serial_rule"),
        sa.PrimaryKeyConstraint("rule_id", "period", name=op.f("pk_serial_counter")),
    )


def _batch() -> None:
    op.create_table(
        "serial_batch",
        sa.Column("id", ID, nullable=False),
        sa.Column("number", sa.String(length=40), nullable=False),
        sa.Column("rule_id", ID, nullable=False),
        sa.Column("sku_id", ID, nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("first_code", sa.String(length=64), nullable=False),
        sa.Column("last_code", sa.String(length=64), nullable=False),
        sa.Column("site_id", ID, nullable=True),
        sa.Column("line", sa.String(length=40), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        _fk("serial_batch", "rule_id", "serial_rule"),
        _fk("serial_batch", "sku_id", "sku"),
        _fk("serial_batch", "site_id", "location"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_serial_batch")),
        sa.UniqueConstraint("number", name=op.f("uq_serial_batch_number")),
    )
    op.create_index(op.f("ix_serial_batch_sku_id"), "serial_batch", ["sku_id"])


def _serial() -> None:
    statuses = ", ".join(f"'{s}'" for s in STATUSES)
    op.create_table(
        "serial",
        sa.Column("id", ID, nullable=False),
        sa.Column("sku_id", ID, nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("unique_key", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("rule_id", ID, nullable=True),
        sa.Column("batch_id", ID, nullable=True),
        sa.Column("site_id", ID, nullable=True),
        sa.Column("location_id", ID, nullable=True),
        sa.Column("lot", sa.String(length=64), nullable=False),
        sa.Column("parent_id", ID, nullable=True),
        sa.Column("customer_id", ID, nullable=True),
        sa.Column("sales_order", sa.String(length=40), nullable=True),
        sa.Column("purchase_order", sa.String(length=40), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(f"status IN ({statuses})", name=op.f("ck_serial_status")),
        _fk("serial", "sku_id", "sku"),
        _fk("serial", "rule_id", "serial_rule"),
        _fk("serial", "batch_id", "serial_batch"),
        _fk("serial", "site_id", "location"),
        _fk("serial", "location_id", "location"),
        _fk("serial", "parent_id", "serial"),
        _fk("serial", "customer_id", "customer"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_serial")),
        sa.UniqueConstraint("unique_key", name=op.f("uq_serial_unique_key")),
    )
    op.create_index(op.f("ix_serial_code"), "serial", ["code"])
    op.create_index(op.f("ix_serial_batch_id"), "serial", ["batch_id"])
    op.create_index(op.f("ix_serial_parent_id"), "serial", ["parent_id"])
    op.create_index("ix_serial_sku_status", "serial", ["sku_id", "status"])


def _event() -> None:
    op.create_table(
        "serial_event",
        sa.Column("id", ID, nullable=False),
        sa.Column("serial_id", ID, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("operator", sa.String(length=64), nullable=False),
        sa.Column("device", sa.String(length=64), nullable=False),
        sa.Column("document_type", sa.String(length=30), nullable=True),
        sa.Column("document_number", sa.String(length=40), nullable=True),
        sa.Column("site_id", ID, nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
        _fk("serial_event", "serial_id", "serial"),
        _fk("serial_event", "site_id", "location"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_serial_event")),
    )
    op.create_index(op.f("ix_serial_event_serial_id"), "serial_event", ["serial_id"])


def upgrade() -> None:
    _rule()
    _batch()
    _serial()
    _event()


def downgrade() -> None:
    op.drop_table("serial_event")
    op.drop_table("serial")
    op.drop_table("serial_batch")
    op.drop_table("serial_counter")
    op.drop_table("serial_rule")
