"""roles, role assignments with site scopes, field rules, token permissions

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "role",
        sa.Column("id", ID, nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("name_en", sa.String(length=100), nullable=False),
        sa.Column("built_in", sa.Boolean(), nullable=False),
        sa.Column("permissions", sa.Text(), nullable=False),
        sa.Column("hidden_fields", sa.String(length=200), nullable=False),
        sa.Column("readonly_fields", sa.String(length=200), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_role")),
        sa.UniqueConstraint("code", name=op.f("uq_role_code")),
    )
    op.create_table(
        "role_assignment",
        sa.Column("id", ID, nullable=False),
        sa.Column("user_id", ID, nullable=False),
        sa.Column("role_id", ID, nullable=False),
        sa.Column("scope", sa.String(length=10), nullable=False),
        sa.Column("region", sa.String(length=40), nullable=False),
        sa.Column("sites", sa.Text(), nullable=False),
        sa.CheckConstraint("scope IN ('all', 'region', 'sites')", name=op.f("ck_role_assignment_scope")),
        sa.ForeignKeyConstraint(["user_id"], ["app_user.id"],
                                name=op.f("fk_role_assignment_user_id_app_user")),
        sa.ForeignKeyConstraint(["role_id"], ["role.id"], name=op.f("fk_role_assignment_role_id_role")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_role_assignment")),
    )
    op.create_index(op.f("ix_role_assignment_user_id"), "role_assignment", ["user_id"])
    op.create_index(op.f("ix_role_assignment_role_id"), "role_assignment", ["role_id"])
    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.add_column(sa.Column("permissions", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.drop_column("permissions")
    op.drop_index(op.f("ix_role_assignment_role_id"), table_name="role_assignment")
    op.drop_index(op.f("ix_role_assignment_user_id"), table_name="role_assignment")
    op.drop_table("role_assignment")
    op.drop_table("role")
