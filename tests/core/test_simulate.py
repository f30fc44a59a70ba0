"""The replenishment simulation: stock is conserved, steady demand is always served, the dynamic
policy follows drifting demand that the static one cannot, and the CLI prints both as JSON."""

import json
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import typer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from cangliu.cli_simulate import load_m5, simulate_command
from cangliu.core.planning.simulate import Network, simulate
from cangliu.core.planning.simulate_data import Demand, demand_arrays, synthetic

REAL_DATA = Path("/work/shared/data")


def constant(stores: int, items: int, days: int, qty: float) -> Demand:
    start = date(2025, 1, 1)
    rows = [(start + timedelta(days=t), f"S{s}", f"I{i}", qty)
            for t in range(days) for s in range(stores) for i in range(items)]
    return demand_arrays(pl.DataFrame(rows, schema=["day", "store", "item", "qty"], orient="row"))


def doubled_halfway(demand: Demand) -> Demand:
    qty = demand.qty.copy()
    qty[demand.days // 2:] *= 2
    return Demand(qty=qty, price=demand.price, stores=demand.stores, items=demand.items,
                  first_day=demand.first_day)


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), supplier_lead=st.integers(1, 10),
       warehouse_lead=st.integers(1, 4), policy=st.sampled_from(["static", "dynamic"]))
def test_stock_is_conserved_and_never_negative(seed, supplier_lead, warehouse_lead, policy):
    demand = demand_arrays(*synthetic(3, 6, 160, seed=seed))
    run = simulate(demand, policy, Network(supplier_lead=supplier_lead,
                                           warehouse_lead=warehouse_lead))
    trace = run.trace
    assert trace["demand"].to_list() == pytest.approx(
        demand.qty[90:].sum(axis=(1, 2)).tolist())
    assert (trace["served"] + trace["lost"] - trace["demand"]).abs().max() < 1e-9
    assert trace["min_on_hand"].min() >= 0
    # Stock inside the network moves only in from the supplier and out to customers.
    held = trace["store_on_hand"] + trace["warehouse_on_hand"] + trace["in_transit"]
    step = held.diff().drop_nulls() - (trace["received"] - trace["served"]).slice(1)
    assert step.abs().max() < 1e-6
    on_order = trace["on_order"].diff().drop_nulls() - (trace["ordered"] - trace["received"]).slice(1)
    assert on_order.abs().max() < 1e-6
    m = run.metrics
    assert m.served_units + m.lost_units == pytest.approx(m.demand_units)
    assert 0 <= m.stockout_rate <= 1 and 0 <= m.fill_rate <= 1


def test_steady_demand_is_always_served_under_both_policies():
    demand = constant(3, 4, 200, 5.0)
    for policy in ("static", "dynamic"):
        metrics = simulate(demand, policy).metrics
        assert metrics.stockout_days == 0, policy
        assert metrics.fill_rate == 1.0
        assert metrics.lateral_transfers == 0


def test_dynamic_policy_follows_demand_that_doubles_halfway():
    demand = doubled_halfway(demand_arrays(*synthetic(4, 8, 400, seed=7)))
    static = simulate(demand, "static").metrics
    dynamic = simulate(demand, "dynamic").metrics
    assert dynamic.stockout_rate < 0.75 * static.stockout_rate
    assert dynamic.fill_rate > static.fill_rate
    assert dynamic.avg_inventory_units < 1.05 * static.avg_inventory_units


def test_too_short_a_history_is_refused():
    with pytest.raises(ValueError, match="more than 90 days"):
        simulate(constant(1, 1, 60, 1.0), "static")


def cli() -> typer.Typer:
    app = typer.Typer()
    app.command("simulate")(simulate_command)
    return app


def test_cli_prints_one_json_object_keyed_by_policy():
    result = CliRunner().invoke(cli(), ["--synthetic", "--stores", "2", "--items", "4",
                                        "--days", "150", "--json"])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output)
    assert set(figures) == {"static", "dynamic"}
    for policy, m in figures.items():
        assert m["policy"] == policy and m["series"] == 8 and m["scored_days"] == 60
        assert {"stockout_rate", "fill_rate", "avg_inventory_units", "avg_inventory_value",
                "turnover", "transfers", "supplier_orders"} <= set(m)


def test_cli_without_data_or_synthetic_exits_2(tmp_path):
    result = CliRunner().invoke(cli(), ["--data", str(tmp_path), "--policy", "static"])
    assert result.exit_code == 2
    assert "--synthetic" in " ".join(result.output.split())


@pytest.mark.skipif(not (REAL_DATA / "m5_tiny_sales_daily.csv.gz").exists(),
                    reason="the M5 subset is not on this machine")
def test_on_the_m5_stores_dynamic_has_fewer_stockouts_for_no_more_stock_value():
    demand = load_m5(REAL_DATA)
    assert demand.qty.shape[1:] == (10, 28) and np.all(demand.price > 0)
    static = simulate(demand, "static").metrics
    dynamic = simulate(demand, "dynamic").metrics
    assert dynamic.stockout_rate < static.stockout_rate
    assert dynamic.avg_inventory_value <= static.avg_inventory_value
    assert dynamic.avg_inventory_units <= static.avg_inventory_units
