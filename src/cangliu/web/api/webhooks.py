"""Webhook subscriptions (/api/v1/webhooks): the channels of kind "webhook" seen as what an
integrator subscribes — a URL, the event kinds it hears, a signing secret, active or not — with
a test delivery and the delivery log. The channel services do the work; reading needs
settings.view, changing settings.edit. The secret is write-only: answers say whether there is
one, and carry it in full only when the server generated it (on creation, or after clearing it)."""

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from cangliu.core.errors import NotFound
from cangliu.core.permissions import Actor
from cangliu.services import deliveries
from cangliu.web.api.schemas import MAX_ID, Code, Strict, jsonable
from cangliu.web.deps import DbDep, permit

router = APIRouter(prefix="/api/v1/webhooks", tags=["webhooks"])
Viewer = Annotated[Actor, permit("settings.view")]
Editor = Annotated[Actor, permit("settings.edit")]
EVENTS_HELP = ("event kinds to receive: " + ", ".join(deliveries.EVENT_KINDS)
               + "; \"alert.*\" for every alert event, \"*\" for all")
Url = Annotated[str, Field(min_length=1, max_length=2000, description="http:// or https:// URL")]
Events = Annotated[list[Annotated[str, Field(max_length=200)]],
                   Field(max_length=50, description=EVENTS_HELP)]
Secret = Annotated[str, Field(max_length=200, description=(
    "HMAC-SHA256 signing key; omit it on creation to have one generated (answered once)"))]


class WebhookIn(Strict):
    code: Code
    name: Annotated[str | None, Field(min_length=1, max_length=120,
                                      description="defaults to the code")] = None
    url: Url
    events: Events
    secret: Secret | None = None
    active: bool = True


class WebhookUpdate(Strict):
    version: Annotated[int, Field(ge=1, le=MAX_ID, description="the version you read (409 if stale)")]
    name: Annotated[str | None, Field(min_length=1, max_length=120)] = None
    url: Url | None = None
    events: Events | None = None
    secret: Annotated[Secret | None, Field(
        description="omit to keep the current one; \"\" to have a new one generated")] = None
    active: bool | None = None


class WebhookOut(BaseModel):
    code: str
    name: str
    url: str
    events: list[str]
    active: bool
    has_secret: bool
    secret: str | None = Field(default=None, description="only when the server generated it")
    version: int
    created_at: datetime
    updated_at: datetime


class WebhookList(BaseModel):
    items: list[WebhookOut]
    next_cursor: None = None


class DeliveryOut(BaseModel):
    id: int
    channel: str
    kind: str
    event_id: int | None
    state: Literal["pending", "sent", "dead"]
    attempts: int
    next_at: datetime | None
    last_status: int | None
    last_error: str
    created_at: datetime
    sent_at: datetime | None
    payload: dict[str, Any] = Field(description="what is sent as `at` and `data`")


class DeliveryList(BaseModel):
    items: list[DeliveryOut]
    next_cursor: int | None


def _out(channel: dict[str, Any], *, secret: str | None = None) -> WebhookOut:
    fields = {k: v for k, v in channel.items() if k in WebhookOut.model_fields and k != "secret"}
    return WebhookOut(**fields, secret=secret)


def _webhook(session: Session, code: str) -> dict[str, Any]:
    """The channel ``code`` if it is a webhook: other channels do not exist here."""
    try:
        channel = deliveries.get_channel(session, code)
    except NotFound:
        channel = None
    if channel is None or channel["kind"] != "webhook":
        raise NotFound("No webhook {code}", code=code)
    return channel


@router.get("", response_model=WebhookList)
def list_webhooks(db: DbDep, actor: Viewer) -> WebhookList:
    with db.read() as session:
        found = deliveries.list_channels(session)
    return WebhookList(items=[_out(c) for c in found if c["kind"] == "webhook"])


@router.post("", status_code=201, response_model=WebhookOut)
def create_webhook(body: WebhookIn, db: DbDep, actor: Editor) -> WebhookOut:
    """Subscribe a URL to event kinds. Without a secret one is generated and answered this once:
    keep it to verify the ``X-Cangliu-Signature`` of each delivery."""
    data = body.model_dump() | {"kind": "webhook", "name": body.name or body.code}
    created = deliveries.create_channel(db.uow(), actor, data)
    return _out(created, secret=created["secret"] if body.secret is None else None)


@router.get("/{code}", response_model=WebhookOut)
def get_webhook(code: str, db: DbDep, actor: Viewer) -> WebhookOut:
    with db.read() as session:
        return _out(_webhook(session, code))


@router.put("/{code}", response_model=WebhookOut)
def update_webhook(code: str, body: WebhookUpdate, db: DbDep, actor: Editor) -> WebhookOut:
    """Change some fields, based on ``version``; a stale version answers 409 with the current one."""
    with db.read() as session:
        _webhook(session, code)
    data = body.model_dump(exclude={"version"}, exclude_unset=True)
    saved = deliveries.update_channel(db.uow(), actor, code, data, version=body.version)
    generated = body.secret == "" and "secret" in saved
    return _out(saved, secret=saved["secret"] if generated else None)


@router.delete("/{code}", status_code=204)
def delete_webhook(code: str, db: DbDep, actor: Editor,
                   version: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None) -> Response:
    """Unsubscribe: the webhook and its delivery log go (409 while an alert rule names it)."""
    with db.read() as session:
        _webhook(session, code)
    deliveries.delete_channel(db.uow(), actor, code, version=version)
    return Response(status_code=204)


@router.post("/{code}/test", status_code=202, response_model=DeliveryOut)
def test_webhook(code: str, db: DbDep, actor: Editor) -> Any:
    """Queue a signed test delivery (event "test"), due now; follow it in the deliveries."""
    with db.read() as session:
        _webhook(session, code)
    delivery_id = deliveries.queue_test(db.uow(), code, by=actor.username)
    with db.read() as session:
        return jsonable(deliveries.get_delivery(session, delivery_id))


@router.get("/{code}/deliveries", response_model=DeliveryList)
def webhook_deliveries(code: str, db: DbDep, actor: Viewer,
                       state: Literal["pending", "sent", "dead"] | None = None,
                       cursor: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
                       limit: Annotated[int, Query(ge=1, le=200)] = 50) -> Any:
    """The webhook's deliveries, newest first; ``next_cursor`` continues the list."""
    with db.read() as session:
        _webhook(session, code)
        return jsonable(deliveries.list_deliveries(session, channel=code, state=state,
                                                   cursor=cursor, limit=limit))
