"""Demand history: what customers took of each SKU at each site per (UTC) day, with the days the
site was out of stock flagged, rebuilt from the ledger's shipments or imported from a file.

Only days with demand or a stock-out are stored (an import keeps the zero days it brings):
readers fill the days missing from a series with zero demand, from the series' first day up to
the day they plan for.
"""

from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any, Literal

import polars as pl
from sqlalchemy import BigInteger, Date, cast, delete, func, select, type_coerce
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session, aliased

from cangliu.core.errors import FieldError, ValidationFailed
from cangliu.core.ledger import StockStatus
from cangliu.core.locations import LocationKind
from cangliu.core.permissions import Actor
from cangliu.db.models import Barcode, Category, DemandDay, Location, Sku, StockMove
from cangliu.db.types import from_units
from cangliu.db.uow import UnitOfWork, retrying
from cangliu.services import calendar_events, masterdata

LEDGER, IMPORT = "ledger", "import"
SERIES = ["sku_id", "site_id"]
KEY = [*SERIES, "day"]
CHUNK = 50_000
_ONE_DAY = timedelta(days=1)
_INSERT = ("INSERT INTO demand_day (sku_id, site_id, day, qty, stockout, lost_qty, source) "
           "VALUES ({}) ON CONFLICT (sku_id, site_id, day) ")
# A rebuild never overwrites an imported day; an import overwrites whatever the day held.
_KEEP = "DO NOTHING"
_REPLACE = ("DO UPDATE SET qty = excluded.qty, stockout = excluded.stockout, "
            "lost_qty = excluded.lost_qty, source = excluded.source")


# ---- from the ledger ------------------------------------------------------------------------

@retrying
def rebuild_demand(uow: UnitOfWork, *, since: date | None = None, until: date | None = None
                   ) -> dict[str, Any]:
    """Recompute the ledger's demand days from ``since`` (default: the first move) to ``until``
    (default: today, not over yet; the next rebuild redoes it).

    Demand is what left a site for the customer location (shipments, and reversals of
    returns) less what came back from it (customer returns and reversals of shipments), per day
    it happened, never below zero. A day is a stock-out when the site's available stock of the
    SKU was 0 or less at its end. Earlier "ledger" rows of the window are replaced; imported
    rows are left alone, so running it twice gives the same rows.
    """
    with uow:
        until = until or uow.now().date()
        if since is not None and since > until:
            raise ValidationFailed.single("since", "must not be after {until}", until=until)
        frame = _demand_days(_daily_flows(uow.session, until), since, until)
        conn = uow.session.connection()  # a projection of the ledger, not audited row by row
        window = [DemandDay.source == LEDGER, DemandDay.day <= until]
        if since is not None:
            window.append(DemandDay.day >= since)
        conn.execute(delete(DemandDay).where(*window))
        _write(conn, frame, LEDGER, _KEEP)
        stored = conn.execute(select(func.count()).select_from(DemandDay).where(*window)).scalar_one()
        uow.commit()
    return {"since": since, "until": until, "rows": stored, "series": _count_series(frame),
            "demand_days": frame.filter(pl.col("qty") > 0).height,
            "stockout_days": frame.filter(pl.col("stockout")).height,
            "kept_imported": frame.height - stored}


def _day_of(column: Any, dialect: str) -> Any:
    """The UTC date of a timestamp (SQLite stores UTC text; PostgreSQL a timestamptz)."""
    if dialect == "postgresql":
        return cast(func.timezone("UTC", column), Date)
    return func.date(column)


