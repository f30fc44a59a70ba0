"""Channel settings (外发渠道) and the delivery log: the channels, one channel's form with the
fields of its kind and its recent deliveries, a test message, and the log of every delivery with
its attempts, last answer and a redelivery button. Viewing needs settings.view; changing
settings.edit."""

from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.datastructures import FormData

from cangliu.core.errors import DomainError, FieldError, StaleVersion, ValidationFailed
from cangliu.core.permissions import Actor
from cangliu.db.models.events import CHANNEL_KINDS, DELIVERY_STATES
from cangliu.services import deliveries
from cangliu.web.deps import DbDep, check_csrf, page_permit
from cangliu.web.export import answer, wants_export
from cangliu.web.pages.masterdata import _errors as field_errors
from cangliu.web.pages.render import render
from cangliu.web.problems import locale_of

router = APIRouter(include_in_schema=False)
CanView = Annotated[Actor, page_permit("settings.view")]
CanEdit = Annotated[Actor, page_permit("settings.edit")]
BASE = "/admin/channels"
LOG = "/admin/deliveries"
KIND_LABELS = {"webhook": "Webhook", "wecom": "WeCom group robot", "dingtalk": "DingTalk group robot",
               "feishu": "Feishu group robot", "email": "E-mail"}
EVENT_CHOICES = (*deliveries.EVENT_KINDS, "alert.*", "*")
RECENT = 20


def _link(code: str) -> str:
    return f"{BASE}/{quote(code, safe='')}"


@router.get(BASE, response_class=HTMLResponse)
def channels_page(request: Request, db: DbDep, actor: CanView) -> HTMLResponse:
    with db.read() as session:
        items = deliveries.list_channels(session)
    return render(request, "admin_channels.html", actor, items=items, kind_labels=KIND_LABELS,
                  link=_link)


def _page(request: Request, db: DbDep, actor: Actor, code: str | None, *,
          values: dict[str, Any] | None = None, errors: list[FieldError] | None = None,
          new_secret: str = "", status_code: int = 200) -> HTMLResponse:
    """A channel's form (``values`` as typed when kept after a refusal) and its recent log."""
    with db.read() as session:
        channel = deliveries.get_channel(session, code) if code else None
        recent = (deliveries.list_deliveries(session, channel=code, limit=RECENT)["items"]
                  if code else [])
    shown = values if values is not None else (channel or {"kind": "webhook", "active": True,
                                                           "events": ["alert.*"]})
    return render(request, "admin_channel.html", actor, status_code=status_code, channel=channel,
                  values=shown, errors=errors or [], recent=recent, new_secret=new_secret,
                  kinds=CHANNEL_KINDS, kind_labels=KIND_LABELS, event_choices=EVENT_CHOICES,
                  action=_link(code) if code else BASE + "/new", link=_link,
                  back=_link(code) if code else LOG)


@router.get(BASE + "/new", response_class=HTMLResponse)
def new_channel_page(request: Request, db: DbDep, actor: CanEdit) -> HTMLResponse:
    return _page(request, db, actor, None)


@router.get(BASE + "/{code}", response_class=HTMLResponse)
def channel_page(code: str, request: Request, db: DbDep, actor: CanView) -> HTMLResponse:
    return _page(request, db, actor, code)


async def _posted(request: Request, actor: Actor) -> FormData:
    form = await request.form()
    check_csrf(request, str(form.get("csrf_token", "")), actor)
    return form


def _values(form: FormData) -> dict[str, Any]:
    """The form as the service reads it: an empty secret keeps the stored one."""
    secret = str(form.get("secret") or "").strip()
    return {"code": str(form.get("code") or "").strip(), "name": str(form.get("name") or ""),
            "kind": str(form.get("kind") or ""), "url": str(form.get("url") or "").strip(),
            "secret": "" if form.get("clear_secret") else (secret or None),
            "recipients": str(form.get("recipients") or ""),
            "events": [str(e) for e in form.getlist("events")],
            "active": bool(form.get("active"))}


def _version(form: FormData) -> int:
    value = str(form.get("version") or "")
    if not value.isdigit() or int(value) < 1:
        raise ValidationFailed.single("version", "must be a whole number of at least {n}", n=1)
    return int(value)


@router.post(BASE + "/new", response_model=None)
async def create_channel(request: Request, db: DbDep, actor: CanEdit) -> HTMLResponse:
    """Save a new channel and show it, with a generated webhook secret shown this once."""
    form = await _posted(request, actor)
    data = _values(form)
    try:
        made = deliveries.create_channel(db.uow(), actor, data)
    except DomainError as exc:
        kept = data | {"recipients": data["recipients"].split(), "secret": ""}
        return _page(request, db, actor, None, values=kept, status_code=exc.status,
                     errors=field_errors(locale_of(request), exc))
    return _page(request, db, actor, made["code"], status_code=201,
                 new_secret=made["secret"] if made["kind"] == "webhook" else "")


