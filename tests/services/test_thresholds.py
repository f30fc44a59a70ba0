"""Stock thresholds from the database: demand history in, SS / ROP / max stored with their inputs
and an explanation that adds up; defaults said per series; lead times learned per route from
received purchases and transfers; backtest accuracy, lifecycle and XYZ kept per series;
promotions and the planning settings applied; idempotent daily runs; overrides with a reason
until they expire."""

import math
import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from cangliu.core.errors import ValidationFailed
from cangliu.core.planning import z_for
from cangliu.db.models import ApprovalInstance, DemandDay, Location, Sku, StockThreshold
from cangliu.jobs import planning
from cangliu.services import (
    approvals,
    auth,
    masterdata,
    planning_settings,
    promotions,
    purchasing,
    roles,
    stock,
    thresholds,
    transfers,
)
from cangliu.services.purchasing import PurchaseLineIn, ReceiptIn
from cangliu.services.stock import Line
from cangliu.services.transfers import ReceiptLineIn, TransferLineIn
from tests.conftest import PASSWORD

TODAY = date(2026, 11, 23)
# Ninety-one days of demand at S1 alternating 4 and 8 (mean 6); a stock-out day reading 0 is
# left out rather than dragging the mean down.
PATTERN = [4.0, 8.0]


def _history(db, sku: str = "SKU-1", site: str = "S1", stockout_day: int = 10,
             days: int = thresholds.WINDOW_DAYS) -> None:
    """``days`` days of PATTERN up to yesterday, one of them a stock-out."""
    _demand(db, [0.0 if i == stockout_day else PATTERN[i % 2] for i in range(days)], sku, site,
            stockouts={stockout_day})


def _demand(db, quantities: list[float], sku: str = "SKU-1", site: str = "S1",
            stockouts: frozenset[int] | set[int] = frozenset(), end: date = TODAY) -> None:
    """One demand day per quantity, the last on the day before ``end``."""
    with db.uow() as uow:
        s = uow.session
        sku_id = s.scalar(select(Sku.id).where(Sku.code == sku))
        site_id = s.scalar(select(Location.id).where(Location.code == site))
        for i, qty in enumerate(quantities):
            s.add(DemandDay(sku_id=sku_id, site_id=site_id, stockout=i in stockouts,
                            day=end - timedelta(days=len(quantities) - i), qty=Decimal(str(qty)),
                            lost_qty=None, source="import"))
        uow.commit()


def _second_store(db, meta) -> None:
    """S3, a store of S1's region with stock: a transfer from it to S1 approves itself."""
    masterdata.create(db.uow(), meta.actor, "site", {"code": "S3", "name": "门店三",
                                                     "site_kind": "store", "region": "华东"})
    stock.receive(db.uow(), meta, site="S3", lines=[Line("SKU-1", "10")])


def _transfer(db, meta, source: str, dest: str, sent: datetime, days: float) -> None:
    number = transfers.create_transfer(db.uow(clock=lambda: sent), meta, source=source, dest=dest,
                                       lines=[TransferLineIn("SKU-1", "1")])["number"]
    transfers.submit_transfer(db.uow(clock=lambda: sent), meta, number=number)
    transfers.ship_transfer(db.uow(clock=lambda: sent), meta, number=number)
    got = sent + timedelta(days=days)
    transfers.receive_transfer(db.uow(clock=lambda: got), meta, number=number,
                               lines=[ReceiptLineIn(1, received="1")])


def _rows(db, sku: str = "SKU-1", site: str = "S1") -> list[StockThreshold]:
    with db.read() as s:
        return list(s.scalars(select(StockThreshold).join(Sku, Sku.id == StockThreshold.sku_id)
                              .join(Location, Location.id == StockThreshold.site_id)
                              .where(Sku.code == sku, Location.code == site)
                              .order_by(StockThreshold.computed_on)))


def _numbers(text: str) -> list[float]:
    return [float(x) for x in re.findall(r"\d+(?:\.\d+)?", text)]