def _daily_flows(session: Session, until: date) -> pl.DataFrame:
    """Moves touching a site, summed per SKU, endpoints, statuses and day (integer millionths)."""
    src, dst = aliased(Location), aliased(Location)
    day = _day_of(StockMove.occurred_at, session.get_bind().dialect.name)
    group = [StockMove.sku_id, src.site_id, dst.site_id, src.kind, dst.kind, StockMove.from_status,
             StockMove.to_status, day]
    rows = session.execute(
        select(*group, cast(func.sum(type_coerce(StockMove.qty, BigInteger)), BigInteger))
        .join(src, src.id == StockMove.from_location_id)
        .join(dst, dst.id == StockMove.to_location_id)
        .where(StockMove.occurred_at < datetime.combine(until + _ONE_DAY, time(), UTC),
               (src.site_id.is_not(None)) | (dst.site_id.is_not(None)))
        .group_by(*group))
    schema = {"sku_id": pl.Int64, "from_site": pl.Int64, "to_site": pl.Int64, "from_kind": pl.String,
              "to_kind": pl.String, "from_status": pl.String, "to_status": pl.String,
              "day": pl.String, "units": pl.Int64}
    data = [(*r[:7], str(r[7]), int(r[8])) for r in rows]
    return pl.DataFrame(data, schema=schema, orient="row").with_columns(pl.col("day").str.to_date())


def _signed(flows: pl.DataFrame, into: pl.Expr, out_of: pl.Expr, into_site: str, out_site: str
            ) -> pl.DataFrame:
    """Per SKU × site × day: what ``into`` rows brought to their to-site less what ``out_of``
    rows took from their from-site."""
    return pl.concat([
        flows.filter(into).select("sku_id", pl.col(into_site).alias("site_id"), "day", "units"),
        flows.filter(out_of).select("sku_id", pl.col(out_site).alias("site_id"), "day",
                                    -pl.col("units")),
    ]).group_by(KEY).agg(pl.col("units").sum()).sort(KEY)


def _demand_days(flows: pl.DataFrame, since: date | None, until: date) -> pl.DataFrame:
    """The demand rows of the window from the daily flows: sku_id, site_id, day, qty (millionths),
    stockout. Stock-out runs between two stock changes are expanded day by day."""
    available = StockStatus.AVAILABLE.value
    stock = _signed(flows, pl.col("to_site").is_not_null() & (pl.col("to_status") == available),
                    pl.col("from_site").is_not_null() & (pl.col("from_status") == available),
                    "to_site", "from_site")
    # Each stock level holds from the day it was reached until the day before the next change.
    runs = stock.with_columns(
        pl.col("units").cum_sum().over(SERIES).alias("level"),
        pl.col("day").shift(-1).over(SERIES).fill_null(until + _ONE_DAY).alias("next"))
    out = (runs.filter(pl.col("level") <= 0)
           .select(*SERIES, pl.max_horizontal("day", pl.lit(since or date.min)).alias("start"),
                   (pl.col("next") - _ONE_DAY).alias("end"))
           .filter(pl.col("start") <= pl.col("end"))
           .select(*SERIES, pl.date_ranges("start", "end").alias("day")).explode("day", empty_as_null=False)
           .with_columns(pl.lit(True).alias("stockout")))
    customer = LocationKind.CUSTOMER.value
    sold = _signed(flows, (pl.col("from_kind") == customer) & pl.col("to_site").is_not_null(),
                   (pl.col("to_kind") == customer) & pl.col("from_site").is_not_null(),
                   "to_site", "from_site")
    sold = (sold.select(*KEY, (-pl.col("units")).alias("qty"))
            .filter(pl.col("qty") > 0, pl.col("day") <= until,
                    pl.col("day") >= (since or date.min)))
    return (sold.join(out, on=KEY, how="full", coalesce=True)
            .select(*KEY, pl.col("qty").fill_null(0), pl.col("stockout").fill_null(False),
                    pl.lit(None, pl.Int64).alias("lost_qty"))
            .sort(KEY))


def _count_series(frame: pl.DataFrame) -> int:
    return frame.select(SERIES).unique().height


def _write(conn: Connection, frame: pl.DataFrame, source: str, on_conflict: str) -> None:
    """Insert in chunks straight through the driver (an import has hundreds of thousands of
    rows); quantities go in as stored, integer millionths, and dates as SQLite keeps them."""
    sqlite = conn.dialect.name == "sqlite"
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    sql = _INSERT.format(", ".join([mark] * 7)) + on_conflict
    rows = frame.select("sku_id", "site_id",
                        pl.col("day").dt.to_string("%Y-%m-%d") if sqlite else pl.col("day"),
                        "qty", pl.col("stockout").cast(pl.Int64) if sqlite else pl.col("stockout"),
                        "lost_qty", pl.lit(source).alias("source"))
    for chunk in rows.iter_slices(CHUNK):
        conn.exec_driver_sql(sql, chunk.rows())


