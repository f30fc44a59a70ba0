"""The authorization matrix: every API route × every built-in role × a record inside and outside
the user's site scope → allowed, 403 or 404, as the route's declared permission says.

Each role's user is scoped to the site S1 (华东). Records at S1 are in scope; records at S2
(华南, a site no scope here reaches unless the role covers all sites) are out of scope. A route
without a declared permission fails the test, as does any answer that differs from the rule.
"""

import uuid
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from cangliu.core.ledger import StockStatus
from cangliu.core.permissions import BUILTIN_ROLES, Actor
from cangliu.db import queries
from cangliu.db.models import AppUser
from cangliu.services import auth, masterdata, purchasing, roles, sales, stock, transfers
from cangliu.services.counts import start_count
from cangliu.services.postings import Meta
from cangliu.services.purchasing import PurchaseLineIn
from cangliu.services.reservations import reserve
from cangliu.services.sales import SalesLineIn
from cangliu.services.scrap import scrap
from cangliu.services.stock import Line
from cangliu.services.transfers import TransferLineIn
from cangliu.web.deps import Permit
from tests.conftest import PASSWORD
from tests.web.conftest import login

# Routes anyone may call without logging in.
PUBLIC = {("POST", "/api/v1/auth/login"), ("GET", "/health"), ("GET", "/ready"),
          # the metrics' own credential: CANGLIU_METRICS_TOKEN, else a loopback address
          ("GET", "/metrics"), ("GET", "/login"), ("POST", "/login"),
          # the second step of a login: the signed cookie of a right password is its credential
          ("POST", "/login/code"),
          ("POST", "/logout"), ("GET", "/lang/{locale}"), ("GET", "/"),
          # the built-in webhook receiver: the signature is its credential
          ("POST", "/api/v1/webhooks/echo"),
          # the scanning pages' service worker, manifest and icon: static files of the app shell
          ("GET", "/scan/sw.js"), ("GET", "/scan/manifest.webmanifest"), ("GET", "/scan/icon.svg")}
DOCUMENT_PREFIXES = {"/api/v1/transfers/": "transfer", "/api/v1/purchase-orders/": "purchase",
                     "/api/v1/sales-orders/": "sales", "/api/v1/counts/": "count",
                     "/api/v1/scrap/": "scrap"}


def routes(app: Any) -> list[APIRoute]:
    """Every route, through FastAPI's included routers."""
    out: list[APIRoute] = []

    def walk(items: Any) -> None:
        for r in items:
            if hasattr(r, "original_router"):
                walk(r.original_router.routes)
            elif isinstance(r, APIRoute):
                out.append(r)
    walk(app.routes)
    return out


def permit_of(route: APIRoute) -> Permit | None:
    """The route's Permit dependency, wherever it sits in the dependency tree."""
    stack = list(route.dependant.dependencies)
    while stack:
        dep = stack.pop()
        if isinstance(dep.call, Permit):
            return dep.call
        stack.extend(dep.dependencies)
    return None


def test_every_route_declares_its_permission(app):
    missing = [f"{m} {r.path}" for r in routes(app) for m in r.methods - {"HEAD"}
               if (m, r.path) not in PUBLIC and not r.path.startswith("/static")
               and permit_of(r) is None]
    assert missing == [], f"routes without a permission rule: {missing}"


# --- the world the matrix runs in --------------------------------------------------------------

