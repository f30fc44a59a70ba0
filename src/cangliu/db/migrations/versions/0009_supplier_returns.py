"""supplier returns: the quantity of each purchase line given back to the supplier

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

import cangliu.db.types

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("purchase_line", schema=None) as batch_op:
        batch_op.add_column(sa.Column("returned_qty", cangliu.db.types.Exact(), server_default="0",
                                      nullable=False))
        batch_op.create_check_constraint(op.f("ck_purchase_line_return_within_receipt"),
                                         "returned_qty <= received_qty")


def downgrade() -> None:
    with op.batch_alter_table("purchase_line", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_purchase_line_return_within_receipt"), type_="check")
        batch_op.drop_column("returned_qty")
