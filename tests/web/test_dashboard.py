"""Dashboard over the API and the pages: KPIs as decimal strings with their definitions, the
drill-down, a store manager seeing only their store, bad input a 422 naming the field, and the
pages (dashboard, drill-down state in the URL, heatmap) rendering their tables."""

from cangliu.services import auth, masterdata, roles
from tests.conftest import PASSWORD
from tests.services.test_kpis import D1, D3, story  # noqa: F401 - the fixture
from tests.web.conftest import login

PERIOD = {"start": D1.isoformat(), "end": D3.isoformat()}


def test_kpis_over_the_api(api, story):  # noqa: F811
    got = api.get("/api/v1/kpis/summary", params=PERIOD)
    assert got.status_code == 200, got.text
    body = got.json()
    assert body["kpis"]["inventory_value"] == "31.00" and body["kpis"]["turnover"] == "0.6944"
    assert {d["code"] for d in body["definitions"]} >= {"turnover", "stockout_rate"}
    sites = api.get("/api/v1/kpis/drill", params={**PERIOD, "level": "site"}).json()
    assert [(r["key"], r["inventory_value"]) for r in sites["items"]] == [("WH", "21.00"),
                                                                         ("S1", "10.00")]
    assert sites["next_level"] == "category"
    trend = api.get("/api/v1/kpis/trend", params={**PERIOD, "kpi": "cogs"}).json()
    assert [p["value"] for p in trend["items"]] == ["0.00", "25.00", "0.00"]
    assert api.get("/api/v1/kpis/compare", params={"day": D3.isoformat(), "window_days": 1}
                   ).json()["after"]["kpis"]["transit_hours"] == "18.0"
    assert api.get("/api/v1/kpis/risks").json()["days"] == 7
    assert api.get("/api/v1/kpis/water-levels").json()["counts"]["red"] == 0
    assert api.get("/api/v1/kpis/heatmap", params={"site": "WH"}).json()["items"][0]["bin"] == "WH-A1"
    for params, field in (({"kpi": "nope"}, "kpi"), ({"grain": "year"}, "grain")):
        bad = api.get("/api/v1/kpis/trend", params={**PERIOD, **params})
        assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == field
    bad = api.get("/api/v1/kpis/summary", params={"start": D3.isoformat(), "end": D1.isoformat()})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "end"


def test_a_store_manager_sees_only_their_store(app, db, story):  # noqa: F811
    auth.create_user(db.uow(), username="s1boss", password=PASSWORD)
    roles.set_assignments(db.uow(), story, "s1boss", [{"role": "store_manager", "scope": "sites",
                                                       "sites": ["S1"]}])
    with login(app, "s1boss") as client:
        got = client.get("/api/v1/kpis/summary", params=PERIOD).json()["kpis"]
        assert got["inventory_value"] == "10.00" and got["cogs"] == "0.00"
        sites = client.get("/api/v1/kpis/drill", params={**PERIOD, "level": "site"}).json()
        assert [r["key"] for r in sites["items"]] == ["S1"]
        page = client.get("/dashboard", params=PERIOD)
        assert page.status_code == 200 and ">WH · " not in page.text


def test_the_dashboard_pages_render_their_tables(browser, db, story):  # noqa: F811
    masterdata.create(db.uow(), story, "location", {"code": "WH-A2", "name": "A2", "kind": "bin",
                                                    "parent": "WH", "capacity_weight_kg": "100"})
    page = browser.get("/dashboard", params=PERIOD)
    assert page.status_code == 200, page.text
    html = page.text
    assert 'id="kpi-cards"' in html and 'data-live="stock.changed"' in html
    assert 'href="/dashboard?start=2026-11-02&amp;end=2026-11-04&amp;region=' in html
    drilled = browser.get("/dashboard", params={**PERIOD, "region": "华东", "site": "WH"}).text
    assert "FOOD" in drilled and "15.00" in drilled  # the categories of WH
    skus = browser.get("/dashboard", params={**PERIOD, "site": "WH", "category": "FOOD"}).text
    assert "SKU-1" in skus
    bad = browser.get("/dashboard", params={"start": "2026-13-01"})
    assert bad.status_code == 200 and 'role="alert"' in bad.text
    heat = browser.get("/dashboard/heatmap", params={"site": "WH"})
    assert heat.status_code == 200 and "WH-A2" in heat.text
