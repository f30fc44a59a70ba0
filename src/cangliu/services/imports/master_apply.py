"""Writing checked master-data rows in bulk: one multi-row INSERT per chunk of new records, one
UPDATE statement per shape of edited rows (version-checked), barcodes, the location tree links,
and the first (or next) kept version of every record for its history.

The rows go in through the connection, not as ORM objects, so the row-by-row audit hook does
not see them: the import is audited as one event on its job (who, when, which file, how many
created and updated), while each record's full content is kept in ``record_version`` as an
ordinary edit would keep it.
"""

import json
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Table, bindparam, delete, insert, select, update
from sqlalchemy.engine import Connection

from cangliu.core.errors import Conflict
from cangliu.core.locations import LocationKind
from cangliu.db.audit import current
from cangliu.db.models import Barcode, RecordVersion, StockBalance
from cangliu.services.imports.master_checks import CHUNK, MODELS
from cangliu.services.imports.plan import Context, Plan, Row

# Import column → table column, where they differ.
COLUMN_OF = {"category": "category_id", "parent": "parent_id"}
NOT_COLUMNS = frozenset({"barcodes", "_id", "_version", "_site_id"})
VERSIONS: Table = RecordVersion.__table__  # type: ignore[assignment]
BARCODES: Table = Barcode.__table__  # type: ignore[assignment]
BALANCES: Table = StockBalance.__table__  # type: ignore[assignment]


def write(ctx: Context, plan: Plan, ids_of_refs: dict[str, int]) -> None:
    """``ids_of_refs``: code → id of every stored record the rows refer to."""
    kind = plan.parsed.entity.key
    table: Table = MODELS[kind].__table__
    conn = ctx.session.connection()
    created = _insert(conn, kind, table, plan.creates, ids_of_refs)
    _link(conn, kind, table, plan.creates, created)
    _update(conn, table, plan.updates, ids_of_refs)
    if kind == "sku":
        _barcodes(conn, plan, created)
    if kind == "site":
        _negative_stock(conn, plan.updates)
    _keep_versions(conn, ctx, table, created.values(), "create")
    _keep_versions(conn, ctx, table, (row["_id"] for _, row in plan.updates), "update")


def _value(table: Table, column: str, value: Any) -> Any:
    if isinstance(value, Decimal) and column in ("latitude", "longitude"):
        return float(value)
    return value


def _defaults(table: Table) -> dict[str, Any]:
    """Each column's plain default; columns whose default is computed (or given by the server)
    are left out for SQLAlchemy or the database to fill."""
    out = {}
    for column in table.columns:
        default: Any = column.default
        if column.name == "id" or (default is not None and not default.is_scalar) or (
                default is None and column.server_default is not None):
            continue
        out[column.name] = default.arg if default is not None else None
    return out


def _insert(conn: Connection, kind: str, table: Table, rows: list[Row],
            refs: dict[str, int]) -> dict[str, int]:
    """Insert the new records; answers code → id."""
    defaults = _defaults(table)
    values = []
    for _, row in rows:
        record = dict(defaults)
        for key, value in row.items():
            if key not in NOT_COLUMNS:
                column = COLUMN_OF.get(key, key)
                record[column] = refs.get(value) if key in COLUMN_OF else _value(table, column, value)
        if kind == "site":
            record["kind"] = LocationKind.SITE.value
        if kind == "location":
            record["site_id"] = row["_site_id"]
        values.append(record)
    ids: dict[str, int] = {}
    for i in range(0, len(values), CHUNK):
        chunk = values[i:i + CHUNK]
        conn.execute(insert(table), chunk)
        codes = [v["code"] for v in chunk]
        ids.update(conn.execute(select(table.c.code, table.c.id).where(table.c.code.in_(codes)))
                   .tuples().all())
    return ids


