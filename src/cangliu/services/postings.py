"""The shared posting step: moves become ledger rows and balance updates in one transaction."""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from cangliu.core import ledger
from cangliu.core.errors import InsufficientStock, ValidationFailed
from cangliu.core.ledger import Free, Move, StockStatus
from cangliu.core.locations import LocationKind, holds_stock
from cangliu.core.permissions import Actor
from cangliu.core.valuation import value_of
from cangliu.db import outbox
from cangliu.db.models import Location, Sku, StockBalance
from cangliu.db.repositories import ledger as repo
from cangliu.db.repositories import masterdata as md
from cangliu.db.repositories.ledger import LocationInfo
from cangliu.db.uow import UnitOfWork
from cangliu.services.idempotency import Result, once
from cangliu.services.periods import check_open
from cangliu.services.valuation import cost_moves


@dataclass(frozen=True)
class Meta:
    """Who posts, why, and when it physically happened (defaults to now)."""

    actor: Actor
    reason: str = ""
    idempotency_key: str | None = None
    occurred_at: datetime | None = None
    document_type: str | None = None
    document_number: str | None = None


class Book:
    """The locations and SKUs one posting touches, by id, with their codes for the answer."""

    def __init__(self) -> None:
        self.locations: dict[int, LocationInfo] = {}
        self.skus: dict[int, Sku] = {}

    def loc(self, location: Location, site: Location | None) -> int:
        allow_negative = bool(site and site.allow_negative)
        self.locations[location.id] = LocationInfo(location.id, location.code, location.kind,
                                                   location.site_id, allow_negative)
        return location.id

    def sku(self, sku: Sku) -> int:
        self.skus[sku.id] = sku
        return sku.id


def transact(uow: UnitOfWork, meta: Meta, action: str, request: dict[str, Any],
             work: Callable[[], Result]) -> Result:
    """One user action: one transaction, performed once per idempotency key, committed once."""
    def prefetched_work() -> Result:
        skus, locations = _named_codes(request)
        md.prefetch(uow.session, skus=skus, locations=locations)
        return work()

    with uow:
        result = once(uow, key=meta.idempotency_key, scope=str(meta.actor.user_id), action=action,
                      request=request, work=prefetched_work)
        uow.commit()
    return result


def _named_codes(request: dict[str, Any]) -> tuple[set[str], set[str]]:
    """The SKU and location codes a request names, so a posting of many lines looks them up in
    one query per table instead of one per line."""
    lines = request.get("lines") or []
    skus = {line.get("sku") for line in lines} | {request.get("sku")}
    locations = ({request.get(k) for k in ("site", "from_site", "to_site")}
                 | {line.get(k) for line in lines for k in ("bin", "to_bin")})
    return ({c for c in skus if isinstance(c, str) and c},
            {c for c in locations if isinstance(c, str) and c})


def post(uow: UnitOfWork, meta: Meta, operation: str, moves: list[Move], book: Book,
         reversal_of: list[int] | None = None) -> Result:
    """Write the moves and update balances in a fixed order; refuse what would go negative."""
    session = uow.session
    now = uow.now()
    ref = uow.new_ref()
    kinds = {lid: LocationKind(info.kind) for lid, info in book.locations.items()}
    deltas = ledger.balance_deltas(moves, lambda lid: holds_stock(kinds[lid]))
    negative_sites = {i.site_id for i in book.locations.values() if i.allow_negative and i.site_id}
    try:
        repo.apply_deltas(session, deltas, book.locations, negative_sites)
    except repo.Shortage as short:
        sku_id, location_id, lot, _status = short.key
        free = repo.free_at(session, sku_id, [location_id], lot)
        raise InsufficientStock(book.skus[sku_id].code, book.locations[location_id].code,
                                short.requested, max(free, Decimal(0))) from None
    occurred = meta.occurred_at or now
    moves = cost_moves(session, moves, lambda lid: holds_stock(kinds[lid]), ref=ref, at=occurred)
    values = move_values(moves)
    rows = [{
        "ref": ref, "operation": operation, "sku_id": m.sku_id, "qty": m.qty,
        "uom": book.skus[m.sku_id].uom, "from_location_id": m.from_location,
        "to_location_id": m.to_location, "from_status": m.from_status.value,
        "to_status": m.to_status.value, "lot": m.lot, "serial": m.serial, "unit_cost": m.unit_cost,
        "value": values[i],
        "document_type": meta.document_type, "document_number": meta.document_number,
        "document_line": i + 1, "reason": meta.reason, "operator": meta.actor.username,
        "device": meta.actor.device, "occurred_at": occurred, "recorded_at": now,
        "idempotency_key": f"{ref}:{i + 1}",
        "reversal_of_id": reversal_of[i] if reversal_of else None,
    } for i, m in enumerate(moves)]
    repo.insert_moves(session, rows)
    check_open(uow, occurred)  # after the insert: see periods.check_open
    outbox.note_posting(session, posting_note(meta, ref, operation, occurred, values))
    codes = {lid: info.code for lid, info in book.locations.items()}
    return answer(ref, operation, occurred, moves, values,
                  {sku_id: sku.code for sku_id, sku in book.skus.items()}, codes)


