"""Serial numbers at scale: one batch of 100,000 serials, and lookups with 1,000,000 in the table.

*Generate*: ``services.serials.generate`` for 100,000 serials of one SKU in one transaction (the
counter advanced once, codes rendered in memory, bulk inserts of the serials and their
'generated' events). *Baseline*: the same 10,000 serials and events written as ORM objects
(``session.add`` per row, flushed, one commit) — the ratio is baseline µs per serial over
generate µs per serial. *Lookup*: the table is filled to ``--total`` serials with the same
generate function, then ``services.serials.get_serial`` (the record and its timeline, a fresh
read session per call as a request pays it) and ``check_scan`` are timed for random codes,
against a bare ``SELECT id FROM serial WHERE code = …`` on the same session (the index floor).

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

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from cangliu.core.permissions import Actor
from cangliu.db.migrate import upgrade
from cangliu.db.models import Serial, SerialEvent
from cangliu.db.uow import Database
from cangliu.services import auth, masterdata, serials
from support.scratch import scratch_database, server_version

TARGETS = {"generate_100k_pg_s": 10.0, "lookup_p99_ms": 100.0}
TEMPLATE = "{cat}{date:YYMMDD}{seq:7:daily}{check:mod37_36}"
DAY = date(2026, 11, 23)


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
        return {"generate_count": args.count, "generate_s": round(seconds, 3),
                "generate_us_per_serial": round(gen_us, 2), "orm_baseline_count": args.baseline,
                "orm_baseline_s": round(base, 3), "orm_baseline_us_per_serial": round(base_us, 2),
                "generate_vs_orm_ratio": round(base_us / gen_us, 2), "serials_in_table": filled,
                "fill_s": round(fill, 1), **found}
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
    print(json.dumps(out))


if __name__ == "__main__":
    main()