def _link(conn: Connection, kind: str, table: Table, rows: list[Row], ids: dict[str, int]) -> None:
    """References to rows earlier in the file (``ids``: the records just created) get their
    ids now; a site is its own site."""
    if kind == "site" and rows:
        created = [ids[row["code"]] for _, row in rows]
        for i in range(0, len(created), CHUNK):
            conn.execute(update(table).where(table.c.id.in_(created[i:i + CHUNK]))
                         .values(site_id=table.c.id))
    for key, column in COLUMN_OF.items():
        if column not in table.c:
            continue
        pending = [{"b_id": ids[row["code"]], "b_ref": ids[row[key]]} for _, row in rows
                   if row.get(key) in ids]
        if pending:
            conn.execute(update(table).where(table.c.id == bindparam("b_id"))
                         .values({column: bindparam("b_ref")}), pending)


def _update(conn: Connection, table: Table, rows: list[Row], refs: dict[str, int]) -> None:
    """Edit in groups of rows setting the same columns (empty cells keep the stored value)."""
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for _, row in rows:
        keys = tuple(sorted(k for k in row if k not in NOT_COLUMNS and k != "code"))
        params = {"b_id": row["_id"], "b_version": row["_version"]}
        for key in keys:
            column = COLUMN_OF.get(key, key)
            params[f"b_{column}"] = refs.get(row[key]) if key in COLUMN_OF else _value(
                table, column, row[key])
        groups.setdefault(keys, []).append(params)
    for keys, group in groups.items():
        columns = [COLUMN_OF.get(k, k) for k in keys]
        stmt = (update(table).where(table.c.id == bindparam("b_id"),
                                    table.c.version == bindparam("b_version"))
                .values({**{c: bindparam(f"b_{c}") for c in columns},
                         "version": table.c.version + 1}))
        done = conn.execute(stmt, group).rowcount
        if done != len(group):
            raise Conflict("Records of this file were changed while it was imported: "
                           "validate it again")


def _barcodes(conn: Connection, plan: Plan, created: dict[str, int]) -> None:
    edited = [(row["_id"], row["barcodes"]) for _, row in plan.updates if "barcodes" in row]
    if edited:
        conn.execute(delete(BARCODES).where(BARCODES.c.sku_id.in_([i for i, _ in edited])))
    rows = [{"sku_id": created[row["code"]], "code": code} for _, row in plan.creates
            for code in row.get("barcodes", ())]
    rows += [{"sku_id": sku_id, "code": code} for sku_id, codes in edited for code in codes]
    for i in range(0, len(rows), CHUNK):
        conn.execute(insert(BARCODES), rows[i:i + CHUNK])


def _negative_stock(conn: Connection, rows: list[Row]) -> None:
    """A site's negative-stock switch is copied onto its balances (as its page does)."""
    switched = [{"b_site": row["_id"], "b_allow": row["allow_negative"]} for _, row in rows
                if "allow_negative" in row]
    if switched:
        conn.execute(update(BALANCES).where(BALANCES.c.site_id == bindparam("b_site"))
                     .values(allow_negative=bindparam("b_allow")), switched)


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _keep_versions(conn: Connection, ctx: Context, table: Table, ids: Iterable[int],
                   action: str) -> None:
    """Each record's content as kept by ``db.models.history`` for an ordinary edit."""
    who = current()
    wanted = sorted(ids)
    for i in range(0, len(wanted), CHUNK):
        chunk = wanted[i:i + CHUNK]
        barcodes: dict[int, list[str]] = {}
        if table.name == "sku":
            for sku_id, code in conn.execute(select(BARCODES.c.sku_id, BARCODES.c.code).where(
                    BARCODES.c.sku_id.in_(chunk)).order_by(BARCODES.c.id)):
                barcodes.setdefault(sku_id, []).append(code)
        rows = []
        for record in conn.execute(select(table).where(table.c.id.in_(chunk))).mappings():
            data = {k: _plain(v) for k, v in record.items()}
            if table.name == "sku":
                data["barcodes"] = barcodes.get(record["id"], [])
            rows.append({"entity": table.name, "entity_key": record["code"],
                         "version": record["version"], "action": action, "at": ctx.now,
                         "user_id": ctx.actor.user_id or who.user_id,
                         "username": (ctx.actor.username or who.username)[:64],
                         "data": json.dumps(data, sort_keys=True, ensure_ascii=False)})
        if rows:
            conn.execute(insert(VERSIONS), rows)
