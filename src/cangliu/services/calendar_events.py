"""Calendar events (节假日与活动): holidays and events per day, typed in or imported from the M5
calendar; the forecasts learn each event's demand effect from the history and apply it ahead.

Events concern every site, so changing them takes planning rights at every site. Every change is
audited (the unit of work records it).
"""

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cangliu.core.errors import DomainError, FieldError, NotFound, ValidationFailed
from cangliu.core.permissions import Actor
from cangliu.core.planning.events import event_factors
from cangliu.db.models import CalendarEvent, DemandDay
from cangliu.db.models.calendar import KINDS
from cangliu.db.uow import UnitOfWork, retrying

MAX_NAME = 60
LEARN_YEARS = 3  # event effects are learned from this many years of demand history
AROUND_WEEKS = 2  # an event day's baseline: the same weekday of the weeks around it
# M5 calendar columns: the name and type of up to two events per day.
M5_EVENTS = (("event_name_1", "event_type_1"), ("event_name_2", "event_type_2"))


class NotPermitted(DomainError):
    status = 403
    title = "Forbidden"


# --- planning input --------------------------------------------------------------------------

def frame(session: Session, start: date, end: date) -> pl.DataFrame:
    """The ``events`` argument of ``core.planning.forecast.forecast``: day, name of the events
    from ``start`` to ``end`` (inclusive)."""
    rows = session.execute(select(CalendarEvent.day, CalendarEvent.name)
                           .where(CalendarEvent.day.between(start, end))
                           .order_by(CalendarEvent.day, CalendarEvent.name)).all()
    return pl.DataFrame([tuple(r) for r in rows], orient="row",
                        schema={"day": pl.Date, "name": pl.String})


def effects(session: Session, before: date, *, ahead: date | None = None,
            years: int = LEARN_YEARS) -> pl.DataFrame:
    """The ``event_effects`` argument of ``forecast``: each event's effect learned from the
    demand history of the ``years`` before ``before`` (``core.planning.events.event_factors``);
    with ``ahead``, only of the events that come again from ``before`` to ``ahead``. Only the
    days of those events and the same weekdays of the weeks around them are read; days without
    a row are days without demand, as everywhere the demand history is read."""
    events = frame(session, before - timedelta(days=365 * years), before - timedelta(days=1))
    if ahead is not None:
        events = events.join(frame(session, before, ahead).select("name").unique(), on="name",
                             how="semi")
    if events.is_empty():
        return event_factors(pl.DataFrame(), events)
    dates = sorted({d + timedelta(days=7 * w) for d in events["day"]
                    for w in range(-AROUND_WEEKS, AROUND_WEEKS + 1)})
    rows: list[tuple[Any, ...]] = []
    for chunk in range(0, len(dates), 500):
        rows += session.execute(select(DemandDay.sku_id, DemandDay.site_id, DemandDay.day,
                                       DemandDay.qty, DemandDay.stockout)
                                .where(DemandDay.day.in_(dates[chunk:chunk + 500]))).tuples().all()
    history = pl.DataFrame([(s, t, d, float(q), bool(o)) for s, t, d, q, o in rows], orient="row",
                           schema={"sku": pl.Int64, "site": pl.Int64, "day": pl.Date,
                                   "qty": pl.Float64, "stockout": pl.Boolean})
    return event_factors(history, events, weeks=AROUND_WEEKS, missing_is_zero=True)


# --- reading ---------------------------------------------------------------------------------

def _out(row: CalendarEvent) -> dict[str, Any]:
    return {"id": row.id, "day": row.day.isoformat(), "name": row.name, "kind": row.kind,
            "source": row.source}


def _after(cursor: str | None) -> tuple[str, date | None, int]:
    """A cursor is ``U_<day>_<id>`` (in the upcoming part) or ``P_<day>_<id>`` (in the past)."""
    if not cursor:
        return "U", None, 0
    part, _, rest = cursor.partition("_")
    day, _, ident = rest.partition("_")
    try:
        if part not in ("U", "P"):
            raise ValueError(part)
        return part, date.fromisoformat(day), int(ident)
    except ValueError:
        raise ValidationFailed.single("cursor", "is not valid") from None


def list_events(session: Session, *, today: date, q: str | None = None, after: str | None = None,
                limit: int = 50) -> tuple[list[dict[str, Any]], str | None]:
    """One page: the events from ``today`` on in date order, then the past ones latest first;
    searched by name and kind. ``after`` is the ``next_cursor`` of the page before."""
    part, day, ident = _after(after)
    search: list[ColumnElement[bool]] = []
    if q and q.strip():
        like = f"%{q.strip()}%"
        search.append(or_(CalendarEvent.name.ilike(like), CalendarEvent.kind.ilike(like)))
    rows: list[tuple[str, CalendarEvent]] = []
    if part == "U":
        where = [CalendarEvent.day >= today, *search]
        if day is not None:
            where.append(or_(CalendarEvent.day > day,
                             and_(CalendarEvent.day == day, CalendarEvent.id > ident)))
        rows += [("U", r) for r in session.scalars(select(CalendarEvent).where(*where).order_by(
            CalendarEvent.day, CalendarEvent.id).limit(limit + 1))]
    if len(rows) <= limit:
        where = [CalendarEvent.day < today, *search]
        if part == "P" and day is not None:
            where.append(or_(CalendarEvent.day < day,
                             and_(CalendarEvent.day == day, CalendarEvent.id > ident)))
        rows += [("P", r) for r in session.scalars(select(CalendarEvent).where(*where).order_by(
            CalendarEvent.day.desc(), CalendarEvent.id).limit(limit + 1 - len(rows)))]
    page = rows[:limit]
    nxt = None
    if len(rows) > limit:
        last_part, last = page[-1]
        nxt = f"{last_part}_{last.day.isoformat()}_{last.id}"
    return [_out(r) for _, r in page], nxt


