"""Operations endpoints and instruments: readiness, Prometheus metrics and the access log.

``/health`` (in app.py) says the process answers; ``/ready`` also that the database answers and
carries the schema this code expects, so a load balancer only sends work to a process that can
do it. ``/metrics`` is for Prometheus: request counts and latency by route, committed postings,
and, read from the database at scrape time, the outbox backlog and the open alerts.
"""

import ipaddress
import logging
import os
import secrets
import time
from collections.abc import Iterator
from datetime import UTC, datetime

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import REGISTRY, Collector
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cangliu.db import audit, outbox
from cangliu.db.migrate import current_revision, head_revision
from cangliu.db.models import Alert, OutboxEvent
from cangliu.db.uow import Database

router = APIRouter(tags=["system"])
access_log = logging.getLogger("cangliu.access")

REQUESTS = Counter("cangliu_http_requests", "HTTP requests answered", ["method", "route", "status"])
LATENCY = Histogram("cangliu_http_request_duration_seconds", "Time to answer an HTTP request",
                    ["method", "route"],
                    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
POSTINGS = Counter("cangliu_postings", "Ledger postings committed by this installation's processes")
outbox.posting_hooks.append(POSTINGS.inc)


def _route_of(scope: Scope) -> str:
    """The route's template (/api/v1/stock/{sku}), never the raw path, so labels stay few."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    if path:
        return str(path)
    return "/static" if scope.get("path", "").startswith("/static/") else "unmatched"


class MetricsMiddleware:
    """Counts and times every request, and writes one access-log line for it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # an exception that escapes every handler is answered with a 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            elapsed = time.perf_counter() - started
            method, route = scope["method"], _route_of(scope)
            REQUESTS.labels(method, route, str(status)).inc()
            LATENCY.labels(method, route).observe(elapsed)
            access_log.info("%s %s %s %.1fms", method, scope["path"], status, elapsed * 1000,
                            extra={"request_id": audit.current().request_id,
                                   "method": method, "path": scope["path"], "status": status,
                                   "duration_ms": round(elapsed * 1000, 1),
                                   "user": audit.current().username})


class DatabaseCollector(Collector):
    """Gauges read from the database when Prometheus scrapes: the same for every process."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def collect(self) -> Iterator[GaugeMetricFamily]:
        now = datetime.now(UTC).replace(tzinfo=None)
        with self.db.read() as session:
            pending, oldest = session.execute(
                select(func.count(), func.min(OutboxEvent.at))
                .where(OutboxEvent.dispatched_at.is_(None))).one()
            alerts = dict(session.execute(
                select(Alert.severity, func.count()).where(Alert.state != "resolved")
                .group_by(Alert.severity)).tuples().all())
        yield GaugeMetricFamily("cangliu_outbox_pending", "Domain events not yet dispatched",
                                value=pending)
        lag = (now - oldest.replace(tzinfo=None)).total_seconds() if oldest else 0.0
        yield GaugeMetricFamily("cangliu_outbox_lag_seconds",
                                "Age of the oldest event not yet dispatched", value=max(lag, 0.0))
        family = GaugeMetricFamily("cangliu_open_alerts", "Alerts not resolved", labels=["severity"])
        for severity in ("info", "warning", "critical"):
            family.add_metric([severity], alerts.get(severity, 0))
        yield family


def _may_scrape(request: Request) -> bool:
    token = request.app.state.metrics_token
    if token:
        given = request.headers.get("authorization", "")
        return secrets.compare_digest(given.encode(), f"Bearer {token}".encode())
    host = request.client.host if request.client else ""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request) -> Response:
    if not _may_scrape(request):
        return JSONResponse({"detail": "metrics need the metrics token (CANGLIU_METRICS_TOKEN) or a "
                                       "loopback address"}, status_code=403)
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:  # several workers: add up their files
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        processes = generate_latest(registry)
    else:
        processes = generate_latest(REGISTRY)
    database = CollectorRegistry()
    database.register(DatabaseCollector(request.app.state.db))
    return Response(processes + generate_latest(database), media_type=CONTENT_TYPE_LATEST)


@router.get("/ready")
def ready(request: Request) -> JSONResponse:
    db: Database = request.app.state.db
    try:
        revision = current_revision(db.writer)
    except SQLAlchemyError as exc:
        reason = f"database unreachable: {exc.__class__.__name__}"
        return JSONResponse({"status": "not ready", "reason": reason}, status_code=503)
    expected = request.app.state.schema_head
    if revision != expected:
        return JSONResponse({"status": "not ready", "reason": f"database schema is {revision}, this "
                             f"version needs {expected}: run `cangliu migrate`"}, status_code=503)
    return JSONResponse({"status": "ready", "database": db.dialect, "schema": revision})


def install(app: "object", db: Database, metrics_token: str | None) -> None:
    """State the endpoints read: the schema head is read once, not per probe."""
    state = app.state  # type: ignore[attr-defined]
    state.metrics_token = metrics_token
    state.schema_head = head_revision(db.url)