# ---- from a file ----------------------------------------------------------------------------

Format = Literal["generic", "m5"]
# The file's column for each field of a demand day.
COLUMNS: dict[str, dict[str, str]] = {
    "generic": {"date": "date", "site": "site", "sku": "sku", "qty": "qty",
                "stockout": "stockout", "lost_qty": "lost_qty"},
    "m5": {"date": "date", "site": "store_id", "sku": "item_id", "qty": "units"},
}
FIELDS = list(COLUMNS["generic"])
OPTIONAL = ("stockout", "lost_qty")
QTY_FORMAT = r"^(\d+\.?\d*|\.\d+)$"
MAX_DIGITS = 12  # quantities stay below 1e12, as in the ledger


def import_demand(uow: UnitOfWork, path: Path | str, *, fmt: Format, actor: Actor | None = None,
                  site_map: Mapping[str, str] | None = None,
                  sku_map: Mapping[str, str] | None = None,
                  create_missing: bool = False) -> dict[str, Any]:
    """Load demand days from a file, all or nothing: any bad row raises ValidationFailed naming
    every bad row (``rows[<line>].<column>``, the header being line 1) and nothing is written.

    ``generic``: CSV ``date,site,sku,qty`` (+ optional ``stockout`` 0/1 and ``lost_qty``); SKUs
    by code or barcode. ``m5``: ``date,store_id,item_id,units`` (the M5 competition layout);
    store and item ids name sites and SKUs through ``site_map``/``sku_map`` or as they are, and
    with ``create_missing`` unknown ones are created first (stores as sites of kind store in the
    state of ``m5_tiny_stores.csv``, items as SKUs of the category of ``m5_tiny_items.csv``),
    each committed on its own; the events of an M5 calendar next to the file (``calendar.csv`` or
    ``*_calendar.csv``) are added too (``calendar_events``: how many were new). Imported days
    replace whatever those days held.
    """
    if fmt not in COLUMNS:
        raise ValidationFailed.single("format", "must be generic or m5")
    names = COLUMNS[fmt]
    frame = _read(Path(path), names, site_map or {}, sku_map or {})
    calendar = _m5_calendar(Path(path).parent) if fmt == "m5" else None
    if calendar is not None:
        calendar_events.read_m5_calendar(calendar)  # a bad calendar stops the import before it writes
    created: dict[str, list[str]] = {"sites": [], "skus": []}
    if create_missing:
        if fmt != "m5" or actor is None:
            raise ValueError("create_missing needs the m5 format and an actor")
        _raise_if(_problems(frame, _shape_checks(), names))  # nothing is created for a bad file
        created = _create_missing(uow, actor, frame, Path(path).parent)
    with uow:
        frame = _with_ids(uow.session, frame)
        _raise_if(_problems(frame, [*_shape_checks(), *_code_checks()], names))
        rows = _rows(frame)
        _write(uow.session.connection(), rows, IMPORT, _REPLACE)
        uow.commit()
    days = rows.get_column("day")
    added = calendar_events.import_m5_calendar(uow, calendar) if calendar is not None else 0
    return {"rows": rows.height, "series": _count_series(rows), "calendar_events": added,
            "first_day": days.min(), "last_day": days.max(),
            "qty": from_units(int(rows.get_column("qty").sum())),
            "created_sites": created["sites"], "created_skus": created["skus"]}


def _read(path: Path, names: dict[str, str], site_map: Mapping[str, str],
          sku_map: Mapping[str, str]) -> pl.DataFrame:
    """The file as text columns named after the fields, with each row's line number."""
    try:
        raw = pl.read_csv(path, infer_schema=False)
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise ValidationFailed.single("file", "cannot be read: {reason}", reason=exc) from None
    missing = [names[f] for f in names if f not in OPTIONAL and names[f] not in raw.columns]
    _raise_if([FieldError("rows[1]", "missing column {column}", {"column": c}) for c in missing])
    fields = [pl.col(names[f]).str.strip_chars().alias(f) if names.get(f) in raw.columns
              else pl.lit(None, pl.String).alias(f) for f in FIELDS]
    return (raw.select(pl.int_range(2, raw.height + 2, dtype=pl.Int64).alias("line"), *fields)
            .with_columns(pl.col("site").replace(dict(site_map)).alias("site_code"),
                          pl.col("sku").replace(dict(sku_map)).alias("sku_code"),
                          pl.col("date").str.strptime(pl.Date, "%Y-%m-%d", strict=False).alias("day")))


