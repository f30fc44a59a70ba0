"""Counts, scrap and customer returns under approval: below their policy's threshold they post at
once; above it nothing moves until the approval ends, approval posts them under their number and
rejection leaves the stock alone."""

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from cangliu.core.errors import InsufficientStock, NotFound
from cangliu.core.ledger import StockStatus
from cangliu.db.models import ApprovalInstance, StockMove
from cangliu.db.queries import single_view
from cangliu.services import approvals, counts, masterdata, sales, stock
from cangliu.services.counts import CountIn
from cangliu.services.postings import Meta
from cangliu.services.sales import LineQty, SalesLineIn
from cangliu.services.scrap import get_scrap, list_scraps, scrap
from cangliu.services.stock import Line
from cangliu.services.verify import verify
from tests.services.test_approvals import people  # noqa: F401


def _moves(db, document_number: str) -> int:
    with db.read() as s:
        return int(s.scalar(select(func.count()).select_from(StockMove).where(
            StockMove.document_number == document_number)) or 0)


def _approval(db, document_type: str, number: str) -> int:
    with db.read() as s:
        found = s.scalar(select(ApprovalInstance.id).where(
            ApprovalInstance.document_type == document_type,
            ApprovalInstance.document_number == number).order_by(ApprovalInstance.id.desc()))
    assert found is not None, f"{number} has no approval"
    return int(found)


def _available(db, site: str = "WH") -> Decimal:
    with db.read() as s:
        return Decimal({r["site"]: r for r in single_view(s, "SKU-1")["sites"]}[site]["available"])


@pytest.fixture
def stocked(db, network):
    """100 of SKU-1 at WH valued at 100 each: 20 units are worth 2,000."""
    stock.receive(db.uow(), Meta(network), site="WH", lines=[Line("SKU-1", "100", unit_cost="100")])
    return network


def _count(db, who, counted: str) -> str:
    number = counts.start_count(db.uow(), Meta(who), site="WH", blind=False)["number"]
    counts.record_counts(db.uow(), Meta(who), number=number, entries=[CountIn("SKU-1", counted)])
    counts.submit_count(db.uow(), Meta(who), number=number)
    return str(number)


def test_a_small_count_variance_posts_at_once(db, stocked, people):  # noqa: F811
    number = _count(db, people["clerk"], "98")  # 2 × 100 = 200
    assert counts.post_count(db.uow(), Meta(people["clerk"]), number=number)["state"] == "posted"
    assert _available(db) == 98


def test_a_large_count_variance_waits_for_the_director_then_posts(db, stocked, people):  # noqa: F811
    number = _count(db, people["clerk"], "40")  # 60 × 100 = 6,000 ≥ 5,000
    held = counts.post_count(db.uow(), Meta(people["clerk"]), number=number)
    assert held["state"] == "pending_approval" and _moves(db, number) == 0
    assert _available(db) == 100
    with pytest.raises(NotFound):  # finance does not see counts
        approvals.decide(db.uow(), people["finance"], _approval(db, "count", number), "approve")
    with pytest.raises(approvals.ApprovalRefused):
        approvals.decide(db.uow(), people["rm_east"], _approval(db, "count", number), "approve")
    done = approvals.decide(db.uow(), people["director"], _approval(db, "count", number), "approve")
    assert done["state"] == "approved" and done["branch"] == "large_variance"
    assert counts.get_count(db.uow(), number)["state"] == "posted"
    assert _available(db) == 40 and _moves(db, number) == 1
    assert verify(db.uow()).consistent


def test_gains_and_losses_do_not_hide_each_other(db, stocked, people):  # noqa: F811
    stock.receive(db.uow(), Meta(people["director"]), site="WH",
                  lines=[Line("SKU-KG", "100", unit_cost="100")])
    number = counts.start_count(db.uow(), Meta(people["clerk"]), site="WH", blind=False)["number"]
    counts.record_counts(db.uow(), Meta(people["clerk"]), number=number, entries=[
        CountIn("SKU-1", "130"), CountIn("SKU-KG", "70")])  # +3,000 and −3,000: net 0
    counts.submit_count(db.uow(), Meta(people["clerk"]), number=number)
    assert counts.post_count(db.uow(), Meta(people["clerk"]),
                             number=number)["state"] == "pending_approval"


def test_a_rejected_count_goes_back_to_review_and_a_cancelled_one_ends_its_approval(
        db, stocked, people):  # noqa: F811
    number = _count(db, people["clerk"], "40")
    counts.post_count(db.uow(), Meta(people["clerk"]), number=number)
    approvals.decide(db.uow(), people["director"], _approval(db, "count", number), "reject",
                     comment="recount aisle 3")
    assert counts.get_count(db.uow(), number)["state"] == "review" and _moves(db, number) == 0
    counts.post_count(db.uow(), Meta(people["clerk"]), number=number)
    counts.cancel_count(db.uow(), Meta(people["clerk"]), number=number)
    with db.read() as s:
        assert s.get_one(ApprovalInstance, _approval(db, "count", number)).state == "cancelled"
    assert _available(db) == 100


