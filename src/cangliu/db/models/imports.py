"""Spreadsheet imports: one job per uploaded file (entity, status, progress, counts, error report)
and the uploaded file itself, kept apart so the audited job row never carries the file."""

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from cangliu.db.base import Base, BigId

IMPORT_STATUSES = ("uploaded", "validating", "validated", "applying", "applied", "failed")
STATUS_SQL = "status IN ('uploaded', 'validating', 'validated', 'applying', 'applied', 'failed')"


class ImportJob(Base):
    """One uploaded file of one entity. ``ref`` names it in URLs (never the id). ``errors`` is
    the report as JSON ``[[row, column, message, params], ...]`` (messages are msgids, shown in
    the reader's language); ``preview`` the first parsed rows as JSON; ``message`` a reason the
    whole file failed (msgid and params as JSON)."""

    __tablename__ = "import_job"
    __table_args__ = (CheckConstraint(STATUS_SQL, name="status"),
                      CheckConstraint("mode IN ('create', 'upsert')", name="mode"))
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    ref: Mapped[str] = mapped_column(String(40), unique=True)
    entity: Mapped[str] = mapped_column(String(30))
    filename: Mapped[str] = mapped_column(String(200))
    mode: Mapped[str] = mapped_column(String(10), default="create")
    status: Mapped[str] = mapped_column(String(12), default="uploaded", index=True)
    total_rows: Mapped[int] = mapped_column(Integer, default=0)
    done_rows: Mapped[int] = mapped_column(Integer, default=0)
    create_count: Mapped[int] = mapped_column(Integer, default=0)
    update_count: Mapped[int] = mapped_column(Integer, default=0)
    error_count: Mapped[int] = mapped_column(Integer, default=0)
    errors: Mapped[str | None] = mapped_column(Text)
    preview: Mapped[str | None] = mapped_column(Text)
    message: Mapped[str | None] = mapped_column(Text)
    user_id: Mapped[int | None] = mapped_column(BigInteger)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    applied_at: Mapped[datetime | None]


class ImportFile(Base):
    """The bytes of a job's file, read again when the job is applied."""

    __tablename__ = "import_file"
    job_id: Mapped[int] = mapped_column(ForeignKey("import_job.id", ondelete="CASCADE"),
                                        primary_key=True)
    content: Mapped[bytes] = mapped_column(LargeBinary)