def _world(db: Any, admin: Actor) -> dict[str, Any]:
    """Two of everything: one record at S1 (in scope) and one at S2 (out of scope)."""
    meta = Meta(actor=admin, reason="matrix")
    md = masterdata.create
    md(db.uow(), admin, "location", {"code": "S1-A1", "name": "A1", "kind": "bin", "parent": "S1"})
    md(db.uow(), admin, "location", {"code": "S2-A1", "name": "A1", "kind": "bin", "parent": "S2"})
    md(db.uow(), admin, "supplier", {"code": "SUP-1", "name": "供应商"})
    md(db.uow(), admin, "customer", {"code": "CUS-1", "name": "客户"})
    purchasing.set_supplier_price(db.uow(), admin, supplier="SUP-1", sku="SKU-1", price="2")
    sales.set_customer_price(db.uow(), admin, customer="CUS-1", sku="SKU-1", price="5")
    w: dict[str, Any] = {"in": {}, "out": {}}
    for side, site in (("in", "S1"), ("out", "S2")):
        got = w[side]
        got["site"], got["bin"] = site, f"{site}-A1"
        got["posting"] = stock.receive(db.uow(), Meta(actor=admin, reason="matrix"), site=site,
                                       lines=[Line("SKU-1", "50", unit_cost="2")])["ref"]
        got["transfer"] = transfers.create_transfer(
            db.uow(), meta, source="WH", dest=site, lines=[TransferLineIn("SKU-1", "1")])["number"]
        got["purchase"] = purchasing.create_purchase(
            db.uow(), meta, supplier="SUP-1", site=site,
            lines=[PurchaseLineIn("SKU-1", "3")])["number"]
        got["sales"] = sales.create_sale(db.uow(), meta, customer="CUS-1", site=site,
                                         lines=[SalesLineIn("SKU-1", "1")])["number"]
        got["count"] = start_count(db.uow(), meta, site=site)["number"]
        got["scrap"] = scrap(db.uow(), meta, site=site, reason_code="damaged",
                             lines=[Line("SKU-1", "1")], from_status=StockStatus.AVAILABLE)["number"]
        got["reservation"] = reserve(db.uow(), meta, sku="SKU-1", site=site, qty="1")["ref"]
    return w


def _body(method: str, path: str, side: dict[str, Any]) -> Any:
    """A valid body for the writes whose site is in the body (so the scope check is reached);
    an empty one elsewhere (the permission check comes before validation)."""
    site, line = side["site"], {"sku": "SKU-1", "qty": "1"}
    bodies = {
        "/api/v1/stock/receive": {"sku": "SKU-1", "site": site, "qty": "1"},
        "/api/v1/stock/issue": {"sku": "SKU-1", "site": site, "qty": "1"},
        "/api/v1/stock/move": {"sku": "SKU-1", "from_site": site, "to_site": site, "qty": "1",
                               "to_bin": side["bin"]},
        "/api/v1/stock/adjust": {"sku": "SKU-1", "site": site, "qty": "1", "direction": "gain",
                                 "reason": "matrix"},
        "/api/v1/stock/status": {"sku": "SKU-1", "site": site, "qty": "1",
                                 "from_status": "available", "to_status": "quality_hold"},
        "/api/v1/stock/scrap": {"sku": "SKU-1", "site": site, "qty": "1",
                                "reason_code": "damaged", "from_status": "available"},
        "/api/v1/stock/reserve": {"sku": "SKU-1", "site": site, "qty": "1"},
        "/api/v1/stock/release": {"reservation": side["reservation"]},
        "/api/v1/scrap": {"site": site, "reason_code": "damaged", "from_status": "available",
                          "lines": [line]},
        "/api/v1/transfers": {"source": "WH", "dest": site, "lines": [line]},
        "/api/v1/transfers/batch": {"source": "WH", "destinations": [{"dest": site, "lines": [line]}]},
        "/api/v1/purchase-orders": {"supplier": "SUP-1", "site": site, "lines": [line]},
        "/api/v1/sales-orders": {"customer": "CUS-1", "site": site, "lines": [line]},
        "/api/v1/counts": {"site": site},
        "/api/v1/locations": {"code": f"BIN-{uuid.uuid4().hex[:6]}", "name": "x", "kind": "bin",
                              "parent": site},
    }
    return bodies.get(path, {}) if method in ("POST", "PUT", "PATCH") else None


SITE_IN_BODY = {"/api/v1/stock/receive": "stock.create", "/api/v1/stock/issue": "stock.create",
                "/api/v1/stock/move": "stock.create", "/api/v1/stock/adjust": "stock.create",
                "/api/v1/stock/status": "stock.create", "/api/v1/stock/scrap": "scrap.create",
                "/api/v1/stock/reserve": "stock.create", "/api/v1/stock/release": "stock.create",
                "/api/v1/scrap": "scrap.create", "/api/v1/transfers": "transfer.create",
                "/api/v1/transfers/batch": "transfer.create",
                "/api/v1/purchase-orders": "purchase.create", "/api/v1/sales-orders": "sales.create",
                "/api/v1/counts": "count.create", "/api/v1/locations": "site.create"}


