"""Finance pages: the aging of receivables and payables (应收/应付账龄) as of a day, one
partner's statement (对账单) over a period with opening, running and closing balances, the
inventory value (库存金额) by site and category as of a day, and the period close (期末结账).
Permissions as in the API (web/api/finance.py): ``finance.view`` (``finance.post`` to close a
period), ``report.view`` for the inventory value, within the reader's sites."""

from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Annotated, Any, cast

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy import select

from cangliu.core.documents import AGING_BUCKETS
from cangliu.core.errors import FieldError, ValidationFailed
from cangliu.core.permissions import Actor
from cangliu.db.models import Category, Location
from cangliu.i18n import translate
from cangliu.services import accounts, periods
from cangliu.services.valuation import inventory_value
from cangliu.web.deps import DbDep, check_csrf, page_permit
from cangliu.web.pages.render import render
from cangliu.web.problems import locale_of

router = APIRouter(include_in_schema=False)
Viewer = Annotated[Actor, page_permit("finance.view")]
Closer = Annotated[Actor, page_permit("finance.post")]
Valuer = Annotated[Actor, page_permit("report.view")]
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


@router.get("/finance/inventory-value", response_class=HTMLResponse)
def value_page(request: Request, db: DbDep, actor: Valuer, at: str = "") -> HTMLResponse:
    """Stock value per site and category at the end of ``at`` (UTC; default: now)."""
    errors: list[FieldError] = []
    day = _date(request, "at", at, datetime.now(UTC).date(), errors)
    end = datetime.combine(day, time.max, tzinfo=UTC) if at.strip() and not errors else None
    groups: dict[str, dict[str, Any]] = {}
    with db.read() as session:
        for row in inventory_value(session, at=end, sites=actor.sites("report.view")):
            group = groups.setdefault(row["site"], {"site": row["site"], "rows": [],
                                                    "total": Decimal("0.00")})
            group["rows"].append(row)
            group["total"] += row["value"]
        sites = {code: name for code, name in session.execute(
            select(Location.code, Location.name).where(Location.code.in_(list(groups))))}
        english = locale_of(request) == "en"
        categories = {code: (en if english and en else name) for code, name, en in session.execute(
            select(Category.code, Category.name, Category.name_en))}
    return render(request, "finance_value.html", actor, status_code=422 if errors else 200,
                  errors=errors, at=day.isoformat() if at.strip() else "",
                  groups=list(groups.values()), sites=sites, categories=categories,
                  total=sum((g["total"] for g in groups.values()), Decimal("0.00")),
                  hidden="value" in actor.hidden_keys)


def _periods_page(request: Request, db: DbDep, actor: Actor, *, status_code: int = 200,
                  errors: list[FieldError] | None = None, through: str = "") -> HTMLResponse:
    with db.read() as session:
        closed = periods.closed_on(session)
    return render(request, "finance_periods.html", actor, status_code=status_code,
                  errors=errors or [], closed=closed.isoformat() if closed else None,
                  through=through, done=request.query_params.get("closed", ""),
                  can_close=actor.can("finance.post"))


@router.get("/finance/periods", response_class=HTMLResponse)
def periods_page(request: Request, db: DbDep, actor: Viewer) -> HTMLResponse:
    return _periods_page(request, db, actor)


@router.post("/finance/periods/close", response_model=None)
def close_period(request: Request, db: DbDep, actor: Closer,
                 through: Annotated[str, Form()] = "",
                 csrf_token: Annotated[str, Form()] = "") -> HTMLResponse | RedirectResponse:
    check_csrf(request, csrf_token, actor)
    errors: list[FieldError] = []
    if not through.strip():
        errors.append(FieldError("through", translate(locale_of(request), "is required")))
    else:
        day = _date(request, "through", through, date.min, errors)
    if not errors:
        try:
            periods.close_period(db.uow(), actor, through=day)
        except ValidationFailed as exc:
            errors = [FieldError(e.field, translate(locale_of(request), e.message, **e.params))
                      for e in exc.errors]
    if errors:
        return _periods_page(request, db, actor, status_code=422, errors=errors, through=through)
    return RedirectResponse(f"/finance/periods?closed={day.isoformat()}", status_code=303)
