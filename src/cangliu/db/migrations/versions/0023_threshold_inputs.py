"""forecast accuracy, lifecycle, XYZ class and lead-time route on stock thresholds

Revision ID: 0023
Revises: 0022
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

COLUMNS = (
    ("route", sa.String(length=90)),
    ("lifecycle", sa.String(length=10)),
    ("xyz", sa.String(length=1)),
    ("mase", sa.Float()),
    ("bias", sa.Float()),
)


def upgrade() -> None:
    with op.batch_alter_table("stock_threshold", schema=None) as batch_op:
        for name, kind in COLUMNS:
            batch_op.add_column(sa.Column(name, kind, nullable=True))
    # Before, a learned lead time pooled every transfer into the site: "site" now.
    op.execute("UPDATE stock_threshold SET lead_time_source = 'site' "
               "WHERE lead_time_source = 'learned'")


def downgrade() -> None:
    op.execute("UPDATE stock_threshold SET lead_time_source = 'learned' "
               "WHERE lead_time_source IN ('route', 'site')")
    with op.batch_alter_table("stock_threshold", schema=None) as batch_op:
        for name, _kind in reversed(COLUMNS):
            batch_op.drop_column(name)
