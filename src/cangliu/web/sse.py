"""Live pages: committed events pushed to browsers as server-sent events.

One ``Broadcaster`` per app process: a thread woken by the process's own commits (and, on
PostgreSQL, by one LISTEN connection per process) reads the new outbox rows once and hands them
to every connected stream. A stream sends each event its user may see, with the outbox id as the
SSE id, so a browser that lost the connection resumes with ``Last-Event-ID`` and is sent what it
missed from the outbox.
"""

import asyncio
import json
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import StreamingResponse

from cangliu.core.permissions import Actor
from cangliu.db.uow import Database
from cangliu.services import events
from cangliu.services.events import Event
from cangliu.web.deps import AnyUser
from cangliu.web.pages.render import templates

router = APIRouter(tags=["events"])

HEARTBEAT_S = 15.0
STREAM_S = 300.0  # a stream ends after this long; the browser reconnects and resumes by id
CATCH_UP_LIMIT = 2000
READ_BATCH = 500
LINGER_S = 0.02
FRAME_CACHE = 50_000
# record.changed: the table → the permission that lets a user see that its records changed.
ENTITY_PERMISSION = {
    "purchase_order": "purchase.view", "sales_order": "sales.view",
    "transfer_order": "transfer.view", "stock_count": "count.view", "scrap": "scrap.view",
    "held_document": "stock.view", "approval_instance": "purchase.view",
    "planning_suggestion": "planning.view", "sku": "sku.view", "location": "site.view",
    "supplier": "supplier.view", "customer": "customer.view", "work_order": "serial.view",
    "repair_ticket": "serial.view", "recall": "serial.view",
}


@dataclass(eq=False)
class Subscriber:
    loop: asyncio.AbstractEventLoop
    queue: asyncio.Queue[Event] = field(default_factory=lambda: asyncio.Queue(maxsize=5000))
    # A browser too slow to keep up: its stream ends and it resumes from the outbox by id.
    overflowed: bool = False

    def offer(self, event: Event) -> None:
        if self.queue.full():
            self.overflowed = True
        else:
            self.queue.put_nowait(event)


class Broadcaster:
    """Reads new events once per process and hands them to every subscriber."""

    def __init__(self, db: Database, *, listen: bool = True, poll: float = 1.0) -> None:
        self.db, self.listen, self.poll = db, listen, poll
        self.subscribers: set[Subscriber] = set()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._waker: events.Waker | None = None
        self._stop = threading.Event()
        # Rendered frames by (event id, viewer signature): users with the same scopes get the
        # same bytes, so a hundred streams cost one render per event, not a hundred.
        self.frames: dict[tuple[int, Any], str | None] = {}

    def frame(self, actor: Actor, signature: Any, event: Event) -> str | None:
        key = (event.id, actor.user_id if event.kind == "notification.created" else signature)
        if key not in self.frames:
            if len(self.frames) > FRAME_CACHE:
                self.frames.clear()
            data = visible(actor, event)
            self.frames[key] = None if data is None else _frame(event, data)
        return self.frames[key]

    def subscribe(self) -> Subscriber:
        sub = Subscriber(asyncio.get_running_loop())
        with self._lock:
            self.subscribers.add(sub)
            if self._thread is None:
                self._waker = events.Waker(self.db, listen=self.listen)
                with self.db.read() as session:
                    tail = events.Tail(events.last_id(session))
                self._thread = threading.Thread(target=self._run, args=(tail,), daemon=True,
                                                name="cangliu-sse")
                self._thread.start()
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        with self._lock:
            self.subscribers.discard(sub)

    def _run(self, tail: events.Tail) -> None:
        assert self._waker is not None
        seen = self._waker.seq()
        while not self._stop.is_set():
            with self.db.read() as session:
                fresh = tail.read(session, limit=READ_BATCH)
            if fresh:
                with self._lock:
                    subs = list(self.subscribers)
                for loop in {sub.loop for sub in subs}:  # one hop into each event loop
                    loop.call_soon_threadsafe(_hand_out, [s for s in subs if s.loop is loop], fresh)
            if len(fresh) < READ_BATCH:  # caught up: wait (polling covers a missed wake-up)
                woken = self._waker.wait(seen, timeout=self.poll)
                if woken != seen:
                    # Commits come in bursts: gather a few milliseconds' worth into one read and
                    # one write per stream instead of one per commit.
                    self._stop.wait(LINGER_S)
                seen = woken

    def close(self) -> None:
        self._stop.set()
        if self._waker is not None:
            self._waker.close()
        if self._thread is not None:
            self._thread.join(timeout=5)