def _params(route: APIRoute, permit: Permit, side: dict[str, Any]) -> dict[str, str] | None:
    """Path parameters naming the side's records; None when the route has none to name."""
    values: dict[str, str] = {}
    resource = next((r for p, r in DOCUMENT_PREFIXES.items() if route.path.startswith(p)), None)
    for name in route.param_convertors:
        if name in ("path", "entity", "kind") and permit.resources:
            wanted = resource or "transfer"
            values[name] = next((k for k, v in permit.resources.items() if v == wanted),
                                next(iter(permit.resources)))
            resource = permit.resources[values[name]]
        elif name == "action":
            values[name] = next(iter(permit.actions), "submit")
        elif name == "number":
            values[name] = side[resource or "transfer"]
        elif name == "code":
            segment = route.path.split("/")[3]
            values[name] = {"sites": side["site"], "locations": side["bin"], "skus": "SKU-1",
                            "categories": "FOOD", "suppliers": "SUP-1",
                            "customers": "CUS-1"}.get(segment, "X")
        elif name == "ref":
            values[name] = side["posting"] if "postings" in route.path else "nope"
        else:
            values[name] = {"sku_code": "SKU-1", "sku": "SKU-1", "supplier": "SUP-1",
                            "customer": "CUS-1", "partner": "CUS-1", "key": side["transfer"],
                            "username": "admin"}.get(name, "x")
    if route.path.startswith("/api/v1/statements/"):
        values["kind"] = "receivable"
    return values


def _site_of_target(db: Any, route: APIRoute, params: dict[str, str], permission: str | None
                    ) -> list[int] | None:
    """The sites of the record a route's path names, if it names a scoped one."""
    resource = (permission or ".").split(".")[0]
    number = params.get("number") or params.get("key")
    if resource in queries.DOCUMENT_SITES and number:
        return queries.document_sites(db.uow(), resource, number)
    if route.path.split("/")[3:4] in (["sites"], ["locations"]) and "code" in params:
        site = queries.site_of(db.uow(), params["code"])
        return [site] if site else None
    return None


def _expected(actor: Actor, permission: str | None, sites: list[int] | None,
              body_sites: list[int] | None, body_permission: str | None) -> set[int] | str:
    """``"allow"`` or the set of statuses a refusal may answer."""
    if permission is None:
        return "allow"
    if not permission:
        return {422}
    if not actor.can(permission):
        return {403}
    resource = permission.split(".")[0]
    if sites is not None:
        if not actor.sees(f"{resource}.view", sites):
            return {404}
        return "allow" if any(actor.can(permission, s) for s in sites) else {403}
    if body_permission and body_sites is not None:
        scope = actor.sites(body_permission)
        if scope is not None and not scope.issuperset(body_sites):
            return {404}
    return "allow"


@pytest.fixture
def world(db, network):
    return _world(db, network)


# Every role against every route is the same Python on either database (the scope lookups it
# relies on run on PostgreSQL in the other tests of this file): it runs on SQLite only.
@pytest.mark.slow
@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
def test_authorization_matrix(app, db, network, world):
    admin = network
    site_id = {code: queries.site_of(db.uow(), code) for code in ("S1", "S2")}
    checked, wrong = 0, []
    for spec in BUILTIN_ROLES:
        username = f"m_{spec.code}"
        auth.create_user(db.uow(), username=username, password=PASSWORD)
        roles.set_assignments(db.uow(), admin, username,
                              [{"role": spec.code, "scope": "sites", "sites": ["S1"]}])
        with db.uow() as uow:
            user = uow.session.query(AppUser).filter_by(username=username).one()
            actor = roles.actor_of(uow.session, user)
        with TestClient(app) as client:
            token = client.post("/api/v1/auth/login", json={
                "username": username, "password": PASSWORD}).json()["access_token"]
            client.headers["Authorization"] = f"Bearer {token}"
            for route in routes(app):
                if not route.path.startswith("/api/") or ("POST", route.path) in PUBLIC:
                    continue
                permit = permit_of(route)
                assert permit is not None, route.path
                for method in sorted(route.methods - {"HEAD"}):
                    for side_name in ("in", "out"):
                        side = world[side_name]
                        params = _params(route, permit, side)
                        assert params is not None
                        url = route.path.format(**params)
                        sites = _site_of_target(db, route, params, permit.required(params))
                        body_permission = SITE_IN_BODY.get(route.path) if method == "POST" else None
                        expected = _expected(actor, permit.required(params), sites,
                                             [site_id[side["site"]]], body_permission)
                        response = client.request(method, url, json=_body(method, route.path, side))
                        checked += 1
                        status = response.status_code
                        ok = (status not in (401, 403) and not (status == 404 and sites is not None)
                              if expected == "allow" else status in expected)
                        if not ok:
                            wrong.append(f"{spec.code} {side_name} {method} {url}: {status} "
                                         f"expected {expected} {response.text[:120]}")
    print(f"authorization matrix: {checked} requests checked")
    assert checked > 1000
    assert wrong == [], "\n".join(wrong[:40])


