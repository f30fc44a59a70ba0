"""The two statements of a receipt on PostgreSQL (see ``services.quick_receipt``).

``look`` claims the idempotency key, adds to the balances in key order, locks the SKUs' cost rows
(created on first use) in id order, which is the general path's order of locks, and reads the
SKUs and locations the receipt names. ``write`` then saves the cost positions, inserts the
moves, stores the idempotency answer, writes the ``stock.changed`` event with its NOTIFY, and
reads the close date of the accounting periods. Within one statement
PostgreSQL takes its table locks before the statement's snapshot, so the close date read there is
read holding the lock on ``stock_move``, as ``periods.check_open`` requires.

Both go straight to psycopg on a connection from the engine's pool: SQLAlchemy's handling of a
statement and its result costs more CPU than the rest of such a posting. The statements take
their rows as VALUES lists, one text per count of rows (psycopg prepares each on the server once
it is used often): dumping scalars costs a fraction of dumping arrays.
"""

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from functools import lru_cache
from typing import Any

import psycopg
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

from cangliu.db.models.system import PERIOD_CLOSED_THROUGH
from cangliu.db.outbox import CHANNEL


@contextmanager
def connection(engine: Engine) -> Iterator[psycopg.Connection[Any]]:
    """A pooled connection's psycopg connection, in a transaction that is rolled back unless
    committed; errors come out as SQLAlchemy's, so ``uow.retrying`` sees serialization
    failures and deadlocks."""
    pooled = engine.raw_connection()
    try:
        pg = pooled.driver_connection
        assert isinstance(pg, psycopg.Connection)
        try:
            yield pg
        except psycopg.Error as exc:
            if pg.closed:
                pooled.invalidate(exc)
            raise DBAPIError.instance(None, None, exc, psycopg.Error) from None
        finally:
            if not pg.closed:
                pg.rollback()
    finally:
        pooled.close()


def _values(rows: int, row: str) -> str:
    return ", ".join([row] * rows)


# Where a receipt adds: SKU code, location code, quantity (millionths).
_ADD = "(%s::text, %s::text, %s::bigint)"


@lru_cache(maxsize=64)
def _look(adds: int, locations: int) -> str:
    return (
        "WITH k AS (INSERT INTO idempotency_record (key, request_hash, status_code, response,"
        " created_at) SELECT %s::text, %s::text, 201, '{}', %s::timestamptz"
        " WHERE %s::text IS NOT NULL ON CONFLICT (key) DO NOTHING RETURNING key),"
        # the balances in key order, as ``ledger.apply_deltas`` takes them
        " b AS (INSERT INTO stock_balance (sku_id, location_id, site_id, lot, status, qty,"
        " reserved, allow_negative, version) SELECT sku.id, place.id, place.site_id, '',"
        " 'available', add.qty, 0, coalesce(site.allow_negative, false), 1"
        f" FROM (VALUES {_values(adds, _ADD)}) AS add(sku, place, qty)"
        " JOIN sku ON sku.code = add.sku JOIN location AS place ON place.code = add.place"
        " LEFT JOIN location AS site ON site.id = place.site_id"
        " WHERE place.kind IN ('site', 'zone', 'bin') ORDER BY sku.id, place.id"
        " ON CONFLICT (sku_id, location_id, lot, status) DO UPDATE"
        " SET qty = stock_balance.qty + excluded.qty, version = stock_balance.version + 1"
        " RETURNING sku_id),"
        # then the cost rows in id order, as ``valuation.cost_moves`` takes them
        " c AS (INSERT INTO sku_cost (sku_id, qty, value) SELECT DISTINCT sku_id, 0, 0 FROM b"
        " ORDER BY sku_id ON CONFLICT (sku_id) DO UPDATE SET qty = sku_cost.qty"
        " RETURNING sku_id, qty, value)"
        # the claim is read first, so it is made first: a twin waits there holding nothing else
        " SELECT 'key'::text AS tag, NULL::bigint, NULL::text, NULL::bigint, NULL::boolean,"
        " NULL::bigint, NULL::bigint, key::text AS extra FROM k"
        " UNION ALL SELECT 'sku', sku.id, sku.code, sku.decimals,"
        " sku.active AND sku.deleted_at IS NULL, c.qty, c.value,"
        " sku.tracking || ' ' || coalesce(category.valuation, '') || ' ' || sku.uom"
        " FROM c JOIN sku ON sku.id = c.sku_id LEFT JOIN category ON category.id = sku.category_id"
        " UNION ALL SELECT 'location', id, code, site_id, active AND deleted_at IS NULL, NULL,"
        f" NULL, kind FROM location WHERE code IN ({_values(locations, '%s')})")


