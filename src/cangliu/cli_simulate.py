"""``cangliu simulate``: replay daily demand (the M5 files, or synthetic) under the static and the
dynamic replenishment policy and print service, stock and transfer figures per policy. The
dynamic policy runs the planning run's transfer rules (the built-ins) every simulated day."""

import json
import time
from dataclasses import astuple
from enum import StrEnum
from pathlib import Path
from typing import cast

import polars as pl
import typer
from rich.console import Console
from rich.table import Table

from cangliu.core.planning.simulate import (
    POLICIES,
    SIMULATION_LEVELS,
    Metrics,
    Network,
    Policy,
    simulate,
)
from cangliu.core.planning.simulate_data import Demand, demand_arrays, synthetic
from cangliu.core.planning.thresholds import ServiceLevels, z_for

SALES_FILE = "m5_tiny_sales_daily.csv.gz"
PRICES_FILE = "m5_tiny_prices_weekly.csv"
STORES_FILE = "m5_tiny_stores.csv"
DEFAULT_LEVELS = ",".join(f"{level:g}" for level in astuple(SIMULATION_LEVELS))
console = Console()


class PolicyChoice(StrEnum):
    STATIC = "static"
    DYNAMIC = "dynamic"
    BOTH = "both"


class CensoringChoice(StrEnum):
    IMPUTE = "impute"
    EXCLUDE = "exclude"


def simulate_command(
    data: Path | None = typer.Option(None, "--data", help=f"folder with {SALES_FILE} "
                                     f"(date,store_id,item_id,units) and optionally {PRICES_FILE}"),
    policy: PolicyChoice = typer.Option(PolicyChoice.BOTH, "--policy"),
    as_json: bool = typer.Option(False, "--json", help="one JSON object keyed by policy"),
    use_synthetic: bool = typer.Option(False, "--synthetic", help="seeded synthetic demand"),
    stores: int = typer.Option(10, "--stores", min=1, help="--synthetic: stores"),
    items: int = typer.Option(28, "--items", min=1, help="--synthetic: items"),
    days: int = typer.Option(730, "--days", min=92, help="--synthetic: days, warmup included"),
    seed: int = typer.Option(0, "--seed", help="--synthetic: random seed"),
    supplier_lead: int = typer.Option(7, "--supplier-lead", min=1, help="days, supplier → warehouse"),
    warehouse_lead: int = typer.Option(2, "--warehouse-lead", min=1, help="days, warehouse → store"),
    lateral_lead: int = typer.Option(1, "--lateral-lead", min=1, help="days, store → store"),
    recompute_days: int = typer.Option(1, "--recompute-days", min=1,
                                       help="dynamic: recompute store thresholds every N days"),
    service_levels: str = typer.Option(
        DEFAULT_LEVELS, "--service-levels",
        help="store cycle service levels of ABC classes A,B,C (both policies)"),
    censoring: CensoringChoice = typer.Option(
        CensoringChoice.IMPUTE, "--censoring",
        help="stock-out days in the demand estimate: impute (max of sales and the observed "
             "mean) or exclude"),
) -> None:
    """Replay real or synthetic daily demand through a warehouse and its stores under the static
    (levels fixed from the first 90 days, reorder-point replenishment) and the dynamic (levels
    recomputed daily with stock-out days censored, moves decided by the transfer rules) policy."""
    levels = _levels(service_levels)
    demand = _demand(data, use_synthetic, stores=stores, items=items, days=days, seed=seed)
    network = Network(supplier_lead=supplier_lead, warehouse_lead=warehouse_lead,
                      lateral_lead=lateral_lead, recompute_days=recompute_days,
                      censoring=censoring.value, levels=levels)
    chosen = POLICIES if policy is PolicyChoice.BOTH else (cast(Policy, policy.value),)
    results: dict[str, Metrics] = {}
    for name in chosen:
        started = time.perf_counter()
        results[name] = simulate(demand, name, network).metrics
        if not as_json:
            console.print(_table(results[name], time.perf_counter() - started))
    if as_json:
        typer.echo(json.dumps({name: _rounded(m) for name, m in results.items()}))


def load_m5(folder: Path) -> Demand:
    """The M5 layout: daily units per store × item, weekly shelf prices (their mean per series
    values the stock; a constant 1 when the file is absent) and each store's state (its region;
    else the store code up to "_")."""
    sales = pl.read_csv(folder / SALES_FILE, try_parse_dates=True).select(
        day=pl.col("date").cast(pl.Date), store="store_id", item="item_id", qty="units")
    prices = None
    if (folder / PRICES_FILE).exists():
        prices = pl.read_csv(folder / PRICES_FILE).select(
            store="store_id", item="item_id", price="sell_price")
    regions = None
    if (folder / STORES_FILE).exists():
        stores = pl.read_csv(folder / STORES_FILE)
        regions = dict(zip(stores["store_id"].cast(pl.Utf8), stores["state_id"].cast(pl.Utf8),
                           strict=True))
    return demand_arrays(sales, prices, regions=regions)


def _levels(text: str) -> ServiceLevels:
    try:
        values = [float(part) for part in text.split(",")]
        if len(values) != 3:
            raise ValueError("three levels")
        for value in values:
            z_for(value)  # refuses a level outside (0, 1)
    except ValueError:
        console.print("[red]--service-levels needs three levels between 0 and 1, e.g. "
                      "0.98,0.95,0.9[/red]")
        raise typer.Exit(2) from None
    return ServiceLevels(*values)


def _demand(data: Path | None, use_synthetic: bool, **shape: int) -> Demand:
    if use_synthetic:
        return demand_arrays(*synthetic(shape["stores"], shape["items"], shape["days"],
                                        seed=shape["seed"]))
    if data is None or not (data / SALES_FILE).exists():
        console.print(f"[red]--data needs a folder with {SALES_FILE} (or use --synthetic)[/red]")
        raise typer.Exit(2)
    return load_m5(data)


def _rounded(metrics: Metrics) -> dict[str, float | int | str | dict[str, int]]:
    return {k: round(v, 4) if isinstance(v, float) else v for k, v in metrics.as_dict().items()}


def _table(m: Metrics, seconds: float) -> Table:
    table = Table(title=f"{m.policy} — {m.series} series × {m.scored_days} scored days "
                        f"({seconds:.1f} s)")
    table.add_column("metric")
    table.add_column("value", justify="right")
    rows = [
        ("stock-out rate (days with unmet demand / days with demand)",
         f"{m.stockout_rate:.2%} ({m.stockout_days:,} / {m.demand_days:,})"),
        ("fill rate (units served / units demanded)",
         f"{m.fill_rate:.2%} ({m.served_units:,.0f} / {m.demand_units:,.0f})"),
        ("average inventory, units (stores + warehouse, on hand)", f"{m.avg_inventory_units:,.0f}"),
        ("average inventory, value", f"{m.avg_inventory_value:,.0f}"),
        ("turnover per year (cost of goods sold / average inventory value)", f"{m.turnover:.1f}"),
        ("transfers (warehouse → store + lateral)",
         f"{m.transfers:,} ({m.warehouse_shipments:,} + {m.lateral_transfers:,})"),
        *((f"  by {rule}", f"{count:,}") for rule, count in m.transfers_by_rule.items()),
        ("supplier orders", f"{m.supplier_orders:,}"),
    ]
    if m.policy == "dynamic":
        rows.append(("purchases proposed (needs no site could cover)", f"{m.purchase_proposals:,}"))
    for label, value in rows:
        table.add_row(label, value)
    return table