# --- spot checks written by hand, independent of the rule table ------------------------------------

def _client(app: Any, db: Any, admin: Actor, role: str, scope: dict[str, Any]) -> TestClient:
    username = f"u_{role}"
    auth.create_user(db.uow(), username=username, password=PASSWORD)
    roles.set_assignments(db.uow(), admin, username, [{"role": role, **scope}])
    client = TestClient(app)
    token = client.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD}
                        ).json()["access_token"]
    client.headers["Authorization"] = f"Bearer {token}"
    return client


def test_each_role_sees_its_own_slice(app, db, network, world):
    clerk = _client(app, db, network, "clerk", {"scope": "sites", "sites": ["S1"]})
    listed = [t["number"] for t in clerk.get("/api/v1/transfers").json()["items"]]
    assert world["in"]["transfer"] in listed and world["out"]["transfer"] not in listed
    assert clerk.get(f"/api/v1/transfers/{world['out']['transfer']}").status_code == 404
    assert clerk.get(f"/api/v1/transfers/{world['in']['transfer']}").status_code == 200
    assert [s["site"] for s in clerk.get("/api/v1/stock/SKU-1").json()["sites"]] == ["S1"]
    assert {r["site"] for r in clerk.get("/api/v1/stock").json()["items"]} == {"S1"}
    assert [s["code"] for s in clerk.get("/api/v1/sites").json()["items"]] == ["S1"]
    assert clerk.get("/api/v1/sites/S2").status_code == 404
    assert clerk.post("/api/v1/purchase-orders", json={
        "supplier": "SUP-1", "site": "S1", "lines": [{"sku": "SKU-1", "qty": "1"}]}).status_code == 403

    regional = _client(app, db, network, "regional_manager", {"scope": "region", "region": "华南"})
    listed = [p["number"] for p in regional.get("/api/v1/purchase-orders").json()["items"]]
    assert listed == [world["out"]["purchase"]]
    assert regional.post("/api/v1/payments", json={}).status_code == 403

    seller = _client(app, db, network, "sales", {"scope": "all"})
    assert seller.get("/api/v1/purchase-orders").status_code == 403
    assert seller.get("/api/v1/sales-orders").status_code == 200
    assert seller.get("/api/v1/audit").status_code == 403

    finance = _client(app, db, network, "finance", {"scope": "all"})
    assert finance.get("/api/v1/aging").status_code == 200
    assert finance.post("/api/v1/transfers", json={
        "source": "WH", "dest": "S1", "lines": [{"sku": "SKU-1", "qty": "1"}]}).status_code == 403


def test_out_of_scope_ids_change_nothing(app, db, network, world):
    """IDOR: acting on another site's records by number answers 404 and changes nothing."""
    store = _client(app, db, network, "store_manager", {"scope": "sites", "sites": ["S1"]})
    number = world["out"]["transfer"]
    before = transfers.get_transfer(db.uow(), number)
    for action in ("submit", "ship", "cancel", "close"):
        assert store.post(f"/api/v1/transfers/{number}/{action}", json={}).status_code == 404
    assert store.patch(f"/api/v1/transfers/{number}", json={
        "version": before["version"], "lines": [{"sku": "SKU-1", "qty": "9"}]}).status_code == 404
    assert transfers.get_transfer(db.uow(), number) == before
    reversed_ = store.post(f"/api/v1/stock/postings/{world['out']['posting']}/reverse",
                           json={"reason": "try"})
    assert reversed_.status_code == 404
    moved = store.post("/api/v1/stock/issue", json={"sku": "SKU-1", "site": "S2", "qty": "1"})
    assert moved.status_code == 404
    assert store.get("/api/v1/locks/site/S2").status_code == 404
    assert store.get("/api/v1/locks/location/S2-A1").status_code == 404
    assert store.get("/api/v1/locks/site/S1").status_code == 200
    assert masterdata.get(db.uow(), "site", "S2")["code"] == "S2"