def _scrap(db, who, qty: str) -> dict:
    return scrap(db.uow(), Meta(who, reason="water damage"), site="WH", reason_code="damaged",
                 lines=[Line("SKU-1", qty)], from_status=StockStatus.AVAILABLE)


def test_a_small_scrap_is_written_off_at_once(db, stocked, people):  # noqa: F811
    done = _scrap(db, people["clerk"], "19")  # 1,900 < 2,000
    assert done["state"] == "posted" and _available(db) == 81
    assert get_scrap(db.uow(), done["number"])["state"] == "posted"


def test_a_large_scrap_is_held_until_finance_approves(db, stocked, people):  # noqa: F811
    held = _scrap(db, people["clerk"], "20")
    number = held["number"]
    assert (held["state"], held["branch"]) == ("pending_approval", "large")
    assert _moves(db, number) == 0 and _available(db) == 100
    listed = {it["number"]: it["state"] for it in list_scraps(db.uow())[0]}
    assert listed[number] == "pending_approval"
    shown = get_scrap(db.uow(), number)
    assert (shown["state"], shown["lines"][0]["sku"], shown["lines"][0]["qty"]) == (
        "pending_approval", "SKU-1", "20")
    approvals.decide(db.uow(), people["finance"], _approval(db, "scrap", number), "approve")
    posted = get_scrap(db.uow(), number)
    assert posted["state"] == "posted" and posted["operator"] == "clerk"
    assert posted["note"] == "water damage" and _available(db) == 80
    assert verify(db.uow()).consistent


def test_a_rejected_scrap_moves_nothing(db, stocked, people):  # noqa: F811
    number = _scrap(db, people["clerk"], "30")["number"]
    approvals.decide(db.uow(), people["finance"], _approval(db, "scrap", number), "reject")
    assert get_scrap(db.uow(), number)["state"] == "rejected" and _available(db) == 100


def test_approving_a_scrap_whose_stock_has_gone_is_refused_and_changes_nothing(
        db, stocked, people):  # noqa: F811
    number = _scrap(db, people["clerk"], "30")["number"]
    stock.issue(db.uow(), Meta(people["director"]), site="WH", lines=[Line("SKU-1", "90")])
    instance = _approval(db, "scrap", number)
    with pytest.raises(InsufficientStock):
        approvals.decide(db.uow(), people["finance"], instance, "approve")
    assert approvals.get_approval(db.uow(), people["finance"], instance)["state"] == "pending"
    assert get_scrap(db.uow(), number)["state"] == "pending_approval" and _available(db) == 10


@pytest.fixture
def shipped(db, stocked, people):  # noqa: F811
    masterdata.create(db.uow(), stocked, "customer", {"code": "C1", "name": "客户一"})
    sales.set_customer_price(db.uow(), stocked, customer="C1", sku="SKU-1", price="500")
    meta = Meta(stocked)
    so = sales.create_sale(db.uow(), meta, customer="C1", site="S1",
                           lines=[SalesLineIn("SKU-1", "30")])["number"]
    stock.move(db.uow(), meta, from_site="WH", to_site="S1", lines=[Line("SKU-1", "40")])
    sales.confirm_sale(db.uow(), meta, number=so)
    sales.ship_sale(db.uow(), meta, number=so)
    return so


def test_a_small_return_is_taken_back_at_once(db, shipped, people):  # noqa: F811
    back = sales.return_sale(db.uow(), Meta(people["sm1"]), number=shipped, lines=[LineQty(1, "19")])
    assert back["lines"][0]["returned_qty"] == "19" and back["returns"] == []


def test_a_large_return_waits_for_the_store_manager(db, shipped, people):  # noqa: F811
    back = sales.return_sale(db.uow(), Meta(people["clerk"]), number=shipped,
                             lines=[LineQty(1, "20")])  # 20 × 500 = 10,000
    assert back["lines"][0]["returned_qty"] == "0"
    (waiting,) = back["returns"]
    assert (waiting["state"], waiting["fields"]["amount"]) == ("pending_approval", 10000.0)
    instance = _approval(db, "sales_return", waiting["number"])
    with pytest.raises(NotFound):  # S2's manager does not see S1's orders
        approvals.decide(db.uow(), people["sm2"], instance, "approve")
    approvals.decide(db.uow(), people["sm1"], instance, "approve")
    after = sales.get_sale(db.uow(), shipped)
    assert after["lines"][0]["returned_qty"] == "20" and after["returns"] == []
    assert verify(db.uow()).consistent
