"""Alert detectors: each rule kind finds the keys in alarm on one small seeded network (shared by
the module's tests, read only), keeps those its condition and sites allow, says which keys it
examined for an event, and ignores events that do not concern it."""

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select, update

from cangliu.core.alerts import KINDS, Check, Rule
from cangliu.core.errors import ValidationFailed
from cangliu.core.permissions import Actor
from cangliu.db.models import (
    ApprovalInstance,
    Location,
    OutboxEvent,
    Sku,
    StockBalance,
    StockThreshold,
)
from cangliu.db.uow import Database, UnitOfWork
from cangliu.services import auth, masterdata, roles, stock, thresholds, transfers
from cangliu.services.alerts.detect import run
from cangliu.services.events import Event
from cangliu.services.postings import Meta
from cangliu.services.stock import Line
from cangliu.services.transfers import TransferLineIn
from tests.conftest import BACKENDS, PASSWORD, fresh_url, seed_network

T0 = datetime(2026, 11, 23, 9, tzinfo=UTC)  # 17:00 in Shanghai
TODAY = T0.date()
SEED = T0 - timedelta(days=6)


@dataclass(frozen=True)
class World:
    db: Database
    sites: dict[str, int]
    adjust_event: Event  # the outbox event of the last adjustment
    overdue: str  # the shipped transfer's number
    approval: int  # the waiting approval's instance id


def _at(db: Database, at: datetime = SEED) -> UnitOfWork:
    """A unit of work whose clock stands at ``at``."""
    return db.uow(clock=lambda: at)


def _masterdata(db: Database, admin: Actor) -> None:
    """SKU-1 weighs 2 kg (1 L); bin WH-A1 takes 100 kg and 1000 L, WH-B1 1000 kg; sm2 manages
    store S2 (the first approver of a transfer there from another region)."""
    masterdata.create(_at(db), admin, "location", {"code": "WH-B1", "name": "B1", "kind": "bin",
                                                   "parent": "WH", "capacity_weight_kg": "1000"})
    with db.uow() as w:
        w.session.execute(update(Sku).where(Sku.code == "SKU-1").values(
            weight_kg=Decimal(2), volume_l=Decimal(1)))
        w.session.execute(update(Location).where(Location.code == "WH-A1").values(
            capacity_weight_kg=Decimal(100), capacity_volume_l=Decimal(1000)))
        w.commit()
    auth.create_user(db.uow(), username="sm2", password=PASSWORD)
    roles.set_assignments(db.uow(), admin, "sm2", [
        {"role": "store_manager", "scope": "sites", "region": "", "sites": ["S2"]}])


def _stock(db: Database, admin: Actor) -> None:
    """WH-A1: 60 × 2 kg in a 100 kg bin; S1: 10 of SKU-1; lots of SKU-LOT at S1 expiring in 5
    days, 90 days, and expired 2 days ago; SKU-KG sold out at S2."""
    meta = Meta(admin, reason="seed", occurred_at=SEED)
    stock.receive(_at(db), meta, site="WH", lines=[Line("SKU-1", "60", bin="WH-A1", unit_cost="10")])
    stock.receive(_at(db), meta, site="S1", lines=[Line("SKU-1", "10", unit_cost="10")])
    for lot, days, qty in (("L-NEAR", 5, "8"), ("L-FAR", 90, "4"), ("L-OLD", -2, "3")):
        stock.receive(_at(db), meta, site="S1", lines=[Line("SKU-LOT", qty, lot=lot, unit_cost="2")],
                      expiry_date=TODAY + timedelta(days=days))
    stock.receive(_at(db), meta, site="S2", lines=[Line("SKU-KG", "2", unit_cost="3")])
    stock.issue(_at(db), meta, site="S2", lines=[Line("SKU-KG", "2")])


