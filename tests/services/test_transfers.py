"""Transfer orders: in-transit stock, partial receipts with damage and shortage, cancellation."""

import threading
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from cangliu.core.documents import IllegalTransition
from cangliu.core.errors import InsufficientStock, StaleVersion, ValidationFailed
from cangliu.db.queries import single_view
from cangliu.db.queries import transfers as list_transfers
from cangliu.services import stock, transfers
from cangliu.services.stock import Line
from cangliu.services.transfers import DestinationIn, ReceiptLineIn, TransferLineIn
from cangliu.services.verify import verify


def _site(db, sku, site):
    with db.read() as s:
        rows = {r["site"]: r for r in single_view(s, sku)["sites"]}
    return rows.get(site)


def _approved(db, meta, qty="10", **kw):
    t = transfers.create_transfer(db.uow(), meta, source="WH", dest="S1",
                                  lines=[TransferLineIn("SKU-1", qty)], **kw)
    return transfers.submit_transfer(db.uow(), meta, number=t["number"])


def test_numbers_follow_the_series_per_day(db, meta):
    today = datetime.now(UTC).strftime("%Y%m%d")
    first = transfers.create_transfer(db.uow(), meta, source="WH", dest="S1",
                                      lines=[TransferLineIn("SKU-1", "1")])
    second = transfers.create_transfer(db.uow(), meta, source="WH", dest="S2",
                                       lines=[TransferLineIn("SKU-1", "1")])
    assert (first["number"], second["number"]) == (f"TO-{today}-0001", f"TO-{today}-0002")
    assert first["state"] == "draft" and first["allowed_actions"] == ["cancel", "edit", "submit"]


def test_shipped_stock_is_in_transit_until_received_with_damage_and_shortage(db, meta):
    stock.receive(db.uow(), meta, site="WH", lines=[Line("SKU-1", "20")])
    order = _approved(db, meta, "10")
    assert order["state"] == "approved"
    shipped = transfers.ship_transfer(db.uow(), meta, number=order["number"])
    assert shipped["state"] == "shipped"
    wh, s1 = _site(db, "SKU-1", "WH"), _site(db, "SKU-1", "S1")
    assert (wh["available"], wh["in_transit_out"]) == (Decimal(10), Decimal(10))
    assert (s1["on_hand"], s1["in_transit_in"]) == (Decimal(0), Decimal(10))

    part = transfers.receive_transfer(db.uow(), meta, number=order["number"],
                                      lines=[ReceiptLineIn(1, received="6", damaged="1")])
    assert part["state"] == "partially_received"
    assert _site(db, "SKU-1", "S1")["in_transit_in"] == Decimal(3)
    done = transfers.receive_transfer(db.uow(), meta.__class__(meta.actor, reason="lost in truck"),
                                      number=order["number"],
                                      lines=[ReceiptLineIn(1, received="2", shortage="1")])
    assert done["state"] == "received"
    assert done["lines"][0] | {"sku": "SKU-1"} == {
        "line_no": 1, "sku": "SKU-1", "lot": "", "qty": "10", "shipped_qty": "10",
        "received_qty": "8", "damaged_qty": "1", "shortage_qty": "1"}
    assert done["receipt_accuracy"] == "0.8000"
    s1 = _site(db, "SKU-1", "S1")
    assert (s1["available"], s1["damaged"], s1["in_transit_in"]) == (Decimal(8), Decimal(1), Decimal(0))
    assert _site(db, "SKU-1", "WH")["in_transit_out"] == Decimal(0)
    closed = transfers.close_transfer(db.uow(), meta, number=order["number"])
    assert closed["state"] == "closed" and closed["allowed_actions"] == []
    assert verify(db.uow()).consistent


def test_a_transfer_cannot_ship_more_than_available_and_stays_approved(db, meta):
    stock.receive(db.uow(), meta, site="WH", lines=[Line("SKU-1", "3")])
    order = _approved(db, meta, "5")
    with pytest.raises(InsufficientStock):
        transfers.ship_transfer(db.uow(), meta, number=order["number"])
    again = transfers.get_transfer(db.uow(), order["number"])
    assert again["state"] == "approved" and again["lines"][0]["shipped_qty"] == "0"
    assert _site(db, "SKU-1", "WH")["available"] == Decimal(3)


