"""Outbound channels and their delivery log (/api/v1/channels, /api/v1/deliveries): webhooks,
group robots and e-mail; a test message; the log with retries, dead letters and redelivery.
Reading needs settings.view, changing settings.edit. Secrets are answered masked, except a new
webhook's generated secret in the answer that created it."""

import time
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query, Request, Response
from pydantic import Field

from cangliu.core.errors import DomainError
from cangliu.core.permissions import Actor
from cangliu.services import deliveries
from cangliu.services.deliveries import echo as echo_check
from cangliu.web.api.schemas import MAX_ID, Code, PathId, Strict, jsonable
from cangliu.web.deps import DbDep, permit

router = APIRouter(tags=["channels"])
Viewer = Annotated[Actor, permit("settings.view")]
Editor = Annotated[Actor, permit("settings.edit")]
Kind = Literal["webhook", "wecom", "dingtalk", "feishu", "email"]
Words = list[Annotated[str, Field(max_length=200)]] | Annotated[str, Field(max_length=4000)]


class ChannelIn(Strict):
    code: Code
    name: Annotated[str, Field(min_length=1, max_length=120)]
    kind: Kind
    url: Annotated[str, Field(max_length=2000)] = ""
    secret: Annotated[str | None, Field(max_length=200)] = None
    recipients: Words = []
    events: Words = []
    active: bool = True


class ChannelUpdate(Strict):
    version: Annotated[int, Field(ge=1, le=MAX_ID)]
    name: Annotated[str | None, Field(min_length=1, max_length=120)] = None
    kind: Kind | None = None
    url: Annotated[str | None, Field(max_length=2000)] = None
    secret: Annotated[str | None, Field(max_length=200,
                                        description="omit to keep the stored one; \"\" clears it")] = None
    recipients: Words | None = None
    events: Words | None = None
    active: bool | None = None


@router.get("/api/v1/channels")
def list_channels(db: DbDep, actor: Viewer) -> Any:
    with db.read() as session:
        return jsonable({"items": deliveries.list_channels(session), "next_cursor": None})


@router.post("/api/v1/channels", status_code=201)
def create_channel(body: ChannelIn, db: DbDep, actor: Editor) -> Any:
    """A new channel; a webhook without a secret gets one, answered in full this once."""
    return jsonable(deliveries.create_channel(db.uow(), actor, body.model_dump()))


@router.get("/api/v1/channels/{code}")
def get_channel(code: str, db: DbDep, actor: Viewer) -> Any:
    with db.read() as session:
        return jsonable(deliveries.get_channel(session, code))


@router.put("/api/v1/channels/{code}")
def update_channel(code: str, body: ChannelUpdate, db: DbDep, actor: Editor) -> Any:
    data = body.model_dump(exclude={"version"}, exclude_unset=True)
    return jsonable(deliveries.update_channel(db.uow(), actor, code, data, version=body.version))


@router.delete("/api/v1/channels/{code}", status_code=204)
def delete_channel(code: str, db: DbDep, actor: Editor,
                   version: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None) -> Response:
    """Delete a channel and its log (409 while an alert rule sends through it)."""
    deliveries.delete_channel(db.uow(), actor, code, version=version)
    return Response(status_code=204)


@router.post("/api/v1/channels/{code}/test", status_code=202)
def test_channel(code: str, db: DbDep, actor: Editor) -> Any:
    """Queue a test message, due now; follow it in the delivery log."""
    delivery_id = deliveries.queue_test(db.uow(), code, by=actor.username)
    with db.read() as session:
        return jsonable(deliveries.get_delivery(session, delivery_id))


@router.get("/api/v1/deliveries")
def list_deliveries(db: DbDep, actor: Viewer, channel: str | None = None,
                    state: Literal["pending", "sent", "dead"] | None = None,
                    kind: str | None = None, cursor: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
                    limit: Annotated[int, Query(ge=1, le=200)] = 50) -> Any:
    """The log, newest first; ``next_cursor`` continues it."""
    with db.read() as session:
        return jsonable(deliveries.list_deliveries(session, channel=channel, state=state, kind=kind,
                                                   cursor=cursor, limit=limit))


@router.get("/api/v1/deliveries/{delivery_id}")
def get_delivery(delivery_id: PathId, db: DbDep, actor: Viewer) -> Any:
    with db.read() as session:
        return jsonable(deliveries.get_delivery(session, delivery_id))


@router.post("/api/v1/deliveries/{delivery_id}/redeliver")
def redeliver(delivery_id: PathId, db: DbDep, actor: Editor) -> Any:
    """Send a dead (or sent) delivery again: pending now, attempts counted afresh."""
    return jsonable(deliveries.redeliver(db.uow(), actor, delivery_id))


class SignatureRefused(DomainError):
    status = 401
    title = "Unauthorized"


@router.post("/api/v1/webhooks/echo", summary="Built-in webhook receiver, to test a channel")
async def echo(request: Request, db: DbDep,
               delivery: Annotated[str, Header(alias="X-Cangliu-Delivery")] = "",
               timestamp: Annotated[str, Header(alias="X-Cangliu-Timestamp")] = "",
               signature: Annotated[str, Header(alias="X-Cangliu-Signature")] = "") -> Any:
    """Answers 200 to a delivery signed by its own channel, 401 to anything else. It needs no
    login: the signature is the credential, as for any webhook receiver."""
    body = await request.body()
    with db.read() as session:
        ok = echo_check.verify(session, delivery, timestamp, body, signature, time.time())
    if not ok:
        raise SignatureRefused("The webhook signature does not match its channel's secret")
    return {"verified": True, "delivery": int(delivery)}
