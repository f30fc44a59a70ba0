"""Alerts (/api/v1/alerts): the alerts in the caller's scope with filters and a cursor, one alert,
acknowledging and resolving it (alert.edit at its site, based on its version); the rules as data
(/api/v1/alert-rules: settings.view to read, settings.edit to write); and the caller's own
subscriptions (/api/v1/alert-subscriptions; an administrator also sets a role's)."""

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from pydantic import Field

from cangliu.core.alerts import KINDS
from cangliu.core.errors import ValidationFailed
from cangliu.core.permissions import Actor
from cangliu.services.alerts import lifecycle, queries, rules, subscriptions
from cangliu.web.api.schemas import MAX_ID, PathId, Strict, jsonable
from cangliu.web.deps import AnyUser, DbDep, permit

router = APIRouter(tags=["alerts"])
Viewer = Annotated[Actor, permit("alert.view")]
Editor = Annotated[Actor, permit("alert.edit")]
RuleViewer = Annotated[Actor, permit("settings.view")]
RuleEditor = Annotated[Actor, permit("settings.edit")]
Words = list[Annotated[str, Field(min_length=1, max_length=40)]]
Severity = Literal["info", "warning", "critical"]


class ActionIn(Strict):
    note: Annotated[str, Field(max_length=2000)] = ""
    version: Annotated[int | None, Field(ge=1, le=MAX_ID)] = None


class RuleFields(Strict):
    """A rule's fields; on update every one is optional (the others are kept) and ``version``
    is the version the change is based on."""

    name: Annotated[str, Field(min_length=1, max_length=120)] | None = None
    name_en: Annotated[str, Field(max_length=120)] | None = None
    kind: str | None = None
    params: dict[str, Any] | None = None
    condition: Annotated[str, Field(max_length=2000)] | None = None
    severity: Severity | None = None
    roles: Words | None = None
    sites: Words | None = None
    channels: Words | None = None
    cooldown_minutes: Annotated[int, Field(ge=0, le=525600)] | None = None
    auto_resolve: bool | None = None
    responses: Words | None = None
    escalate_after_minutes: Annotated[int, Field(ge=1, le=525600)] | None = None
    escalate_to: Annotated[str, Field(max_length=40)] | None = None
    enabled: bool | None = None


class RuleIn(RuleFields):
    code: Annotated[str, Field(min_length=1, max_length=40)]


class RuleUpdate(RuleFields):
    version: Annotated[int, Field(ge=1, le=MAX_ID)]


class SubscriptionIn(Strict):
    channel: Literal["in_app", "email"] = "in_app"
    rule: Annotated[str, Field(max_length=40)] | None = None
    role: Annotated[str, Field(max_length=40)] | None = None


# --- alerts --------------------------------------------------------------------------------------

@router.get("/api/v1/alerts")
def list_alerts(db: DbDep, actor: Viewer, state: str | None = None, severity: str | None = None,
                rule: str | None = None, kind: str | None = None, site: str | None = None,
                q: Annotated[str | None, Query(max_length=64)] = None,
                cursor: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
                limit: Annotated[int, Query(ge=1, le=200)] = 50) -> Any:
    """Newest first; ``state`` open, acknowledged, resolved or active (open or acknowledged)."""
    with db.read() as session:
        items, nxt = queries.list_alerts(session, actor, state=state, severity=severity,
                                         rule=rule, kind=kind, site=site, q=q, after=cursor,
                                         limit=limit)
    return jsonable({"items": items, "next_cursor": nxt})


@router.get("/api/v1/alerts/{alert_id}")
def get_alert(alert_id: PathId, db: DbDep, actor: Viewer) -> Any:
    with db.read() as session:
        return jsonable(queries.get_alert(session, actor, alert_id))


@router.post("/api/v1/alerts/{alert_id}/acknowledge")
def acknowledge(alert_id: PathId, body: ActionIn, db: DbDep, actor: Editor) -> Any:
    return jsonable(lifecycle.acknowledge(db.uow(), actor, alert_id, body.note,
                                          version=body.version))


@router.post("/api/v1/alerts/{alert_id}/resolve")
def resolve(alert_id: PathId, body: ActionIn, db: DbDep, actor: Editor) -> Any:
    return jsonable(lifecycle.resolve(db.uow(), actor, alert_id, body.note, version=body.version))


# --- rules ---------------------------------------------------------------------------------------

@router.get("/api/v1/alert-rules")
def list_rules(db: DbDep, actor: RuleViewer) -> Any:
    """Every rule, and for each kind the columns a condition may use and its parameters."""
    with db.read() as session:
        items = rules.list_rules(session)
    kinds = {k.code: {"columns": dict(k.columns), "params": dict(k.params), "on": k.on,
                      "resolves": k.resolves} for k in KINDS.values()}
    return jsonable({"items": items, "next_cursor": None, "kinds": kinds})


@router.post("/api/v1/alert-rules", status_code=201)
def create_rule(body: RuleIn, db: DbDep, actor: RuleEditor) -> Any:
    """Refused with every problem by field (422): a bad condition, an unknown role, site or
    channel, parameters the kind does not take."""
    if body.kind is None or body.name is None:
        raise ValidationFailed.single("kind" if body.kind is None else "name", "is required")
    return jsonable(rules.create_rule(db.uow(), actor, body.model_dump(exclude_none=True)))


@router.get("/api/v1/alert-rules/{code}")
def get_rule(code: str, db: DbDep, actor: RuleViewer) -> Any:
    with db.read() as session:
        return jsonable(rules.get_rule(session, code))


@router.put("/api/v1/alert-rules/{code}")
def update_rule(code: str, body: RuleUpdate, db: DbDep, actor: RuleEditor) -> Any:
    """The given fields over the stored rule, at ``version`` (409 if someone saved since)."""
    fields = body.model_dump(exclude_unset=True)
    version = fields.pop("version")
    return jsonable(rules.update_rule(db.uow(), actor, code, fields, version=version))


@router.delete("/api/v1/alert-rules/{code}", status_code=204)
def delete_rule(code: str, db: DbDep, actor: RuleEditor,
                version: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None) -> Response:
    """Only a rule that never raised an alert (409 otherwise: disable it instead)."""
    rules.delete_rule(db.uow(), actor, code, version=version)
    return Response(status_code=204)


# --- subscriptions -------------------------------------------------------------------------------

@router.get("/api/v1/alert-subscriptions")
def list_subscriptions(db: DbDep, actor: AnyUser) -> Any:
    with db.read() as session:
        return jsonable({"items": subscriptions.list_subscriptions(session, actor),
                         "next_cursor": None, "email": subscriptions.email_of(session, actor)})


@router.post("/api/v1/alert-subscriptions", status_code=201)
def subscribe(body: SubscriptionIn, db: DbDep, actor: AnyUser) -> Any:
    return jsonable(subscriptions.subscribe(db.uow(), actor, channel=body.channel,
                                            rule=body.rule, role=body.role))


@router.delete("/api/v1/alert-subscriptions/{subscription_id}", status_code=204)
def unsubscribe(subscription_id: PathId, db: DbDep, actor: AnyUser) -> Response:
    subscriptions.unsubscribe(db.uow(), actor, subscription_id)
    return Response(status_code=204)