def move_values(moves: list[Move]) -> list[Decimal | None]:
    return [m.value if m.value is not None else (
        value_of(m.qty, m.unit_cost) if m.unit_cost is not None else None) for m in moves]


def posting_note(meta: Meta, ref: str, operation: str, occurred: datetime,
                 values: list[Decimal | None]) -> dict[str, Any]:
    """How a posting is described in its transaction's ``stock.changed`` event."""
    return {"ref": ref, "operation": operation, "user": meta.actor.username,
            "document_type": meta.document_type, "document_number": meta.document_number,
            "reason": meta.reason[:200], "occurred_at": occurred.isoformat(),
            "value": _text(sum((abs(v) for v in values if v is not None), Decimal(0)))}


def answer(ref: str, operation: str, occurred: datetime, moves: list[Move],
           values: list[Decimal | None], skus: dict[int, str], locations: dict[int, str]
           ) -> Result:
    """What a posting answers: its reference and its moves by code."""
    return {
        "ref": ref, "operation": operation, "occurred_at": occurred.isoformat(),
        "moves": [{
            "sku": skus[m.sku_id], "qty": str(m.qty),
            "from": locations[m.from_location], "to": locations[m.to_location],
            "from_status": m.from_status.value, "to_status": m.to_status.value, "lot": m.lot,
            "unit_cost": _text(m.unit_cost), "value": _text(value),
        } for m, value in zip(moves, values, strict=True)],
    }


def _text(amount: Decimal | None) -> str | None:
    return None if amount is None else format(amount.normalize(), "f")


def sources(uow: UnitOfWork, *, sku: Sku, site: Location, location: Location, qty: Decimal,
            lot: str | None, status: StockStatus, explicit: bool) -> list[Free]:
    """Where to take ``qty`` from: the named bin, else the site's balances oldest first."""
    query = (select(StockBalance.location_id, StockBalance.lot,
                    StockBalance.qty - StockBalance.reserved)
             .where(StockBalance.sku_id == sku.id, StockBalance.status == status.value,
                    StockBalance.qty > StockBalance.reserved)
             .order_by(StockBalance.id))
    query = query.where(StockBalance.location_id == location.id if explicit
                        else StockBalance.site_id == site.id)
    if lot is not None:
        query = query.where(StockBalance.lot == lot)
    candidates = [Free(loc, lt, free) for loc, lt, free in uow.session.execute(query)]
    picked = ledger.allocate(qty, candidates)
    if picked is not None:
        return picked
    if site.allow_negative:  # the shortfall goes negative where the user asked to take it
        return [Free(location.id, lot or "", qty)]
    raise InsufficientStock(sku.code, location.code if explicit else site.code, qty,
                            sum((c.qty for c in candidates), Decimal(0)))


class SiteStock:
    """The free stock of many SKUs at one place, read in one query, handed out line by line:
    ``sources`` for a whole document, where lines of one SKU share what is there."""

    def __init__(self, uow: UnitOfWork, skus: Iterable[int], *, location: Location,
                 status: StockStatus = StockStatus.AVAILABLE, site: Location | None = None) -> None:
        """``site``: take from every location of that site; else from ``location`` itself."""
        query = (select(StockBalance.sku_id, StockBalance.location_id, StockBalance.lot,
                        StockBalance.qty - StockBalance.reserved)
                 .where(StockBalance.sku_id.in_(sorted(set(skus))),
                        StockBalance.status == status.value, StockBalance.qty > StockBalance.reserved,
                        StockBalance.site_id == site.id if site is not None
                        else StockBalance.location_id == location.id)
                 .order_by(StockBalance.id))
        self.free: dict[int, list[Free]] = {}
        for sku_id, loc, lot, qty in uow.session.execute(query):
            self.free.setdefault(sku_id, []).append(Free(loc, lot, qty))
        self.place = site or location

    def take(self, sku: Sku, qty: Decimal, lot: str | None) -> list[Free]:
        """Oldest balances first; InsufficientStock (naming what is free) when too little is."""
        here = self.free.get(sku.id, [])
        candidates = [c for c in here if lot is None or c.lot == lot]
        picked = ledger.allocate(qty, candidates)
        if picked is None:
            if self.place.allow_negative:
                return [Free(self.place.id, lot or "", qty)]
            raise InsufficientStock(sku.code, self.place.code, qty,
                                    sum((c.qty for c in candidates), Decimal(0)))
        taken = {(p.location, p.lot): p.qty for p in picked}
        self.free[sku.id] = [Free(c.location, c.lot, c.qty - taken.get((c.location, c.lot), 0))
                             for c in here]
        return picked


def check_lot(sku: Sku, lot: str | None, *, field: str, required: bool) -> str | None:
    """Lot-tracked SKUs name their lot when stock enters; other SKUs never carry one."""
    if sku.tracking == "lot":
        if required and not lot:
            raise ValidationFailed.single(field, "is required for lot-tracked SKU {sku}",
                                          sku=sku.code)
        return lot or None
    if lot:
        raise ValidationFailed.single(field, "SKU {sku} is not lot-tracked", sku=sku.code)
    return None
