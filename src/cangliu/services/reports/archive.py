"""Reading kept reports: the list (newest period first, by kind), one report's figures, and its
files — the stored ones, or re-rendered from its figures for a reader in another language or
limited to some sites."""

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, defer

from cangliu.core.errors import NotFound, ValidationFailed
from cangliu.db.models import Location
from cangliu.db.models.reports import Report
from cangliu.services.reports.data import ReportData, for_sites, load
from cangliu.services.reports.files import to_pdf, to_xlsx
from cangliu.services.reports.labels import DEFAULT_LOCALE
from cangliu.services.reports.periods import check_kind


def header(row: Report) -> dict[str, Any]:
    return {"id": row.id, "kind": row.kind, "period_start": row.period_start,
            "period_end": row.period_end, "generated_at": row.generated_at,
            "generated_by": row.generated_by, "sent_at": row.sent_at}


def list_reports(session: Session, *, kind: str | None = None, after: str | None = None,
                 limit: int = 50) -> tuple[list[dict[str, Any]], str | None]:
    """Newest first (by id); the cursor is the last id shown."""
    query = select(Report).options(defer(Report.xlsx), defer(Report.pdf), defer(Report.summary))
    if kind:
        query = query.where(Report.kind == check_kind(kind))
    if after:
        if not after.isdigit():
            raise ValidationFailed.single("cursor", "is not a cursor this server issued")
        query = query.where(Report.id < int(after))
    rows = list(session.scalars(query.order_by(Report.id.desc()).limit(limit + 1)))
    page = rows[:limit]
    return [header(r) for r in page], (str(page[-1].id) if len(rows) > limit else None)


def _report(session: Session, report_id: int) -> Report:
    row = session.get(Report, report_id)
    if row is None:
        raise NotFound("Report {id} not found", id=report_id)
    return row


def site_codes(session: Session, scope: frozenset[int] | None) -> frozenset[str] | None:
    if scope is None:
        return None
    return frozenset(session.scalars(select(Location.code).where(Location.id.in_(scope))))


def get_report(session: Session, report_id: int, *, scope: frozenset[int] | None = None
               ) -> tuple[dict[str, Any], ReportData]:
    """The report's header and its figures as a reader limited to ``scope`` (site ids; None:
    every site) may see them."""
    row = _report(session, report_id)
    return header(row), for_sites(load(row.summary), site_codes(session, scope))


def report_file(session: Session, report_id: int, fmt: str, locale: str, *,
                scope: frozenset[int] | None = None) -> tuple[str, bytes]:
    """(file name, content) of the report as ``xlsx`` or ``pdf``."""
    row = _report(session, report_id)
    render = {"xlsx": to_xlsx, "pdf": to_pdf}[fmt]
    data = for_sites(load(row.summary), site_codes(session, scope))
    name = f"report-{row.kind}-{row.period_start}.{fmt}"
    if scope is None and locale == DEFAULT_LOCALE:
        return name, row.xlsx if fmt == "xlsx" else row.pdf
    return name, render(data, locale)

