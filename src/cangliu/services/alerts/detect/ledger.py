"""Ledger consistency detector: the balance projection against the ledger, as ``cangliu verify``
judges it, but summed by the database (moves in and out per SKU × location × lot × status, and
open reservations against reserved quantities) rather than replayed move by move in Python."""

from collections import defaultdict
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cangliu.core.alerts import Check, Finding, Rule
from cangliu.core.ledger import StockStatus
from cangliu.core.locations import HOLDS_STOCK
from cangliu.db.models import Location, Reservation, StockBalance, StockMove
from cangliu.services.alerts.detect.findings import checked
from cangliu.services.events import Event

Key = tuple[int, int, str, str]  # sku, location, lot, status


def _ledger(session: Session, holding: set[int]) -> dict[Key, Decimal]:
    """What the moves leave at each place that holds stock."""
    out: dict[Key, Decimal] = defaultdict(Decimal)
    m = StockMove
    for loc, status, sign in ((m.to_location_id, m.to_status, 1),
                              (m.from_location_id, m.from_status, -1)):
        for sku, where, lot, state, qty in session.execute(
                select(m.sku_id, loc, m.lot, status, func.sum(m.qty))
                .group_by(m.sku_id, loc, m.lot, status)):
            if where in holding:
                out[(sku, where, lot, state)] += sign * qty
    return out


def _balances(session: Session) -> tuple[dict[Key, Decimal], dict[Key, Decimal]]:
    qty: dict[Key, Decimal] = {}
    reserved: dict[Key, Decimal] = {}
    b = StockBalance
    for sku, loc, lot, status, held, booked in session.execute(
            select(b.sku_id, b.location_id, b.lot, b.status, b.qty, b.reserved)):
        qty[(sku, loc, lot, status)] = held
        if booked:
            reserved[(sku, loc, lot, status)] = booked
    return qty, reserved


def _reservations(session: Session) -> dict[Key, Decimal]:
    r = Reservation
    rows = session.execute(select(r.sku_id, r.location_id, r.lot, func.sum(r.qty))
                           .where(r.state == "open").group_by(r.sku_id, r.location_id, r.lot))
    return {(sku, loc, lot, StockStatus.AVAILABLE.value): qty
            for sku, loc, lot, qty in rows if qty}


def _differing(expected: dict[Key, Decimal], actual: dict[Key, Decimal]) -> set[Key]:
    return {k for k in expected.keys() | actual.keys()
            if expected.get(k, Decimal(0)) != actual.get(k, Decimal(0))}


def differences(session: Session, site_ids: frozenset[int] | None = None) -> set[Key]:
    """The places where balances or reservations differ from the ledger (in ``site_ids``)."""
    kinds: dict[int, Any] = {i: (kind, site) for i, kind, site in session.execute(
        select(Location.id, Location.kind, Location.site_id))}
    holding = {i for i, (kind, _site) in kinds.items() if kind in HOLDS_STOCK}
    qty, reserved = _balances(session)
    found = _differing(_ledger(session, holding), qty) | _differing(_reservations(session),
                                                                     reserved)
    if site_ids is not None:
        found = {k for k in found if kinds.get(k[1], ("", None))[1] in site_ids}
    return found


def ledger_inconsistency(session: Session, rule: Rule, now: datetime, event: Event | None
                         ) -> Check | None:
    if event is not None:
        return None
    found = differences(session, rule.site_ids)
    findings = [Finding("ledger", "Stock balances differ from the ledger at {differences} places",
                        {"differences": str(len(found))}, link="",
                        values={"differences": float(len(found))})] if found else []
    return checked(rule, findings, None, by_site=False)
