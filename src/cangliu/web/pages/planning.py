"""The suggestions page (调拨建议): the planning run's proposals with their rule, the values that
triggered them and the effect on days of cover; accept (one or many) or dismiss with a reason;
run the rules now, dry (what would change) or for real."""

from typing import Annotated, Any, Final

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import FormData

from cangliu.core.errors import DomainError, ValidationFailed
from cangliu.core.permissions import Actor
from cangliu.i18n import translate
from cangliu.services import planning, suggestions
from cangliu.services.postings import Meta
from cangliu.web.deps import DbDep, check_csrf, page_permit
from cangliu.web.export import MAX_ROWS, answer, wants_export
from cangliu.web.pages.render import render
from cangliu.web.pages.transfers import errors_of
from cangliu.web.problems import locale_of

router = APIRouter(include_in_schema=False)
CanView = Annotated[Actor, page_permit("planning.view")]
CanEdit = Annotated[Actor, page_permit("planning.edit")]
BASE: Final = "/planning/suggestions"
PAGE: Final = 50
FILTERS: Final = ("state", "rule", "kind", "site", "sku", "exception")
# Labels (msgids) of the built-in rules; a user's own rule shows its name.
RULE_LABELS: Final = {"store_replenishment": "Store replenishment",
                      "regional_balancing": "Regional balancing",
                      "promotion_prestock": "Promotion pre-stocking",
                      "slow_mover_clearance": "Slow-mover clearance"}


EXPORT_COLUMNS: Final = (
    ("rule", "Rule"), ("sku", "SKU"), ("from_site", "From"), ("to_site", "To"),
    ("qty", "Quantity"), ("why", "Why"), ("cover_before", "Days of cover"),
    ("cover_after", "Days of cover after"), ("state", "State"), ("document", "Document"))


def _export(request: Request, db: DbDep, actor: Actor, fmt: str, filters: dict[str, Any]
            ) -> Response:
    """Every suggestion the filters match; a purchase has no source site: "purchase", as shown."""
    with db.read() as session:
        found = suggestions.list_suggestions(session, **filters, limit=MAX_ROWS + 1, offset=0)
    purchase = translate(locale_of(request), "purchase")
    rows = [{**s, "from_site": s["from_site"] or purchase, "why": "; ".join(
        f"{k} = {v}" for k, v in actor.redact(s["trigger"] or {}).items())}
        for s in found["items"]]
    return answer(request, actor, "planning", lambda _after: (rows, None), EXPORT_COLUMNS,
                  fmt=fmt, filename="suggestions", labels={"rule": RULE_LABELS})


def _page(request: Request, db: DbDep, actor: Actor, *, status_code: int = 200,
          errors: list[Any] | None = None, outcome: dict[str, Any] | None = None) -> Response:
    params = request.query_params
    filters = {k: params.get(k, "open" if k == "state" else "") for k in FILTERS}
    raw_page = params.get("page", "1")
    page = max(int(raw_page), 1) if raw_page.isdigit() else 1
    exception = {"yes": True, "no": False}.get(filters["exception"])
    wanted: dict[str, Any] = {k: filters[k] or None for k in ("state", "rule", "kind", "site",
                                                              "sku")}
    wanted.update(exception=exception, scope=actor.sites("planning.view"))
    fmt = wants_export(request) if request.method == "GET" else None
    if fmt:
        return _export(request, db, actor, fmt, wanted)
    with db.read() as session:
        found = suggestions.list_suggestions(session, **wanted, limit=PAGE,
                                             offset=(page - 1) * PAGE)
        last_run = suggestions.opened_on(session)
    return render(request, "suggestions.html", actor, status_code=status_code, found=found,
                  filters=filters, page=page, pages=max(1, -(-found["total"] // PAGE)),
                  rule_labels=RULE_LABELS, last_run=last_run, errors=errors or [],
                  outcome=outcome, base=BASE)


@router.get(BASE, response_class=HTMLResponse, response_model=None)
def suggestions_page(request: Request, db: DbDep, actor: CanView) -> Response:
    return _page(request, db, actor)


def _ids(form: FormData) -> list[int]:
    raw = form.getlist("ids")
    if not all(str(v).isdigit() for v in raw):
        raise ValidationFailed.single("ids", "choose suggestions from the list")
    return [int(str(v)) for v in raw]


@router.post(BASE + "/{action}", response_model=None)
async def act(action: str, request: Request, db: DbDep, actor: CanEdit) -> Response:
    """accept | dismiss the chosen suggestions, or run (dry or for real)."""
    form = await request.form()
    check_csrf(request, str(form.get("csrf_token", "")), actor)
    try:
        if action == "accept":
            meta = Meta(actor, reason=str(form.get("reason", "")),
                        idempotency_key=str(form.get("key") or "") or None)
            outcome = {"accepted": suggestions.accept(db.uow(), meta, _ids(form))}
        elif action == "dismiss":
            outcome = {"dismissed": suggestions.dismiss(db.uow(), actor, _ids(form),
                                                        str(form.get("reason", "")))}
        elif action == "run":
            outcome = {"run": planning.run(db.uow(), dry_run=form.get("dry_run") == "1")}
        else:
            return Response(status_code=404)
    except DomainError as exc:
        return _page(request, db, actor, status_code=exc.status, errors=errors_of(request, exc))
    # The page again with the outcome (the documents made, the run's counts); the form's
    # idempotency key makes a resubmission harmless.
    return _page(request, db, actor, outcome=outcome)
