"""Serial numbers at scale: one batch of 100,000 serials, and lookups with 1,000,000 in the table.

*Generate*: ``services.serials.generate`` for 100,000 serials of one SKU in one transaction (the
counter advanced once, codes rendered in memory, bulk inserts of the serials and their
'generated' events). *Baseline*: the same 10,000 serials and events written as ORM objects
(``session.add`` per row, flushed, one commit) — the ratio is baseline µs per serial over
generate µs per serial. *Lookup*: the table is filled to ``--total`` serials with the same
generate function, then ``services.serials.get_serial`` (the record and its timeline, a fresh
read session per call as a request pays it) and ``check_scan`` are timed for random codes,
against a bare ``SELECT id FROM serial WHERE code = …`` on the same session (the index floor).
*Recall*: a 3-level assembly tree bulk-inserted beside them (``--recall-units`` finished units,
each holding a board, each board holding a component serial and a quantity of glue; component
and glue lots shared by groups of ``--recall-lot`` units; half the units in stock, half sold).
``services.recalls.trace`` from one component lot, from one glue lot (a lot link) and from one
component serial, then opening the recall (trace + freezing its units) and holding it (one
quality-hold posting, the serials' events, notifications). *Baseline*: the same lot walked up
the way one unit's page does it, ``services.assemblies.ancestors`` per component serial (one
lookup per level); the ratio is baseline time over trace time.

SQLite (a temporary file) always; PostgreSQL too when ``--pg-url`` or ``CANGLIU_TEST_PG_URL``
names a server (a scratch database is created, migrated and dropped).

    python bench/serials.py [--pg-url postgresql://postgres@127.0.0.1:5432/test] [--total 1000000]

The last line of output is one JSON object with every figure.
"""

import argparse
import json
import os
import random
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Table, insert, select, text
from sqlalchemy.orm import Session

from cangliu.core.permissions import Actor
from cangliu.db.migrate import upgrade
from cangliu.db.models import AssemblyLink, Customer, Serial, SerialEvent, Sku, StockBalance
from cangliu.db.repositories import masterdata as md
from cangliu.db.uow import Database
from cangliu.services import assemblies, auth, masterdata, recalls, serials
from cangliu.services.postings import Meta
from support.scratch import scratch_database, server_version

TARGETS = {"generate_100k_pg_s": 10.0, "lookup_p99_ms": 100.0, "recall_trace_lot_pg_s": 5.0}
TEMPLATE = "{cat}{date:YYMMDD}{seq:7:daily}{check:mod37_36}"
DAY = date(2026, 11, 23)
# The recall tree goes in as core inserts: the fixture, not what is measured.
SERIAL: Table = Serial.__table__  # type: ignore[assignment]
LINK: Table = AssemblyLink.__table__  # type: ignore[assignment]
EVENT: Table = SerialEvent.__table__  # type: ignore[assignment]
BALANCE: Table = StockBalance.__table__  # type: ignore[assignment]


def seed(db: Database) -> Actor:
    actor = auth.create_user(db.uow(), username="bench", password="bench-password-1", is_admin=True)
    masterdata.create(db.uow(), actor, "category", {"code": "PH", "name": "手机"})
    for code in ("PHONE", "BASE"):
        masterdata.create(db.uow(), actor, "sku", {"code": code, "name": code, "category": "PH",
                                                   "tracking": "serial"})
    serials.create(db.uow(), actor, code="PH", name="手机", template=TEMPLATE, category="PH")
    return actor


def generate(db: Database, actor: Actor, count: int, day: date = DAY) -> float:
    start = time.perf_counter()
    serials.generate(db.uow(), actor, sku="PHONE", count=count, today=day)
    return time.perf_counter() - start


