"""Spreadsheet import at scale: a 100,000-row SKU workbook validated and applied on SQLite.

The script writes an XLSX of ``--rows`` SKUs (bilingual template headers, a category, barcodes,
yes/no and number columns) in which ``--bad`` rows are wrong (a bad number, an unknown category,
a repeated code), then measures:

- *baseline*: a plain openpyxl read-only pass over every cell of the same file, the floor any
  import pays before checking anything;
- *validate*: ``services.imports.validate`` on the file with bad rows (reading, every cell
  parsed, references and existing codes looked up; nothing written) — it must report exactly the
  bad rows;
- *job*: the corrected file as the page and the CLI handle it: an import job validated
  (``jobs.run``), then applied (``jobs.run(apply=True)``: the rows parsed at validation are
  checked again against the database inside the writing transaction, then bulk inserts of the
  SKUs, their barcodes and their kept versions, one commit, the job marked applied in it).

Ratios are validate / baseline and apply / baseline. Target: the corrected file validated and
applied (``total_s``) under 60 s. CPU seconds are printed beside wall seconds: on a loaded
machine the wall time is mostly waiting for a core.
SQLite (a temporary file) always; PostgreSQL too with ``--pg-url`` (or CANGLIU_TEST_PG_URL).

    python bench/imports.py [--rows 100000] [--bad 50] [--pg-url postgresql://...]

The last line of output is one JSON object with every figure.
"""

import argparse
import io
import json
import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from openpyxl import Workbook, load_workbook

from cangliu.db.migrate import upgrade
from cangliu.db.uow import Database
from cangliu.services import auth, imports, masterdata
from cangliu.services.imports import jobs
from cangliu.services.imports.spec import ENTITIES
from support.scratch import scratch_database, server_version

TARGET_S = 60.0
COLUMNS = ["code", "name", "category", "uom", "decimals", "tracking", "shelf_life_days",
           "weight_kg", "pack_size", "fragile", "perishable", "active", "barcodes"]


def workbook(rows: int, bad: int) -> tuple[bytes, bytes, int]:
    """(file with bad rows, corrected file, number of bad rows)."""
    spec = ENTITIES["sku"].by_key
    step = max(rows // max(bad, 1), 1)
    wrong = {i for i in range(step // 2, rows, step)} if bad else set()
    files = []
    for with_errors in (True, False):
        book = Workbook(write_only=True)
        sheet = book.create_sheet("数据 Data")
        sheet.append([spec[c].header for c in COLUMNS])
        for i in range(rows):
            row: list[Any] = [f"SKU{i:07d}", f"商品 {i}", "FOOD", "瓶", 0, "不跟踪", 365,
                              round(0.25 + (i % 40) / 8, 3), 12, "否", "是" if i % 7 else "否",
                              "是", f"69{i:011d}"]
            if with_errors and i in wrong:
                kind = (i // step) % 3
                if kind == 0:
                    row[4] = "two"
                elif kind == 1:
                    row[2] = "NO-SUCH-CATEGORY"
                else:
                    row[0], row[12] = f"SKU{i - 1:07d}", f"68{i:011d}"
            sheet.append(row)
        out = io.BytesIO()
        book.save(out)
        files.append(out.getvalue())
    return files[0], files[1], len(wrong)


def baseline(content: bytes) -> float:
    """Wall time of a plain openpyxl read-only pass over every cell."""
    start = time.perf_counter()
    book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    cells = sum(1 for row in book.worksheets[0].iter_rows(values_only=True) for _ in row)
    book.close()
    assert cells
    return time.perf_counter() - start


def run(url: str, rows: int, bad: int) -> dict[str, Any]:
    db = Database(url)
    admin = auth.create_user(db.uow(), username="bench", password="bench-password-1",
                             is_admin=True)
    masterdata.create(db.uow(), admin, "category", {"code": "FOOD", "name": "食品"})
    start = time.perf_counter()
    broken, fixed, expected = workbook(rows, bad)
    made = time.perf_counter() - start
    base = baseline(fixed)
    start, cpu = time.perf_counter(), time.process_time()
    checked = imports.validate(db.uow(), admin, "sku", broken, filename="skus.xlsx")
    validate_s, validate_cpu = time.perf_counter() - start, time.process_time() - cpu
    ref = jobs.create(db, admin, "sku", "skus.xlsx", fixed)
    start, cpu = time.perf_counter(), time.process_time()
    job = jobs.run(db, admin, ref)
    job_validate_s, job_validate_cpu = time.perf_counter() - start, time.process_time() - cpu
    assert job["status"] == "validated", job
    start, cpu = time.perf_counter(), time.process_time()
    job = jobs.run(db, admin, ref, apply=True)
    apply_s, apply_cpu = time.perf_counter() - start, time.process_time() - cpu
    assert job["status"] == "applied" and job["counts"]["create"] == rows, job
    db.dispose()
    figures = {"rows": rows, "file_mb": round(len(fixed) / 2**20, 2), "generate_s": round(made, 2),
               "baseline_read_s": round(base, 2), "validate_s": round(validate_s, 2),
               "apply_s": round(apply_s, 2), "validate_cpu_s": round(validate_cpu, 2),
               "apply_cpu_s": round(apply_cpu, 2), "job_validate_s": round(job_validate_s, 2),
               "job_validate_cpu_s": round(job_validate_cpu, 2), "bad_rows": expected,
               "error_rows": len({e.row for e in checked.errors}),
               "validate_ratio": round(validate_s / base, 2),
               "apply_ratio": round(apply_s / base, 2),
               "total_s": round(job_validate_s + apply_s, 2),
               "total_cpu_s": round(job_validate_cpu + apply_cpu, 2)}
    print(f"  {rows} rows ({figures['file_mb']} MB): openpyxl read {base:.1f} s, "
          f"validate {validate_s:.1f} s ({figures['error_rows']} bad rows of {expected} found), "
          f"corrected file validated {job_validate_s:.1f} s and applied {apply_s:.1f} s")
    return figures


@contextmanager
def sqlite_database() -> Iterator[str]:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'imports.db'}"
        upgrade(url)
        yield url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pg-url", default=os.environ.get("CANGLIU_TEST_PG_URL"))
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--bad", type=int, default=50)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    out: dict[str, Any] = {"benchmark": "imports", "target_total_s": TARGET_S}
    print("SQLite")
    with sqlite_database() as url:
        out["sqlite"] = run(url, args.rows, args.bad)
    if args.pg_url:
        print(f"PostgreSQL {server_version(args.pg_url)}")
        with scratch_database(args.pg_url, "bench_imports", keep=args.keep) as url:
            out["postgresql"] = run(url.replace("postgresql://", "postgresql+psycopg://", 1),
                                    args.rows, args.bad)
    sqlite = out["sqlite"]
    out["pass"] = {"sqlite_under_60s": sqlite["total_s"] < TARGET_S,
                   "bad_rows_found": sqlite["error_rows"] == sqlite["bad_rows"]}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