def _levels(db: Database, admin: Actor, sites: dict[str, int]) -> None:
    """Overrides: SKU-1 low at S1 (10 < 20) and over at WH (55 > 50); SKU-KG out at S1;
    SKU-LOT at S1 (15) above its safety stock, below its reorder point. A computed row gives
    SKU-1 at S1 a daily demand of 2 (5 days of cover)."""
    for sku, site, levels in (("SKU-1", "S1", ("20", "30", "40")), ("SKU-1", "WH", ("5", "10", "50")),
                              ("SKU-KG", "S1", ("1", "2", "3")),
                              ("SKU-LOT", "S1", ("10", "20", "100"))):
        thresholds.override(_at(db), admin, sku=sku, site=site, safety_stock=levels[0],
                            reorder_point=levels[1], max_stock=levels[2], reason="test",
                            expires_on=TODAY + timedelta(days=30))
    with db.uow() as w:
        sku = w.session.scalar(select(Sku.id).where(Sku.code == "SKU-1"))
        w.session.add(StockThreshold(
            sku_id=sku, site_id=sites["S1"], computed_on=TODAY - timedelta(days=1), demand=2.0,
            demand_sd=1.0, lead_time=2.0, lead_time_sd=0.5, lead_time_source="default", z=1.65,
            abc="A", safety_stock=Decimal(3), reorder_point=Decimal(7), max_stock=Decimal(20),
            explanation="test"))
        w.commit()


def _documents(db: Database, admin: Actor) -> tuple[str, int]:
    """A transfer WH → S1 shipped, due two days before T0; one WH → S2 (across regions)
    waiting for its first approval since 30 hours before T0."""
    number = transfers.create_transfer(_at(db), Meta(admin), source="WH", dest="S1",
                                       lines=[TransferLineIn("SKU-1", "5")],
                                       expected_arrival=TODAY - timedelta(days=2))["number"]
    transfers.submit_transfer(_at(db), Meta(admin), number=number)
    transfers.ship_transfer(_at(db), Meta(admin, occurred_at=SEED), number=number)
    waiting = transfers.create_transfer(_at(db), Meta(admin), source="WH", dest="S2",
                                        lines=[TransferLineIn("SKU-1", "1")])["number"]
    transfers.submit_transfer(_at(db, T0 - timedelta(hours=30)), Meta(admin), number=waiting)
    with db.read() as s:
        instance = s.scalar(select(ApprovalInstance.id).where(
            ApprovalInstance.document_number == waiting, ApprovalInstance.state == "pending"))
    assert instance is not None
    return str(number), instance


def _adjustments(db: Database, admin: Actor) -> Event:
    """Three adjustments at S2 by admin in the hour before T0, one worth 1500."""
    for minutes, qty in ((50, "1"), (40, "1"), (30, "150")):
        at = T0 - timedelta(minutes=minutes)
        stock.adjust(_at(db, at), Meta(admin, reason="count", occurred_at=at),
                     site="S2", gain=True, lines=[Line("SKU-1", qty)])
    with db.read() as s:
        row = s.scalars(select(OutboxEvent).where(OutboxEvent.kind == "stock.changed")
                        .order_by(OutboxEvent.id.desc())).first()
        assert row is not None
        return Event(row.id, row.at, row.kind, json.loads(row.payload))


@pytest.fixture(scope="module", params=BACKENDS)
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
          ) -> Iterator[World]:
    db = Database(fresh_url(request.param, request, tmp_path_factory.mktemp("detect")))
    admin = auth.create_user(db.uow(), username="admin", password=PASSWORD, is_admin=True)
    seed_network(db, admin)
    _masterdata(db, admin)
    with db.read() as s:
        sites = dict(s.execute(select(Location.code, Location.id).where(
            Location.kind == "site")).tuples().all())
    _stock(db, admin)
    _levels(db, admin, sites)
    overdue, approval = _documents(db, admin)
    event = _adjustments(db, admin)
    yield World(db, sites, event, overdue, approval)
    db.dispose()


