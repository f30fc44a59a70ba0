"""The world the role journeys walk in: one server and one database per test module, the demo's
people with site scopes on the small test network, approval policies that make a purchase and a
planned transfer wait for a manager, and per-journey preconditions seeded through the services.

Each journey runs once per language against the same database, so everything a journey creates
is named with its language tag (``PUR-zh``, ``PUR-en``) and never collides with the other run.
"""

import contextlib
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from cangliu.config import Settings
from cangliu.core.permissions import Actor
from cangliu.db.queries import single_view
from cangliu.db.uow import Database
from cangliu.services import approvals, auth, masterdata, purchasing, roles, sales, serials, stock, thresholds
from cangliu.services.postings import Meta
from cangliu.services.purchasing import PurchaseLineIn, ReceiptIn
from cangliu.services.sales import SalesLineIn, ShipLine
from cangliu.services.stock import Line
from cangliu.web.app import create_app
from tests.conftest import PASSWORD, seed_network
from tests.e2e.conftest import ARTIFACTS, serve_in_thread

# (username, display name, role, scope) — the demo's people, scoped to the test network.
PEOPLE = (
    ("purchaser", "采购 王芳", "purchaser", {"scope": "all"}),
    ("buyer_lead", "采购经理 吴昊", "purchasing_manager", {"scope": "all"}),
    ("clerk", "仓库 李强", "clerk", {"scope": "sites", "sites": ["WH", "S1"]}),
    ("sales", "销售 张伟", "sales", {"scope": "region", "region": "华东"}),
    ("finance", "财务 刘洋", "finance", {"scope": "all"}),
    ("regional", "区域经理 孙丽", "regional_manager", {"scope": "region", "region": "华东"}),
    ("director", "库存总监 周敏", "inventory_director", {"scope": "all"}),
)

# A purchase of 1,000 or more waits for the purchasing manager.
PURCHASE_POLICY = """
document_type: purchase
branches:
  - name: manager
    condition: "amount >= 1000"
    steps:
      - {name: purchasing_manager, approvers: {kind: role, role: purchasing_manager}}
  - name: default
    steps: []
"""
# What a planning rule proposes waits for the inventory director; a clerk's own transfer does not.
TRANSFER_POLICY = """
document_type: transfer
branches:
  - name: planned
    condition: "generated_by_rule <> ''"
    steps:
      - {name: director, approvers: {kind: role, role: inventory_director}}
  - name: default
    steps: []
"""

# The browser locale of each run and the tag its codes carry.
LOCALES = {"zh-CN": "zh", "en": "en"}


@dataclass(frozen=True)
class World:
    base: str
    db: Database
    admin: Actor
    browser: Browser
    # Every browser context a journey opened: closed after each test, even a failed one.
    contexts: list[BrowserContext] = field(default_factory=list)

    def close_browsers(self) -> None:
        while self.contexts:
            context = self.contexts.pop()
            with contextlib.suppress(Exception):  # already closed by the journey
                context.close()


def serve(chromium: Browser, sqlite_template: str, tmp_path_factory: pytest.TempPathFactory
          ) -> Iterator[World]:
    """The body of a module-scoped server fixture (modelled on conftest's ``server``): a copy of
    the migrated template with the network, the people and the policies, served in a thread."""
    path = tmp_path_factory.mktemp("journeys") / "cangliu.db"
    shutil.copy(sqlite_template, path)
    db = Database(f"sqlite:///{path}")
    admin = auth.create_user(db.uow(), username="admin", password=PASSWORD, is_admin=True)
    seed_network(db, admin)
    _people(db, admin)
    approvals.save_policy(db.uow(), admin, "purchase", PURCHASE_POLICY)
    approvals.save_policy(db.uow(), admin, "transfer", TRANSFER_POLICY)
    app = create_app(Settings(database_url=db.url, secret_key="e2e-journeys"), db=db)
    with serve_in_thread(app) as base:
        yield World(base, db, admin, chromium)
    db.dispose()


def _people(db: Database, admin: Actor) -> None:
    for username, display, role, scope in PEOPLE:
        auth.create_user(db.uow(), username=username, password=PASSWORD, display_name=display)
        roles.set_assignments(db.uow(), admin, username, [{"role": role, **scope}])


# --- the browser side ---------------------------------------------------------------------------

def login(world: World, username: str, locale: str, to: str = "/stock") -> Page:
    """A fresh browser (its own cookies) logged in through the login page as ``username``,
    landing on ``to`` (the login form's ``next``)."""
    context = world.browser.new_context(locale=locale, viewport={"width": 1280, "height": 900})
    world.contexts.append(context)
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())  # the pages confirm() before big steps
    page.goto(f"{world.base}/login?{urlencode({'next': to})}")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: url == f"{world.base}{to}")
    return page


