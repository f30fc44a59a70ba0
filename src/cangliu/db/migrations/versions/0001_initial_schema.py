"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

import cangliu.db.types

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "app_user",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(length=100), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("is_admin", sa.Boolean(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("locale", sa.String(length=10), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_app_user")),
        sa.UniqueConstraint("username", name=op.f("uq_app_user_username")),
    )
    op.create_table(
        "category",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("name_en", sa.String(length=100), nullable=False),
        sa.Column("parent_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["parent_id"], ["category.id"], name=op.f("fk_category_parent_id_category")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_category")),
        sa.UniqueConstraint("code", name=op.f("uq_category_code")),
    )
    op.create_table(
        "customer",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("contact", sa.String(length=100), nullable=False),
        sa.Column("phone", sa.String(length=40), nullable=False),
        sa.Column("email", sa.String(length=200), nullable=False),
        sa.Column("address", sa.String(length=200), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer")),
        sa.UniqueConstraint("code", name=op.f("uq_customer_code")),
    )
    with op.batch_alter_table("customer", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_customer_name"), ["name"], unique=False)

    op.create_table(
        "idempotency_record",
        sa.Column("key", sa.String(length=120), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("response", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_idempotency_record")),
    )
    op.create_table(
        "location",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("name_en", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("parent_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("site_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column(
            "route_from_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column(
            "route_to_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("site_kind", sa.String(length=20), nullable=True),
        sa.Column("region", sa.String(length=40), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=True),
        sa.Column("address", sa.String(length=200), nullable=False),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("capacity_volume_l", cangliu.db.types.Exact(), nullable=True),
        sa.Column("capacity_weight_kg", cangliu.db.types.Exact(), nullable=True),
        sa.Column("allow_negative", sa.Boolean(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["parent_id"], ["location.id"], name=op.f("fk_location_parent_id_location")
        ),
        sa.ForeignKeyConstraint(
            ["route_from_id"], ["location.id"], name=op.f("fk_location_route_from_id_location")
        ),
        sa.ForeignKeyConstraint(
            ["route_to_id"], ["location.id"], name=op.f("fk_location_route_to_id_location")
        ),
        sa.ForeignKeyConstraint(
            ["site_id"], ["location.id"], name=op.f("fk_location_site_id_location")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_location")),
        sa.UniqueConstraint("code", name=op.f("uq_location_code")),
    )
    with op.batch_alter_table("location", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_location_kind"), ["kind"], unique=False)
        batch_op.create_index(batch_op.f("ix_location_parent_id"), ["parent_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_location_region"), ["region"], unique=False)
        batch_op.create_index(batch_op.f("ix_location_site_id"), ["site_id"], unique=False)

    op.create_table(
        "setting",
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_setting")),
    )
    op.create_table(
        "supplier",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("contact", sa.String(length=100), nullable=False),
        sa.Column("phone", sa.String(length=40), nullable=False),
        sa.Column("email", sa.String(length=200), nullable=False),
        sa.Column("address", sa.String(length=200), nullable=False),
        sa.Column("lead_time_days", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_supplier")),
        sa.UniqueConstraint("code", name=op.f("uq_supplier_code")),
    )
    with op.batch_alter_table("supplier", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_supplier_name"), ["name"], unique=False)

    op.create_table(
        "api_token",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["app_user.id"], name=op.f("fk_api_token_user_id_app_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_token")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_token_token_hash")),
    )
    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_token_user_id"), ["user_id"], unique=False)

    op.create_table(
        "sku",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("name_en", sa.String(length=200), nullable=False),
        sa.Column(
            "category_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("uom", sa.String(length=20), nullable=False),
        sa.Column("decimals", sa.Integer(), nullable=False),
        sa.Column("tracking", sa.String(length=10), nullable=False),
        sa.Column("shelf_life_days", sa.Integer(), nullable=True),
        sa.Column("weight_kg", cangliu.db.types.Exact(), nullable=True),
        sa.Column("volume_l", cangliu.db.types.Exact(), nullable=True),
        sa.Column("fragile", sa.Boolean(), nullable=False),
        sa.Column("high_value", sa.Boolean(), nullable=False),
        sa.Column("bonded", sa.Boolean(), nullable=False),
        sa.Column("perishable", sa.Boolean(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint("tracking IN ('none', 'lot', 'serial')", name=op.f("ck_sku_tracking")),
        sa.CheckConstraint("decimals BETWEEN 0 AND 6", name=op.f("ck_sku_decimals")),
        sa.ForeignKeyConstraint(
            ["category_id"], ["category.id"], name=op.f("fk_sku_category_id_category")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sku")),
        sa.UniqueConstraint("code", name=op.f("uq_sku_code")),
    )
    with op.batch_alter_table("sku", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sku_category_id"), ["category_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_sku_name"), ["name"], unique=False)

    op.create_table(
        "barcode",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("sku_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["sku_id"], ["sku.id"], name=op.f("fk_barcode_sku_id_sku")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_barcode")),
        sa.UniqueConstraint("code", name=op.f("uq_barcode_code")),
    )
    with op.batch_alter_table("barcode", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_barcode_sku_id"), ["sku_id"], unique=False)

    op.create_table(
        "lot",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("sku_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("production_date", sa.Date(), nullable=True),
        sa.Column("expiry_date", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(["sku_id"], ["sku.id"], name=op.f("fk_lot_sku_id_sku")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lot")),
        sa.UniqueConstraint("sku_id", "code", name=op.f("uq_lot_sku_id")),
    )
    op.create_table(
        "reservation",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("ref", sa.String(length=40), nullable=False),
        sa.Column("sku_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "location_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("lot", sa.String(length=64), nullable=False),
        sa.Column("qty", cangliu.db.types.Exact(), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("document_type", sa.String(length=30), nullable=True),
        sa.Column("document_number", sa.String(length=40), nullable=True),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("operator", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("qty >= 0", name=op.f("ck_reservation_qty_not_negative")),
        sa.ForeignKeyConstraint(
            ["location_id"], ["location.id"], name=op.f("fk_reservation_location_id_location")
        ),
        sa.ForeignKeyConstraint(["sku_id"], ["sku.id"], name=op.f("fk_reservation_sku_id_sku")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reservation")),
    )
    with op.batch_alter_table("reservation", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_reservation_ref"), ["ref"], unique=False)

    op.create_table(
        "stock_balance",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("sku_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "location_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("site_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("lot", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("qty", cangliu.db.types.Exact(), nullable=False),
        sa.Column("reserved", cangliu.db.types.Exact(), nullable=False),
        sa.Column("allow_negative", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "status = 'available' OR reserved = 0",
            name=op.f("ck_stock_balance_reserve_only_available"),
        ),
        sa.CheckConstraint(
            "qty >= reserved OR allow_negative",
            name=op.f("ck_stock_balance_available_not_negative"),
        ),
        sa.CheckConstraint("reserved >= 0", name=op.f("ck_stock_balance_reserved_not_negative")),
        sa.ForeignKeyConstraint(
            ["location_id"], ["location.id"], name=op.f("fk_stock_balance_location_id_location")
        ),
        sa.ForeignKeyConstraint(
            ["site_id"], ["location.id"], name=op.f("fk_stock_balance_site_id_location")
        ),
        sa.ForeignKeyConstraint(["sku_id"], ["sku.id"], name=op.f("fk_stock_balance_sku_id_sku")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stock_balance")),
        sa.UniqueConstraint("sku_id", "location_id", "lot", "status", name="uq_stock_balance_key"),
    )
    with op.batch_alter_table("stock_balance", schema=None) as batch_op:
        batch_op.create_index("ix_stock_balance_site_sku", ["site_id", "sku_id"], unique=False)

    op.create_table(
        "stock_move",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("ref", sa.String(length=40), nullable=False),
        sa.Column("operation", sa.String(length=20), nullable=False),
        sa.Column("sku_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("qty", cangliu.db.types.Exact(), nullable=False),
        sa.Column("uom", sa.String(length=20), nullable=False),
        sa.Column(
            "from_location_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "to_location_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("from_status", sa.String(length=20), nullable=False),
        sa.Column("to_status", sa.String(length=20), nullable=False),
        sa.Column("lot", sa.String(length=64), nullable=False),
        sa.Column("serial", sa.String(length=64), nullable=True),
        sa.Column("unit_cost", cangliu.db.types.Exact(), nullable=True),
        sa.Column("document_type", sa.String(length=30), nullable=True),
        sa.Column("document_number", sa.String(length=40), nullable=True),
        sa.Column("document_line", sa.Integer(), nullable=True),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("operator", sa.String(length=64), nullable=False),
        sa.Column("device", sa.String(length=64), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("idempotency_key", sa.String(length=120), nullable=False),
        sa.Column(
            "reversal_of_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.CheckConstraint(
            "from_location_id <> to_location_id OR from_status <> to_status",
            name=op.f("ck_stock_move_moves_somewhere"),
        ),
        sa.CheckConstraint("qty > 0", name=op.f("ck_stock_move_qty_positive")),
        sa.ForeignKeyConstraint(
            ["from_location_id"],
            ["location.id"],
            name=op.f("fk_stock_move_from_location_id_location"),
        ),
        sa.ForeignKeyConstraint(
            ["reversal_of_id"],
            ["stock_move.id"],
            name=op.f("fk_stock_move_reversal_of_id_stock_move"),
        ),
        sa.ForeignKeyConstraint(["sku_id"], ["sku.id"], name=op.f("fk_stock_move_sku_id_sku")),
        sa.ForeignKeyConstraint(
            ["to_location_id"], ["location.id"], name=op.f("fk_stock_move_to_location_id_location")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stock_move")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_stock_move_idempotency_key")),
        sa.UniqueConstraint("reversal_of_id", name=op.f("uq_stock_move_reversal_of_id")),
    )
    with op.batch_alter_table("stock_move", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_stock_move_document_number"), ["document_number"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_stock_move_ref"), ["ref"], unique=False)
        batch_op.create_index("ix_stock_move_sku_occurred", ["sku_id", "occurred_at"], unique=False)

    # The virtual locations every move needs on its other side (names zh / en).
    location = sa.table(
        "location",
        *(
            sa.column(c)
            for c in (
                "code",
                "name",
                "name_en",
                "kind",
                "region",
                "address",
                "allow_negative",
                "active",
                "version",
            )
        ),
    )
    names = {
        "supplier": ("供应商", "Suppliers"),
        "customer": ("客户", "Customers"),
        "transit": ("在途", "In transit"),
        "adjustment": ("盘盈盘亏", "Inventory adjustment"),
        "scrap": ("报废", "Scrap"),
        "production": ("生产", "Production"),
    }
    op.bulk_insert(
        location,
        [
            {
                "code": f"@{kind}",
                "name": zh,
                "name_en": en,
                "kind": kind,
                "region": "",
                "address": "",
                "allow_negative": False,
                "active": True,
                "version": 1,
            }
            for kind, (zh, en) in names.items()
        ],
    )


def downgrade() -> None:
    with op.batch_alter_table("stock_move", schema=None) as batch_op:
        batch_op.drop_index("ix_stock_move_sku_occurred")
        batch_op.drop_index(batch_op.f("ix_stock_move_ref"))
        batch_op.drop_index(batch_op.f("ix_stock_move_document_number"))

    op.drop_table("stock_move")
    with op.batch_alter_table("stock_balance", schema=None) as batch_op:
        batch_op.drop_index("ix_stock_balance_site_sku")

    op.drop_table("stock_balance")
    with op.batch_alter_table("reservation", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reservation_ref"))

    op.drop_table("reservation")
    op.drop_table("lot")
    with op.batch_alter_table("barcode", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_barcode_sku_id"))

    op.drop_table("barcode")
    with op.batch_alter_table("sku", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sku_name"))
        batch_op.drop_index(batch_op.f("ix_sku_category_id"))

    op.drop_table("sku")
    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_token_user_id"))

    op.drop_table("api_token")
    with op.batch_alter_table("supplier", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_supplier_name"))

    op.drop_table("supplier")
    op.drop_table("setting")
    with op.batch_alter_table("location", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_location_site_id"))
        batch_op.drop_index(batch_op.f("ix_location_region"))
        batch_op.drop_index(batch_op.f("ix_location_parent_id"))
        batch_op.drop_index(batch_op.f("ix_location_kind"))

    op.drop_table("location")
    op.drop_table("idempotency_record")
    with op.batch_alter_table("customer", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_customer_name"))

    op.drop_table("customer")
    op.drop_table("category")
    op.drop_table("app_user")