def test_thresholds_follow_the_formula_and_the_explanation_adds_up(db, meta):
    stock.receive(db.uow(), meta, site="S1", lines=[Line("SKU-1", "30", unit_cost="10")])
    _history(db)
    done = thresholds.recompute(db.uow(), today=TODAY)
    (row,) = _rows(db)
    # Alternating 4 and 8 is smooth demand: its forecast (AutoETS) is about the mean, 6 a day,
    # and its σ the in-sample error; the stock-out day is left out, not read as 0.
    assert (row.pattern, row.model) == ("smooth", "AutoETS")
    assert row.demand == pytest.approx(6.0, rel=0.01)
    mean, sd = row.demand, row.demand_sd
    # A store without received transfers takes the transfer default; the only SKU is class A.
    assert (row.lead_time, row.lead_time_sd, row.lead_time_source) == (2.0, 0.5, "default")
    assert row.abc == "A" and row.z == pytest.approx(z_for(0.98))
    ss = math.ceil(row.z * math.sqrt(2 * sd**2 + mean**2 * 0.5**2))
    assert row.safety_stock == ss
    assert row.reorder_point == math.ceil(mean * 2 + ss)
    assert row.max_stock == math.ceil(float(row.reorder_point) + mean * 7)
    ss_part, rop_part, max_part, lead_part = row.explanation.split("; ")
    assert ss_part.startswith(f"SS {ss} = ") and _numbers(ss_part)[:2] == [ss, round(row.z, 3)]
    assert _numbers(rop_part)[0] == float(row.reorder_point)
    assert _numbers(max_part)[0] == float(row.max_stock)
    # S1 is a store: supplied by transfer from the central warehouse of its region.
    assert row.route == "WH→S1"
    assert lead_part == "L 2 ± 0.5 days by default for WH→S1 (transfers into S1: 0 of 3 needed)"
    assert "lead time" in (row.note or "") and done["series"] >= 1  # demand was learned


def test_a_series_without_history_takes_the_defaults_and_says_so(db, meta):
    stock.receive(db.uow(), meta, site="WH", lines=[Line("SKU-KG", "5")])
    done = thresholds.recompute(db.uow(), today=TODAY)
    (row,) = _rows(db, "SKU-KG", "WH")
    assert "demand" in (row.note or "") and row.demand == 0.0 and done["with_defaults"] == 1
    # The central warehouse is supplied by purchase: its default lead time.
    assert (row.lead_time, row.lead_time_source, row.route) == (7.0, "default", "supplier→WH")
    assert (row.mase, row.bias, row.lifecycle) == (None, None, None)


def test_a_daily_run_replaces_its_own_day_and_keeps_earlier_days(db, meta):
    _history(db)
    for _ in range(2):
        thresholds.recompute(db.uow(), today=TODAY)
    thresholds.recompute(db.uow(), today=TODAY + timedelta(days=1))
    assert [r.computed_on for r in _rows(db)] == [TODAY, TODAY + timedelta(days=1)]


def test_lead_time_is_learned_from_the_transfers_of_the_route_that_supplies_the_store(db, meta):
    stock.receive(db.uow(), meta, site="WH", lines=[Line("SKU-1", "100")])
    _second_store(db, meta)
    start = datetime(2026, 11, 1, 8, tzinfo=UTC)
    for i, days in enumerate((1, 2, 3)):
        _transfer(db, meta, "WH", "S1", start + timedelta(days=4 * i), days)
    _transfer(db, meta, "S3", "S1", start, 9)  # another route into S1: not S1's supplier
    _history(db)
    thresholds.recompute(db.uow(), today=TODAY)
    (row,) = _rows(db)
    assert (row.lead_time, row.lead_time_sd, row.lead_time_source) == (2.0, 1.0, "route")
    assert row.route == "WH→S1" and "lead time" not in (row.note or "")
    assert row.explanation.endswith("; L 2 ± 1 days from 3 transfers on WH→S1")


def test_a_route_with_too_few_transfers_takes_the_sites_pooled_history(db, meta):
    stock.receive(db.uow(), meta, site="WH", lines=[Line("SKU-1", "100")])
    _second_store(db, meta)
    start = datetime(2026, 11, 1, 8, tzinfo=UTC)
    _transfer(db, meta, "WH", "S1", start, 1)
    _transfer(db, meta, "WH", "S1", start + timedelta(days=3), 3)
    _transfer(db, meta, "S3", "S1", start + timedelta(days=6), 5)
    _history(db)
    thresholds.recompute(db.uow(), today=TODAY)
    (row,) = _rows(db)
    # WH sent S1 most, but only twice: the three transfers into S1 give L 3, σL 2.
    assert (row.lead_time, row.lead_time_sd, row.lead_time_source) == (3.0, 2.0, "site")
    assert row.explanation.endswith("; L 3 ± 2 days from 3 transfers into S1 (2 on WH→S1)")