def shot(page: Page, role: str, step: str, locale: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    name = f"journey_{role}_{step}_{LOCALES[locale]}.png"
    # From the top: a page answered at an anchor (#collab) leaves sticky table heads mid-page.
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(Path(ARTIFACTS) / name), full_page=True)


def approve(world: World, username: str, number: str, locale: str, role: str) -> None:
    """``username`` approves ``number`` from 我的审批 in a browser of their own."""
    page = login(world, username, locale, "/approvals")
    card = page.locator("ol.approval-list > li", has_text=number)
    expect(card).to_have_count(1)
    card.locator("input[name=comment]").fill("OK")
    shot(page, role, "approvals", locale)
    card.locator("button[value=approve]").click()
    expect(page.locator("p.ok[role=status]")).to_contain_text(number)
    expect(page.locator("ol.approval-list > li", has_text=number)).to_have_count(0)
    page.context.close()


# --- the database side --------------------------------------------------------------------------

def on_hand(db: Database, sku: str, site: str) -> float:
    with db.read() as session:
        sites = {r["site"]: r for r in single_view(session, sku)["sites"]}
    return float(sites[site]["on_hand"]) if site in sites else 0.0


def new_sku(world: World, code: str, name: str, **extra: Any) -> None:
    masterdata.create(world.db.uow(), world.admin, "sku",
                      {"code": code, "name": name, "category": "FOOD", **extra})


def partner(world: World, kind: str, code: str, name: str) -> None:
    masterdata.create(world.db.uow(), world.admin, kind, {"code": code, "name": name})


def receive(world: World, site: str, sku: str, qty: str, cost: str = "3") -> None:
    stock.receive(world.db.uow(), Meta(world.admin), site=site,
                  lines=[Line(sku, qty, unit_cost=cost)])


# --- per-journey preconditions ------------------------------------------------------------------

def serial_purchase(world: World, tag: str) -> tuple[str, list[str]]:
    """An approved purchase of three serial-tracked units and their generated serials."""
    sku, supplier = f"SER-{tag}", f"SUP-S-{tag}"
    new_sku(world, sku, "扫码枪", tracking="serial")
    partner(world, "supplier", supplier, "序列号供应商")
    codes = serials.generate(world.db.uow(), world.admin, sku=sku, count=3)["codes"]
    po = purchasing.create_purchase(world.db.uow(), Meta(world.admin), supplier=supplier,
                                    site="WH", lines=[PurchaseLineIn(sku, "3", "100")])
    purchasing.submit_purchase(world.db.uow(), Meta(world.admin), number=po["number"])
    return po["number"], codes


def open_items(world: World, tag: str) -> tuple[str, str]:
    """A shipped sale of 50.00 owed by a customer and a received purchase of 100.00 owed to a
    supplier: what finance settles."""
    sku, customer, supplier = f"FIN-{tag}", f"CUS-F-{tag}", f"SUP-F-{tag}"
    new_sku(world, sku, "记账商品")
    partner(world, "customer", customer, "赊账客户")
    partner(world, "supplier", supplier, "应付供应商")
    receive(world, "WH", sku, "20")
    meta = Meta(world.admin)
    so = sales.create_sale(world.db.uow(), meta, customer=customer, site="WH",
                           lines=[SalesLineIn(sku, "10", "5")])["number"]
    sales.confirm_sale(world.db.uow(), meta, number=so)
    sales.ship_sale(world.db.uow(), meta, number=so, lines=[ShipLine(1, "10")])
    po = purchasing.create_purchase(world.db.uow(), meta, supplier=supplier, site="WH",
                                    lines=[PurchaseLineIn(sku, "4", "25")])["number"]
    purchasing.submit_purchase(world.db.uow(), meta, number=po)
    purchasing.receive_purchase(world.db.uow(), meta, number=po, lines=[ReceiptIn(1, "4")])
    return so, po


def short_store(world: World, tag: str) -> str:
    """S1 holds 2 of a SKU against a safety stock of 10; the central warehouse has plenty."""
    sku = f"PLN-{tag}"
    new_sku(world, sku, "补货商品")
    receive(world, "WH", sku, "100")
    receive(world, "S1", sku, "2")
    until = date.today() + timedelta(days=30)
    for site, levels in (("WH", ("20", "20", "200")), ("S1", ("10", "15", "30"))):
        thresholds.override(world.db.uow(), world.admin, sku=sku, site=site,
                            safety_stock=levels[0], reorder_point=levels[1], max_stock=levels[2],
                            reason="journey levels", expires_on=until)
    return sku
