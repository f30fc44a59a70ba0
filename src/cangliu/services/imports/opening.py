"""Opening stock: every row becomes a move from the adjustment location into the site (or one of
its zones or bins), all of them in ONE posting through the ledger — balances are never written
directly — with the reason "opening stock" and the import job as its document. Rows are checked
as ``services.stock.adjust`` checks a counted gain: known active SKU and site, a bin of that
site, quantities within the SKU's decimals, a lot exactly for lot-tracked SKUs; plus the
importer's scope (``stock.create`` at the site) and field rules (unit cost)."""

from decimal import Decimal
from typing import Any

from sqlalchemy import select

from cangliu.core.ledger import Move, Operation
from cangliu.core.locations import INTERNAL, LocationKind
from cangliu.db.models import Location, Sku
from cangliu.db.repositories import masterdata as md
from cangliu.db.uow import UnitOfWork
from cangliu.services.imports.cells import Parsed, places
from cangliu.services.imports.plan import (
    Context,
    Plan,
    check_sku,
    first_rows,
    sites_by_code,
    skus_by_code,
)
from cangliu.services.postings import Book, Meta, post
from cangliu.services.stock import register_lot

REASON = "opening stock"


def check(ctx: Context, parsed: Parsed, mode: str) -> Plan:
    plan = Plan(parsed, mode)
    sites = sites_by_code(ctx.session)
    skus = skus_by_code(ctx.session, {row["sku"] for _, row in parsed.rows if "sku" in row})
    bins = dict(ctx.session.execute(select(Location.code, Location).where(
        Location.code.in_(sorted({row["bin"] for _, row in parsed.rows if row.get("bin")})))
    ).tuples().all())
    first = first_rows(plan, parsed.rows, ("site", "bin", "sku", "lot"),
                       "repeats row {row} (same site, bin, SKU and lot)")
    may_cost = "unit_cost" not in ctx.actor.fixed_keys
    for number, row in parsed.rows:
        if first.get(tuple(row.get(k) for k in ("site", "bin", "sku", "lot"))) != number:
            continue
        ok = _place(plan, ctx, number, row, sites, bins)
        sku = check_sku(plan, number, row["sku"], skus) if "sku" in row else None
        if sku is None or not ok or "qty" not in row:
            continue
        if places(row["qty"]) > sku.decimals:
            plan.error(number, "qty", "allows at most {decimals} decimal places",
                       decimals=sku.decimals)
        elif sku.tracking == "lot" and not row.get("lot"):
            plan.error(number, "lot", "is required for lot-tracked SKU {sku}", sku=sku.code)
        elif sku.tracking != "lot" and row.get("lot"):
            plan.error(number, "lot", "SKU {sku} is not lot-tracked", sku=sku.code)
        elif "unit_cost" in row and not may_cost:
            plan.error(number, "unit_cost", "Your role may not set the field {field}",
                       field="unit_cost")
        else:
            plan.creates.append((number, {**row, "_sku_id": sku.id}))
    return plan


def _place(plan: Plan, ctx: Context, number: int, row: dict[str, Any], sites: dict[str, Any],
           bins: dict[str, Location]) -> bool:
    site = sites.get(row.get("site", ""))
    if site is None:
        if "site" in row:
            plan.error(number, "site", "unknown site {code}", code=row["site"])
        return False
    if not site.active:
        plan.error(number, "site", "site {code} is inactive", code=site.code)
        return False
    if not ctx.actor.can("stock.create", site.id):
        plan.error(number, "site", "Your role may not do this here")
        return False
    row["_site_id"] = row["_location_id"] = site.id
    if row.get("bin"):
        loc = bins.get(row["bin"])
        if loc is None or loc.kind not in INTERNAL or loc.site_id != site.id:
            plan.error(number, "bin", "no location {code} in site {site}", code=row["bin"],
                       site=site.code)
            return False
        row["_location_id"] = loc.id
    return True


def write(uow: UnitOfWork, ctx: Context, plan: Plan, job_ref: str) -> dict[str, Any]:
    """The one posting of the import's opening stock."""
    session = ctx.session
    book = Book()
    adjustment = md.virtual(session, LocationKind.ADJUSTMENT)
    book.loc(adjustment, None)
    skus = {s.id: s for s in session.scalars(select(Sku).where(
        Sku.id.in_(sorted({row["_sku_id"] for _, row in plan.creates}))))}
    places_ = {loc.id: loc for loc in session.scalars(select(Location).where(Location.id.in_(
        sorted({row[k] for _, row in plan.creates for k in ("_site_id", "_location_id")}))))}
    today = ctx.now.date()
    moves = []
    for _, row in plan.creates:
        sku = skus[row["_sku_id"]]
        book.sku(sku)
        site, loc = places_[row["_site_id"]], places_[row["_location_id"]]
        if row.get("lot"):
            register_lot(uow, sku, row["lot"], row.get("expiry_date"), today)
        cost = row.get("unit_cost")
        moves.append(Move(sku.id, row["qty"], adjustment.id, book.loc(loc, site),
                          lot=row.get("lot") or "",
                          unit_cost=Decimal(cost) if cost is not None else None))
    meta = Meta(actor=ctx.actor, reason=REASON, document_type="import", document_number=job_ref)
    return post(uow, meta, Operation.ADJUST, moves, book) if moves else {}
