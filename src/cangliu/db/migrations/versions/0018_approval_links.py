"""approval links: the signed one-time links to an approval that were opened

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
AT = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "approval_link_use",
        sa.Column("id", ID, nullable=False),
        sa.Column("token_id", sa.String(length=64), nullable=False),
        sa.Column("instance_id", ID, nullable=False),
        sa.Column("user_id", ID, nullable=False),
        sa.Column("used_at", AT, nullable=False),
        sa.ForeignKeyConstraint(["instance_id"], ["approval_instance.id"],
                                name=op.f("fk_approval_link_use_instance_id_approval_instance")),
        sa.ForeignKeyConstraint(["user_id"], ["app_user.id"],
                                name=op.f("fk_approval_link_use_user_id_app_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_approval_link_use")),
        sa.UniqueConstraint("token_id", name=op.f("uq_approval_link_use_token_id")),
    )


def downgrade() -> None:
    op.drop_table("approval_link_use")