# --- writing ---------------------------------------------------------------------------------

def _check_rights(actor: Actor) -> None:
    if actor.sites("planning.edit") is not None:
        raise NotPermitted("Calendar events concern every site: changing them needs planning "
                           "rights at every site")


def _clean(day: Any, name: Any, kind: Any) -> tuple[date, str, str]:
    """Every bad field named at once."""
    errors: list[FieldError] = []
    text = str(name or "").strip()
    if not text:
        errors.append(FieldError("name", "is required"))
    elif len(text) > MAX_NAME:
        errors.append(FieldError("name", "is too long"))
    if not isinstance(day, date):
        errors.append(FieldError("day", "must be a date (YYYY-MM-DD)"))
    chosen = str(kind or "").strip().lower() or "other"
    if chosen not in KINDS:
        errors.append(FieldError("kind", "must be one of: {expected}",
                                 {"expected": ", ".join(KINDS)}))
    if errors:
        raise ValidationFailed(errors)
    assert isinstance(day, date)
    return day, text, chosen


def _duplicate(day: date, name: str) -> ValidationFailed:
    return ValidationFailed.single("name", "an event {name} on {day} exists already",
                                   name=name, day=day.isoformat())


@retrying
def add(uow: UnitOfWork, actor: Actor, *, day: date | None, name: str, kind: str = "other"
        ) -> dict[str, Any]:
    """Add an event on ``day``; the same name on the same day is refused."""
    _check_rights(actor)
    clean_day, clean_name, clean_kind = _clean(day, name, kind)
    with uow:
        s = uow.session
        if s.scalar(select(CalendarEvent.id).where(CalendarEvent.day == clean_day,
                                                   CalendarEvent.name == clean_name)) is not None:
            raise _duplicate(clean_day, clean_name)
        row = CalendarEvent(day=clean_day, name=clean_name, kind=clean_kind, source="manual")
        s.add(row)
        try:
            s.flush()
        except IntegrityError:  # added by someone else at the same moment
            raise _duplicate(clean_day, clean_name) from None
        result = _out(row)
        uow.commit()
    return result


def get(session: Session, event_id: int) -> dict[str, Any]:
    row = session.get(CalendarEvent, event_id)
    if row is None:
        raise NotFound("No calendar event {id}", id=event_id)
    return _out(row)


@retrying
def remove(uow: UnitOfWork, actor: Actor, event_id: int) -> dict[str, Any]:
    """Delete an event (typed in or imported); returns what it was."""
    _check_rights(actor)
    with uow:
        s = uow.session
        row = s.get(CalendarEvent, event_id)
        if row is None:
            raise NotFound("No calendar event {id}", id=event_id)
        result = _out(row)
        s.delete(row)
        uow.commit()
    return result


# --- import ----------------------------------------------------------------------------------

def read_m5_calendar(path: Path | str) -> pl.DataFrame:
    """day, name, kind of the events of an M5 ``calendar.csv`` (``date``, ``event_name_1``,
    ``event_type_1``, ``event_name_2``, ``event_type_2``), one row per day × name."""
    try:
        raw = pl.read_csv(path, infer_schema=False)
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise ValidationFailed.single("file", "cannot be read: {reason}", reason=str(exc)) from None
    missing = [c for c in ("date", *(c for pair in M5_EVENTS for c in pair)) if c not in raw.columns]
    if missing:
        raise ValidationFailed.single("file", "missing column {column}", column=missing[0])
    parts = [raw.select(day=pl.col("date").str.to_date("%Y-%m-%d", strict=False),
                        name=pl.col(n).str.strip_chars(), kind=pl.col(k).str.strip_chars()
                        .str.to_lowercase()) for n, k in M5_EVENTS]
    events = pl.concat(parts).filter(pl.col("name").is_not_null() & (pl.col("name") != ""))
    if events["day"].null_count():
        raise ValidationFailed.single("file", "has a date that is not YYYY-MM-DD")
    return events.with_columns(
        name=pl.col("name").str.slice(0, MAX_NAME),
        kind=pl.when(pl.col("kind").is_in(list(KINDS))).then("kind").otherwise(pl.lit("other")),
    ).unique(subset=["day", "name"], keep="first", maintain_order=True).sort("day", "name")


@retrying
def import_m5_calendar(uow: UnitOfWork, path: Path | str) -> int:
    """Add the events of an M5 calendar file that are not there yet (idempotent): how many."""
    events = read_m5_calendar(path)
    if events.is_empty():
        return 0
    start, end = events["day"].min(), events["day"].max()
    with uow:
        s = uow.session
        known = set(s.execute(select(CalendarEvent.day, CalendarEvent.name)
                              .where(CalendarEvent.day.between(start, end))).tuples())
        new = [CalendarEvent(day=d, name=n, kind=k, source="import")
               for d, n, k in events.iter_rows() if (d, n) not in known]
        s.add_all(new)
        uow.commit()
    return len(new)