def check(world: World, kind: str, *, params: dict[str, Any] | None = None, condition: str = "",
          sites: tuple[str, ...] | None = None, event: Event | None = None,
          now: datetime = T0) -> Check | None:
    rule = Rule(1, "R1", kind, params or {}, condition,
                None if sites is None else frozenset(world.sites[x] for x in sites))
    with world.db.read() as s:
        return run(s, rule, now, event=event)


def keys(found: Check | None) -> set[str]:
    assert found is not None
    return {f.key for f in found.findings}



LOT = "lot:SKU-LOT@S1:"
# kind, params, condition, sites, keys in alarm ("{transfer}" / "{approval}": the seeded ones)
SCANS = [
    ("low_stock", {}, "", None, {"SKU-1@S1", "SKU-KG@S1"}),
    ("low_stock", {"level": "reorder_point"}, "", None, {"SKU-1@S1", "SKU-KG@S1", "SKU-LOT@S1"}),
    ("low_stock", {}, "days_of_cover < 10", None, {"SKU-1@S1"}),
    ("low_stock", {}, "", ("WH", "S2"), set()),
    ("stock_out", {}, "", None, {"SKU-KG@S1", "SKU-KG@S2"}),
    ("stock_out", {}, "region = '华南'", None, {"SKU-KG@S2"}),
    ("over_stock", {}, "", None, {"SKU-1@WH"}),
    ("over_stock", {"days_of_cover": 3}, "", None, {"SKU-1@WH", "SKU-1@S1"}),
    ("over_stock", {}, "", ("S1",), set()),
    ("near_expiry", {}, "", None, {LOT + "L-NEAR"}),
    ("near_expiry", {"days": 100}, "", None, {LOT + "L-NEAR", LOT + "L-FAR"}),
    ("near_expiry", {"days": 100}, "value > 10 AND days_left < 60", None, {LOT + "L-NEAR"}),
    ("expired", {}, "", None, {LOT + "L-OLD"}),
    ("expired", {}, "", ("WH",), set()),
    ("transfer_overdue", {}, "", None, {"{transfer}"}),
    ("transfer_overdue", {"grace_hours": 48}, "", None, set()),
    ("transfer_overdue", {}, "", ("WH",), {"{transfer}"}),  # either end
    ("transfer_overdue", {}, "", ("S2",), set()),
    ("transfer_overdue", {}, "hours_late > 40", None, set()),
    ("approval_overdue", {}, "", None, {"{approval}"}),
    ("approval_overdue", {"hours": 48}, "", None, set()),
    ("approval_overdue", {}, "step = 'store_manager' AND site = 'S2'", None, {"{approval}"}),
    ("approval_overdue", {}, "", ("S1",), set()),
    ("bin_over_capacity", {}, "", None, {"bin:WH-A1:weight"}),
    ("bin_over_capacity", {"percent": 5}, "", None, {"bin:WH-A1:weight", "bin:WH-A1:volume"}),
    ("bin_over_capacity", {"percent": 150}, "", None, set()),
    ("bin_over_capacity", {}, "", ("S1",), set()),
    ("frequent_adjustments", {}, "", None, set()),
    ("frequent_adjustments", {"count": 2}, "", None, {"user:admin"}),
    ("frequent_adjustments", {"count": 1, "hours": 0.75}, "", None, {"user:admin"}),
    ("frequent_adjustments", {"count": 1, "hours": 0.5}, "", None, set()),
    ("frequent_adjustments", {"count": 2}, "", ("S1",), set()),
    ("ledger_inconsistency", {}, "", None, set()),
]


def _expected(world: World, wanted: set[str]) -> set[str]:
    return {k.format(transfer=f"transfer:{world.overdue}", approval=f"approval:{world.approval}")
            for k in wanted}


@pytest.mark.parametrize(("kind", "params", "condition", "sites", "wanted"), SCANS)
def test_a_scan_finds_the_keys_in_alarm_within_the_rules_condition_and_sites(
        world, kind, params, condition, sites, wanted):
    found = check(world, kind, params=params, condition=condition, sites=sites)
    assert found is not None and found.checked is None
    assert keys(found) == _expected(world, wanted)