def _hand_out(subs: list[Subscriber], fresh: list[Event]) -> None:
    for sub in subs:
        for event in fresh:
            sub.offer(event)


def visible(actor: Actor, event: Event) -> dict[str, Any] | None:
    """What of ``event`` the actor may see (None: nothing)."""
    payload = event.payload
    if event.kind == "stock.changed":
        scope = actor.sites("stock.view")
        lines = [line for line in payload.get("lines", [])
                 if scope is None or line.get("site_id") in scope]
        if not lines:
            return None
        return {"lines": [{"sku": x["sku"], "site": x["site"]} for x in lines],
                "operations": sorted({p["operation"] for p in payload.get("postings", [])})}
    if event.kind == "record.changed":
        permission = ENTITY_PERMISSION.get(payload.get("entity", ""))
        return payload if permission and actor.sites(permission) != frozenset() else None
    if event.kind == "notification.created":
        return {} if actor.user_id in payload.get("users", []) else None
    if event.kind.startswith("alert."):
        scope = actor.sites("alert.view")
        site = payload.get("site_id")
        if scope is None or site in scope:  # an alert of no site: for the unscoped only
            return {k: v for k, v in payload.items() if k != "site_id"}
        return None
    return None


def signature(actor: Actor) -> tuple[Any, ...]:
    """What decides which part of an event a user sees (besides their own id)."""
    return (actor.sites("stock.view"), actor.sites("alert.view"),
            tuple(actor.sites(p) != frozenset() for p in ENTITY_PERMISSION.values()))


def _frame(event: Event, data: dict[str, Any]) -> str:
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return f"id: {event.id}\nevent: {event.kind}\ndata: {body}\n\n"


def broadcaster(request: Request) -> Broadcaster:
    app = request.app
    if getattr(app.state, "broadcaster", None) is None:
        listen, poll = getattr(app.state, "events", (True, 1.0))
        app.state.broadcaster = Broadcaster(app.state.db, listen=listen, poll=poll)
    found: Broadcaster = app.state.broadcaster
    return found


@router.get("/events", summary="Server-sent events: changes as they are committed")
async def stream(request: Request, actor: AnyUser,
                 after: Annotated[int | None, Query(ge=0)] = None,
                 last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None
                 ) -> StreamingResponse:
    """``text/event-stream`` of the events the caller may see. ``after`` (or the browser's
    ``Last-Event-ID`` on a reconnect) first replays what was committed since that id."""
    start = int(last_event_id) if last_event_id and last_event_id.isdigit() else after
    hub = broadcaster(request)
    sub = hub.subscribe()
    sig = signature(actor)

    async def frames() -> AsyncIterator[str]:
        last = start or 0
        try:
            yield "retry: 1000\n\n"
            if start is not None:
                for event in await asyncio.to_thread(_since, hub.db, start):
                    last = event.id
                    if (text := hub.frame(actor, sig, event)) is not None:
                        yield text
            loop = asyncio.get_running_loop()
            ends, beat = loop.time() + STREAM_S, loop.time() + HEARTBEAT_S
            while loop.time() < ends and not sub.overflowed:
                try:
                    first = await asyncio.wait_for(sub.queue.get(), timeout=1.0)
                except TimeoutError:
                    if await request.is_disconnected():
                        break
                    if loop.time() >= beat:
                        beat = loop.time() + HEARTBEAT_S
                        yield ": keep-alive\n\n"
                    continue
                batch = [first]  # whatever else is waiting goes out in the same write
                while not sub.queue.empty():
                    batch.append(sub.queue.get_nowait())
                chunk = "".join(text for event in batch
                                if event.id > last  # not already sent while catching up
                                and (text := hub.frame(actor, sig, event)) is not None)
                if chunk:
                    yield chunk
        finally:
            hub.unsubscribe(sub)

    return StreamingResponse(frames(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


def live_after(request: Request) -> int:
    """The newest event id when a page is rendered: its stream starts there, so nothing
    committed between the render and the connection is missed."""
    db: Database = request.app.state.db
    with db.read() as session:
        return events.last_id(session)


templates.env.globals["live_after"] = live_after


def _since(db: Database, start: int) -> list[Event]:
    with db.read() as session:
        return events.after(session, start, limit=CATCH_UP_LIMIT)
