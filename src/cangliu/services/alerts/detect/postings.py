"""Unusual operations, judged from the postings of a stock event: an adjustment worth more than
the rule's value, a posting outside working hours in the rule's time zone, and a user making
more adjustments (postings, not lines) than the rule's count within its hours before now, by
when they were recorded. A past posting stays what it was, so the first two are judged once,
on their event; the count is also judged by the scan."""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from cangliu.core.alerts import KINDS, Check, Finding, Rule
from cangliu.db.models import Location, Sku, StockMove
from cangliu.services.alerts.detect.findings import (
    Site,
    checked,
    number,
    postings,
    settings,
    shown,
    sites,
    watched,
)
from cangliu.services.events import Event

ADJUST = "adjust"
# The hour a condition reads is local time: the rule's zone, else the working-hours default.
ZONE = str(KINDS["off_hours"].params["timezone"])


@dataclass(frozen=True)
class Posting:
    """One posting of an event with what its moves say: its first SKU, its site, its quantity."""

    ref: str
    operation: str
    user: str
    value: Decimal | None
    occurred_at: datetime
    sku: str
    sku_id: int | None
    site_id: int | None
    site: Site
    qty: Decimal

    def values(self, hour: int) -> dict[str, Any]:
        return {"sku": self.sku, "site": self.site.code, "user": self.user,
                "operation": self.operation, "value": number(self.value),
                "qty": number(self.qty), "hour": float(hour)}

    def finding(self, title: str, hour: int, **params: str) -> Finding:
        return Finding(f"posting:{self.ref}", title,
                       {"ref": self.ref, "user": self.user, "sku": self.sku,
                        "site": self.site.code, **params},
                       site_id=self.site_id, sku_id=self.sku_id,
                       link=f"/stock/{self.sku}" if self.sku else "", values=self.values(hour))


def _decimal(raw: Any) -> Decimal | None:
    try:
        return None if raw in (None, "") else Decimal(str(raw))
    except InvalidOperation:
        return None


def _moves(session: Session, refs: set[str]) -> dict[str, list[Any]]:
    src, dst = aliased(Location), aliased(Location)
    rows = session.execute(
        select(StockMove.ref, StockMove.sku_id, Sku.code, StockMove.qty,
               func.coalesce(dst.site_id, src.site_id).label("site_id"))
        .join(Sku, Sku.id == StockMove.sku_id)
        .join(src, src.id == StockMove.from_location_id)
        .join(dst, dst.id == StockMove.to_location_id)
        .where(StockMove.ref.in_(refs)).order_by(StockMove.id))
    out: dict[str, list[Any]] = {}
    for row in rows:
        out.setdefault(row.ref, []).append(row)
    return out


def _postings(session: Session, rule: Rule, raw: list[Mapping[str, Any]]) -> list[Posting]:
    """The event's postings in the rule's sites (a posting's site: that of its first move)."""
    moves = _moves(session, {p["ref"] for p in raw})
    where = sites(session, {m[0].site_id for m in moves.values() if m and m[0].site_id})
    out = []
    for p in raw:
        lines = moves.get(p["ref"], [])
        first = lines[0] if lines else None
        site_id = first.site_id if first else None
        if not watched(rule, site_id):
            continue
        out.append(Posting(
            p["ref"], p.get("operation") or "", p.get("user") or "", _decimal(p.get("value")),
            datetime.fromisoformat(p["occurred_at"]), first.code if first else "",
            first.sku_id if first else None, site_id,
            where.get(site_id, Site("", "")) if site_id else Site("", ""),
            sum((m.qty for m in lines), Decimal(0))))
    return out


def large_adjustment(session: Session, rule: Rule, now: datetime, event: Event | None
                     ) -> Check | None:
    raw = [] if event is None else [p for p in postings(event) if p.get("operation") == ADJUST]
    if not raw:
        return None
    params = settings(rule)
    limit, zone = Decimal(str(params["value"])), ZoneInfo(str(params.get("timezone", ZONE)))
    found = _postings(session, rule, raw)
    findings = [p.finding("Adjustment {ref} by {user} of {sku} at {site} is worth {value}",
                          p.occurred_at.astimezone(zone).hour, value=shown(abs(p.value)))
                for p in found if p.value is not None and abs(p.value) > limit]
    return checked(rule, findings, {f"posting:{p.ref}" for p in found})


def _clock(raw: Any) -> time:
    return time.fromisoformat(str(raw))


def _outside(local: time, start: time, end: time) -> bool:
    if start <= end:
        return not start <= local < end
    return end <= local < start  # a working day across midnight (e.g. 22:00–06:00)


def off_hours(session: Session, rule: Rule, now: datetime, event: Event | None) -> Check | None:
    raw = [] if event is None else postings(event)
    if not raw:
        return None
    params = settings(rule)
    zone, start, end = ZoneInfo(str(params["timezone"])), _clock(params["start"]), _clock(params["end"])
    found = _postings(session, rule, raw)
    findings = []
    for p in found:
        local = p.occurred_at.astimezone(zone)
        if _outside(local.time(), start, end):
            findings.append(p.finding(
                "Posting {ref} by {user} at {time} is outside working hours ({start}–{end})",
                local.hour, time=local.strftime("%Y-%m-%d %H:%M"), start=start.strftime("%H:%M"),
                end=end.strftime("%H:%M")))
    return checked(rule, findings, {f"posting:{p.ref}" for p in found})


def _adjustments(session: Session, rule: Rule, since: datetime, now: datetime,
                 users: set[str] | None) -> dict[str, int]:
    """Adjustment postings per user recorded in (since, now], at the rule's sites."""
    src, dst = aliased(Location), aliased(Location)
    site = func.coalesce(dst.site_id, src.site_id)
    query = (select(StockMove.operator, func.count(func.distinct(StockMove.ref)))
             .join(src, src.id == StockMove.from_location_id)
             .join(dst, dst.id == StockMove.to_location_id)
             .where(StockMove.operation == ADJUST, StockMove.recorded_at > since,
                    StockMove.recorded_at <= now)
             .group_by(StockMove.operator))
    if users is not None:
        query = query.where(StockMove.operator.in_(users))
    if rule.site_ids is not None:
        query = query.where(site.in_(rule.site_ids))
    return dict(session.execute(query).tuples().all())


def frequent_adjustments(session: Session, rule: Rule, now: datetime, event: Event | None
                         ) -> Check | None:
    users: set[str] | None = None
    if event is not None:
        users = {p.get("user") or "" for p in postings(event) if p.get("operation") == ADJUST}
        if not users:
            return None
    params = settings(rule)
    hours, most = float(params["hours"]), int(float(str(params["count"])))
    counts = _adjustments(session, rule, now - timedelta(hours=hours), now, users)
    findings = [Finding(f"user:{user}", "{user} made {count} adjustments in {hours} hours",
                        {"user": user, "count": str(count), "hours": shown(hours)},
                        link=f"/admin/users/{user}",
                        values={"user": user, "count": float(count)})
                for user, count in sorted(counts.items()) if count > most]
    keys = None if users is None else {f"user:{u}" for u in users}
    # No site on a user's finding: the query judged the rule's sites.
    return checked(rule, findings, keys, by_site=False)

