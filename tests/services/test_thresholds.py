"""Stock thresholds from the database: demand history in, SS / ROP / max stored with their inputs
and an explanation that adds up; defaults said per series; lead times learned from received
transfers; idempotent daily runs; overrides with a reason until they expire."""

import math
import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from cangliu.core.errors import ValidationFailed
from cangliu.core.planning import z_for
from cangliu.db.models import DemandDay, Location, Sku, StockThreshold
from cangliu.jobs import planning
from cangliu.services import stock, thresholds, transfers
from cangliu.services.stock import Line
from cangliu.services.transfers import ReceiptLineIn, TransferLineIn

TODAY = date(2026, 11, 23)
# Ninety-one days of demand at S1 alternating 4 and 8 (mean 6); a stock-out day reading 0 is
# left out rather than dragging the mean down.
PATTERN = [4.0, 8.0]


def _history(db, sku: str = "SKU-1", site: str = "S1", stockout_day: int = 10) -> None:
    with db.uow() as uow:
        s = uow.session
        sku_id = s.scalar(select(Sku.id).where(Sku.code == sku))
        site_id = s.scalar(select(Location.id).where(Location.code == site))
        for i in range(thresholds.WINDOW_DAYS):
            day = TODAY - timedelta(days=thresholds.WINDOW_DAYS - i)
            out = i == stockout_day
            s.add(DemandDay(sku_id=sku_id, site_id=site_id, day=day, stockout=out,
                            qty=Decimal(0) if out else Decimal(str(PATTERN[i % 2])),
                            lost_qty=None, source="import"))
        uow.commit()


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
    ss_part, rop_part, max_part = row.explanation.split("; ")
    assert ss_part.startswith(f"SS {ss} = ") and _numbers(ss_part)[:2] == [ss, round(row.z, 3)]
    assert _numbers(rop_part)[0] == float(row.reorder_point)
    assert _numbers(max_part)[0] == float(row.max_stock)
    assert "lead time" in (row.note or "") and done["series"] >= 1  # demand was learned


def test_a_series_without_history_takes_the_defaults_and_says_so(db, meta):
    stock.receive(db.uow(), meta, site="WH", lines=[Line("SKU-KG", "5")])
    done = thresholds.recompute(db.uow(), today=TODAY)
    (row,) = _rows(db, "SKU-KG", "WH")
    assert "demand" in (row.note or "") and row.demand == 0.0 and done["with_defaults"] == 1
    # The central warehouse is supplied by purchase: its default lead time.
    assert (row.lead_time, row.lead_time_source) == (7.0, "default")


def test_a_daily_run_replaces_its_own_day_and_keeps_earlier_days(db, meta):
    _history(db)
    for _ in range(2):
        thresholds.recompute(db.uow(), today=TODAY)
    thresholds.recompute(db.uow(), today=TODAY + timedelta(days=1))
    assert [r.computed_on for r in _rows(db)] == [TODAY, TODAY + timedelta(days=1)]


def test_lead_time_is_learned_from_received_transfers(db, meta):
    stock.receive(db.uow(), meta, site="WH", lines=[Line("SKU-1", "100")])
    start = datetime(2026, 11, 1, 8, tzinfo=UTC)
    for i, days in enumerate((1, 2, 3)):
        sent = start + timedelta(days=4 * i)
        number = transfers.create_transfer(db.uow(clock=lambda t=sent: t), meta, source="WH",
                                           dest="S1", lines=[TransferLineIn("SKU-1", "1")])["number"]
        transfers.submit_transfer(db.uow(clock=lambda t=sent: t), meta, number=number)
        transfers.ship_transfer(db.uow(clock=lambda t=sent: t), meta, number=number)
        got = sent + timedelta(days=days)
        transfers.receive_transfer(db.uow(clock=lambda t=got: t), meta, number=number,
                                   lines=[ReceiptLineIn(1, received="1")])
    _history(db)
    thresholds.recompute(db.uow(), today=TODAY)
    (row,) = _rows(db)
    assert (row.lead_time, row.lead_time_sd, row.lead_time_source) == (2.0, 1.0, "learned")


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