def orm_baseline(db: Database, count: int) -> float:
    """The same rows as ORM objects, one ``add`` each (no audit: a plain session)."""
    now = datetime.now(UTC)
    with Session(db.writer) as session:
        sku_id = session.scalar(text("SELECT id FROM sku WHERE code = 'BASE'"))
        start = time.perf_counter()
        rows = [Serial(sku_id=sku_id, code=f"BASE{i:09d}", unique_key=f"BASE{i:09d}",
                       status="generated", lot="", created_at=now) for i in range(count)]
        for row in rows:
            session.add(row)
        session.flush()
        for row in rows:
            session.add(SerialEvent(serial_id=row.id, at=now, kind="generated", status="generated",
                                    operator="bench", device="", detail="{}"))
        session.commit()
        return time.perf_counter() - start


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {"p50_ms": round(statistics.median(ordered) * 1000, 3),
            "p99_ms": round(ordered[int(len(ordered) * 0.99) - 1] * 1000, 3)}


def timed(calls: list[Callable[[], Any]]) -> list[float]:
    out = []
    for call in calls:
        start = time.perf_counter()
        call()
        out.append(time.perf_counter() - start)
    return out


def lookups(db: Database, n: int, seed_: int) -> dict[str, Any]:
    with db.read() as session:
        top = session.scalar(text("SELECT max(id) FROM serial")) or 0
        ids = random.Random(seed_).sample(range(1, top + 1), min(n, top))
        codes = list(session.scalars(select(Serial.code).where(Serial.id.in_(ids))))
    random.Random(seed_).shuffle(codes)

    def record(code: str) -> Callable[[], Any]:
        def call() -> Any:
            with db.read() as s:
                return serials.get_serial(s, code)
        return call

    def scan(code: str) -> Callable[[], Any]:
        def call() -> Any:
            with db.read() as s:
                return serials.check_scan(s, code, sku="PHONE", today=DAY)
        return call

    def bare(code: str) -> Callable[[], Any]:
        def call() -> Any:
            with db.read() as s:
                return s.scalar(select(Serial.id).where(Serial.code == code))
        return call

    timed([record(c) for c in codes[:50]])  # warm the pool and the caches
    got = {"lookups": len(codes), "get_serial": percentiles(timed([record(c) for c in codes])),
           "check_scan": percentiles(timed([scan(c) for c in codes])),
           "index_only": percentiles(timed([bare(c) for c in codes]))}
    got["get_serial_over_index_p50"] = round(got["get_serial"]["p50_ms"]
                                             / max(got["index_only"]["p50_ms"], 1e-6), 2)
    return got


