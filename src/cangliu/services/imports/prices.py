"""Price lists: supplier purchase prices and customer sale prices, one per partner and SKU,
checked as ``purchasing.set_supplier_price`` / ``sales.set_customer_price`` check them (an
active partner, an active SKU by code or barcode, a price of 0 or more) and written as the same
upsert, in bulk. A pair already priced counts as an update."""

from typing import Any

from sqlalchemy import Table, select, tuple_
from sqlalchemy.dialects import postgresql, sqlite

from cangliu.core.documents import BASE_CURRENCY
from cangliu.db.models import Customer, CustomerPrice, Supplier, SupplierPrice
from cangliu.services.imports.cells import Parsed
from cangliu.services.imports.plan import Context, Plan, check_sku, first_rows, skus_by_code

CHUNK = 10_000
# entity → (partner column, partner model, price table, its partner id column, updated columns)
KINDS: dict[str, tuple[str, Any, Any, str, tuple[str, ...]]] = {
    "supplier_price": ("supplier", Supplier, SupplierPrice, "supplier_id",
                       ("price", "currency", "min_order_qty", "lead_time_days")),
    "customer_price": ("customer", Customer, CustomerPrice, "customer_id", ("price",)),
}


def check(ctx: Context, parsed: Parsed, mode: str) -> Plan:
    plan = Plan(parsed, mode)
    partner_key, model, price_model, partner_col, _ = KINDS[parsed.entity.key]
    partners = {code: (pid, active) for code, pid, active in ctx.session.execute(
        select(model.code, model.id, model.active).where(model.deleted_at.is_(None)))}
    skus = skus_by_code(ctx.session, {row["sku"] for _, row in parsed.rows if "sku" in row})
    first = first_rows(plan, parsed.rows, (partner_key, "sku"),
                       "repeats row {row} (same partner and SKU)")
    if "price" in ctx.actor.fixed_keys:
        plan.error(parsed.rows[0][0] if parsed.rows else 1, "price",
                   "Your role may not set the field {field}", field="price")
        return plan
    rows = []
    for number, row in parsed.rows:
        if first.get((row.get(partner_key), row.get("sku"))) != number:
            continue
        partner = partners.get(row.get(partner_key, ""))
        if partner is None or not partner[1]:
            if partner_key in row:
                plan.error(number, partner_key, "unknown {label} {code}", label=partner_key,
                           code=row[partner_key])
            continue
        sku = check_sku(plan, number, row["sku"], skus) if "sku" in row else None
        if sku is not None:
            rows.append((number, {**row, "_partner_id": partner[0], "_sku_id": sku.id}))
    _split(ctx, plan, rows, price_model, partner_col)
    return plan


def _split(ctx: Context, plan: Plan, rows: list[tuple[int, dict[str, Any]]], price_model: Any,
           partner_col: str) -> None:
    """Pairs already priced are updates, the others creates."""
    table: Table = price_model.__table__
    pairs = [(row["_partner_id"], row["_sku_id"]) for _, row in rows]
    priced: set[tuple[int, int]] = set()
    key = tuple_(table.c[partner_col], table.c.sku_id)
    for i in range(0, len(pairs), CHUNK):
        priced.update(ctx.session.execute(select(table.c[partner_col], table.c.sku_id)
                                          .where(key.in_(pairs[i:i + CHUNK]))).tuples().all())
    for number, row in rows:
        pair = (row["_partner_id"], row["_sku_id"])
        (plan.updates if pair in priced else plan.creates).append((number, row))


def write(ctx: Context, plan: Plan) -> None:
    _, _, price_model, partner_col, columns = KINDS[plan.parsed.entity.key]
    table: Table = price_model.__table__
    conn = ctx.session.connection()
    dialect_insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    values = []
    for _, row in [*plan.creates, *plan.updates]:
        value = {partner_col: row["_partner_id"], "sku_id": row["_sku_id"], "price": row["price"]}
        if "currency" in columns:
            value.update(currency=row.get("currency", BASE_CURRENCY),
                         min_order_qty=row.get("min_order_qty", 0),
                         lead_time_days=row.get("lead_time_days"))
        values.append(value)
    stmt = dialect_insert(table)
    stmt = stmt.on_conflict_do_update(index_elements=[partner_col, "sku_id"],
                                      set_={c: stmt.excluded[c] for c in columns})
    for i in range(0, len(values), CHUNK):
        conn.execute(stmt, values[i:i + CHUNK])