@router.post(BASE + "/{code}", response_model=None)
async def update_channel(code: str, request: Request, db: DbDep, actor: CanEdit
                         ) -> HTMLResponse | RedirectResponse:
    form = await _posted(request, actor)
    data = _values(form)
    try:
        saved = deliveries.update_channel(db.uow(), actor, code, data, version=_version(form))
    except DomainError as exc:
        if exc.status == 404:
            raise
        # After a stale save the form is based on the current version: saving again applies it.
        version = exc.current_version if isinstance(exc, StaleVersion) else form.get("version")
        kept = data | {"code": code, "recipients": data["recipients"].split(), "secret": "",
                       "version": version}
        return _page(request, db, actor, code, values=kept, status_code=exc.status,
                     errors=field_errors(locale_of(request), exc))
    if "secret" in saved and saved["kind"] == "webhook":
        return _page(request, db, actor, code, new_secret=saved["secret"])
    return RedirectResponse(f"{_link(code)}?saved={saved['version']}", status_code=303)


@router.post(BASE + "/{code}/{action}", response_model=None)
async def channel_action(code: str, action: str, request: Request, db: DbDep, actor: CanEdit
                         ) -> HTMLResponse | RedirectResponse:
    """test (a test message, due now) or delete."""
    if action not in ("test", "delete"):
        raise ValidationFailed.single("action", "must be one of: {expected}", expected="test, delete")
    form = await _posted(request, actor)
    try:
        if action == "test":
            delivery_id = deliveries.queue_test(db.uow(), code, by=actor.username)
            return RedirectResponse(f"{_link(code)}?tested={delivery_id}", status_code=303)
        deliveries.delete_channel(db.uow(), actor, code, version=_version(form))
    except DomainError as exc:
        if exc.status == 404:
            raise
        return _page(request, db, actor, code, status_code=exc.status,
                     errors=field_errors(locale_of(request), exc))
    return RedirectResponse(f"{BASE}?deleted={quote(code)}", status_code=303)


LOG_COLUMNS = (("id", "#"), ("channel", "Channel"), ("kind", "Event"), ("state", "State"),
               ("attempts", "Attempts"), ("last_status", "Last status"),
               ("last_error", "Last error"), ("created_at", "Queued"), ("next_at", "Next attempt"),
               ("sent_at", "Sent"))


@router.get(LOG, response_class=HTMLResponse, response_model=None)
def deliveries_page(request: Request, db: DbDep, actor: CanView, state: str = "",
                    channel: str = "", cursor: Annotated[int | None, Query(ge=1)] = None
                    ) -> Response:
    state = state if state in DELIVERY_STATES else ""
    if fmt := wants_export(request):
        def fetch(after: Any) -> tuple[list[dict[str, Any]], Any]:
            with db.read() as session:
                found = deliveries.list_deliveries(session, state=state or None, cursor=after,
                                                   channel=channel or None, limit=500)
            return found["items"], found["next_cursor"]

        return answer(request, actor, "settings", fetch, LOG_COLUMNS, fmt=fmt,
                      filename="deliveries")
    with db.read() as session:
        found = deliveries.list_deliveries(session, state=state or None, channel=channel or None,
                                           cursor=cursor)
        channels = [c["code"] for c in deliveries.list_channels(session)]
    more = (f"{LOG}?{urlencode({'state': state, 'channel': channel, 'cursor': found['next_cursor']})}"
            if found["next_cursor"] else "")
    back = f"{LOG}?{urlencode({'state': state, 'channel': channel})}"
    return render(request, "admin_deliveries.html", actor, items=found["items"], state=state,
                  channel=channel, channels=channels, states=DELIVERY_STATES, next_link=more,
                  link=_link, back=back)


@router.post(LOG + "/{delivery_id}/redeliver", response_model=None)
async def redeliver(delivery_id: int, request: Request, db: DbDep, actor: CanEdit
                    ) -> RedirectResponse:
    """Send a delivery again, then back to the page the button was on (the log or a channel)."""
    form = await _posted(request, actor)
    deliveries.redeliver(db.uow(), actor, delivery_id)
    back = str(form.get("back") or "")
    target = back if back.startswith(("/admin/channels/", LOG)) and "//" not in back else LOG
    sep = "&" if "?" in target else "?"
    return RedirectResponse(f"{target}{sep}redelivered={delivery_id}", status_code=303)