def test_every_finding_names_its_subject_in_a_filled_title_with_a_link_and_its_columns(world):
    seen = {}
    for kind, params, _c, _s, _w in SCANS:
        for f in (check(world, kind, params=params) or Check([])).findings:
            seen[kind, f.key] = (kind, f)
    assert len({kind for kind, _f in seen.values()}) == 9
    for kind, f in seen.values():
        assert "{" not in f.title.format(**f.params), f.key
        assert set(f.values) == set(KINDS[kind].columns), f.key
        assert f.link.startswith("/"), f.key
        assert (f.site_id is None) == f.key.startswith("user:"), f.key
    low = seen["low_stock", "SKU-1@S1"][1]
    assert low.title.format(**low.params) == "Low stock: SKU-1 at S1 (10 below 20)"
    assert (low.sku_id, low.site_id, low.values["days_of_cover"]) == (
        1, world.sites["S1"], 5.0)
    over = seen["over_stock", "SKU-1@S1"][1]  # by days of cover: 10 / 2 a day
    assert over.title.format(**over.params) == (
        "Over stock: SKU-1 at S1 (5 days of cover, more than 3)")
    assert seen["bin_over_capacity", "bin:WH-A1:weight"][1].values["weight_pct"] == 110.0
    late = seen["transfer_overdue", f"transfer:{world.overdue}"][1]
    assert late.values["hours_late"] == 33.0  # due at the end of its day (UTC)


def _stock_event(world: World, *pairs: tuple[str, str], postings: list[dict[str, Any]] | None = None
                 ) -> Event:
    return Event(99, T0, "stock.changed", {
        "lines": [{"sku": a, "site": b, "site_id": world.sites[b]} for a, b in pairs],
        "postings": postings or []})


def test_a_stock_event_examines_only_the_pairs_it_touched(world):
    found = check(world, "low_stock", event=_stock_event(world, ("SKU-1", "S1"), ("SKU-1", "WH")))
    assert found is not None
    assert (keys(found), found.checked) == ({"SKU-1@S1"}, {"SKU-1@S1", "SKU-1@WH"})
    # the adjustments at S2 examined SKU-1 there, in alarm no more: its open alert would resolve
    cleared = check(world, "over_stock", event=world.adjust_event)
    assert cleared is not None and (keys(cleared), cleared.checked) == (set(), {"SKU-1@S2"})
    out = check(world, "stock_out", event=_stock_event(world, ("SKU-KG", "S2")))
    assert out is not None and keys(out) == {"SKU-KG@S2"}


def test_a_stock_event_outside_the_rules_sites_does_not_concern_it(world):
    assert check(world, "low_stock", sites=("WH",), event=_stock_event(world, ("SKU-1", "S1"))) is None
    touching_wh = _stock_event(world, ("SKU-1", "WH"))
    assert check(world, "bin_over_capacity", sites=("S1",), event=touching_wh) is None


def test_a_stock_event_examines_every_capacity_of_the_touched_sites_bins(world):
    found = check(world, "bin_over_capacity", event=_stock_event(world, ("SKU-KG", "WH")))
    assert found is not None and keys(found) == {"bin:WH-A1:weight"}
    assert found.checked == {"bin:WH-A1:weight", "bin:WH-A1:volume", "bin:WH-B1:weight"}
    elsewhere = check(world, "bin_over_capacity", event=_stock_event(world, ("SKU-1", "S1")))
    assert elsewhere is not None and (keys(elsewhere), elsewhere.checked) == (set(), set())


OTHER = Event(98, T0, "record.changed", {"entity": "sku", "key": "SKU-1", "action": "update"})


@pytest.mark.parametrize("kind", ["near_expiry", "expired", "transfer_overdue",
                                  "approval_overdue", "ledger_inconsistency"])
def test_a_scan_kind_ignores_every_event(world, kind):
    assert check(world, kind, event=world.adjust_event) is None


@pytest.mark.parametrize("kind", ["low_stock", "stock_out", "over_stock", "bin_over_capacity",
                                  "large_adjustment", "frequent_adjustments", "off_hours"])
