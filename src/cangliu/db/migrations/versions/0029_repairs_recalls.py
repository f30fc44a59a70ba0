"""work orders, assemblies, repair tickets and recalls; sku warranty

Revision ID: 0029
Revises: 0028
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

import cangliu.db.types

revision = "0029"
down_revision = "0028"
branch_labels = None
depends_on = None


OLD_STATES = ("generated", "in_stock", "reserved", "in_transit", "sold", "returned", "in_repair",
              "scrapped", "retired")
NEW_STATES = (*OLD_STATES[:7], "installed", *OLD_STATES[7:])


def _serial_states(states: tuple[str, ...]) -> None:
    """A serial's status CHECK: 0029 adds 'installed' (a component inside another unit)."""
    listed = ", ".join(f"'{s}'" for s in states)
    with op.batch_alter_table("serial", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_serial_status"), type_="check")
        batch_op.create_check_constraint(op.f("ck_serial_status"), f"status IN ({listed})")


def upgrade() -> None:
    _serial_states(NEW_STATES)
    op.create_index("ix_serial_event_kind_at", "serial_event", ["kind", "at"])
    op.create_table(
        "work_order",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("number", sa.String(length=40), nullable=False),
        sa.Column("sku_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("site_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("line", sa.String(length=40), nullable=False),
        sa.Column("qty", cangliu.db.types.Exact(), nullable=False),
        sa.Column("lot", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", cangliu.db.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("completed_by", sa.String(length=64), nullable=True),
        sa.Column("completed_at", cangliu.db.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "status IN ('draft', 'completed', 'cancelled')", name=op.f("ck_work_order_status")
        ),
        sa.CheckConstraint("qty > 0", name=op.f("ck_work_order_qty_positive")),
        sa.ForeignKeyConstraint(
            ["site_id"], ["location.id"], name=op.f("fk_work_order_site_id_location")
        ),
        sa.ForeignKeyConstraint(["sku_id"], ["sku.id"], name=op.f("fk_work_order_sku_id_sku")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_work_order")),
        sa.UniqueConstraint("number", name=op.f("uq_work_order_number")),
    )
    with op.batch_alter_table("work_order", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_work_order_sku_id"), ["sku_id"], unique=False)

    op.create_table(
        "recall",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("number", sa.String(length=40), nullable=False),
        sa.Column("sku_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("lot", sa.String(length=64), nullable=False),
        sa.Column("serial_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("unit_count", sa.Integer(), nullable=False),
        sa.Column("held_count", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", cangliu.db.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("held_at", cangliu.db.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("held_by", sa.String(length=64), nullable=True),
        sa.CheckConstraint("status IN ('open', 'closed')", name=op.f("ck_recall_status")),
        sa.ForeignKeyConstraint(
            ["serial_id"], ["serial.id"], name=op.f("fk_recall_serial_id_serial")
        ),
        sa.ForeignKeyConstraint(["sku_id"], ["sku.id"], name=op.f("fk_recall_sku_id_sku")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recall")),
        sa.UniqueConstraint("number", name=op.f("uq_recall_number")),
    )
    op.create_table(
        "repair_ticket",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("number", sa.String(length=40), nullable=False),
        sa.Column(
            "serial_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("sku_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "customer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("site_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("fault", sa.Text(), nullable=False),
        sa.Column("fault_code", sa.String(length=40), nullable=False),
        sa.Column("warranty", sa.String(length=20), nullable=False),
        sa.Column("warranty_until", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("serial_status_before", sa.String(length=20), nullable=False),
        sa.Column("resolution", sa.Text(), nullable=False),
        sa.Column("opened_by", sa.String(length=64), nullable=False),
        sa.Column("opened_at", cangliu.db.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("closed_by", sa.String(length=64), nullable=True),
        sa.Column("closed_at", cangliu.db.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "status IN ('open', 'in_progress', 'closed', 'cancelled')",
            name=op.f("ck_repair_ticket_status"),
        ),
        sa.CheckConstraint(
            "warranty IN ('in_warranty', 'out_of_warranty', 'unknown')",
            name=op.f("ck_repair_ticket_warranty"),
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customer.id"], name=op.f("fk_repair_ticket_customer_id_customer")
        ),
        sa.ForeignKeyConstraint(
            ["serial_id"], ["serial.id"], name=op.f("fk_repair_ticket_serial_id_serial")
        ),
        sa.ForeignKeyConstraint(
            ["site_id"], ["location.id"], name=op.f("fk_repair_ticket_site_id_location")
        ),
        sa.ForeignKeyConstraint(["sku_id"], ["sku.id"], name=op.f("fk_repair_ticket_sku_id_sku")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_repair_ticket")),
        sa.UniqueConstraint("number", name=op.f("uq_repair_ticket_number")),
    )
    with op.batch_alter_table("repair_ticket", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_repair_ticket_serial_id"), ["serial_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_repair_ticket_sku_id"), ["sku_id"], unique=False)
        batch_op.create_index(
            "ix_repair_ticket_status_opened", ["status", "opened_at"], unique=False
        )

    op.create_table(
        "work_order_component",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "work_order_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("sku_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("lot", sa.String(length=64), nullable=False),
        sa.Column("serial_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("qty", cangliu.db.types.Exact(), nullable=False),
        sa.CheckConstraint("qty > 0", name=op.f("ck_work_order_component_qty_positive")),
        sa.ForeignKeyConstraint(
            ["serial_id"], ["serial.id"], name=op.f("fk_work_order_component_serial_id_serial")
        ),
        sa.ForeignKeyConstraint(
            ["sku_id"], ["sku.id"], name=op.f("fk_work_order_component_sku_id_sku")
        ),
        sa.ForeignKeyConstraint(
            ["work_order_id"],
            ["work_order.id"],
            name=op.f("fk_work_order_component_work_order_id_work_order"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_work_order_component")),
    )
    with op.batch_alter_table("work_order_component", schema=None) as batch_op:
        batch_op.create_index("ix_work_order_component_lot", ["sku_id", "lot"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_work_order_component_serial_id"), ["serial_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_work_order_component_work_order_id"), ["work_order_id"], unique=False
        )

    op.create_table(
        "assembly_link",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "parent_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "child_serial_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column(
            "child_sku_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("child_lot", sa.String(length=64), nullable=False),
        sa.Column("qty", cangliu.db.types.Exact(), nullable=False),
        sa.Column(
            "work_order_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column(
            "repair_ticket_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("installed_by", sa.String(length=64), nullable=False),
        sa.Column("installed_at", cangliu.db.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("removed_by", sa.String(length=64), nullable=True),
        sa.Column("removed_at", cangliu.db.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("removal_reason", sa.Text(), nullable=False),
        sa.CheckConstraint("qty > 0", name=op.f("ck_assembly_link_qty_positive")),
        sa.ForeignKeyConstraint(
            ["child_serial_id"], ["serial.id"], name=op.f("fk_assembly_link_child_serial_id_serial")
        ),
        sa.ForeignKeyConstraint(
            ["child_sku_id"], ["sku.id"], name=op.f("fk_assembly_link_child_sku_id_sku")
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"], ["serial.id"], name=op.f("fk_assembly_link_parent_id_serial")
        ),
        sa.ForeignKeyConstraint(
            ["repair_ticket_id"],
            ["repair_ticket.id"],
            name=op.f("fk_assembly_link_repair_ticket_id_repair_ticket"),
        ),
        sa.ForeignKeyConstraint(
            ["work_order_id"],
            ["work_order.id"],
            name=op.f("fk_assembly_link_work_order_id_work_order"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assembly_link")),
    )
    with op.batch_alter_table("assembly_link", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_assembly_link_child_serial_id"), ["child_serial_id"], unique=False
        )
        batch_op.create_index("ix_assembly_link_lot", ["child_sku_id", "child_lot"], unique=False)
        batch_op.create_index(batch_op.f("ix_assembly_link_parent_id"), ["parent_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_assembly_link_work_order_id"), ["work_order_id"], unique=False
        )

    op.create_table(
        "recall_unit",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "recall_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "serial_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("depth", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("site_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column(
            "customer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("held", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customer.id"], name=op.f("fk_recall_unit_customer_id_customer")
        ),
        sa.ForeignKeyConstraint(
            ["recall_id"], ["recall.id"], name=op.f("fk_recall_unit_recall_id_recall")
        ),
        sa.ForeignKeyConstraint(
            ["serial_id"], ["serial.id"], name=op.f("fk_recall_unit_serial_id_serial")
        ),
        sa.ForeignKeyConstraint(
            ["site_id"], ["location.id"], name=op.f("fk_recall_unit_site_id_location")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recall_unit")),
    )
    with op.batch_alter_table("recall_unit", schema=None) as batch_op:
        batch_op.create_index(
            "ix_recall_unit_recall_serial", ["recall_id", "serial_id"], unique=True
        )
        batch_op.create_index(batch_op.f("ix_recall_unit_serial_id"), ["serial_id"], unique=False)

    op.create_table(
        "repair_action",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "ticket_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("at", cangliu.db.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("operator", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column(
            "old_serial_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column(
            "new_serial_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("old_part_fate", sa.String(length=20), nullable=False),
        sa.CheckConstraint(
            "kind IN ('diagnose', 'repair', 'replace_part', 'test', 'note')",
            name=op.f("ck_repair_action_kind"),
        ),
        sa.CheckConstraint(
            "old_part_fate IN ('', 'returned', 'scrapped')",
            name=op.f("ck_repair_action_old_part_fate"),
        ),
        sa.ForeignKeyConstraint(
            ["new_serial_id"], ["serial.id"], name=op.f("fk_repair_action_new_serial_id_serial")
        ),
        sa.ForeignKeyConstraint(
            ["old_serial_id"], ["serial.id"], name=op.f("fk_repair_action_old_serial_id_serial")
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["repair_ticket.id"],
            name=op.f("fk_repair_action_ticket_id_repair_ticket"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_repair_action")),
    )
    with op.batch_alter_table("repair_action", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_repair_action_ticket_id"), ["ticket_id"], unique=False)

    with op.batch_alter_table("sku", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("warranty_days", sa.Integer(), server_default="365", nullable=False)
        )


def downgrade() -> None:
    op.drop_index("ix_serial_event_kind_at", table_name="serial_event")
    _serial_states(OLD_STATES)
    with op.batch_alter_table("sku", schema=None) as batch_op:
        batch_op.drop_column("warranty_days")

    with op.batch_alter_table("repair_action", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_repair_action_ticket_id"))

    op.drop_table("repair_action")
    with op.batch_alter_table("recall_unit", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_recall_unit_serial_id"))
        batch_op.drop_index("ix_recall_unit_recall_serial")

    op.drop_table("recall_unit")
    with op.batch_alter_table("assembly_link", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_assembly_link_work_order_id"))
        batch_op.drop_index(batch_op.f("ix_assembly_link_parent_id"))
        batch_op.drop_index("ix_assembly_link_lot")
        batch_op.drop_index(batch_op.f("ix_assembly_link_child_serial_id"))

    op.drop_table("assembly_link")
    with op.batch_alter_table("work_order_component", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_work_order_component_work_order_id"))
        batch_op.drop_index(batch_op.f("ix_work_order_component_serial_id"))
        batch_op.drop_index("ix_work_order_component_lot")

    op.drop_table("work_order_component")
    with op.batch_alter_table("repair_ticket", schema=None) as batch_op:
        batch_op.drop_index("ix_repair_ticket_status_opened")
        batch_op.drop_index(batch_op.f("ix_repair_ticket_sku_id"))
        batch_op.drop_index(batch_op.f("ix_repair_ticket_serial_id"))

    op.drop_table("repair_ticket")
    op.drop_table("recall")
    with op.batch_alter_table("work_order", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_work_order_sku_id"))

    op.drop_table("work_order")
