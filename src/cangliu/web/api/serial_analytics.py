"""Failure analysis (/api/v1/serial-analytics): failure rates of units sold per SKU, lot,
production line, production month or sales region, and repair turnaround, as JSON or, with
``format=csv`` and serial.export, as CSV. Definitions: services/serial_analytics.py.

Site scope: a user limited to some sites counts only the units shipped from those sites, and
only the repair tickets serviced there (tickets naming no service site are left out)."""

import csv
import io
from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import Response

from cangliu.core.permissions import Actor
from cangliu.i18n import translate
from cangliu.services import serial_analytics
from cangliu.web.api.schemas import jsonable
from cangliu.web.deps import DbDep, Forbidden, LocaleDep, deny, permit

router = APIRouter(prefix="/api/v1/serial-analytics", tags=["serial analytics"])
Viewer = Annotated[Actor, permit("serial.view")]
Format = Literal["json", "csv"]
# Per dimension: the titles of the key and label columns (None: no label column).
DIMENSION_TITLES: dict[str, tuple[str, str | None]] = {
    "sku": ("SKU", "Name"), "lot": ("Lot", "SKU"), "line": ("Production line", None),
    "month": ("Production month", None), "region": ("Sales region", None),
}
TURNAROUND_TITLES: dict[str, tuple[str, str | None]] = {
    "sku": ("SKU", "Name"), "month": ("Month closed", None)}
NOT_RECORDED = "Not recorded"
FIGURES = ("count", "mean_hours", "median_hours", "p90_hours", "mean_days", "median_days",
           "p90_days")
FIGURE_TITLES = ("Closed tickets", "Mean (h)", "Median (h)", "P90 (h)", "Mean (d)",
                 "Median (d)", "P90 (d)")


def period(since: date | None, until: date | None) -> tuple[date, date]:
    """The dates asked for, each defaulting to the last 12 months."""
    first, last = serial_analytics.default_period(datetime.now(UTC).date())
    return since or first, until or last


def scope_of(request: Request, actor: Actor, as_csv: bool) -> frozenset[int] | None:
    """The sites whose figures the user may see (None: all); a CSV needs serial.export too,
    and covers the sites where both are held."""
    view = actor.sites("serial.view")
    if not as_csv:
        return view
    if not actor.can("serial.export"):
        raise deny(request, Forbidden("Your role may not do this"), actor)
    export = actor.sites("serial.export")
    return export if view is None else view if export is None else view & export


@router.get("/failure-rates")
def failure_rates(request: Request, db: DbDep, actor: Viewer, locale: LocaleDep,
                  by: str = "sku", since: date | None = None, until: date | None = None,
                  sku: str | None = None, format: Format = "json") -> Any:
    """Units sold, failed and the failure rate per value of ``by`` (sku, lot, line, month,
    region) over ``since``..``until`` (whole UTC days, both included; default the last 12
    months), highest rate first, with totals."""
    scope = scope_of(request, actor, format == "csv")
    first, last = period(since, until)
    with db.read() as session:
        found = serial_analytics.failure_rates(session, by, first, last, sku=sku or None,
                                               scope=scope)
    if format == "json":
        return jsonable(found)
    key, label = DIMENSION_TITLES[by]
    rows = [[*_keys(locale, r, label), r["sold"], r["failed"], r["rate"]] for r in found["rows"]]
    totals = found["totals"]
    rows.append([translate(locale, "Total"), *([""] if label else []), totals["sold"],
                 totals["failed"], totals["rate"]])
    return csv_response(locale, [key, *([label] if label else []), "Units sold", "Failed",
                                 "Failure rate"], rows, f"failure-rates-{by}.csv")


@router.get("/turnaround")
def turnaround(request: Request, db: DbDep, actor: Viewer, locale: LocaleDep,
               by: str = "sku", since: date | None = None, until: date | None = None,
               sku: str | None = None, format: Format = "json") -> Any:
    """Repair turnaround (closed − opened) of tickets closed in the period per SKU or month
    closed: count, mean, median and p90 in hours and days, with totals; and the tickets still
    open, oldest first, with their age (JSON only)."""
    scope = scope_of(request, actor, format == "csv")
    first, last = period(since, until)
    with db.read() as session:
        found = serial_analytics.turnaround(session, first, last, by, scope, sku=sku or None,
                                            now=datetime.now(UTC))
    if format == "json":
        return jsonable(found)
    key, label = TURNAROUND_TITLES[by]
    rows = [[*_keys(locale, r, label), *(r[f] for f in FIGURES)] for r in found["rows"]]
    rows.append([translate(locale, "Total"), *([""] if label else []),
                 *(found["totals"][f] for f in FIGURES)])
    return csv_response(locale, [key, *([label] if label else []), *FIGURE_TITLES], rows,
                        f"repair-turnaround-{by}.csv")


def _keys(locale: str, row: dict[str, Any], label: str | None) -> list[str]:
    key = row["key"] or translate(locale, NOT_RECORDED)
    return [key, row["label"]] if label else [key]


def csv_response(locale: str, titles: list[str], rows: Iterable[list[Any]],
                 filename: str) -> Response:
    """UTF-8 CSV with a byte-order mark, so spreadsheet programs read the Chinese text."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([translate(locale, t) for t in titles])
    writer.writerows([["" if v is None else v for v in row] for row in rows])
    return Response("\ufeff" + out.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})
