"""A customer return held for approval, seen from its order and on a page of its own, within
the viewer's site scope."""

from cangliu.core.permissions import Actor
from cangliu.services import auth, masterdata, roles, sales, stock
from cangliu.services.postings import Meta
from cangliu.services.sales import LineQty, SalesLineIn
from cangliu.services.stock import Line
from tests.conftest import PASSWORD
from tests.web.conftest import login


def _held_return(db, admin: Actor) -> tuple[str, str]:
    meta = Meta(admin)
    stock.receive(db.uow(), meta, site="S1", lines=[Line("SKU-1", "50", unit_cost="100")])
    masterdata.create(db.uow(), admin, "customer", {"code": "C1", "name": "客户一"})
    sales.set_customer_price(db.uow(), admin, customer="C1", sku="SKU-1", price="500")
    so = sales.create_sale(db.uow(), meta, customer="C1", site="S1",
                           lines=[SalesLineIn("SKU-1", "30")])["number"]
    sales.confirm_sale(db.uow(), meta, number=so)
    sales.ship_sale(db.uow(), meta, number=so)
    back = sales.return_sale(db.uow(), meta, number=so, lines=[LineQty(1, "25")])
    return so, back["returns"][0]["number"]


def test_a_held_return_shows_on_its_order_and_its_own_page_in_scope_only(app, db, network):
    so, number = _held_return(db, network)
    for username, site in (("sales_s1", "S1"), ("sales_s2", "S2")):
        auth.create_user(db.uow(), username=username, password=PASSWORD)
        roles.set_assignments(db.uow(), network, username,
                              [{"role": "sales", "scope": "sites", "sites": [site]}])
    near, far = login(app, "sales_s1"), login(app, "sales_s2")
    order = near.get(f"/docs/sales-orders/{so}")
    assert order.status_code == 200 and f"/docs/returns/{number}" in order.text
    page = near.get(f"/docs/returns/{number}")
    assert page.status_code == 200
    assert number in page.text and f"/docs/sales-orders/{so}" in page.text
    assert "12500.00" in page.text  # 25 × 500
    assert far.get(f"/docs/returns/{number}").status_code == 404
    assert near.get("/docs/returns/RT-NOPE").status_code == 404
