"""Failure analysis on the API and as a page: rates and turnaround as JSON and CSV, bad input
named, the definitions shown, site scope and the serial.view / serial.export permissions.

Three phones shipped in the last days: P0 from S1 (华东) with a ticket still open, P1 and P2
from S2 (华南), P1 repaired in 48 hours."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from cangliu.db.models import Location, RepairTicket, Serial
from cangliu.services import auth, masterdata, roles, serials
from tests.conftest import PASSWORD
from tests.web.conftest import login

NOW = datetime.now(UTC).replace(microsecond=0)
RATES, TIMES = "/api/v1/serial-analytics/failure-rates", "/api/v1/serial-analytics/turnaround"


@pytest.fixture
def units(db, network):
    masterdata.create(db.uow(), network, "sku", {"code": "PHONE", "name": "Phone",
                                                  "tracking": "serial"})
    codes = serials.generate(db.uow(), network, sku="PHONE", count=3)["codes"]
    with db.uow() as uow:
        s = uow.session
        sites = {c: i for c, i in s.execute(select(Location.code, Location.id))}
        ids = list(s.scalars(select(Serial.id).where(Serial.code.in_(codes)).order_by(Serial.id)))
        sku_id = s.scalar(select(Serial.sku_id).where(Serial.id == ids[0]))
        serials.record_event(s, ids, "received", at=NOW - timedelta(days=20), operator="t")
        for unit, days, site in zip(ids, (10, 9, 8), ("S1", "S2", "S2"), strict=True):
            serials.record_event(s, [unit], "shipped", at=NOW - timedelta(days=days),
                                 operator="t", site_id=sites[site])
        for n, (unit, status, opened, closed, site) in enumerate((
                (ids[1], "closed", NOW - timedelta(days=5), NOW - timedelta(days=3), "S2"),
                (ids[0], "open", NOW - timedelta(days=2), None, "S1")), start=1):
            s.add(RepairTicket(number=f"RP-{n}", serial_id=unit, sku_id=sku_id,
                               site_id=sites[site], fault="x", status=status,
                               serial_status_before="sold", opened_by="t", opened_at=opened,
                               closed_at=closed))
        uow.commit()
    return codes


def _person(app, db, network, name, permissions, sites=None):
    roles.save_role(db.uow(), network, f"r_{name}", name=name, permissions=permissions)
    auth.create_user(db.uow(), username=name, password=PASSWORD)
    scope = {"scope": "sites", "sites": sites} if sites else {"scope": "all"}
    roles.set_assignments(db.uow(), network, name, [{"role": f"r_{name}", **scope}])
    client = login(app, name)
    client.cookies.set("lang", "en")
    return client


def test_api_gives_rates_and_turnaround_as_json_and_csv(api, units):
    api.cookies.set("lang", "en")
    body = api.get(RATES, params={"by": "region"}).json()
    assert [(r["key"], r["sold"], r["failed"], r["rate"]) for r in body["rows"]] == [
        ("华东", 1, 1, 1.0), ("华南", 2, 1, 0.5)]
    assert body["totals"] == {"sold": 3, "failed": 2, "rate": 0.6667}
    exported = api.get(RATES, params={"by": "region", "format": "csv"})
    assert exported.headers["content-type"].startswith("text/csv")
    assert exported.text.lstrip("\ufeff").splitlines() == [
        "Sales region,Units sold,Failed,Failure rate", "华东,1,1,1.0", "华南,2,1,0.5",
        "Total,3,2,0.6667"]
    times = api.get(TIMES, params={"since": (NOW - timedelta(days=30)).date().isoformat(),
                                   "until": NOW.date().isoformat()}).json()
    assert times["totals"]["count"] == 1 and times["totals"]["median_hours"] == 48.0
    assert [t["number"] for t in times["open"]] == ["RP-2"]
    sheet = api.get(TIMES, params={"format": "csv"}).text.lstrip("\ufeff").splitlines()
    assert sheet[0].startswith("SKU,Name,Closed tickets,Mean (h)")
    assert sheet[1] == "PHONE,Phone,1,48.0,48.0,48.0,2.0,2.0,2.0"


def test_api_refuses_a_bad_dimension_or_date_naming_the_field(api, units):
    for url, params, field in ((RATES, {"by": "colour"}, "by"), (TIMES, {"by": "lot"}, "by"),
                               (RATES, {"since": "last year"}, "since"),
                               (RATES, {"since": "2026-05-01", "until": "2026-04-01"}, "until")):
        refused = api.get(url, params=params)
        assert refused.status_code == 422
        assert refused.json()["errors"][0]["field"] == field


def test_page_shows_rates_turnaround_open_tickets_and_definitions(browser, units):
    browser.cookies.set("lang", "en")
    page = browser.get("/serials/analytics", params={"by": "region"})
    assert page.status_code == 200
    text = page.text
    assert "Failure analysis" in text and "Sales region" in text and "华东" in text
    assert "100.0%" in text and "66.7%" in text and 'data-width="50.0"' in text
    assert "RP-2" in text and "Definitions" in text and "format=csv" in text
    bad = browser.get("/serials/analytics", params={"by": "colour", "since": "soon"})
    assert bad.status_code == 200 and "by: must be one of" in bad.text
    assert "since: must be a date" in bad.text and "PHONE" in bad.text


def test_site_scope_and_permissions_apply(app, db, network, units):
    s2 = _person(app, db, network, "s2viewer", ["serial.view"], sites=["S2"])
    body = s2.get(RATES, params={"by": "region"}).json()
    assert [(r["key"], r["sold"]) for r in body["rows"]] == [("华南", 2)]
    assert s2.get(TIMES).json()["open"] == []
    assert s2.get(RATES, params={"format": "csv"}).status_code == 403
    page = s2.get("/serials/analytics")
    assert page.status_code == 200 and "Export CSV" not in page.text
    outsider = _person(app, db, network, "outsider", ["stock.view"])
    assert outsider.get(RATES).status_code == 403
    assert outsider.get("/serials/analytics").status_code == 403
