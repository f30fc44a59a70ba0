"""The planning run from the database: the state of every SKU × site, the built-in rules, stored
suggestions that a second run on the same day leaves as they are, a dry run that reports what a
run would change and changes nothing, acceptance into transfer orders that go through approval
(and draft purchase orders), dismissal with a reason, and the rules' cooldown."""

import json
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from cangliu.core.errors import ValidationFailed
from cangliu.db.models import PlanningSuggestion, TransferOrder
from cangliu.services import planning, purchasing, suggestions, thresholds
from cangliu.services.planning_state import build_state
from cangliu.services.stock import Line, receive

TODAY = date(2026, 11, 23)
LATER = TODAY + timedelta(days=30)


def _levels(db, network, sku: str, site: str, ss: str, rop: str, top: str) -> None:
    thresholds.override(db.uow(), network, sku=sku, site=site, safety_stock=ss, reorder_point=rop,
                        max_stock=top, reason="test levels", expires_on=LATER)


@pytest.fixture
def short_store(db, network, meta):
    """WH holds 100 of SKU-1 (floor 20); S1 holds 2 against SS 10, ROP 15, max 30."""
    receive(db.uow(), meta, site="WH", lines=[Line("SKU-1", "100", unit_cost="3")])
    receive(db.uow(), meta, site="S1", lines=[Line("SKU-1", "2", unit_cost="3")])
    _levels(db, network, "SKU-1", "WH", "20", "20", "200")
    _levels(db, network, "SKU-1", "S1", "10", "15", "30")


def _open(db) -> list[PlanningSuggestion]:
    with db.read() as s:
        return list(s.scalars(select(PlanningSuggestion).where(PlanningSuggestion.state == "open")
                              .order_by(PlanningSuggestion.id)))


def test_the_state_has_every_rule_column_and_the_levels_in_force(db, short_store):
    with db.read() as s:
        state = build_state(s, TODAY)
    s1 = state.filter(sku="SKU-1", site="S1").row(0, named=True)
    assert (s1["available"], s1["safety_stock"], s1["reorder_point"], s1["max_stock"]) == (2, 10, 15, 30)
    assert (s1["site_kind"], s1["region"], s1["category"], s1["pack_size"]) == ("store", "华东", "FOOD", 1)
    assert s1["unit_cost"] == pytest.approx(3.0)


def test_a_run_proposes_explains_and_a_second_run_changes_nothing(db, short_store):
    first = planning.run(db.uow(), today=TODAY)
    (row,) = _open(db)
    # Up to max: 30 − 2 available − 0 on the way, from the central warehouse.
    assert (row.kind, row.rule, row.qty) == ("transfer", "store_replenishment", Decimal(28))
    trigger = json.loads(row.trigger)
    assert trigger["available"] == 2 and trigger["safety_stock"] == 10 and trigger["max_stock"] == 30
    assert first["added"] == 1 and first["by_rule"] == {"store_replenishment": 1}
    again = planning.run(db.uow(), today=TODAY)
    assert (again["added"], again["changed"], again["superseded"], again["unchanged"]) == (0, 0, 0, 1)
    assert [(r.id, r.qty) for r in _open(db)] == [(row.id, row.qty)]


def test_a_dry_run_reports_the_change_and_saves_nothing(db, meta, short_store):
    planning.run(db.uow(), today=TODAY)
    receive(db.uow(), meta, site="S1", lines=[Line("SKU-1", "5", unit_cost="3")])
    dry = planning.run(db.uow(), today=TODAY, dry_run=True)
    assert dry["changed"] == 1 and dry["preview"]["changed"][0]["qty"] == "23"
    assert dry["preview"]["changed"][0]["old_qty"] == "28"
    assert [r.qty for r in _open(db)] == [Decimal(28)]
    planning.run(db.uow(), today=TODAY)
    assert [r.qty for r in _open(db)] == [Decimal(23)]


