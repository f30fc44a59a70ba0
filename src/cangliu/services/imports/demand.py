"""Demand history from a spreadsheet: one demand day per SKU × site × date, checked as
``services.demand.import_demand`` checks its CSV (known site, SKU by code or barcode, quantities
of 0 or more within the SKU's decimals, a day given once) and stored the same way: an imported
day replaces what the day held, and lost sales make the day a stock-out."""

from decimal import Decimal
from typing import Any

from sqlalchemy import Table, select, tuple_
from sqlalchemy.dialects import postgresql, sqlite

from cangliu.db.models import DemandDay
from cangliu.services.demand import IMPORT
from cangliu.services.imports.cells import Parsed, places
from cangliu.services.imports.plan import (
    Context,
    Plan,
    check_sku,
    first_rows,
    sites_by_code,
    skus_by_code,
)

CHUNK = 10_000
DAYS: Table = DemandDay.__table__  # type: ignore[assignment]


def check(ctx: Context, parsed: Parsed, mode: str) -> Plan:
    plan = Plan(parsed, mode)
    sites = sites_by_code(ctx.session)
    skus = skus_by_code(ctx.session, {row["sku"] for _, row in parsed.rows if "sku" in row})
    first = first_rows(plan, parsed.rows, ("date", "site", "sku"),
                       "repeats row {row} (same date, site and SKU)")
    rows = []
    for number, row in parsed.rows:
        if first.get((row.get("date"), row.get("site"), row.get("sku"))) != number:
            continue
        site = sites.get(row.get("site", ""))
        if site is None and "site" in row:
            plan.error(number, "site", "unknown site {code}", code=row["site"])
        sku = check_sku(plan, number, row["sku"], skus, active=False) if "sku" in row else None
        if site is None or sku is None:
            continue
        wrong = [k for k in ("qty", "lost_qty") if k in row and places(row[k]) > sku.decimals]
        for key in wrong:
            plan.error(number, key, "allows at most {decimals} decimal places",
                       decimals=sku.decimals)
        if not wrong and "date" in row:
            rows.append((number, {**row, "_site_id": site.id, "_sku_id": sku.id}))
    _split(ctx, plan, rows)
    return plan


def _split(ctx: Context, plan: Plan, rows: list[tuple[int, dict[str, Any]]]) -> None:
    keys = [(row["_sku_id"], row["_site_id"], row["date"]) for _, row in rows]
    stored: set[tuple[Any, ...]] = set()
    column = tuple_(DAYS.c.sku_id, DAYS.c.site_id, DAYS.c.day)
    for i in range(0, len(keys), CHUNK):
        stored.update(ctx.session.execute(select(DAYS.c.sku_id, DAYS.c.site_id, DAYS.c.day)
                                          .where(column.in_(keys[i:i + CHUNK]))).tuples().all())
    for (number, row), key in zip(rows, keys, strict=True):
        (plan.updates if key in stored else plan.creates).append((number, row))


def write(ctx: Context, plan: Plan) -> None:
    conn = ctx.session.connection()
    dialect_insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    values = []
    for _, row in [*plan.creates, *plan.updates]:
        lost = row.get("lost_qty")
        values.append({"sku_id": row["_sku_id"], "site_id": row["_site_id"], "day": row["date"],
                       "qty": row["qty"], "stockout": bool(row.get("stockout")) or bool(lost),
                       "lost_qty": lost if lost is not None else None, "source": IMPORT})
    stmt = dialect_insert(DAYS)
    stmt = stmt.on_conflict_do_update(
        index_elements=["sku_id", "site_id", "day"],
        set_={c: stmt.excluded[c] for c in ("qty", "stockout", "lost_qty", "source")})
    for i in range(0, len(values), CHUNK):
        conn.execute(stmt, values[i:i + CHUNK])


def total(plan: Plan) -> Decimal:
    return sum((row["qty"] for _, row in [*plan.creates, *plan.updates]), Decimal(0))
