"""sessions and security log: server-side browser sessions, revocable API tokens, the security log

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
AT = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.add_column(sa.Column("ref", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("last_used_at", AT, nullable=True))
        batch_op.add_column(sa.Column("revoked_at", AT, nullable=True))
    # Tokens issued before this revision get a reference derived from their (secret-free) hash.
    op.execute("UPDATE api_token SET ref = substr(token_hash, 1, 20)")
    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.alter_column("ref", existing_type=sa.String(length=20), nullable=False)
        batch_op.create_unique_constraint(batch_op.f("uq_api_token_ref"), ["ref"])

    op.create_table(
        "user_session",
        sa.Column("id", ID, nullable=False),
        sa.Column("session_hash", sa.String(length=64), nullable=False),
        sa.Column("ref", sa.String(length=20), nullable=False),
        sa.Column("user_id", ID, nullable=False),
        sa.Column("created_at", AT, nullable=False),
        sa.Column("last_seen_at", AT, nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("user_agent", sa.String(length=200), nullable=False),
        sa.Column("revoked_at", AT, nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["app_user.id"],
                                name=op.f("fk_user_session_user_id_app_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_session")),
        sa.UniqueConstraint("session_hash", name=op.f("uq_user_session_session_hash")),
        sa.UniqueConstraint("ref", name=op.f("uq_user_session_ref")),
    )
    op.create_index(op.f("ix_user_session_user_id"), "user_session", ["user_id"], unique=False)

    op.create_table(
        "security_event",
        sa.Column("id", ID, nullable=False),
        sa.Column("at", AT, nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("user_id", ID, nullable=True),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("user_agent", sa.String(length=200), nullable=False),
        sa.Column("detail", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["app_user.id"],
                                name=op.f("fk_security_event_user_id_app_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_security_event")),
    )
    op.create_index("ix_security_event_username_kind_at", "security_event",
                    ["username", "kind", "at"], unique=False)
    op.create_index("ix_security_event_address_kind_at", "security_event",
                    ["address", "kind", "at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_security_event_address_kind_at", table_name="security_event")
    op.drop_index("ix_security_event_username_kind_at", table_name="security_event")
    op.drop_table("security_event")
    op.drop_index(op.f("ix_user_session_user_id"), table_name="user_session")
    op.drop_table("user_session")
    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_api_token_ref"), type_="unique")
        batch_op.drop_column("revoked_at")
        batch_op.drop_column("last_used_at")
        batch_op.drop_column("ref")
