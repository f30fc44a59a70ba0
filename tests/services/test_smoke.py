from decimal import Decimal

from cangliu.db.queries import single_view
from cangliu.services import stock
from cangliu.services.stock import Line
from cangliu.services.verify import verify


def test_receive_then_issue_updates_the_single_view(db, meta):
    stock.receive(db.uow(), meta, site="WH", lines=[Line("SKU-1", "10")])
    stock.issue(db.uow(), meta, site="WH", lines=[Line("SKU-1", "3")])
    with db.read() as s:
        view = single_view(s, "SKU-1")
    assert view["sites"][0]["available"] == Decimal(7)
    assert verify(db.uow()).consistent
