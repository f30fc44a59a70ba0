"""KPIs over time: a trend per day, week or month, and a before/after comparison around a day."""

from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from cangliu.core.errors import ValidationFailed
from cangliu.services.kpis.definitions import BY_CODE, KPIS, Totals
from cangliu.services.kpis.reading import Row, evaluated, filters, rows, summary, totals

GRAINS = ("day", "week", "month")


def period_of(day: date, grain: str) -> date:
    """The first day of the day's period."""
    if grain == "week":
        return day - timedelta(days=day.weekday())
    if grain == "month":
        return day.replace(day=1)
    return day


def _period_end(first: date, grain: str) -> date:
    if grain == "week":
        return first + timedelta(days=6)
    if grain == "month":
        nxt = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
        return nxt - timedelta(days=1)
    return first


def trend(session: Session, kpi: str, start: date, end: date, grain: str = "day", *,
          scope: frozenset[int] | None = None, region: str | None = None, site: str | None = None,
          category: str | None = None, today: date | None = None) -> list[dict[str, Any]]:
    """One point per period of ``grain`` in [start, end] (periods cut at the ends): its first
    day and the KPI's value over it."""
    if kpi not in BY_CODE and kpi != "on_hand_qty":
        raise ValidationFailed.single("kpi", "must be one of {names}",
                                      names=", ".join(k.code for k in KPIS))
    if grain not in GRAINS:
        raise ValidationFailed.single("grain", "must be one of {names}", names=", ".join(GRAINS))
    if end < start:
        raise ValidationFailed.single("end", "must not be before the start date")
    f = filters(session, scope=scope, region=region, site=site, category=category)
    buckets: dict[date, list[Row]] = defaultdict(list)
    for r in rows(session, start, end, f, today=today):
        buckets[period_of(r.day, grain)].append(r)
    out = []
    first = period_of(start, grain)
    while first <= end:
        lo, hi = max(first, start), min(_period_end(first, grain), end)
        t = (totals(buckets[first], lo, hi, by_lines=f.categories is not None) if buckets[first]
             else Totals(days=(hi - lo).days + 1, by_lines=f.categories is not None))
        out.append({"period": first, "value": evaluated(t)[kpi]})
        first = _period_end(first, grain) + timedelta(days=1)
    return out


def compare(session: Session, day: date, window_days: int, *,
            scope: frozenset[int] | None = None, region: str | None = None,
            site: str | None = None, category: str | None = None, today: date | None = None
            ) -> dict[str, Any]:
    """The KPIs over ``window_days`` before ``day`` against the same span from ``day`` on, and
    the change of each (after − before; None when either is unknown)."""
    if not 1 <= window_days <= 366:
        raise ValidationFailed.single("window_days", "must be between {low} and {high}", low=1, high=366)
    span = timedelta(days=window_days)
    kw: dict[str, Any] = {"scope": scope, "region": region, "site": site, "category": category,
                          "today": today}
    before = summary(session, day - span, day - timedelta(days=1), **kw)
    after = summary(session, day, day + span - timedelta(days=1), **kw)
    change: dict[str, Decimal | None] = {
        k: (after[k] - b if after[k] is not None and b is not None else None)  # type: ignore[operator]
        for k, b in before.items()}
    return {"day": day, "window_days": window_days,
            "before": {"start": day - span, "end": day - timedelta(days=1), "kpis": before},
            "after": {"start": day, "end": day + span - timedelta(days=1), "kpis": after},
            "change": change}