def _raise_if(errors: list[FieldError]) -> None:
    if errors:
        raise ValidationFailed(errors)


Check = tuple[str, pl.Expr, str, dict[str, pl.Expr]]  # field, failing rows, message, params


def _problems(frame: pl.DataFrame, checks: Iterable[Check], names: dict[str, str]) -> list[FieldError]:
    """One FieldError per row and failed check, in row then column order."""
    found: list[tuple[int, int, int, FieldError]] = []
    for order, (field, failing, message, params) in enumerate(checks):
        bad = frame.filter(failing).select("line", *(e.alias(k) for k, e in params.items()))
        for row in bad.iter_rows(named=True):
            line = row.pop("line")
            found.append((line, FIELDS.index(field), order, FieldError(
                f"rows[{line}].{names.get(field, field)}", message, {k: str(v) for k, v in row.items()})))
    return [error for *_, error in sorted(found, key=lambda x: x[:3])]


def _number_checks(field: str, required: bool) -> list[Check]:
    value = pl.col(field)
    plain = value.str.contains(QTY_FORMAT)
    negative = (value.cast(pl.Float64, strict=False) < 0).fill_null(False)
    digits = value.str.extract(r"^0*(\d*)").str.len_chars()
    checks: list[Check] = [(field, value.is_not_null() & ~plain & negative, "must be 0 or more", {}),
                           (field, value.is_not_null() & ~plain & ~negative, "must be a number", {}),
                           (field, plain & (digits > MAX_DIGITS), "is too large", {})]
    if required:
        checks.insert(0, (field, value.is_null(), "is required", {}))
    return checks


def _shape_checks() -> list[Check]:
    """What can be wrong with a row before any code is looked up."""
    return [("date", pl.col("date").is_null(), "is required", {}),
            ("date", pl.col("date").is_not_null() & pl.col("day").is_null(),
             "must be a date (YYYY-MM-DD)", {}),
            ("site", pl.col("site").is_null(), "is required", {}),
            ("sku", pl.col("sku").is_null(), "is required", {}),
            *_number_checks("qty", True),
            ("stockout", pl.col("stockout").is_not_null() & ~pl.col("stockout").is_in(["0", "1"]),
             "must be 0 or 1", {}),
            *_number_checks("lost_qty", False)]


def _code_checks() -> list[Check]:
    """Unknown codes, more decimals than the SKU allows, a day given twice."""
    known = pl.col("site_id").is_not_null() & pl.col("sku_id").is_not_null() & pl.col("day").is_not_null()
    first = pl.col("first_line")
    return [("site", pl.col("site").is_not_null() & pl.col("site_id").is_null(), "unknown site {code}",
             {"code": pl.col("site_code")}),
            ("sku", pl.col("sku").is_not_null() & pl.col("sku_id").is_null(), "unknown SKU {code}",
             {"code": pl.col("sku_code")}),
            *((f, pl.col(f).str.contains(QTY_FORMAT) & (_places(f) > pl.col("decimals")),
               "allows at most {decimals} decimal places", {"decimals": pl.col("decimals")})
              for f in ("qty", "lost_qty")),
            ("date", known & (pl.col("line") != first), "repeats row {row} (same date, site and SKU)",
             {"row": first})]


def _places(field: str) -> pl.Expr:
    return pl.col(field).str.extract(r"\.(\d*)$").str.strip_chars_end("0").str.len_chars().fill_null(0)


