"""Failure analysis: units sold and failed per SKU, lot, production line, production month and
sales region over a period, and repair turnaround times, on hand-counted data.

Period April–June 2026: six units sold (A0 A1 A2 from batch A, B0, T0 T1), three failed
(A0, B0, T0). A1's only ticket is cancelled, A2's was opened before it shipped, B1 shipped in
July, A3 never shipped. T1 shipped twice (from S1, then S2) and counts once, at S1."""

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select, update

from cangliu.core.errors import ValidationFailed
from cangliu.db.models import AssemblyLink, Location, RepairTicket, Serial, WorkOrder
from cangliu.services import masterdata, serial_analytics, serials

APRIL, JUNE = date(2026, 4, 1), date(2026, 6, 30)


def at(month: int, day: int, hour: int = 0) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


def _batch(db, actor, sku: str, count: int, line: str, made: datetime) -> list[int]:
    codes = serials.generate(db.uow(clock=lambda: made), actor, sku=sku, count=count,
                             line=line, today=made.date())["codes"]
    with db.read() as s:
        return list(s.scalars(select(Serial.id).where(Serial.code.in_(codes)).order_by(Serial.id)))


def _ship(uow, site_ids, serial_id: int, when: datetime, site: str) -> None:
    serials.record_event(uow.session, [serial_id], "shipped", at=when, operator="t",
                         site_id=site_ids[site])


def _ticket(uow, serial_id: int, sku_id: int, n: int, status: str, opened: datetime,
            closed: datetime | None = None, site_id: int | None = None) -> None:
    uow.session.add(RepairTicket(
        number=f"RP-{n}", serial_id=serial_id, sku_id=sku_id, site_id=site_id, fault="x",
        status=status, serial_status_before="sold", opened_by="t", opened_at=opened,
        closed_at=closed))


@pytest.fixture
def units(db, network):
    """The units of the module docstring, their shipments and tickets; the site ids."""
    for code in ("PHONE", "TAB"):
        masterdata.create(db.uow(), network, "sku", {"code": code, "name": code.title(),
                                                      "tracking": "serial"})
    a = _batch(db, network, "PHONE", 4, "L1", at(1, 10))
    b = _batch(db, network, "PHONE", 2, "", at(2, 5))
    t = _batch(db, network, "TAB", 2, "L1", at(2, 20))
    with db.uow() as uow:
        s = uow.session
        sites = {loc.code: loc.id for loc in s.scalars(select(Location).where(
            Location.code.in_(["WH", "S1", "S2"])))}
        phone, tab = (s.scalar(select(Serial.sku_id).where(Serial.id == i)) for i in (a[0], t[0]))
        s.execute(update(Serial).where(Serial.id.in_(a[:3])).values(lot="LOT-A"))
        order = WorkOrder(number="WO-1", sku_id=phone, site_id=sites["WH"], line="L2", qty=1,
                          status="completed", created_by="t", created_at=at(3, 1),
                          completed_by="t", completed_at=at(3, 2))
        s.add(order)
        s.flush()
        s.add(AssemblyLink(parent_id=b[0], child_sku_id=tab, child_lot="X", work_order_id=order.id,
                           installed_by="t", installed_at=at(3, 2)))
        serials.record_event(s, a + b + t, "received", at=at(3, 5), operator="t")
        for unit, when, site in ((a[0], at(4, 1), "WH"), (a[1], at(4, 2, 10), "S2"),
                                 (a[2], at(4, 3), "S1"), (b[0], at(4, 5), "S2"),
                                 (b[1], at(7, 1), "WH"), (t[0], at(4, 10), "S1"),
                                 (t[1], at(4, 11), "S1")):
            _ship(uow, sites, unit, when, site)
        serials.record_event(s, [t[1]], "returned", at=at(5, 1), operator="t")
        serials.record_event(s, [t[1]], "received", at=at(5, 2), operator="t")
        _ship(uow, sites, t[1], at(5, 11), "S2")
        for n, (unit, sku, status, opened, closed, site) in enumerate((
                (a[0], phone, "closed", at(4, 10), at(4, 12), sites["WH"]),  # 48 h
                (a[1], phone, "cancelled", at(4, 5), at(4, 6), None),
                (a[2], phone, "closed", at(3, 1), at(3, 1, 6), None),  # before its sale
                (b[0], phone, "closed", at(5, 1), at(5, 2), None),  # 24 h
                (b[1], phone, "closed", at(7, 5), at(7, 6, 12), None),  # 36 h, July
                (a[3], phone, "closed", at(4, 20), at(4, 21), None),  # 24 h, never sold
                (a[3], phone, "closed", at(5, 10), at(5, 20), sites["S2"]),  # 240 h
                (t[0], tab, "in_progress", at(6, 1), None, None),
                (a[3], phone, "open", at(6, 15), None, None))):
            _ticket(uow, unit, sku, n, status, opened, closed, site)
        uow.commit()
    return sites


