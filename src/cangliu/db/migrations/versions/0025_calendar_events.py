"""calendar events: holidays and events per day (春节, 国庆, Black Friday …) whose demand effect
the forecasts learn and apply

Revision ID: 0025
Revises: 0024
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "calendar_event",
        sa.Column("id", ID, nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.CheckConstraint("source IN ('manual', 'import')", name=op.f("ck_calendar_event_source")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calendar_event")),
        sa.UniqueConstraint("day", "name", name=op.f("uq_calendar_event_day")),
    )


def downgrade() -> None:
    op.drop_table("calendar_event")
