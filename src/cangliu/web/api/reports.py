"""Reports (/api/v1/reports): the kept daily, weekly and monthly inventory reports, one report's
figures, its XLSX and PDF files, generating one now, and report subscriptions.

Viewing needs report.view; a reader limited to some sites sees their sites' rows only, without
the network-wide KPIs and alerts. Downloads need report.export (and sight of stock values);
generating needs report.export at every site, as a report spans the whole network. Subscribing
oneself needs report.view; subscribing a role, settings.edit."""

from dataclasses import asdict
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse

from cangliu.core.permissions import Actor
from cangliu.services import reports
from cangliu.web.api.schemas import Code, PathId, Strict, jsonable
from cangliu.web.deps import DbDep, Forbidden, LocaleDep, deny, permit

router = APIRouter(prefix="/api/v1/reports", tags=["reports"])
Viewer = Annotated[Actor, permit("report.view")]
Exporter = Annotated[Actor, permit("report.export")]
Limit = Annotated[int, Query(ge=1, le=200)]
Kind = Literal["daily", "weekly", "monthly"]
MEDIA = {"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
         "pdf": "application/pdf"}


class GenerateIn(Strict):
    kind: Kind
    period_start: date


class SubscriptionIn(Strict):
    kind: Kind
    channel: Literal["in_app", "email"] = "in_app"
    role: Code | None = None


def out(value: Any) -> Any:
    """``jsonable`` with calendar dates as ISO strings too."""
    if isinstance(value, date) and not hasattr(value, "hour"):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: out(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [out(v) for v in value]
    return jsonable(value)


def network_wide(request: Request, actor: Actor, permission: str) -> None:
    if actor.sites(permission) is not None:
        raise deny(request, Forbidden("A report spans every site: your role must hold "
                                      "{permission} at all sites", permission=permission), actor)


@router.get("")
def list_reports(db: DbDep, actor: Viewer, kind: Kind | None = None, cursor: str | None = None,
                 limit: Limit = 50) -> Any:
    with db.read() as session:
        items, nxt = reports.list_reports(session, kind=kind, after=cursor, limit=limit)
    return out({"items": items, "next_cursor": nxt})


@router.post("", status_code=201)
def generate(body: GenerateIn, request: Request, db: DbDep, actor: Exporter) -> Any:
    """Generate (or regenerate) the report of the period starting ``period_start`` now."""
    network_wide(request, actor, "report.export")
    row = reports.generate(db.uow(), body.kind, body.period_start, by=actor.username)
    return JSONResponse(out(reports.header(row)), status_code=201)


@router.get("/subscriptions")
def list_subscriptions(db: DbDep, actor: Viewer) -> Any:
    with db.read() as session:
        return out({"items": reports.list_subscriptions(session, actor), "next_cursor": None})


@router.post("/subscriptions", status_code=201)
def subscribe(body: SubscriptionIn, db: DbDep, actor: Viewer) -> Any:
    made = reports.subscribe(db.uow(), actor, kind=body.kind, channel=body.channel,
                             role=body.role)
    return JSONResponse(out(made), status_code=201)


@router.delete("/subscriptions/{subscription_id}", status_code=204)
def unsubscribe(subscription_id: PathId, db: DbDep, actor: Viewer) -> Response:
    reports.unsubscribe(db.uow(), actor, subscription_id)
    return Response(status_code=204)


@router.get("/{report_id}")
def get_report(report_id: PathId, db: DbDep, actor: Viewer) -> Any:
    """The report's header and figures (values hidden from roles that may not see them)."""
    with db.read() as session:
        header, data = reports.get_report(session, report_id, scope=actor.sites("report.view"))
    return actor.redact(out({**header, **asdict(data)}))


@router.get("/{report_id}/{fmt}")
def download(report_id: PathId, fmt: Literal["xlsx", "pdf"], request: Request, db: DbDep,
             actor: Exporter, locale: LocaleDep) -> Response:
    if not actor.shows("valuation"):
        raise deny(request, Forbidden("Reports show stock values, which your role may not see"),
                   actor)
    with db.read() as session:
        name, content = reports.report_file(session, report_id, fmt, locale,
                                            scope=actor.sites("report.export"))
    return Response(content, media_type=MEDIA[fmt],
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
