"""The scanning pages (/scan): pages for a clerk, the scan pack within the user's sites and
permissions, the service worker and manifest, and the JS GS1 parser agreeing with Python's."""

import json
import shutil
import subprocess
from datetime import date
from pathlib import Path

import pytest

from cangliu.core.errors import ValidationFailed
from cangliu.core.serials import gs1
from cangliu.services import auth, counts, masterdata, purchasing, roles, stock
from cangliu.services.postings import Meta
from cangliu.services.purchasing import PurchaseLineIn
from tests.conftest import PASSWORD
from tests.web.conftest import login

JS = Path(__file__).resolve().parents[2] / "src" / "cangliu" / "web" / "static" / "js" / "scan"
TASKS = ("receive", "putaway", "pick", "ship", "transfer-receive", "count")


def _user(app, db, admin, name, role, sites=None):
    auth.create_user(db.uow(), username=name, password=PASSWORD)
    scope = {"scope": "sites", "sites": sites} if sites else {"scope": "all"}
    roles.set_assignments(db.uow(), admin, name, [{"role": role, **scope}])
    return login(app, name)


@pytest.fixture
def documents(db, network):
    """An approved PO at WH and at S1, stock in bin WH-A1, an open count of WH."""
    masterdata.create(db.uow(), network, "supplier", {"code": "SUP", "name": "供应商"})
    made = {}
    for site in ("WH", "S1"):
        po = purchasing.create_purchase(db.uow(), Meta(network), supplier="SUP", site=site,
                                        lines=[PurchaseLineIn("SKU-1", "5", "2")])
        made[site] = purchasing.submit_purchase(db.uow(), Meta(network),
                                                number=po["number"])["number"]
    stock.receive(db.uow(), Meta(network), site="WH",
                  lines=[stock.Line("SKU-KG", "7.5", bin="WH-A1", unit_cost="3")])
    made["count"] = counts.start_count(db.uow(), Meta(network), site="WH")["number"]
    return made


def test_menu_and_every_task_page_render_for_a_clerk(app, db, network):
    with _user(app, db, network, "picker", "clerk", sites=["WH"]) as clerk:
        menu = clerk.get("/scan", headers={"Accept-Language": "en"})
        assert menu.status_code == 200
        assert 'value="WH"' in menu.text and 'value="S1"' not in menu.text
        assert 'id="sync-counter"' in menu.text and '/scan/manifest.webmanifest' in menu.text
        assert 'href="/scan/review"' in menu.text
        for slug in TASKS:
            page = clerk.get(f"/scan/{slug}")
            assert page.status_code == 200, slug
            assert f'data-task="{slug}"' in page.text and 'id="scan-input"' in page.text
            assert "/static/js/scan/task.js" in page.text


