"""an index on serial_event by document, for a document's serials

Revision ID: 0028
Revises: 0027
Create Date: 2026-11-23
"""

from alembic import op

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_serial_event_document", "serial_event", ["document_type", "document_number"])


def downgrade() -> None:
    op.drop_index("ix_serial_event_document", table_name="serial_event")
