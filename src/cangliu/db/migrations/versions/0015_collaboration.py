"""notifications, tasks and comments

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
AT = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "notification",
        sa.Column("id", ID, nullable=False),
        sa.Column("user_id", ID, nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("params", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("link", sa.String(length=200), nullable=False),
        sa.Column("created_at", AT, nullable=False),
        sa.Column("read_at", AT, nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["app_user.id"],
                                name=op.f("fk_notification_user_id_app_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification")),
    )
    op.create_index("ix_notification_user_read", "notification", ["user_id", "read_at"])
    op.create_index("ix_notification_user_id_id", "notification", ["user_id", "id"])
    op.create_table(
        "task",
        sa.Column("id", ID, nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("assignee_id", ID, nullable=True),
        sa.Column("assignee_role", sa.String(length=40), nullable=True),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("document_kind", sa.String(length=20), nullable=True),
        sa.Column("document_number", sa.String(length=40), nullable=True),
        sa.Column("created_by_id", ID, nullable=False),
        sa.Column("created_at", AT, nullable=False),
        sa.Column("updated_at", AT, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint("status IN ('open', 'done', 'cancelled')", name=op.f("ck_task_status")),
        sa.CheckConstraint("(assignee_id IS NULL AND assignee_role IS NOT NULL) OR "
                           "(assignee_id IS NOT NULL AND assignee_role IS NULL)",
                           name=op.f("ck_task_one_assignee")),
        sa.ForeignKeyConstraint(["assignee_id"], ["app_user.id"],
                                name=op.f("fk_task_assignee_id_app_user")),
        sa.ForeignKeyConstraint(["created_by_id"], ["app_user.id"],
                                name=op.f("fk_task_created_by_id_app_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_task")),
    )
    op.create_index(op.f("ix_task_assignee_id"), "task", ["assignee_id"])
    op.create_index(op.f("ix_task_assignee_role"), "task", ["assignee_role"])
    op.create_index(op.f("ix_task_created_by_id"), "task", ["created_by_id"])
    op.create_index("ix_task_status_due", "task", ["status", "due_date"])
    op.create_index("ix_task_document", "task", ["document_kind", "document_number"])
    op.create_table(
        "document_comment",
        sa.Column("id", ID, nullable=False),
        sa.Column("document_kind", sa.String(length=20), nullable=False),
        sa.Column("document_number", sa.String(length=40), nullable=False),
        sa.Column("author_id", ID, nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("mentions", sa.Text(), nullable=False),
        sa.Column("created_at", AT, nullable=False),
        sa.ForeignKeyConstraint(["author_id"], ["app_user.id"],
                                name=op.f("fk_document_comment_author_id_app_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_document_comment")),
    )
    op.create_index("ix_document_comment_document", "document_comment",
                    ["document_kind", "document_number", "id"])


def downgrade() -> None:
    op.drop_index("ix_document_comment_document", table_name="document_comment")
    op.drop_table("document_comment")
    op.drop_index("ix_task_document", table_name="task")
    op.drop_index("ix_task_status_due", table_name="task")
    op.drop_index(op.f("ix_task_created_by_id"), table_name="task")
    op.drop_index(op.f("ix_task_assignee_role"), table_name="task")
    op.drop_index(op.f("ix_task_assignee_id"), table_name="task")
    op.drop_table("task")
    op.drop_index("ix_notification_user_id_id", table_name="notification")
    op.drop_index("ix_notification_user_read", table_name="notification")
    op.drop_table("notification")
