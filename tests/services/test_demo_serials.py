"""The demo's serials: every serial-tracked SKU has a batch, and one unit's timeline runs from
its generation through receipt, transfer, sale and repair, with the documents named; a recall
from a cell lot finds the e-bikes built from it and holds those in stock."""

from datetime import UTC, datetime

from cangliu.services import auth, demo, demo_aftersales, demo_serials, recalls, serials
from cangliu.services.verify import verify
from tests.conftest import PASSWORD


def test_the_demo_follows_one_unit_from_receipt_to_sale(db, monkeypatch):
    monkeypatch.setattr(demo, "DAYS", 10)
    monkeypatch.setattr(demo, "PROMO_DAYS", range(7, 9))
    admin = auth.create_user(db.uow(), username="admin", password=PASSWORD, is_admin=True)
    now = datetime(2026, 11, 23, 9, tzinfo=UTC)
    demo.load(db, admin, now=now)
    done = demo_serials.load(db, admin, now)
    assert done["batches"] > 0 and done["journey"]
    with db.read() as s:
        unit = serials.get_serial(s, done["journey"])
    kinds = [e["kind"] for e in unit["events"]]
    assert kinds == ["generated", "received", "transfer_out", "transfer_in", "shipped"], kinds
    po, order, so = done["documents"]
    assert [e["document_number"] for e in unit["events"][1:]] == [po, order, order, so]
    assert unit["status"] == "sold"

    after = demo_aftersales.load(db, admin, now, done["journey"])
    with db.read() as s:
        unit = serials.get_serial(s, done["journey"])
        found = recalls.get_recall(s, after["recall"], limit=50)
        bike = serials.get_serial(s, after["sold"][1])
    assert [e["kind"] for e in unit["events"][-2:]] == ["repair_opened", "repair_closed"]
    assert unit["status"] == "sold"
    # Three e-bikes carry packs of the first cell lot: one was sold, two are held in stock.
    units = [u for u in found["units"] if u["sku"] == demo_aftersales.BIKE]
    assert (after["recalled"], after["held"], len(units)) == (3, 2, 3)
    assert after["sold"][0] in {u["serial"] for u in units}
    assert after["sold"][1] not in {u["serial"] for u in units}
    assert [e["kind"] for e in bike["events"]][-4:] == [
        "repair_opened", "part_removed", "part_installed", "repair_closed"]
    assert verify(db.uow()).consistent