def test_field_rules_hide_cost_and_refuse_fixed_fields(app, db, network, world):
    clerk = _client(app, db, network, "clerk", {"scope": "all"})
    received = clerk.post("/api/v1/stock/receive", json={"sku": "SKU-1", "site": "S1", "qty": "1"})
    assert received.status_code == 201, received.text
    line = received.json()["moves"][0]
    assert "unit_cost" not in line and "value" not in line
    refused = clerk.post("/api/v1/stock/receive", json={
        "sku": "SKU-1", "site": "S1", "qty": "1", "unit_cost": "1"},
        headers={"Accept-Language": "en"})
    assert refused.status_code == 403 and "unit_cost" in refused.json()["detail"]
    assert clerk.put("/api/v1/customers/CUS-1/prices/SKU-1", json={"price": "1"}).status_code == 403

    admin = TestClient(app)
    token = admin.post("/api/v1/auth/login", json={"username": "admin", "password": PASSWORD}
                       ).json()["access_token"]
    shown = admin.post("/api/v1/stock/receive", json={"sku": "SKU-1", "site": "S1", "qty": "1"},
                       headers={"Authorization": f"Bearer {token}"}).json()["moves"][0]
    assert "unit_cost" in shown and "value" in shown
    assert clerk.get("/api/v1/inventory-value").status_code == 403


def test_a_token_limited_to_some_permissions(app, db, network, world):
    director = _client(app, db, network, "inventory_director", {"scope": "all"})
    made = director.post("/api/v1/auth/tokens", json={"name": "bi", "days": 1,
                                                      "permissions": ["stock.view"]})
    assert made.status_code == 201, made.text
    limited = TestClient(app, headers={"Authorization": f"Bearer {made.json()['token']}"})
    assert limited.get("/api/v1/stock/SKU-1").status_code == 200
    assert limited.get("/api/v1/transfers").status_code == 403
    too_much = director.post("/api/v1/auth/tokens", json={"name": "x", "days": 1,
                                                          "permissions": ["user.edit"]})
    assert too_much.status_code == 422 and too_much.json()["errors"][0]["field"] == "permissions"


def test_field_rules_on_pages_and_pdf(app, db, network, world):
    """A role whose field rules hide prices sees no price on the purchase order's page, print
    view or PDF; without the rule the same page shows them."""
    roles.save_role(db.uow(), network, "buyer_noprice", name="只读采购", permissions=["purchase.view"],
                    hidden_fields=["price"])
    number = world["in"]["purchase"]
    for role, shows in (("buyer_noprice", False), ("purchaser", True)):
        username = f"p_{role}"
        auth.create_user(db.uow(), username=username, password=PASSWORD)
        roles.set_assignments(db.uow(), network, username, [{"role": role, "scope": "all"}])
        with login(app, username) as client:
            page = client.get(f"/docs/purchase-orders/{number}", headers={"Accept-Language": "en"})
            assert page.status_code == 200
            printed = client.get(f"/docs/purchase-orders/{number}/print").text
            pdf = client.get(f"/docs/purchase-orders/{number}/pdf")
            assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
            api = client.get(f"/api/v1/purchase-orders/{number}").json()
        assert ("<th>price</th>" in page.text.lower() or ">Price<" in page.text) is shows
        assert ("2.00" in printed or ">2<" in printed or "2.000000" in printed) is shows
        assert ("price" in api["lines"][0]) is shows and ("total" in api) is shows


def test_a_refused_page_is_a_page_in_the_users_language(app, db, network, world):
    auth.create_user(db.uow(), username="seller", password=PASSWORD)
    roles.set_assignments(db.uow(), network, "seller", [{"role": "sales", "scope": "all"}])
    with login(app, "seller") as client:
        page = client.get("/docs/purchase-orders", headers={"Accept": "text/html"})
        assert page.status_code == 403 and "text/html" in page.headers["content-type"]
        assert "403" in page.text and "您的角色无权执行此操作" in page.text
        nav = client.get("/stock", headers={"Accept": "text/html"}).text
        assert 'href="/docs/sales-orders"' in nav and 'href="/docs/purchase-orders"' not in nav
        hidden = client.get(f"/docs/sales-orders/{world['out']['sales']}",
                            headers={"Accept": "text/html"})
        assert hidden.status_code == 200