def _purchase(db, meta, ordered: datetime, received: datetime, qty: str = "10",
              got: str | None = None, approvers: tuple = ()) -> None:
    at = ordered
    po = purchasing.create_purchase(db.uow(clock=lambda: at), meta, supplier="SUP-1", site="WH",
                                    lines=[PurchaseLineIn("SKU-1", qty)])
    purchasing.submit_purchase(db.uow(clock=lambda: at), meta, number=po["number"])
    for i, who in enumerate(approvers):  # one a day
        with db.read() as s:
            instance = s.scalar(select(ApprovalInstance.id).where(
                ApprovalInstance.document_number == po["number"]))
        decided = ordered + timedelta(days=i + 1)
        approvals.decide(db.uow(clock=lambda t=decided: t), who, instance, "approve")
    purchasing.receive_purchase(db.uow(clock=lambda: received), meta, number=po["number"],
                                lines=[ReceiptIn(1, got or qty)])


def test_the_central_warehouse_learns_its_lead_time_from_purchases_received_in_full(
        db, meta, network):
    masterdata.create(db.uow(), network, "supplier", {"code": "SUP-1", "name": "供应商一"})
    purchasing.set_supplier_price(db.uow(), network, supplier="SUP-1", sku="SKU-1", price="2")
    approvers = []
    for username, role in (("pm", "purchasing_manager"), ("fin", "finance")):
        user = auth.create_user(db.uow(), username=username, password=PASSWORD)
        roles.set_assignments(db.uow(), network, username, [{"role": role, "scope": "all"}])
        approvers.append(auth.actor_for_user(db.uow(), user.user_id))
    start = datetime(2026, 10, 1, 9, tzinfo=UTC)
    _purchase(db, meta, start, start + timedelta(days=7))
    _purchase(db, meta, start + timedelta(days=10), start + timedelta(days=19))
    # A large order approved two days after it was placed: its lead time runs from approval.
    _purchase(db, meta, start + timedelta(days=20), start + timedelta(days=27), qty="50000",
              approvers=tuple(approvers))
    # Received in part only: it says nothing yet about its lead time.
    _purchase(db, meta, start + timedelta(days=30), start + timedelta(days=31), got="4")
    thresholds.recompute(db.uow(), today=TODAY)
    (row,) = _rows(db, "SKU-1", "WH")
    assert (row.lead_time, row.lead_time_sd, row.lead_time_source) == (7.0, 2.0, "route")
    assert row.route == "supplier→WH"
    assert row.explanation.endswith("; L 7 ± 2 days from 3 purchases on supplier→WH")


def test_a_long_series_is_backtested_and_a_short_one_says_why_not(db, meta):
    _history(db)
    _history(db, site="S2", days=30)
    done = thresholds.recompute(db.uow(), today=TODAY)
    (long,), (short,) = _rows(db), _rows(db, "SKU-1", "S2")
    # Alternating 4 and 8 against a seasonal-naive scale of 4: the forecast of about 6 is off by
    # about 2 a day, MASE about 0.5, and neither over nor under on average.
    assert long.mase == pytest.approx(0.5, abs=0.05) and abs(long.bias) < 0.05
    assert "backtest" not in (long.note or "") and done["backtested"] == 1
    assert (short.mase, short.bias) == (None, None)
    assert "too short to backtest: 29 observed days of 56" in short.note
    assert (long.xyz, short.xyz) == ("X", "X")


def test_lifecycle_looks_back_beyond_the_window(db, meta):
    # Sold since last spring; 2 a day until eight weeks ago, 4 a day since: growing.
    _demand(db, [3.0], end=TODAY - timedelta(days=200))
    _demand(db, [2.0] * 35 + [4.0] * 56)
    _demand(db, [2.0] * 35 + [4.0] * 56, site="S2")  # listed with the window: new
    thresholds.recompute(db.uow(), today=TODAY)
    (old,), (new,) = _rows(db), _rows(db, "SKU-1", "S2")
    assert (old.lifecycle, new.lifecycle) == ("growth", "new")
    # The growth stage raises the forecast by its factor (1.1) over the new one's (1.0).
    assert old.demand == pytest.approx(new.demand * 1.1, rel=0.01)


