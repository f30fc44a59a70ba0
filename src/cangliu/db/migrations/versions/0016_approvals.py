"""approvals: versioned policies, an instance per submitted document version, tasks per approver

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
AT = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "approval_policy",
        sa.Column("id", ID, nullable=False),
        sa.Column("document_type", sa.String(length=20), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("yaml", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", AT, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_approval_policy")),
        sa.UniqueConstraint("document_type", "version",
                            name="uq_approval_policy_document_type_version"),
    )
    op.create_table(
        "approval_instance",
        sa.Column("id", ID, nullable=False),
        sa.Column("document_type", sa.String(length=20), nullable=False),
        sa.Column("document_number", sa.String(length=40), nullable=False),
        sa.Column("document_version", sa.Integer(), nullable=False),
        sa.Column("policy_version", sa.Integer(), nullable=False),
        sa.Column("branch", sa.String(length=100), nullable=False),
        sa.Column("step_index", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("submitter_id", ID, nullable=False),
        sa.Column("started_at", AT, nullable=False),
        sa.Column("step_started_at", AT, nullable=False),
        sa.Column("finished_at", AT, nullable=True),
        sa.Column("escalations", sa.Integer(), nullable=False),
        sa.Column("reminded_at", AT, nullable=True),
        sa.CheckConstraint("state IN ('pending', 'approved', 'rejected', 'returned', 'cancelled')",
                           name=op.f("ck_approval_instance_state")),
        sa.ForeignKeyConstraint(["submitter_id"], ["app_user.id"],
                                name=op.f("fk_approval_instance_submitter_id_app_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_approval_instance")),
    )
    op.create_index("ix_approval_instance_document", "approval_instance",
                    ["document_type", "document_number"])
    op.create_index("ix_approval_instance_state", "approval_instance", ["state", "step_started_at"])
    op.create_table(
        "approval_task",
        sa.Column("id", ID, nullable=False),
        sa.Column("instance_id", ID, nullable=False),
        sa.Column("step_index", sa.Integer(), nullable=False),
        sa.Column("approver_id", ID, nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("decided_at", AT, nullable=True),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("delegated_to_id", ID, nullable=True),
        sa.Column("added_by", sa.String(length=64), nullable=False),
        sa.CheckConstraint("state IN ('pending', 'approved', 'rejected', 'delegated', 'skipped')",
                           name=op.f("ck_approval_task_state")),
        sa.ForeignKeyConstraint(["instance_id"], ["approval_instance.id"],
                                name=op.f("fk_approval_task_instance_id_approval_instance")),
        sa.ForeignKeyConstraint(["approver_id"], ["app_user.id"],
                                name=op.f("fk_approval_task_approver_id_app_user")),
        sa.ForeignKeyConstraint(["delegated_to_id"], ["app_user.id"],
                                name=op.f("fk_approval_task_delegated_to_id_app_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_approval_task")),
        sa.UniqueConstraint("instance_id", "step_index", "approver_id",
                            name="uq_approval_task_instance_id_step_index_approver_id"),
    )
    op.create_index(op.f("ix_approval_task_instance_id"), "approval_task", ["instance_id"])
    op.create_index("ix_approval_task_approver_state", "approval_task", ["approver_id", "state"])


def downgrade() -> None:
    op.drop_index("ix_approval_task_approver_state", table_name="approval_task")
    op.drop_index(op.f("ix_approval_task_instance_id"), table_name="approval_task")
    op.drop_table("approval_task")
    op.drop_index("ix_approval_instance_state", table_name="approval_instance")
    op.drop_index("ix_approval_instance_document", table_name="approval_instance")
    op.drop_table("approval_instance")
    op.drop_table("approval_policy")