def _rates(db, by, since=APRIL, until=JUNE, **options):
    with db.read() as s:
        return serial_analytics.failure_rates(s, by, since, until, **options)


def _rows(found):
    return [(r["key"], r["label"], r["sold"], r["failed"], r["rate"]) for r in found["rows"]]


def test_failure_rates_per_dimension_count_each_unit_sold_once(db, units):
    by_sku = _rates(db, "sku")
    assert _rows(by_sku) == [("PHONE", "Phone", 4, 2, 0.5), ("TAB", "Tab", 2, 1, 0.5)]
    assert by_sku["totals"] == {"sold": 6, "failed": 3, "rate": 0.5}
    assert _rows(_rates(db, "lot")) == [("", "PHONE", 1, 1, 1.0), ("", "TAB", 2, 1, 0.5),
                                        ("LOT-A", "PHONE", 3, 1, 0.3333)]
    # B0's batch names no line: its work order's line counts, and its completion month.
    assert _rows(_rates(db, "line")) == [("L2", "", 1, 1, 1.0), ("L1", "", 5, 2, 0.4)]
    assert _rows(_rates(db, "month")) == [("2026-03", "", 1, 1, 1.0), ("2026-02", "", 2, 1, 0.5),
                                          ("2026-01", "", 3, 1, 0.3333)]
    assert _rows(_rates(db, "region")) == [("华东", "", 4, 2, 0.5), ("华南", "", 2, 1, 0.5)]


def test_failure_rates_follow_the_period_sku_and_site_scope(db, units):
    assert _rows(_rates(db, "sku", until=date(2026, 4, 2))) == [("PHONE", "Phone", 2, 1, 0.5)]
    july = _rates(db, "region", since=date(2026, 7, 1), until=date(2026, 7, 31))
    assert _rows(july) == [("华东", "", 1, 1, 1.0)]
    assert _rows(_rates(db, "region", sku="TAB")) == [("华东", "", 2, 1, 0.5)]
    # Only shipments from S2 count: T1's second shipment is its first one there.
    assert _rows(_rates(db, "region", scope=frozenset({units["S2"]}))) == [("华南", "", 3, 1, 0.3333)]
    empty = _rates(db, "sku", since=date(2025, 1, 1), until=date(2025, 12, 31))
    assert empty["rows"] == [] and empty["totals"] == {"sold": 0, "failed": 0, "rate": 0.0}


def test_bad_dimension_dates_or_sku_are_refused_naming_the_field(db, units):
    for by, since, until, sku, field in (("colour", APRIL, JUNE, None, "by"),
                                         ("sku", JUNE, APRIL, None, "until"),
                                         ("sku", APRIL, JUNE, "NOPE", "sku")):
        with pytest.raises(ValidationFailed) as failed:
            _rates(db, by, since, until, sku=sku)
        assert failed.value.errors[0].field == field
    with db.read() as s, pytest.raises(ValidationFailed) as failed:
        serial_analytics.turnaround(s, APRIL, JUNE, "region", now=at(6, 30))
    assert failed.value.errors[0].field == "by"


def test_turnaround_gives_mean_median_and_p90_of_closed_tickets_and_open_ages(db, units):
    with db.read() as s:
        by_sku = serial_analytics.turnaround(s, APRIL, JUNE, "sku", now=at(6, 30))
        by_month = serial_analytics.turnaround(s, APRIL, JUNE, "month", now=at(6, 30))
        scoped = serial_analytics.turnaround(s, APRIL, JUNE, "sku", frozenset({units["S2"]}),
                                             now=at(6, 30))
    # PHONE closed 24, 24, 48 and 240 hours: the cancelled, March and July tickets are out.
    phone = {"key": "PHONE", "label": "Phone", "count": 4, "mean_hours": 84.0, "mean_days": 3.5,
             "median_hours": 36.0, "median_days": 1.5, "p90_hours": 182.4, "p90_days": 7.6}
    assert by_sku["rows"] == [phone]
    assert by_sku["totals"] == {**phone, "key": "", "label": ""}
    assert [(r["key"], r["count"], r["mean_hours"], r["median_hours"], r["p90_hours"])
            for r in by_month["rows"]] == [("2026-04", 2, 36.0, 36.0, 45.6),
                                           ("2026-05", 2, 132.0, 132.0, 218.4)]
    assert [(t["sku"], t["status"], t["age_days"]) for t in by_sku["open"]] == [
        ("TAB", "in_progress", 29.0), ("PHONE", "open", 15.0)]
    assert by_sku["open_count"] == 2
    assert scoped["totals"]["count"] == 1 and scoped["totals"]["p90_hours"] == 240.0
    assert scoped["open"] == [] and scoped["open_count"] == 0