def look(conn: psycopg.Connection[Any], key: str | None, request_hash: str | None,
         now: datetime, adds: Sequence[tuple[str, str, int]], locations: Sequence[str]
         ) -> list[Any]:
    """Claim the key, add ``adds`` (SKU code, location code, millionths) to the available
    balances of the stocked locations among them, and lock the cost rows of their SKUs. Rows
    (tag, id, code, number, usable, qty, value, extra): ``key`` when the key
    was claimed; ``sku`` for each SKU added to, with decimals, cost position and "tracking
    valuation uom"; ``location`` for ``locations``, with site id and kind."""
    params: list[Any] = [key, request_hash, now, key]
    params += [value for add in adds for value in add]
    params += locations
    return conn.execute(_look(len(adds), len(locations)), params).fetchall()


# Cost: sku, qty, value. Move: sku, qty, uom, from, to, from status, to status, lot, unit cost,
# value, line, key.
_COST = "(%s::bigint, %s::bigint, %s::bigint)"
_MOVE = ("(%s::bigint, %s::bigint, %s::text, %s::bigint, %s::bigint, %s::text, %s::text,"
         " %s::text, %s::bigint, %s::bigint, %s::int, %s::text)")


@lru_cache(maxsize=64)
def _write(costs: int, moves: int) -> str:
    return (
        "WITH c AS (UPDATE sku_cost SET qty = u.qty, value = u.value"
        f" FROM (VALUES {_values(costs, _COST)}) AS u(sku_id, qty, value)"
        " WHERE sku_cost.sku_id = u.sku_id),"
        " m AS (INSERT INTO stock_move (ref, operation, document_type, document_number, reason,"
        " operator, device, occurred_at, recorded_at, sku_id, qty, uom, from_location_id,"
        " to_location_id, from_status, to_status, lot, unit_cost, value, document_line,"
        " idempotency_key) SELECT %s::text, %s::text, %s::text, %s::text, %s::text, %s::text,"
        " %s::text, %s::timestamptz, %s::timestamptz, u.*"
        f" FROM (VALUES {_values(moves, _MOVE)}) AS u),"
        " a AS (UPDATE idempotency_record SET response = %s::text WHERE key = %s::text),"
        " e AS (INSERT INTO outbox_event (at, kind, payload, dispatched_at, attempts, error)"
        " VALUES (%s::timestamptz, 'stock.changed', %s::text, NULL, 0, '') RETURNING id)"
        f" SELECT (SELECT value FROM setting WHERE key = '{PERIOD_CLOSED_THROUGH}'), e.id,"
        f" CASE WHEN %s::boolean THEN pg_notify('{CHANNEL}', e.id::text) END FROM e")


def write(conn: psycopg.Connection[Any], *, costs: Sequence[tuple[Any, ...]],
          posting: tuple[Any, ...],
          moves: Sequence[tuple[Any, ...]], key: str | None, response: str | None, now: datetime,
          event: str, notify: bool) -> tuple[str | None, int]:
    """Write the posting (``posting``: ref, operation, document type and number, reason,
    operator, device, occurred at, recorded at); answers the close date of the periods and the
    event's id."""
    params = [value for row in costs for value in row]
    params += posting
    params += [value for row in moves for value in row]
    params += (response, key, now, event, notify)
    row = conn.execute(_write(len(costs), len(moves)), params).fetchone()
    assert row is not None
    return row[0], row[1]