def test_scanning_pages_send_a_stranger_to_the_login_page(anon):
    answer = anon.get("/scan/receive", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"].startswith("/login")


def test_pack_holds_the_sites_bins_stock_documents_and_skus(browser, documents):
    answer = browser.get("/scan/pack", params={"site": "WH"})
    assert answer.status_code == 200 and answer.headers["cache-control"] == "no-store"
    pack = answer.json()
    assert pack["site"]["code"] == "WH"
    assert [b["code"] for b in pack["bins"]] == ["WH-A1"]
    assert [(s["bin"], s["sku"], s["lot"], float(s["qty"])) for s in pack["stock"]] == [
        ("WH-A1", "SKU-KG", "", 7.5)]
    assert [p["number"] for p in pack["purchases"]] == [documents["WH"]]
    assert pack["purchases"][0]["lines"][0]["open_qty"] == "5"
    assert [c["number"] for c in pack["counts"]] == [documents["count"]]
    skus = {s["code"]: s for s in pack["skus"]}
    assert set(skus) == {"SKU-1", "SKU-KG"}
    assert skus["SKU-1"]["barcodes"] == ["6900000000017"] and skus["SKU-KG"]["decimals"] == 3
    assert all(pack["can"].values())


def test_pack_keeps_to_the_users_sites_and_permissions(app, db, network, documents):
    with _user(app, db, network, "wh", "clerk", sites=["WH"]) as clerk:
        pack = clerk.get("/scan/pack", params={"site": "WH"}).json()
        assert [p["number"] for p in pack["purchases"]] == [documents["WH"]]
        assert pack["can"]["receive"] and pack["can"]["count"] and pack["can"]["putaway"]
        assert "price" in pack["purchases"][0]["lines"][0]  # read-only for clerks, not hidden
        assert clerk.get("/scan/pack", params={"site": "S1"}).status_code == 404
        assert clerk.get("/scan/pack", params={"site": "NOPE"}).status_code == 404
    roles.save_role(db.uow(), network, "looker", name="looker", permissions=["stock.view"],
                    hidden_fields=["price"])
    with _user(app, db, network, "eyes", "looker") as looker:
        pack = looker.get("/scan/pack", params={"site": "S1"}).json()
        assert pack["purchases"] == [] and pack["counts"] == []
        assert not any(pack["can"].values())
    with _user(app, db, network, "seller", "sales") as seller:
        assert seller.get("/scan/pack", params={"site": "WH"}).status_code == 200
    roles.save_role(db.uow(), network, "nothing", name="nothing", permissions=["alert.view"])
    with _user(app, db, network, "blind", "nothing") as nobody:
        assert nobody.get("/scan/pack", params={"site": "WH"}).status_code == 403
        assert nobody.get("/scan", follow_redirects=False).status_code == 403


def test_service_worker_and_manifest_are_served_for_the_scan_scope(anon):
    worker = anon.get("/scan/sw.js")
    assert worker.status_code == 200
    assert worker.headers["content-type"].startswith("text/javascript")
    assert worker.headers["service-worker-allowed"] == "/scan"
    assert "__SHELL__" not in worker.text and "__VERSION__" not in worker.text
    assert '"/scan/receive"' in worker.text and '"/static/js/scan/task.js"' in worker.text
    assert "/static/vendor/html5-qrcode/html5-qrcode.min.js" in worker.text
    manifest = anon.get("/scan/manifest.webmanifest")
    assert manifest.headers["content-type"].startswith("application/manifest+json")
    body = manifest.json()
    assert body["start_url"] == "/scan" and body["display"] == "standalone"
    assert anon.get(body["icons"][0]["src"]).headers["content-type"].startswith("image/svg+xml")
    for url in json.loads(worker.text.split("const SHELL = ")[1].split(";")[0]):
        if url.startswith("/static/"):
            assert anon.get(url).status_code == 200, url


SAMPLES = [
    "(01)09506000134352(17)261231(10)LOT-7(21)SN1",
    "]d20109506000134352172612311" + "0ABC\x1d21XYZ",
    "]C1010950600013435210L1\x1d17260200",
    "\x1d0109506000134352",
    "(00)106141411234567897",
    "(01)09506000134353",
    "(01)0950600013435",
    "(99)123",
    "(10)A(10)B",
    "(17)261332",
    "0109506000134352",
    "6900000000017",
    "(10)" + "A" * 21,
    "(21)bad€",
]


def _python(content: str) -> dict:
    try:
        data = gs1.parse(content, today=date(2026, 11, 24))
    except ValidationFailed as exc:
        return {"error": exc.errors[0].field, "is_gs1": gs1.is_gs1(content)}
    return {"gtin": data.gtin, "lot": data.lot, "serial": data.serial, "sscc": data.sscc,
            "expiry": data.expiry.isoformat() if data.expiry else None,
            "is_gs1": gs1.is_gs1(content)}


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_the_javascript_gs1_parser_agrees_with_the_python_one():
    script = f"""
    import {{ parse, isGs1 }} from "{JS / 'gs1.js'}";
    const out = JSON.parse(process.argv[1]).map((c) => {{
      try {{
        const d = parse(c, new Date(2026, 10, 24));
        return {{ gtin: d.gtin, lot: d.lot, serial: d.serial, sscc: d.sscc, expiry: d.expiry,
                 is_gs1: isGs1(c) }};
      }} catch (e) {{ return {{ error: e.field, is_gs1: isGs1(c) }}; }}
    }});
    console.log(JSON.stringify(out));
    """
    ran = subprocess.run(["node", "--input-type=module", "-e", script, json.dumps(SAMPLES)],
                         capture_output=True, text=True, check=True)
    assert json.loads(ran.stdout) == [_python(s) for s in SAMPLES]


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_the_javascript_gs1_parser_reads_the_extra_application_identifiers():
    script = f"""
    import {{ parse }} from "{JS / 'gs1.js'}";
    const d = parse("(02)09506000134352(37)24(11)260101(15)270630(30)12", new Date(2026, 10, 24));
    console.log(JSON.stringify([d.content, d.units, d.production, d.best_before, d.count]));
    """
    ran = subprocess.run(["node", "--input-type=module", "-e", script],
                         capture_output=True, text=True, check=True)
    assert json.loads(ran.stdout) == ["09506000134352", "24", "2026-01-01", "2027-06-30", "12"]
