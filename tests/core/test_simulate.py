"""The replenishment simulation: stock is conserved, both policies meet the same demand from the
same start, the dynamic policy moves stock only by the transfer rules (and their cooldowns),
and the CLI prints both as JSON."""

import json
import os
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
from cangliu.core.planning.rule_builtins import builtin_rules
from cangliu.core.planning.simulate import Network, Run, simulate
from cangliu.core.planning.simulate_data import Demand, demand_arrays, synthetic
from cangliu.core.planning.simulate_flows import Flows, Levels, estimate
from cangliu.core.planning.simulate_rules import CENTRAL, RulePlanner

REAL_DATA = Path("/work/shared/data")


def constant(stores: int, items: int, days: int, qty: float) -> Demand:
    start = date(2025, 1, 1)
    rows = [(start + timedelta(days=t), f"S{s}", f"I{i}", qty)
            for t in range(days) for s in range(stores) for i in range(items)]
    return demand_arrays(pl.DataFrame(rows, schema=["day", "store", "item", "qty"], orient="row"))


def assert_conserved(run: Run, demand: Demand) -> None:
    trace = run.trace
    assert trace["demand"].to_list() == pytest.approx(demand.qty[90:].sum(axis=(1, 2)).tolist())
    assert (trace["served"] + trace["lost"] - trace["demand"]).abs().max() < 1e-9
    assert trace["min_on_hand"].min() >= 0
    # Stock inside the network moves only in from the supplier and out to customers: transfers
    # between sites change where it is (or that it travels), never how much there is.
    held = trace["store_on_hand"] + trace["warehouse_on_hand"] + trace["in_transit"]
    step = held.diff().drop_nulls() - (trace["received"] - trace["served"]).slice(1)
    assert step.abs().max() < 1e-6
    on_order = trace["on_order"].diff().drop_nulls() - (trace["ordered"] - trace["received"]).slice(1)
    assert on_order.abs().max() < 1e-6
    m = run.metrics
    assert m.served_units + m.lost_units == pytest.approx(m.demand_units)
    assert 0 <= m.stockout_rate <= 1 and 0 <= m.fill_rate <= 1


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), supplier_lead=st.integers(1, 10),
       warehouse_lead=st.integers(1, 4))
def test_static_policy_conserves_stock_and_never_goes_negative(seed, supplier_lead, warehouse_lead):
    demand = demand_arrays(*synthetic(3, 6, 160, seed=seed))
    assert_conserved(simulate(demand, "static", Network(supplier_lead=supplier_lead,
                                                        warehouse_lead=warehouse_lead)), demand)


@pytest.mark.parametrize(("seed", "warehouse_lead", "lateral_lead"), [(1, 2, 1), (5, 3, 2)])
def test_the_rule_engine_conserves_stock_and_never_goes_negative(seed, warehouse_lead, lateral_lead):
    demand = demand_arrays(*synthetic(4, 6, 130, seed=seed))
    run = simulate(demand, "dynamic", Network(warehouse_lead=warehouse_lead,
                                              lateral_lead=lateral_lead))
    assert_conserved(run, demand)
    moves = run.transfers
    assert moves.height == run.metrics.transfers > 0
    assert (moves["qty"] > 0).all() and (moves["from_site"] != moves["to_site"]).all()


def test_both_policies_see_the_same_demand_from_the_same_start():
    demand = demand_arrays(*synthetic(4, 6, 150, seed=3))
    static, dynamic = simulate(demand, "static"), simulate(demand, "dynamic")
    assert static.trace["demand"].to_list() == dynamic.trace["demand"].to_list()
    assert static.metrics.demand_units == dynamic.metrics.demand_units
    assert static.metrics.demand_days == dynamic.metrics.demand_days
    # The same stock to start with (held at the end of day one, plus its sales, less its
    # receipts), and day one's demand met the same shelves.
    def start(run: Run) -> float:
        day = run.trace.row(0, named=True)
        return (day["store_on_hand"] + day["warehouse_on_hand"] + day["in_transit"]
                + day["served"] - day["received"])
    assert start(static) == pytest.approx(start(dynamic)) and start(static) > 0
    assert static.trace["served"][0] == dynamic.trace["served"][0]


def test_the_dynamic_policy_moves_stock_only_by_the_rules_and_their_cooldowns():
    demand = demand_arrays(*synthetic(6, 8, 200, seed=11))
    run = simulate(demand, "dynamic")
    by_rule = run.metrics.transfers_by_rule
    assert {"store_replenishment", "regional_balancing"} <= set(by_rule)
    assert sum(by_rule.values()) == run.metrics.transfers == run.transfers.height
    assert set(by_rule) <= {rule.name for rule in builtin_rules()}
    cooldown = {rule.name: rule.cooldown_days for rule in builtin_rules()}
    gaps = (run.transfers.sort("day").group_by("rule", "sku", "to_site")
            .agg(gap=pl.col("day").unique().diff().min()).drop_nulls("gap"))
    assert gaps.height > 0
    for rule, gap in gaps.select("rule", "gap").iter_rows():
        assert gap >= cooldown[rule], rule
    # Warehouse shipments leave the central site; lateral moves go between stores.
    central = run.transfers.filter(pl.col("from_site") == CENTRAL)
    assert central.height == run.metrics.warehouse_shipments
    assert (run.transfers["to_site"] != CENTRAL).all()
    assert simulate(demand, "static").metrics.transfers_by_rule.keys() == {"reorder_point"}