def _units(field: str) -> pl.Expr:
    """A plain decimal string as integer millionths."""
    whole = pl.col(field).str.extract(r"^(\d*)").replace("", "0").cast(pl.Int64, strict=False)
    fraction = pl.col(field).str.extract(r"\.(\d*)$").fill_null("").str.pad_end(6, "0").str.slice(0, 6)
    return whole * 1_000_000 + fraction.replace("", "0").cast(pl.Int64, strict=False)


def _with_ids(session: Session, frame: pl.DataFrame) -> pl.DataFrame:
    """The site and SKU ids of the codes (SKUs by code, else by barcode) and the SKU's decimals."""
    sites = pl.DataFrame(session.execute(
        select(Location.code, Location.id).where(Location.kind == LocationKind.SITE.value,
                                                 Location.deleted_at.is_(None))).all(),
        schema={"site_code": pl.String, "site_id": pl.Int64}, orient="row")
    skus = pl.DataFrame(session.execute(
        select(Sku.code, Sku.id, Sku.decimals).where(Sku.deleted_at.is_(None))).all(),
        schema={"sku_code": pl.String, "sku_id": pl.Int64, "decimals": pl.Int64}, orient="row")
    barcodes = pl.DataFrame(session.execute(
        select(Barcode.code, Barcode.sku_id, Sku.decimals).join(Sku, Sku.id == Barcode.sku_id)
        .where(Sku.deleted_at.is_(None))).all(),
        schema={"sku_code": pl.String, "bc_sku_id": pl.Int64, "bc_decimals": pl.Int64}, orient="row")
    return (frame.join(sites, on="site_code", how="left")
            .join(skus, on="sku_code", how="left").join(barcodes, on="sku_code", how="left")
            .with_columns(pl.col("sku_id").fill_null(pl.col("bc_sku_id")),
                          pl.col("decimals").fill_null(pl.col("bc_decimals")))
            .with_columns(pl.col("line").min().over(KEY).alias("first_line")))


def _rows(frame: pl.DataFrame) -> pl.DataFrame:
    """Checked rows as stored: quantities in millionths; lost sales make the day a stock-out."""
    lost = _units("lost_qty")
    return frame.select(*KEY, _units("qty").alias("qty"),
                        ((pl.col("stockout") == "1").fill_null(False) | (lost > 0).fill_null(False))
                        .alias("stockout"), lost.alias("lost_qty"))


def _create_missing(uow: UnitOfWork, actor: Actor, frame: pl.DataFrame, folder: Path
                    ) -> dict[str, list[str]]:
    """Create the sites and SKUs an M5 file names that do not exist yet (with their categories)."""
    states = _lookup(folder / "m5_tiny_stores.csv", "store_id", "state_id")
    categories = _lookup(folder / "m5_tiny_items.csv", "item_id", "cat_id")
    with uow:
        codes = {m: set(uow.session.scalars(select(m.code))) for m in (Location, Sku, Category)}
    created: dict[str, list[str]] = {"sites": [], "skus": []}
    for store, code in frame.select("site", "site_code").unique().sort("site_code").iter_rows():
        if code not in codes[Location]:
            masterdata.create(uow, actor, "site", {"code": code, "name": store, "site_kind": "store",
                                                   "region": states.get(store, ""), "channel": "store"})
            created["sites"].append(code)
    for item, code in frame.select("sku", "sku_code").unique().sort("sku_code").iter_rows():
        if code in codes[Sku]:
            continue
        category = categories.get(item)
        if category and category not in codes[Category]:
            masterdata.create(uow, actor, "category", {"code": category, "name": category})
            codes[Category].add(category)
        masterdata.create(uow, actor, "sku", {"code": code, "name": item, "category": category})
        created["skus"].append(code)
    return created


def _m5_calendar(folder: Path) -> Path | None:
    """The M5 calendar next to the sales file (``calendar.csv``, or ``*_calendar.csv``)."""
    found = [folder / "calendar.csv", *sorted(folder.glob("*_calendar.csv"))]
    return next((p for p in found if p.is_file()), None)


def _lookup(path: Path, key: str, value: str) -> dict[str, str]:
    """key → value from a small side file of the M5 layout; empty when the file is absent."""
    if not path.exists():
        return {}
    table = pl.read_csv(path, infer_schema=False)
    return dict(table.select(key, value).iter_rows())
