"""The load test's requests (bench/load/scenario.py) still fit the API: every call names a route
that exists with that method, and every body validates against the route's request model, so an
API change shows here rather than as a wall of 404/422 "business refusals" in a load run.
No database and no locust needed."""

import importlib.util
import random
import sys
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import APIRoute
from pydantic import BaseModel

from cangliu.services import demo
from cangliu.services.kpis import KPIS
from cangliu.web.api import (
    approvals,
    auth,
    dashboard,
    offline,
    purchasing,
    sales,
    stock,
    transfers,
)

SCENARIO = Path(__file__).resolve().parents[1] / "bench" / "load" / "scenario.py"


def load_scenario() -> Any:
    spec = importlib.util.spec_from_file_location("load_scenario", SCENARIO)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["load_scenario"] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


sc = load_scenario()
ROUTERS = [approvals.router, auth.router, dashboard.router, offline.router, purchasing.router,
           sales.router, stock.router, transfers.router]
# Request model of each call, by the name its statistics go under.
MODELS: dict[str, type[BaseModel]] = {
    "auth/login": auth.LoginIn, "offline/batch": offline.BatchIn, "stock/move": stock.MoveIn,
    "sales-orders": sales.SaleIn, "sales-orders/{n}/confirm": purchasing.ActionIn,
    "sales-orders/{n}/ship": sales.ShipIn, "purchase-orders": purchasing.PurchaseIn,
    "purchase-orders/{n}/submit": purchasing.ActionIn,
    "purchase-orders/{n}/receive": purchasing.ReceiptBody, "transfers": transfers.TransferIn,
    "transfers/{n}/submit": transfers.ActionIn, "transfers/{n}/ship": transfers.ShipBody,
    "transfers/{n}/receive": transfers.ReceiptIn, "approvals/{id}/decision": approvals.DecisionIn,
}
OFFLINE_PAYLOADS: dict[str, type[BaseModel]] = {"stock.move": stock.MoveIn, "stock.receive": stock.ReceiveIn}


def every_call(rng: random.Random) -> list[Any]:
    device = sc.Device()
    calls = [sc.login("clerk", "x"), sc.scan_move(rng), sc.scan_lookup(rng),
             sc.sale_create(rng, "WH-EAST"), sc.sale_action("SO-1", "confirm"),
             sc.sale_action("SO-1", "ship"), sc.sales_list("WH-EAST"),
             sc.purchase_create(rng, large=True), sc.purchase_create(rng, large=False),
             sc.purchase_action("PO-1", "submit"), sc.purchase_receive("PO-1", [(1, "5")]),
             sc.purchase_list(), sc.transfer_create(rng, cross_region=True),
             sc.transfer_create(rng, cross_region=False), sc.transfer_action("TO-1", "submit"),
             sc.transfer_action("TO-1", "ship"), sc.transfer_receive("TO-1", [1, 2], ["3", "4"]),
             sc.transfers_list("ST-SH01"), sc.approvals_pending(), sc.approval_get(7),
             sc.approval_decide(7)]
    calls += [sc.scan_batch(rng, device) for _ in range(20)]
    calls += [sc.dashboard_read(rng) for _ in range(60)]
    return calls


def route_exists(method: str, path: str) -> bool:
    return any(isinstance(r, APIRoute) and method in (r.methods or ()) and r.path_regex.match(path)
               for router in ROUTERS for r in router.routes)


def test_every_call_names_a_route_and_its_body_validates() -> None:
    rng = random.Random(7)
    for call in every_call(rng):
        assert route_exists(call.method, call.path), f"{call.method} {call.path}"
        if call.body is None:
            assert not call.writes, call.name
            continue
        MODELS[call.name].model_validate(call.body)
        if call.name == "offline/batch":
            for op in call.body["operations"]:
                OFFLINE_PAYLOADS[op["kind"]].model_validate(op["payload"])


def test_writes_carry_a_fresh_idempotency_key() -> None:
    call = sc.scan_move(random.Random(1))
    first, second = sc.headers("t", call), sc.headers("t", call)
    assert first["Authorization"] == "Bearer t"
    assert first["Idempotency-Key"] != second["Idempotency-Key"]
    assert "Idempotency-Key" not in sc.headers("t", sc.scan_lookup(random.Random(1)))


def test_device_sequence_runs_on_across_batches() -> None:
    rng, device = random.Random(3), sc.Device()
    seqs = [op["seq"] for _ in range(3) for op in sc.scan_batch(rng, device).body["operations"]]
    assert seqs == list(range(1, len(seqs) + 1))


def test_scenario_skus_are_neither_lot_nor_serial_tracked_in_the_demo() -> None:
    """Receipts and shipments in the scenario send no lots or serials."""
    for code in sc.SKUS:
        n = int(code.removeprefix("SKU-"))
        assert demo.CATEGORIES[n % len(demo.CATEGORIES)][3] == "none", code
    assert {s[0] for s in demo.SITES} >= {*sc.OPENING_SITES, "ST-SH01"}


@pytest.mark.parametrize("kpi", ["inventory_value", "days_of_inventory", "fill_rate"])
def test_trend_kpis_exist(kpi: str) -> None:
    assert kpi in {k.code for k in KPIS}


def test_offline_refusals_are_read_from_the_answer() -> None:
    answer = {"results": [{"status": "applied"}, {"status": "failed", "error": {"title": "Not enough"}},
                          {"status": "waiting"}, {"status": "rejected", "error": None}]}
    assert sc.batch_refusals(answer) == ["Not enough", "failed"]
