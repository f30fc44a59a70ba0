"""The demo: posted through the ledger (verify agrees) and holding documents in every state."""

from datetime import UTC, datetime

from sqlalchemy import select

from cangliu.core.documents import PURCHASE_ORDER, SALES_ORDER, STOCK_COUNT, TRANSFER
from cangliu.db.models import PurchaseOrder, SalesOrder, StockCount, TransferOrder
from cangliu.services import auth, demo
from cangliu.services.verify import verify
from tests.conftest import PASSWORD


def test_a_short_demo_is_consistent_and_has_documents_in_every_state(db, monkeypatch):
    monkeypatch.setattr(demo, "DAYS", 10)
    monkeypatch.setattr(demo, "PROMO_DAYS", range(7, 9))
    admin = auth.create_user(db.uow(), username="admin", password=PASSWORD, is_admin=True)
    counts = demo.load(db, admin, now=datetime(2026, 11, 23, tzinfo=UTC))
    assert counts["sites"] == 12 and counts["skus"] == 300 and counts["postings"] > 20
    assert demo.is_loaded(db)
    report = verify(db.uow())
    assert report.consistent and report.moves > 1000
    with db.read() as s:
        for model, table in ((PurchaseOrder, PURCHASE_ORDER), (SalesOrder, SALES_ORDER),
                             (TransferOrder, TRANSFER)):
            states = set(s.scalars(select(model.state)))
            assert states == table.states - {"pending_approval", "submitted"}, model
        assert set(s.scalars(select(StockCount.state))) == STOCK_COUNT.states - {"pending_approval"}
