"""The demo's serials: every serial-tracked SKU has a batch, and one unit's timeline runs from
its generation through receipt, transfer and sale, with the documents named."""

from datetime import UTC, datetime

from cangliu.services import auth, demo, demo_serials, serials
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
    assert unit["status"] == "sold" and verify(db.uow()).consistent
