"""Receipts on PostgreSQL in two statements, for the common case.

A receipt of untracked SKUs valued at moving average, into a site or its bins, needs no lot
rules, no cost layers and no shortage check. ``stock.receive`` tries this path first on
PostgreSQL; it answers None, having written nothing, whenever the receipt is anything else (a
lot, an expiry date, an unknown, inactive or barcode-named code, a FIFO SKU, an idempotency key
that is taken, a date in a closed period, bad input), and the general path then posts it or
gives the error. The arithmetic, the ledger rows, the answer and the event are the general
path's own functions; tests/services/test_quick_receipt.py runs random receipts through both
paths and compares what they wrote.

Locks are taken in the general path's order: the idempotency key, the balances in key order,
then the SKUs' cost rows in id order.
"""

import json
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from cangliu.core.errors import ValidationFailed
from cangliu.core.ledger import Move, Operation, check_flow, parse_money, parse_qty
from cangliu.core.locations import INTERNAL, VIRTUAL_CODES, LocationKind
from cangliu.core.valuation import Position
from cangliu.db import outbox
from cangliu.db.repositories import quick_receipt as repo
from cangliu.db.types import from_units, to_units
from cangliu.db.uow import UnitOfWork
from cangliu.services.idempotency import Result, fingerprint
from cangliu.services.postings import Meta, answer, move_values, posting_note
from cangliu.services.valuation import FIFO, average_step

SUPPLIER = VIRTUAL_CODES[LocationKind.SUPPLIER]
MAX_LINES = 500  # more would pass PostgreSQL's limit of parameters; the general path batches
enabled = True  # off: every receipt takes the general path (bench/posting.py compares the two)


@dataclass(frozen=True)
class _Sku:
    id: int
    code: str
    decimals: int
    uom: str
    position: Position


@dataclass(frozen=True)
class _Place:
    id: int
    code: str
    kind: str
    site_id: int | None


def receive(uow: UnitOfWork, meta: Meta, *, site: str, lines: list[Any],
            request: dict[str, Any]) -> Result | None:
    """Post the receipt in two statements, or answer None (nothing written) for the general
    path. ``lines``: ``stock.Line``; ``request``: what the general path would fingerprint."""
    if (not enabled or uow.dialect != "postgresql" or not 0 < len(lines) <= MAX_LINES
            or any(line.lot for line in lines)):
        return None
    try:
        adds = _adds(site, lines)
    except ValidationFailed:
        return None
    now = uow.now()
    occurred = meta.occurred_at or now
    key = f"{meta.actor.user_id}:{meta.idempotency_key}" if meta.idempotency_key else None
    with repo.connection(uow.db.writer) as conn:  # leaving without commit rolls back
        rows = repo.look(conn, key, fingerprint("receive", request) if key else None, now, adds,
                         sorted({site, SUPPLIER} | {line.bin for line in lines if line.bin}))
        found = _found(rows, key)
        if found is None:
            return None
        skus, places = found
        try:
            costed, positions = _moves(skus, places, site, lines)
        except (ValidationFailed, KeyError):
            return None
        ref = uow.new_ref()
        values = move_values(costed)
        by_id = {s.id: s for s in skus.values()}
        result = answer(ref, Operation.RECEIVE, occurred, costed, values,
                        {i: s.code for i, s in by_id.items()},
                        {p.id: p.code for p in places.values()})
        closed, last = repo.write(
            conn, costs=[(sku_id, to_units(pos.qty), to_units(pos.value))
                         for sku_id, pos in positions.items()],
            posting=(ref, Operation.RECEIVE.value, meta.document_type, meta.document_number,
                     meta.reason, meta.actor.username, meta.actor.device, occurred, now),
            moves=[(m.sku_id, to_units(m.qty), by_id[m.sku_id].uom, m.from_location,
                    m.to_location, m.from_status.value, m.to_status.value, m.lot,
                    _units(m.unit_cost), _units(m.value), i + 1, f"{ref}:{i + 1}")
                   for i, m in enumerate(costed)],
            key=key, response=json.dumps(result, default=str) if key else None, now=now,
            event=outbox.dumps(_event(meta, ref, occurred, values, costed, by_id, places)),
            notify=uow.db.notify_events)
        if closed is not None and occurred.date() <= date.fromisoformat(closed):
            return None
        conn.commit()
    outbox.committed(1, last)
    return result


