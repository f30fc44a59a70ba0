"""Finance pages: the aging of receivables and payables (应收/应付账龄) as of a day, and one
partner's statement (对账单) over a period with opening, running and closing balances.
Permissions as in the API (web/api/finance.py): ``finance.view``."""

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Any, cast

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from cangliu.core.documents import AGING_BUCKETS
from cangliu.core.errors import FieldError
from cangliu.core.permissions import Actor
from cangliu.i18n import translate
from cangliu.services import accounts
from cangliu.web.deps import DbDep, page_permit
from cangliu.web.pages.render import render
from cangliu.web.problems import locale_of

router = APIRouter(include_in_schema=False)
Viewer = Annotated[Actor, page_permit("finance.view")]
KINDS = {"receivable": "Receivables", "payable": "Payables"}
BUCKETS = [label for _low, _high, label in AGING_BUCKETS]


def _date(request: Request, field: str, text: str, default: date, errors: list[FieldError]
          ) -> date:
    """A date from the query string; a bad one is reported on the page, and the default used."""
    if not text.strip():
        return default
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        errors.append(FieldError(field, translate(locale_of(request),
                                                  "must be a date (YYYY-MM-DD)")))
        return default


def _kind(request: Request, kind: str, errors: list[FieldError]) -> accounts.Kind:
    if kind in KINDS:
        return cast(accounts.Kind, kind)
    errors.append(FieldError("kind", translate(locale_of(request), "must be one of: {expected}",
                                               expected=", ".join(KINDS))))
    return "receivable"


@router.get("/finance/aging", response_class=HTMLResponse)
def aging_page(request: Request, db: DbDep, actor: Viewer, kind: str = "receivable",
               as_of: str = "") -> HTMLResponse:
    errors: list[FieldError] = []
    chosen = _kind(request, kind, errors)
    day = _date(request, "as_of", as_of, datetime.now(UTC).date(), errors)
    with db.read() as session:
        rows = accounts.aging(session, kind=chosen, as_of=day)
        names = accounts.partner_names(session, chosen, [r["partner"] for r in rows])
    totals = {k: str(sum((Decimal(r[k]) for r in rows), Decimal("0.00")))
              for k in [*BUCKETS, "total"]}
    return render(request, "finance_aging.html", actor, status_code=422 if errors else 200,
                  errors=errors, kinds=KINDS, kind=chosen, as_of=day.isoformat(), rows=rows,
                  names=names, buckets=BUCKETS, totals=totals)


@router.get("/finance/statements/{kind}/{partner}", response_class=HTMLResponse)
def statement_page(request: Request, kind: str, partner: str, db: DbDep, actor: Viewer
                   ) -> HTMLResponse:
    """``?from=&to=`` (default: this month so far)."""
    errors: list[FieldError] = []
    chosen = _kind(request, kind, errors)
    today = datetime.now(UTC).date()
    params = request.query_params
    first = _date(request, "from", params.get("from", ""), today.replace(day=1), errors)
    last = _date(request, "to", params.get("to", ""), today, errors)
    if first > last:
        errors.append(FieldError("to", translate(locale_of(request),
                                                 "must not be before the start date")))
        last = first
    with db.read() as session:
        names = accounts.partner_names(session, chosen, [partner])
        data: dict[str, Any] | None = None
        if partner in names:
            data = accounts.statement(session, kind=chosen, partner=partner, start=first, end=last)
    status = 404 if data is None else 422 if errors else 200
    return render(request, "finance_statement.html", actor, status_code=status, errors=errors,
                  kinds=KINDS, kind=chosen, partner=partner, partner_name=names.get(partner, ""),
                  start=first.isoformat(), end=last.isoformat(), data=data)