def many(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """With RETURNING, SQLAlchemy batches the rows into multi-row INSERTs ("insertmanyvalues")
    instead of one statement per row."""
    conn.execute(insert(table).returning(table.c.id), rows)


def recall_tree(db: Database, actor: Actor, n: int, lot_size: int) -> float:
    """``n`` finished units ← boards ← component serials (+ glue by lot), inserted directly."""
    start = time.perf_counter()
    for code, tracking in (("RUNIT", "serial"), ("RBOARD", "serial"), ("RCOMP", "serial"),
                           ("RGLUE", "lot")):
        masterdata.create(db.uow(), actor, "sku", {"code": code, "name": code,
                                                   "tracking": tracking})
    masterdata.create(db.uow(), actor, "site", {"code": "RWH", "name": "召回仓",
                                                "site_kind": "central", "region": "华东",
                                                "channel": "warehouse"})
    for i in range(50):
        masterdata.create(db.uow(), actor, "customer", {"code": f"RC{i:02d}", "name": f"客户{i}"})
    now = datetime.now(UTC)
    with db.uow() as uow:
        session = uow.session
        sku = {code: id_ for code, id_ in session.execute(
            select(Sku.code, Sku.id).where(Sku.code.like("R%")))}
        site = md.site_by_code(session, "RWH").id
        customers = list(session.scalars(select(Customer.id).where(Customer.code.like("RC%"))))
        base = (session.scalar(text("SELECT max(id) FROM serial")) or 0) + 1
        top, mid, comp = base, base + n, base + 2 * n

        def unit(i: int) -> dict[str, Any]:
            sold = i % 2 == 1
            return {"id": top + i, "sku_id": sku["RUNIT"], "code": f"RU{i:07d}",
                    "unique_key": f"RU{i:07d}", "status": "sold" if sold else "in_stock",
                    "site_id": None if sold else site, "location_id": None if sold else site,
                    "lot": "", "parent_id": None,
                    "customer_id": customers[i % len(customers)] if sold else None,
                    "sales_order": f"RSO{i // 100:05d}" if sold else None, "created_at": now}

        def part(i: int, first: int, code: str, parent: int, lot: str) -> dict[str, Any]:
            return {"id": first + i, "sku_id": sku[code], "code": f"{code}{i:07d}",
                    "unique_key": f"{code}{i:07d}", "status": "installed", "site_id": None,
                    "location_id": None, "lot": lot, "parent_id": parent + i,
                    "customer_id": None, "sales_order": None, "created_at": now}

        def link(parent: int, child: int | None, sku_id: int, lot: str, qty: int) -> dict[str, Any]:
            return {"parent_id": parent, "child_serial_id": child, "child_sku_id": sku_id,
                    "child_lot": lot, "qty": qty, "installed_by": "bench", "installed_at": now,
                    "removal_reason": ""}

        step, conn = 10_000, session.connection()
        for lo in range(0, n, step):
            ids = range(lo, min(n, lo + step))
            many(conn, SERIAL, [unit(i) for i in ids]
                 + [part(i, mid, "RBOARD", top, "") for i in ids]
                 + [part(i, comp, "RCOMP", mid, f"RL{i // lot_size:04d}") for i in ids])
            many(conn, LINK, [
                row for i in ids for row in (
                    link(top + i, mid + i, sku["RBOARD"], "", 1),
                    link(mid + i, comp + i, sku["RCOMP"], f"RL{i // lot_size:04d}", 1),
                    link(mid + i, None, sku["RGLUE"], f"RG{i // lot_size:04d}", 2))])
            many(conn, EVENT, [
                {"serial_id": top + i, "at": now, "kind": "shipped", "status": "sold",
                 "operator": "bench", "device": "", "detail": "{}"} for i in ids if i % 2])
        conn.execute(insert(BALANCE).values(
            sku_id=sku["RUNIT"], location_id=site, site_id=site, lot="", status="available",
            qty=(n + 1) // 2, reserved=0, allow_negative=False, version=1))
        uow.commit()
    return time.perf_counter() - start


def recall_walk(db: Database, lot: str) -> float:
    """The baseline: each component of the lot walked up one parent lookup at a time."""
    start = time.perf_counter()
    with db.read() as session:
        parts = session.scalars(select(Serial).where(
            Serial.sku_id == select(Sku.id).where(Sku.code == "RCOMP").scalar_subquery(),
            Serial.lot == lot))
        tops = {assemblies.ancestors(session, p)[-1].id for p in parts}
    assert tops
    return time.perf_counter() - start


def recall(db: Database, actor: Actor, args: argparse.Namespace) -> dict[str, Any]:
    n, lot_size = args.recall_units, args.recall_lot
    fill = recall_tree(db, actor, n, lot_size)

    def traced(sku: str, lot: str | None = None, serial: str | None = None) -> tuple[float, int]:
        start = time.perf_counter()
        with db.read() as session:
            rows = recalls.trace(session, sku, lot, serial)
        return time.perf_counter() - start, sum(r["top"] for r in rows)

    def one_serial(code: str) -> Callable[[], Any]:
        return lambda: traced("RCOMP", serial=code)

    traced("RCOMP", lot="RL0001")  # warm the caches
    lot_s, lot_units = traced("RCOMP", lot="RL0000")
    link_s, link_units = traced("RGLUE", lot="RG0001")
    codes = [f"RCOMP{random.Random(args.seed + i).randrange(n):07d}" for i in range(50)]
    one = percentiles(timed([one_serial(c) for c in codes]))
    walk = recall_walk(db, "RL0000")
    start = time.perf_counter()
    made = recalls.create(db.uow(), Meta(actor=actor), sku="RCOMP", lot="RL0000",
                          reason="bench")
    create_s = time.perf_counter() - start
    start = time.perf_counter()
    held = recalls.hold(db.uow(), Meta(actor=actor), made["number"])
    hold_s = time.perf_counter() - start
    print(f"  recall tree of {n:,} units (x3 serials) inserted in {fill:.1f} s; trace lot "
          f"({lot_units:,} units) {lot_s:.3f} s, lot link ({link_units:,}) {link_s:.3f} s, one "
          f"serial p50 {one['p50_ms']} ms; per-unit walk {walk:.2f} s; open {create_s:.2f} s; "
          f"hold {held['held']:,} units {hold_s:.2f} s")
    return {"recall_units": n, "recall_lot_size": lot_size, "recall_fill_s": round(fill, 1),
            "trace_lot_s": round(lot_s, 3), "trace_lot_top_units": lot_units,
            "trace_lot_link_s": round(link_s, 3), "trace_lot_link_top_units": link_units,
            "trace_serial": one, "walk_baseline_s": round(walk, 3),
            "trace_vs_walk_ratio": round(walk / max(lot_s, 1e-6), 2),
            "recall_create_s": round(create_s, 3), "recall_hold_s": round(hold_s, 3),
            "recall_held_units": held["held"]}


def run(url: str, args: argparse.Namespace) -> dict[str, Any]:
    db = Database(url)
    try:
        actor = seed(db)
        seconds = generate(db, actor, args.count)
        base = orm_baseline(db, args.baseline)
        gen_us, base_us = seconds / args.count * 1e6, base / args.baseline * 1e6
        print(f"  generate {args.count:,}: {seconds:.2f} s ({gen_us:.1f} µs/serial); ORM "
              f"baseline {args.baseline:,}: {base:.2f} s ({base_us:.1f} µs/serial)")
        fill_start, filled, day = time.perf_counter(), args.count + args.baseline, DAY
        while filled < args.total:
            step = min(100_000, args.total - filled)
            day = date.fromordinal(day.toordinal() + 1)  # a new day: the daily counter restarts
            generate(db, actor, step, day)
            filled += step
        fill = time.perf_counter() - fill_start
        print(f"  filled to {filled:,} serials in {fill:.1f} s")
        found = lookups(db, args.lookups, args.seed)
        print(f"  get_serial p50 {found['get_serial']['p50_ms']} ms, p99 "
              f"{found['get_serial']['p99_ms']} ms; check_scan p99 {found['check_scan']['p99_ms']} "
              f"ms; index only p99 {found['index_only']['p99_ms']} ms")
        rec = {"recall": recall(db, actor, args)} if args.recall_units else {}
        return {"generate_count": args.count, "generate_s": round(seconds, 3),
                "generate_us_per_serial": round(gen_us, 2), "orm_baseline_count": args.baseline,
                "orm_baseline_s": round(base, 3), "orm_baseline_us_per_serial": round(base_us, 2),
                "generate_vs_orm_ratio": round(base_us / gen_us, 2), "serials_in_table": filled,
                "fill_s": round(fill, 1), **found, **rec}
    finally:
        db.dispose()


@contextmanager
def sqlite_database() -> Iterator[str]:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'serials.db'}"
        upgrade(url)
        yield url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pg-url", default=os.environ.get("CANGLIU_TEST_PG_URL"))
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--baseline", type=int, default=10_000)
    parser.add_argument("--total", type=int, default=1_000_000)
    parser.add_argument("--lookups", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--recall-units", type=int, default=100_000, help="0: no recall part")
    parser.add_argument("--recall-lot", type=int, default=10_000)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    out: dict[str, Any] = {"benchmark": "serials", "targets": TARGETS}
    print("SQLite")
    with sqlite_database() as url:
        out["sqlite"] = run(url, args)
    if args.pg_url:
        print(f"PostgreSQL {server_version(args.pg_url)}")
        with scratch_database(args.pg_url, "bench_serials", keep=args.keep) as url:
            out["postgresql"] = run(url.replace("postgresql://", "postgresql+psycopg://", 1), args)
        pg = out["postgresql"]
        out["pass"] = {"generate_100k_pg": args.count == 100_000
                       and pg["generate_s"] < TARGETS["generate_100k_pg_s"],
                       "lookup_p99": pg["get_serial"]["p99_ms"] < TARGETS["lookup_p99_ms"]}
        if "recall" in pg:
            out["pass"]["recall_trace_lot_pg"] = (pg["recall"]["trace_lot_s"]
                                                  < TARGETS["recall_trace_lot_pg_s"])
    print(json.dumps(out))


if __name__ == "__main__":
    main()