def test_an_active_promotion_raises_the_forecast_of_its_sku_and_site(db, meta, network):
    _history(db)
    _history(db, site="S2")
    with db.read() as s:
        before = {r["site"]: r["d"] for r in thresholds.compute(s, TODAY).iter_rows(named=True)}
    promotions.create(db.uow(), network, name="双十二", starts_on=TODAY,
                      ends_on=TODAY + timedelta(days=13), uplift_pct="50", skus=["SKU-1"],
                      sites=["S1"])
    with db.read() as s:
        after = {r["site"]: r["d"] for r in thresholds.compute(s, TODAY).iter_rows(named=True)}
        s1 = s.scalar(select(Location.id).where(Location.code == "S1"))
    # Half of the 28 forecast days at +50 %: the mean rises by a quarter; S2 is not promoted.
    assert after[s1] == pytest.approx(before[s1] * 1.25, rel=0.01)
    assert [after[k] for k in after if k != s1] == [before[k] for k in before if k != s1]


def test_the_saved_planning_settings_set_service_levels_review_and_default_lead_times(
        db, meta, network):
    stock.receive(db.uow(), meta, site="S1", lines=[Line("SKU-1", "30", unit_cost="10")])
    _history(db)  # the only SKU with a value: class A
    planning_settings.save(db.uow(), network, {"service_level_a": "99", "review_days": "14",
                                               "transfer_lead_days": "3",
                                               "transfer_lead_sd": "1"}, version=None)
    thresholds.recompute(db.uow(), today=TODAY)
    (row,) = _rows(db)
    assert row.z == pytest.approx(z_for(0.99))
    assert (row.lead_time, row.lead_time_sd, row.lead_time_source) == (3.0, 1.0, "default")
    assert row.max_stock == math.ceil(float(row.reorder_point) + row.demand * 14)
    assert " × 14; L 3 ± 1 days by default for WH→S1 " in row.explanation
    # Explicit options still win over the saved ones.
    with db.read() as s:
        (given,) = thresholds.compute(s, TODAY, review_days=7).iter_rows(named=True)
    assert given["explanation"].split("; ")[2].endswith(" × 7")


def test_an_override_applies_until_it_expires(db, meta, network):
    _history(db)
    thresholds.recompute(db.uow(), today=TODAY)
    computed = _rows(db)[0]
    with pytest.raises(ValidationFailed) as bad:
        thresholds.override(db.uow(clock=lambda: datetime(2026, 11, 23, tzinfo=UTC)), network,
                            sku="SKU-1", site="S1", safety_stock="10", reorder_point="5",
                            max_stock="50", reason="promo", expires_on=TODAY)
    assert bad.value.errors[0].field == "reorder_point"
    thresholds.override(db.uow(clock=lambda: datetime(2026, 11, 23, tzinfo=UTC)), network,
                        sku="SKU-1", site="S1", safety_stock="10", reorder_point="20",
                        max_stock="50", reason="国庆备货", expires_on=TODAY + timedelta(days=3))
    with db.read() as s:
        key = (computed.sku_id, computed.site_id)
        now = thresholds.current(s, TODAY)[key]
        later = thresholds.current(s, TODAY + timedelta(days=4))[key]
    assert (now.reorder_point, now.overridden, now.explanation) == (20, True, "国庆备货")
    assert (later.reorder_point, later.overridden) == (computed.reorder_point, False)


def test_the_planning_job_rebuilds_demand_then_thresholds(db, meta):
    stock.receive(db.uow(clock=lambda: datetime(2026, 10, 31, tzinfo=UTC)), meta, site="S1",
                  lines=[Line("SKU-1", "50", unit_cost="3")])
    for day in range(1, 6):
        at = datetime(2026, 11, day, 12, tzinfo=UTC)
        stock.issue(db.uow(clock=lambda t=at: t), meta, site="S1", lines=[Line("SKU-1", "2")])
    done = planning.run(db, clock=lambda: datetime(2026, 11, 23, 2, tzinfo=UTC))
    assert done["thresholds"]["series"] == 1
    (row,) = _rows(db)
    with db.read() as s:
        days = s.scalar(select(func.count()).select_from(DemandDay).where(DemandDay.qty > 0))
        stockouts = s.scalar(select(func.count()).select_from(DemandDay).where(DemandDay.stockout))
    # 2 a day on Nov 1–5, then nothing until Nov 22: intermittent, forecast by Croston SBA.
    assert (days, stockouts) == (5, 0) and (row.pattern, row.model) == ("intermittent", "CrostonSBA")
    assert row.demand > 0