def test_a_stock_out_day_does_not_read_as_a_day_without_demand():
    demand = constant(1, 1, 100, 6.0)
    flows = Flows.start(demand, warmup_days=90, longest_lead=1)
    flows.store[:] = 10.0
    for t in (90, 91):  # 6 sold and 4 left, then 4 sold of 6 wanted: sold out, censored
        flows.serve(t, demand.qty[t])
    assert flows.censored[91, 0, 0] and flows.lost[91, 0, 0] == 2
    for censoring in ("impute", "exclude"):
        mean, sd = estimate(flows, 91, 30, 7, censoring)
        assert mean[0, 0] == pytest.approx(6.0) and sd[0, 0] == pytest.approx(0.0), censoring
    naive = flows.sales[62:92].mean()
    assert naive < 6.0  # what reading the stock-out day's sales as its demand would give


def planner_day(store: list[float], ss: float, rop: float, top: float, warehouse: float):
    """One item at three stores (two in R1, one in R2), each with the given levels, planned on
    the first scored day: the transfers, and the flows after shipping them."""
    demand = demand_arrays(pl.DataFrame({
        "day": [date(2025, 1, 1) + timedelta(days=t) for t in range(95) for _ in range(3)],
        "store": ["R1_A", "R1_B", "R2_C"] * 95, "item": ["X"] * 285, "qty": [1.0] * 285}))
    flows = Flows.start(demand, warmup_days=90, longest_lead=2)
    flows.store[:, 0] = store
    flows.warehouse[0] = warehouse
    levels = Levels(*(np.full((3, 1), v) for v in (ss, rop, top, 1.0)))
    planner = RulePlanner.start(demand, flows, warehouse_lead=2, lateral_lead=1)
    plan = planner.plan(flows, 90, levels)
    planner.ship(flows, 90, plan.transfers, warehouse_lead=2, lateral_lead=1)
    return plan.transfers, flows


def test_a_store_below_safety_stock_is_filled_to_max_from_the_warehouse():
    transfers, flows = planner_day([1.0, 8.0, 8.0], ss=3, rop=6, top=10, warehouse=50)
    assert transfers.select("rule", "from_site", "to_site", "qty").rows() == [
        ("store_replenishment", CENTRAL, "R1_A", 9.0)]
    assert flows.warehouse[0] == 41 and flows.store_transit[0, 0] == 9
    assert flows.to_store[92, 0, 0] == 9  # warehouse → store: 2 days


def test_a_store_below_its_reorder_point_takes_from_its_own_region_first():
    transfers, flows = planner_day([4.0, 20.0, 20.0], ss=3, rop=6, top=10, warehouse=0)
    assert transfers.select("rule", "from_site", "to_site", "qty").rows() == [
        ("regional_balancing", "R1_B", "R1_A", 2.0)]
    assert flows.store[:, 0].tolist() == [4.0, 18.0, 20.0]
    assert flows.to_store[91, 0, 0] == 2  # store → store: 1 day


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
        assert sum(m["transfers_by_rule"].values()) == m["transfers"]
    assert "store_replenishment" in figures["dynamic"]["transfers_by_rule"]


@pytest.mark.parametrize("levels", ["0.98,0.95", "0.98,1.2,0.9", "high,0.95,0.9"])
def test_cli_refuses_service_levels_that_are_not_three_levels_between_0_and_1(levels):
    result = CliRunner().invoke(cli(), ["--synthetic", "--service-levels", levels, "--json"])
    assert result.exit_code == 2
    assert "--service-levels needs three levels" in " ".join(result.output.split())


def test_cli_without_data_or_synthetic_exits_2(tmp_path):
    result = CliRunner().invoke(cli(), ["--data", str(tmp_path), "--policy", "static"])
    assert result.exit_code == 2
    assert "--synthetic" in " ".join(result.output.split())


@pytest.mark.skipif(not (REAL_DATA / "m5_tiny_sales_daily.csv.gz").exists()
                    or not os.environ.get("CANGLIU_SIMULATE_M5"),
                    reason="needs the M5 subset and CANGLIU_SIMULATE_M5=1 (about 80 s)")
def test_on_the_m5_stores_dynamic_has_fewer_stockouts_for_no_more_stock_value():
    demand = load_m5(REAL_DATA)
    assert demand.qty.shape[1:] == (10, 28) and np.all(demand.price > 0)
    static = simulate(demand, "static").metrics
    dynamic = simulate(demand, "dynamic").metrics
    assert dynamic.stockout_rate < static.stockout_rate
    assert dynamic.avg_inventory_value <= static.avg_inventory_value
    assert dynamic.avg_inventory_units <= static.avg_inventory_units