def _adds(site: str, lines: list[Any]) -> list[tuple[str, str, int]]:
    """What the lines add where, in millionths, summed per SKU and place; ValidationFailed for
    a quantity no SKU could take (the SKU's own decimals are checked once it is read)."""
    added: dict[tuple[str, str], int] = {}
    for line in lines:
        place = (line.sku, line.bin or site)
        added[place] = added.get(place, 0) + to_units(parse_qty(line.qty, field="qty"))
    return [(sku, place, qty) for (sku, place), qty in added.items()]


def _units(amount: Decimal | None) -> int | None:
    return None if amount is None else to_units(amount)


def _found(rows: list[Any], key: str | None
           ) -> tuple[dict[str, _Sku], dict[str, _Place]] | None:
    """The receipt's SKUs and places by code, if every SKU is one this path can post and the
    key was claimed."""
    skus: dict[str, _Sku] = {}
    places: dict[str, _Place] = {}
    claimed = False
    for tag, row_id, code, number, usable, qty, value, extra in rows:
        if tag == "key":
            claimed = True
        elif tag == "sku":
            tracking, method, uom = extra.split(" ", 2)
            if not usable or tracking != "none" or method == FIFO:
                return None
            skus[code] = _Sku(row_id, code, number, uom,
                              Position(from_units(qty), from_units(value)))
        elif usable:
            places[code] = _Place(row_id, code, extra, number)
    if key is not None and not claimed:
        return None
    return skus, places


def _moves(skus: dict[str, _Sku], places: dict[str, _Place], site_code: str,
           lines: list[Any]) -> tuple[list[Move], dict[int, Position]]:
    """The receipt's moves, valued as the general path values them, and the SKUs' positions
    after them; KeyError or ValidationFailed for whatever that path would refuse or treat
    otherwise."""
    site, supplier = places[site_code], places[SUPPLIER]
    if site.kind != LocationKind.SITE:
        raise KeyError(site_code)
    positions = {sku.id: sku.position for sku in skus.values()}
    moves = []
    for line in lines:
        sku = skus[line.sku]
        place = places[line.bin] if line.bin else site
        if place.kind not in INTERNAL or place.site_id != site.id:
            raise KeyError(line.bin)
        check_flow(Operation.RECEIVE, LocationKind(supplier.kind), LocationKind(place.kind))
        qty = parse_qty(line.qty, field="qty", decimals=sku.decimals)
        cost = None if line.unit_cost in (None, "") else parse_money(line.unit_cost, field="unit_cost")
        # stock enters the company (a supplier holds none of ours; the place holds stock)
        positions[sku.id], cost, value = average_step(
            positions[sku.id], Move(sku.id, qty, supplier.id, place.id, unit_cost=cost),
            entering=True, leaving=False)
        moves.append(Move(sku.id, qty, supplier.id, place.id, unit_cost=cost, value=value))
    return moves, positions


def _event(meta: Meta, ref: str, occurred: Any, values: list[Decimal | None],
           moves: list[Move], skus: dict[int, _Sku], places: dict[str, _Place]
           ) -> dict[str, Any]:
    """The transaction's ``stock.changed`` event, as ``outbox.stock_event`` writes it."""
    sites = {p.id: p for p in places.values() if p.kind == LocationKind.SITE}
    by_id = {p.id: p for p in places.values()}
    lines = {(skus[m.sku_id].code, sites[site_id].code, site_id) for m in moves
             if (site_id := by_id[m.to_location].site_id) is not None}
    posting = posting_note(meta, ref, Operation.RECEIVE, occurred, values)
    return outbox.stock_changed(lines, [posting])[1]