def test_accepting_creates_an_approved_transfer_and_the_rule_cools_down(db, meta, short_store):
    planning.run(db.uow(), today=TODAY)
    (row,) = _open(db)
    done = suggestions.accept(db.uow(), meta, [row.id])
    (doc,) = done["documents"]
    with db.read() as s:
        order = s.scalars(select(TransferOrder).where(TransferOrder.number == doc["number"])).one()
        # A rule's routine move within a region: the transfer policy approves it at once.
        assert (order.generated_by_rule, order.exception, order.state) == (
            "store_replenishment", False, "approved")
        assert s.get_one(PlanningSuggestion, row.id).document == order.number
    with pytest.raises(ValidationFailed) as refused:
        suggestions.accept(db.uow(), meta, [row.id])
    assert refused.value.errors[0].field == "ids[0]"
    # The approved transfer counts as on its way: neither today nor after the cooldown is the
    # same need proposed again.
    assert planning.run(db.uow(), today=TODAY)["added"] == 0
    assert planning.run(db.uow(), today=TODAY + timedelta(days=2))["added"] == 0


def test_a_dismissed_suggestion_waits_for_its_cooldown(db, network, meta, short_store):
    planning.run(db.uow(), today=TODAY)
    (row,) = _open(db)
    with pytest.raises(ValidationFailed) as missing:
        suggestions.dismiss(db.uow(), network, [row.id], "  ")
    assert missing.value.errors[0].field == "reason"
    suggestions.dismiss(db.uow(), network, [row.id], "门店装修")
    # store_replenishment cools down for a day after a decision.
    assert planning.run(db.uow(), today=TODAY)["added"] == 0


def test_a_need_the_network_cannot_cover_is_bought_from_the_cheapest_supplier(db, network, meta):
    receive(db.uow(), meta, site="S1", lines=[Line("SKU-KG", "1")])
    _levels(db, network, "SKU-KG", "S1", "5", "8", "12")
    planning.run(db.uow(), today=TODAY)
    (row,) = _open(db)
    assert (row.kind, row.from_site_id, row.qty) == ("purchase", None, Decimal(11))
    with pytest.raises(ValidationFailed) as refused:
        suggestions.accept(db.uow(), meta, [row.id])
    assert refused.value.errors[0].field == "ids[0]"
    from cangliu.services import masterdata
    for code, price in (("SUP-A", "9"), ("SUP-B", "7")):
        masterdata.create(db.uow(), network, "supplier", {"code": code, "name": code})
        purchasing.set_supplier_price(db.uow(), network, supplier=code, sku="SKU-KG", price=price)
    (doc,) = suggestions.accept(db.uow(), meta, [row.id])["documents"]
    po = purchasing.get_purchase(db.uow(), doc["number"])
    assert (po["supplier"], po["site"], po["state"]) == ("SUP-B", "S1", "draft")
    assert po["lines"][0]["qty"] == "11"


def test_a_run_says_which_series_planned_on_defaults(db, meta, network):
    receive(db.uow(), meta, site="WH", lines=[Line("SKU-LOT", "5", lot="L1")])
    thresholds.recompute(db.uow(), today=TODAY)
    done = planning.run(db.uow(), today=TODAY)
    assert {"sku": "SKU-LOT", "site": "WH"} in [{k: d[k] for k in ("sku", "site")} for d in done["defaults"]]
    assert all("demand history" in d["note"] for d in done["defaults"])


def test_transfers_move_whole_packs_and_the_rest_is_bought(db, network, short_store):
    from cangliu.services import masterdata
    sku = masterdata.get(db.uow(), "sku", "SKU-1")
    masterdata.update_record(db.uow(), network, "sku", "SKU-1", sku["version"], {"pack_size": "12"})
    planning.run(db.uow(), today=TODAY)
    rows = {r.kind: r.qty for r in _open(db)}
    # 28 wanted: two packs of 12 travel; the 4 short of a pack are bought, rounded up to a pack.
    assert rows == {"transfer": Decimal(24), "purchase": Decimal(12)}