def test_an_event_that_is_not_a_stock_change_concerns_no_kind(world, kind):
    assert check(world, kind, event=OTHER) is None


def test_postings_judged_once_are_not_scanned(world):
    assert check(world, "large_adjustment") is None
    assert check(world, "off_hours") is None


def test_a_large_adjustment_is_found_from_the_postings_value(world):
    ref = world.adjust_event.payload["postings"][0]["ref"]
    found = check(world, "large_adjustment", event=world.adjust_event)
    assert found is not None and keys(found) == {f"posting:{ref}"}
    f = found.findings[0]
    assert f.title.format(**f.params) == f"Adjustment {ref} by admin of SKU-1 at S2 is worth 1500"
    assert (f.values["qty"], f.values["hour"]) == (150.0, 16.0)  # 08:30 UTC is 16:30 in Shanghai
    for params, condition, sites in (({"value": "1500"}, "", None), ({}, "qty < 100", None),
                                     ({}, "", ("S1",))):
        quiet = check(world, "large_adjustment", params=params, condition=condition,
                      sites=sites, event=world.adjust_event)
        assert quiet is not None and keys(quiet) == set()
    receipt = {**world.adjust_event.payload["postings"][0], "operation": "receive"}
    assert check(world, "large_adjustment", event=_stock_event(
        world, ("SKU-1", "S2"), postings=[receipt])) is None


@pytest.mark.parametrize(("params", "condition", "alarm"), [
    ({}, "", False),  # 16:30 in Shanghai is within 08:00–20:00
    ({"start": "08:00", "end": "16:00"}, "", True),
    ({"timezone": "UTC", "start": "09:00", "end": "18:00"}, "", True),  # 08:30 UTC
    ({"start": "22:00", "end": "06:00"}, "", True),  # a night shift
    ({"start": "16:00", "end": "02:00"}, "", False),
    ({"start": "08:00", "end": "12:00"}, "hour >= 17", False),
])
def test_a_posting_outside_working_hours_in_the_rules_time_zone_is_found(
        world, params, condition, alarm):
    ref = world.adjust_event.payload["postings"][0]["ref"]
    found = check(world, "off_hours", params=params, condition=condition, event=world.adjust_event)
    assert found is not None and found.checked == {f"posting:{ref}"}
    assert keys(found) == ({f"posting:{ref}"} if alarm else set())


def test_frequent_adjustments_on_an_event_count_its_users_adjustments(world):
    found = check(world, "frequent_adjustments", params={"count": 2}, event=world.adjust_event)
    assert found is not None and (keys(found), found.checked) == ({"user:admin"}, {"user:admin"})
    f = found.findings[0]
    assert f.title.format(**f.params) == "admin made 3 adjustments in 24 hours"


def test_a_balance_that_drifted_from_the_ledger_is_one_finding_counting_the_places(world):
    with world.db.uow() as uow:
        row = uow.session.scalars(select(StockBalance).where(
            StockBalance.site_id == world.sites["S1"], StockBalance.qty > 0)
            .order_by(StockBalance.id)).first()
        assert row is not None
        uow.session.execute(update(StockBalance).where(StockBalance.id == row.id).values(
            qty=row.qty + 1))
        uow.commit()
    try:
        found = check(world, "ledger_inconsistency")
        assert found is not None and keys(found) == {"ledger"}
        assert found.findings[0].params == {"differences": "1"}
        assert keys(check(world, "ledger_inconsistency", sites=("S2",))) == set()
        assert keys(check(world, "ledger_inconsistency", condition="differences > 1")) == set()
    finally:
        with world.db.uow() as uow:
            uow.session.execute(update(StockBalance).where(StockBalance.id == row.id).values(
                qty=row.qty))
            uow.commit()


def test_a_condition_over_an_unknown_column_is_refused(world):
    with pytest.raises(ValidationFailed):
        check(world, "low_stock", condition="weight > 1")
