"""spreadsheet imports: jobs, progress and error reports

Revision ID: 0036
Revises: 0035
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

import cangliu.db.types

revision = "0036"
down_revision = "0035"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
STATUS = "status IN ('uploaded', 'validating', 'validated', 'applying', 'applied', 'failed')"


def upgrade() -> None:
    op.create_table(
        "import_job",
        sa.Column("id", ID, nullable=False),
        sa.Column("ref", sa.String(length=40), nullable=False),
        sa.Column("entity", sa.String(length=30), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("mode", sa.String(length=10), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("total_rows", sa.Integer(), nullable=False),
        sa.Column("done_rows", sa.Integer(), nullable=False),
        sa.Column("create_count", sa.Integer(), nullable=False),
        sa.Column("update_count", sa.Integer(), nullable=False),
        sa.Column("error_count", sa.Integer(), nullable=False),
        sa.Column("errors", sa.Text(), nullable=True),
        sa.Column("preview", sa.Text(), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("user_id", sa.BigInteger(), nullable=True),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", cangliu.db.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", cangliu.db.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("applied_at", cangliu.db.types.UtcDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(STATUS, name=op.f("ck_import_job_status")),
        sa.CheckConstraint("mode IN ('create', 'upsert')", name=op.f("ck_import_job_mode")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_job")),
        sa.UniqueConstraint("ref", name=op.f("uq_import_job_ref")),
    )
    with op.batch_alter_table("import_job", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_import_job_status"), ["status"], unique=False)
    op.create_table(
        "import_file",
        sa.Column("job_id", ID, nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["job_id"], ["import_job.id"], ondelete="CASCADE",
                                name=op.f("fk_import_file_job_id_import_job")),
        sa.PrimaryKeyConstraint("job_id", name=op.f("pk_import_file")),
    )


def downgrade() -> None:
    op.drop_table("import_file")
    with op.batch_alter_table("import_job", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_import_job_status"))
    op.drop_table("import_job")