def test_two_clerks_shipping_the_same_transfer_post_it_once(db, meta):
    stock.receive(db.uow(), meta, site="WH", lines=[Line("SKU-1", "50")])
    order = _approved(db, meta, "10")
    outcomes: list[str] = []
    barrier = threading.Barrier(4)

    def ship():
        barrier.wait()
        try:
            transfers.ship_transfer(db.uow(), meta, number=order["number"])
            outcomes.append("shipped")
        except IllegalTransition:
            outcomes.append("refused")

    threads = [threading.Thread(target=ship) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["refused", "refused", "refused", "shipped"]
    assert _site(db, "SKU-1", "WH")["available"] == Decimal(40)
    assert verify(db.uow()).consistent


def test_cancelling_a_shipped_transfer_brings_the_stock_back(db, meta):
    stock.receive(db.uow(), meta, site="WH", lines=[Line("SKU-1", "10")])
    order = _approved(db, meta, "4")
    transfers.ship_transfer(db.uow(), meta, number=order["number"])
    cancelled = transfers.cancel_transfer(db.uow(), meta, number=order["number"])
    assert cancelled["state"] == "cancelled"
    wh = _site(db, "SKU-1", "WH")
    assert (wh["available"], wh["in_transit_out"]) == (Decimal(10), Decimal(0))
    with pytest.raises(IllegalTransition, match="cancelled"):
        transfers.ship_transfer(db.uow(), meta, number=order["number"])
    assert verify(db.uow()).consistent


def test_illegal_steps_and_stale_edits_change_nothing(db, meta):
    draft = transfers.create_transfer(db.uow(), meta, source="WH", dest="S1",
                                      lines=[TransferLineIn("SKU-1", "2")],
                                      expected_arrival=date(2030, 1, 1))
    number = draft["number"]
    with pytest.raises(IllegalTransition):
        transfers.receive_transfer(db.uow(), meta, number=number, lines=[ReceiptLineIn(1, "1")])
    edited = transfers.update_transfer(db.uow(), meta, number=number, version=1,
                                       lines=[TransferLineIn("SKU-KG", "1.5")])
    assert edited["version"] == 2 and edited["lines"][0]["sku"] == "SKU-KG"
    with pytest.raises(StaleVersion):
        transfers.update_transfer(db.uow(), meta, number=number, version=1,
                                  lines=[TransferLineIn("SKU-1", "9")])
    transfers.submit_transfer(db.uow(), meta, number=number)
    with pytest.raises(IllegalTransition):
        transfers.update_transfer(db.uow(), meta, number=number, version=3,
                                  lines=[TransferLineIn("SKU-1", "9")])
    assert transfers.get_transfer(db.uow(), number)["lines"][0]["sku"] == "SKU-KG"


def test_receiving_more_than_is_in_transit_is_refused(db, meta):
    stock.receive(db.uow(), meta, site="WH", lines=[Line("SKU-1", "10")])
    order = _approved(db, meta, "4")
    transfers.ship_transfer(db.uow(), meta, number=order["number"])
    with pytest.raises(ValidationFailed) as err:
        transfers.receive_transfer(db.uow(), meta, number=order["number"],
                                   lines=[ReceiptLineIn(1, received="3", damaged="2")])
    assert err.value.errors[0].field == "lines[0]"
    with pytest.raises(ValidationFailed):
        transfers.receive_transfer(db.uow(), meta, number=order["number"],
                                   lines=[ReceiptLineIn(7, received="1")])
    assert _site(db, "SKU-1", "S1")["in_transit_in"] == Decimal(4)


def test_a_transfer_needs_two_different_sites_and_known_skus(db, meta):
    with pytest.raises(ValidationFailed) as same:
        transfers.create_transfer(db.uow(), meta, source="WH", dest="WH",
                                  lines=[TransferLineIn("SKU-1", "1")])
    assert same.value.errors[0].field == "dest"
    with pytest.raises(ValidationFailed) as unknown:
        transfers.create_transfer(db.uow(), meta, source="WH", dest="S1",
                                  lines=[TransferLineIn("SKU-1", "1"), TransferLineIn("NOPE", "1")])
    assert unknown.value.errors[0].field == "lines[1].sku"


def test_lines_of_one_sku_share_the_stock_at_the_source_and_on_the_road(db, meta):
    stock.receive(db.uow(), meta, site="WH", lines=[Line("SKU-1", "6")])
    stock.receive(db.uow(), meta, site="WH", lines=[Line("SKU-1", "4", bin="WH-A1")])
    too_much = transfers.create_transfer(db.uow(), meta, source="WH", dest="S1",
                                         lines=[TransferLineIn("SKU-1", "6"), TransferLineIn("SKU-1", "5")])
    transfers.submit_transfer(db.uow(), meta, number=too_much["number"])
    with pytest.raises(InsufficientStock) as err:
        transfers.ship_transfer(db.uow(), meta, number=too_much["number"])
    assert (err.value.requested, err.value.available) == (Decimal(5), Decimal(4))
    fits = transfers.create_transfer(db.uow(), meta, source="WH", dest="S1",
                                     lines=[TransferLineIn("SKU-1", "7"), TransferLineIn("SKU-1", "3")])
    transfers.submit_transfer(db.uow(), meta, number=fits["number"])
    transfers.ship_transfer(db.uow(), meta, number=fits["number"])
    assert _site(db, "SKU-1", "WH")["in_transit_out"] == Decimal(10)
    transfers.receive_transfer(db.uow(), meta, number=fits["number"],
                               lines=[ReceiptLineIn(1, received="7"), ReceiptLineIn(2, received="3")])
    assert (_site(db, "SKU-1", "S1")["available"], _site(db, "SKU-1", "WH")["on_hand"]) == (
        Decimal(10), Decimal(0))
    assert verify(db.uow()).consistent


def _numbers(db):
    with db.read() as s:
        return [t["number"] for t in list_transfers(s)[0]]


def test_one_source_replenishing_several_destinations_yields_a_transfer_each(db, meta):
    result = transfers.create_transfers(db.uow(), meta, source="WH", destinations=[
        DestinationIn("S1", [TransferLineIn("SKU-1", "4"), TransferLineIn("SKU-KG", "1.5")],
                      expected_arrival=date(2030, 1, 2)),
        DestinationIn("S2", [TransferLineIn("SKU-1", "6")])])
    made = result["transfers"]
    assert [(t["source"], t["dest"], t["state"]) for t in made] == [
        ("WH", "S1", "draft"), ("WH", "S2", "draft")]
    assert [[(ln["sku"], ln["qty"]) for ln in t["lines"]] for t in made] == [
        [("SKU-1", "4"), ("SKU-KG", "1.5")], [("SKU-1", "6")]]
    assert (made[0]["expected_arrival"], made[1]["expected_arrival"]) == ("2030-01-02", None)
    assert made[0]["number"] != made[1]["number"]
    assert sorted(_numbers(db)) == sorted(t["number"] for t in made)
    # Each is a document of its own: one can be cancelled, the other goes on.
    transfers.cancel_transfer(db.uow(), meta, number=made[0]["number"])
    # (WH → S2 crosses regions: it waits for approval.)
    assert transfers.submit_transfer(db.uow(), meta, number=made[1]["number"])["state"] == (
        "pending_approval")


def test_a_bad_line_for_any_destination_creates_none_of_the_transfers(db, meta):
    good = DestinationIn("S1", [TransferLineIn("SKU-1", "4")])
    with pytest.raises(ValidationFailed) as err:
        transfers.create_transfers(db.uow(), meta, source="WH", destinations=[
            good, DestinationIn("S2", [TransferLineIn("SKU-1", "2"), TransferLineIn("SKU-1", "-1")])])
    assert [e.field for e in err.value.errors] == ["destinations[1].lines[1].qty"]
    with pytest.raises(ValidationFailed) as err:
        transfers.create_transfers(db.uow(), meta, source="WH", destinations=[
            good, DestinationIn("S2", [TransferLineIn("NOPE", "1")])])
    assert err.value.errors[0].field == "destinations[1].lines[0].sku"
    with pytest.raises(ValidationFailed) as err:
        transfers.create_transfers(db.uow(), meta, source="WH", destinations=[
            good, DestinationIn("WH", [TransferLineIn("SKU-1", "1")])])
    assert err.value.errors[0].field == "destinations[1].dest"
    with pytest.raises(ValidationFailed) as err:
        transfers.create_transfers(db.uow(), meta, source="WH", destinations=[good, good])
    assert err.value.errors[0].field == "destinations[1].dest"
    with pytest.raises(ValidationFailed) as err:
        transfers.create_transfers(db.uow(), meta, source="WH", destinations=[
            good, DestinationIn("S2", [])])
    assert err.value.errors[0].field == "destinations[1].lines"
    with pytest.raises(ValidationFailed) as err:
        transfers.create_transfers(db.uow(), meta, source="WH", destinations=[])
    assert err.value.errors[0].field == "destinations"
    assert _numbers(db) == []
    # Nothing was created, so no number was used up either.
    first = transfers.create_transfers(db.uow(), meta, source="WH", destinations=[good])
    assert first["transfers"][0]["number"].endswith("-0001")


def test_the_same_key_creates_the_batch_once(db, meta):
    keyed = meta.__class__(meta.actor, reason="restock", idempotency_key="batch-1")
    destinations = [DestinationIn("S1", [TransferLineIn("SKU-1", "1")]),
                    DestinationIn("S2", [TransferLineIn("SKU-1", "2")])]
    first = transfers.create_transfers(db.uow(), keyed, source="WH", destinations=destinations)
    again = transfers.create_transfers(db.uow(), keyed, source="WH", destinations=destinations)
    assert again == first and len(_numbers(db)) == 2
