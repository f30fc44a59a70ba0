"""No page offers a user a button their roles do not allow.

Each built-in role (over all sites) opens every page it may open, and the pages of a purchase
order, a sales order, a transfer and a stock count, each as a draft and one step further on,
and of a SKU, a site, a supplier and a customer. Every form with a submit button, and every
``hx-post``, must go to a route whose declared permission the role holds: a button that can
only answer "your role may not do this" is a bug. Permissions are the same on both databases,
so this runs on SQLite.
"""

import re

import pytest
from starlette.routing import Match

from cangliu.config import Settings
from cangliu.core.permissions import BUILTIN_ROLES
from cangliu.db.uow import Database
from cangliu.services import auth, counts, masterdata, purchasing, roles, sales, stock, transfers
from cangliu.services.postings import Meta
from cangliu.services.purchasing import PurchaseLineIn
from cangliu.services.sales import SalesLineIn
from cangliu.services.stock import Line
from cangliu.services.transfers import TransferLineIn
from cangliu.web.app import create_app
from tests.conftest import PASSWORD, fresh_url, seed_network
from tests.web.conftest import login
from tests.web.test_authorization import permit_of, routes

FORM = re.compile(r"<form\b([^>]*)>(.*?)</form>", re.S | re.I)
ACTION = re.compile(r'\baction="([^"]+)"')
BUTTON = re.compile(r"<button\b(?![^>]*type=\"button\")|<input[^>]*type=\"submit\"", re.I)
HX_POST = re.compile(r'\bhx-post="([^"]+)"')
NOT_PAGES = ("/api", "/static", "/scan/sw.js", "/scan/manifest", "/scan/icon", "/metrics",
             "/health", "/ready", "/login", "/logout", "/events", "/lang")


def _records(db: Database) -> list[str]:
    admin = auth.actor_for_user(db.uow(), 1)
    meta = Meta(admin, reason="survey")
    masterdata.create(db.uow(), admin, "supplier", {"code": "SUP", "name": "供应商"})
    masterdata.create(db.uow(), admin, "customer", {"code": "CUS", "name": "客户"})
    stock.receive(db.uow(), meta, site="WH", lines=[Line("SKU-1", "50")])
    po = purchasing.create_purchase(db.uow(), meta, supplier="SUP", site="WH",
                                    lines=[PurchaseLineIn("SKU-1", "5", "2")])
    so = sales.create_sale(db.uow(), meta, customer="CUS", site="WH",
                           lines=[SalesLineIn("SKU-1", "3", "5")])
    to = transfers.create_transfer(db.uow(), meta, source="WH", dest="S1",
                                   lines=[TransferLineIn("SKU-1", "3")])
    count = counts.start_count(db.uow(), meta, site="WH")
    # and one of each a step further on: submitted, confirmed, shipped, submitted
    later = [purchasing.create_purchase(db.uow(), meta, supplier="SUP", site="WH",
                                        lines=[PurchaseLineIn("SKU-1", "5", "2")]),
             sales.create_sale(db.uow(), meta, customer="CUS", site="WH",
                               lines=[SalesLineIn("SKU-1", "3", "5")]),
             transfers.create_transfer(db.uow(), meta, source="WH", dest="S1",
                                       lines=[TransferLineIn("SKU-1", "3")]),
             counts.start_count(db.uow(), meta, site="S1")]
    purchasing.submit_purchase(db.uow(), meta, number=later[0]["number"])
    sales.confirm_sale(db.uow(), meta, number=later[1]["number"])
    transfers.submit_transfer(db.uow(), meta, number=later[2]["number"])
    transfers.ship_transfer(db.uow(), meta, number=later[2]["number"])
    counts.submit_count(db.uow(), meta, number=later[3]["number"])
    return [f"/docs/purchase-orders/{po['number']}", f"/docs/sales-orders/{so['number']}",
            f"/transfers/{to['number']}", f"/docs/counts/{count['number']}",
            f"/docs/purchase-orders/{later[0]['number']}",
            f"/docs/sales-orders/{later[1]['number']}", f"/transfers/{later[2]['number']}",
            f"/docs/counts/{later[3]['number']}", "/stock/SKU-1",
            "/md/skus/SKU-1", "/md/sites/WH", "/md/suppliers/SUP", "/md/customers/CUS",
            "/planning/thresholds/SKU-1/WH", f"/collab/transfer/{to['number']}"]


def _posts(html: str) -> list[str]:
    """Where the page's buttons post to: forms with a submit button, and hx-post."""
    found = [a.group(1) for attrs, body in FORM.findall(html)
             if 'method="post"' in attrs.lower() and BUTTON.search(body)
             and (a := ACTION.search(attrs)) is not None]
    return [url.split("?")[0] for url in found + HX_POST.findall(html)]


@pytest.mark.slow
def test_no_page_shows_a_role_a_button_it_may_not_use(request, tmp_path):
    db = Database(fresh_url("sqlite", request, tmp_path))
    admin = auth.create_user(db.uow(), username="admin", password=PASSWORD, is_admin=True)
    seed_network(db, admin)
    app = create_app(Settings(database_url=db.url, secret_key="test-secret"), db=db)
    every = routes(app)
    pages = sorted(r.path for r in every if "GET" in r.methods and "{" not in r.path
                   and not r.path.startswith(NOT_PAGES) and permit_of(r) is not None)
    pages += _records(db)

    def needed(url: str) -> str | None:
        scope = {"type": "http", "path": url, "method": "POST", "root_path": ""}
        for route in every:
            matched, child = route.matches(scope)
            if matched == Match.FULL and (permit := permit_of(route)) is not None:
                return permit.required(child.get("path_params", {}))
        return None

    shown: dict[tuple[str, str, str], list[str]] = {}
    opened = 0
    for role in BUILTIN_ROLES:
        if role.code == "admin":
            continue
        name = f"u-{role.code}"
        auth.create_user(db.uow(), username=name, password=PASSWORD)
        roles.set_assignments(db.uow(), admin, name, [{"role": role.code, "scope": "all"}])
        actor = auth.actor_for_user(db.uow(), auth.authenticate(
            db.uow(), username=name, password=PASSWORD).user_id)
        with login(app, name) as client:
            for page in pages:
                answer = client.get(page)
                if answer.status_code != 200:
                    continue
                opened += 1
                for url in _posts(answer.text):
                    permission = needed(url)
                    if permission and not actor.can(permission):
                        shown.setdefault((page, url, permission), []).append(role.code)
    db.dispose()
    assert opened > 300  # the roles did open the pages
    assert shown == {}, "\n".join(f"{page}: a button to {url} ({permission}) shown to "
                                  f"{', '.join(codes)}"
                                  for (page, url, permission), codes in sorted(shown.items()))
