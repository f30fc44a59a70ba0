"""Stock counts: blind snapshot, counting while work goes on, variances posted as adjustments."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from cangliu.core.documents import IllegalTransition
from cangliu.db.queries import single_view
from cangliu.services import counts, stock
from cangliu.services.counts import CountIn
from cangliu.services.stock import Line
from cangliu.services.verify import verify


class Clock:
    """Count tests need moves strictly between snapshot and count: time advances per call."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 23, 8, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


def _available(db, sku="SKU-1", site="WH"):
    with db.read() as s:
        return {r["site"]: r for r in single_view(s, sku)["sites"]}[site]["available"]


def test_a_blind_count_hides_expectations_and_posts_variances_after_review(db, meta):
    clock = Clock()
    stock.receive(db.uow(clock=clock), meta, site="WH", lines=[Line("SKU-1", "10")])
    stock.receive(db.uow(clock=clock), meta, site="WH", lines=[Line("SKU-KG", "5")])
    started = counts.start_count(db.uow(clock=clock), meta, site="WH")
    number = started["number"]
    assert started["state"] == "counting" and "expected_qty" not in started["lines"][0]
    # Sales go on during the count: 3 units leave after the snapshot, before the shelf is counted.
    stock.issue(db.uow(clock=clock), meta, site="WH", lines=[Line("SKU-1", "3")])
    counts.record_counts(db.uow(clock=clock), meta, number=number,
                         entries=[CountIn("6900000000017", "6"), CountIn("SKU-KG", "5.5")])
    review = counts.submit_count(db.uow(clock=clock), meta, number=number)
    by_sku = {ln["sku"]: ln for ln in review["lines"]}
    assert (by_sku["SKU-1"]["snapshot_qty"], by_sku["SKU-1"]["expected_qty"],
            by_sku["SKU-1"]["variance"]) == ("10", "7", "-1")
    assert by_sku["SKU-KG"]["variance"] == "0.5"
    posted = counts.post_count(db.uow(clock=clock), meta, number=number)
    assert posted["state"] == "posted"
    assert (_available(db), _available(db, "SKU-KG")) == (Decimal(6), Decimal("5.5"))
    assert verify(db.uow()).consistent


def test_found_stock_adds_a_line_and_a_count_cannot_be_posted_twice(db, meta):
    started = counts.start_count(db.uow(), meta, site="WH", blind=False)
    assert started["lines"] == []
    counts.record_counts(db.uow(), meta, number=started["number"],
                         entries=[CountIn("SKU-1", "2", location="WH-A1")])
    counts.submit_count(db.uow(), meta, number=started["number"])
    counts.post_count(db.uow(), meta, number=started["number"])
    with pytest.raises(IllegalTransition):
        counts.post_count(db.uow(), meta, number=started["number"])
    assert _available(db) == Decimal(2)
    assert verify(db.uow()).consistent


def test_counting_a_zone_snapshots_only_its_bins(db, meta, network):
    from cangliu.services import masterdata

    masterdata.create(db.uow(), network, "location", {"code": "WH-Z", "name": "Z", "kind": "zone",
                                                      "parent": "WH"})
    masterdata.create(db.uow(), network, "location", {"code": "WH-Z1", "name": "Z1", "kind": "bin",
                                                      "parent": "WH-Z"})
    stock.receive(db.uow(), meta, site="WH", lines=[Line("SKU-1", "4", bin="WH-Z1")])
    stock.receive(db.uow(), meta, site="WH", lines=[Line("SKU-1", "9")])
    zone = counts.start_count(db.uow(), meta, site="WH", zone="WH-Z", blind=False)
    assert [(ln["location"], ln["snapshot_qty"]) for ln in zone["lines"]] == [("WH-Z1", "4")]
