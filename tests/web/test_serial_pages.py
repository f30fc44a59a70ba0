"""Serial pages: the 一物一码 lookup by code and by GS1 content with the timeline, the 404 page,
the rule editor with its live preview fragment, batch generation → batch page → labels PDF, and
who may do what (a clerk generates at their site, a salesperson cannot; CSRF is checked)."""

import html

import pytest
from fastapi.testclient import TestClient

from cangliu.core.serials.checkdigits import check_character
from cangliu.services import auth, masterdata, roles, serials
from tests.conftest import PASSWORD
from tests.web.conftest import login

RULE = {"code": "PH", "name": "Phone serials", "template": "8{seq:7:never}{check:luhn}",
        "sku": "PHONE"}
GTIN = "0690123456789" + check_character("gs1", "0690123456789")


@pytest.fixture
def phone(db, network) -> None:
    masterdata.create(db.uow(), network, "sku", {"code": "PHONE", "name": "Phone",
                                                 "tracking": "serial"})
    serials.create(db.uow(), network, **RULE)


@pytest.fixture
def en(browser: TestClient) -> TestClient:
    browser.cookies.set("lang", "en")
    return browser


def _person(app, db, network, username: str, role: str) -> TestClient:  # type: ignore[no-untyped-def]
    auth.create_user(db.uow(), username=username, password=PASSWORD)
    roles.set_assignments(db.uow(), network, username,
                          [{"role": role, "scope": "sites", "sites": ["S1"]}])
    client = login(app, username)
    client.cookies.set("lang", "en")
    return client


def generate_in(client: TestClient, count: int = 3, site: str = "S1", key: str = "k1"):  # type: ignore[no-untyped-def]
    return client.post("/serials/generate", data={
        "csrf_token": client.csrf, "sku": "PHONE", "count": str(count), "site": site,  # type: ignore[attr-defined]
        "line": "", "rule": "", "key": key}, follow_redirects=False)


def test_generate_shows_the_batch_and_prints_its_labels(en, phone):
    made = generate_in(en)
    assert made.status_code == 303 and made.headers["location"].startswith("/serials/batches/")
    again = generate_in(en)  # the same form posted twice: one batch
    assert again.headers["location"] == made.headers["location"]
    page = en.get(made.headers["location"])
    first = "80000001" + check_character("luhn", "80000001")
    assert page.status_code == 200 and "3 codes were generated." in page.text
    assert first in page.text and "Print labels" in page.text
    number = made.headers["location"].split("/")[-1].split("?")[0]
    listed = en.get("/serials", params={"batch": number})
    assert listed.text.count('href="/serials/8') == 3
    pdf = en.post(f"/serials/batches/{number}/labels",
                  data={"csrf_token": en.csrf, "template": "50x30", "start": "2", "count": "2"})
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    bad = en.post(f"/serials/batches/{number}/labels",
                  data={"csrf_token": en.csrf, "template": "NOPE"})
    assert bad.status_code == 422 and "no label template NOPE" in html.unescape(bad.text)
    refused = generate_in(en, count=0, key="k2")
    assert refused.status_code == 422 and "must be between 1 and 100000" in refused.text


def test_lookup_by_code_and_gs1_content_shows_the_timeline(en, phone):
    generate_in(en)
    code = "80000001" + check_character("luhn", "80000001")
    found = en.get("/serials/find", params={"code": f"  {code} "}, follow_redirects=False)
    assert found.status_code == 303 and found.headers["location"] == f"/serials/{code}"
    scanned = en.get("/serials/find", params={"code": f"(01){GTIN}(21){code}"},
                     follow_redirects=False)
    assert scanned.headers["location"] == f"/serials/{code}"
    page = en.get(f"/serials/{code}")
    assert page.status_code == 200 and "Phone" in page.text
    assert "Generated (unused)" in page.text and "S1" in page.text
    timeline = page.text.split("Timeline")[1]
    assert "Generated" in timeline and "admin" in timeline
    assert 'href="/serials/batches/' in timeline  # the event's document: its batch
    assert "autofocus" in page.text
    assert en.get(f"/serials/{code}", params={"order": "oldest"}).status_code == 200


def test_an_unknown_code_is_a_404_page_with_the_search_box(en, phone):
    generate_in(en)
    missing = en.get("/serials/find", params={"code": "NOPE-1"})
    assert missing.status_code == 404 and "No serial NOPE-1 that you may see." in missing.text
    assert 'action="/serials/find"' in missing.text
    wrong = "80000001" + str((int(check_character("luhn", "80000001")) + 1) % 10)
    typo = en.get(f"/serials/{wrong}")
    assert typo.status_code == 404
    assert f"check digit mismatch: expected {check_character('luhn', '80000001')}" in typo.text
    no_serial = en.get("/serials/find", params={"code": f"(01){GTIN}(10)LOT1"})
    assert no_serial.status_code == 404 and "carries no serial" in no_serial.text


def test_the_rule_editor_previews_codes_and_names_the_bad_token(en, phone):
    listed = en.get("/admin/serial-rules")
    assert listed.status_code == 200 and "PH" in listed.text
    form = en.get("/admin/serial-rules/PH")
    assert "{check:ALG}" in form.text and "hx-post=\"/admin/serial-rules/preview\"" in form.text
    shown = en.post("/admin/serial-rules/preview", data={
        "csrf_token": en.csrf, "template": "{sku}-{seq:3}", "sku": "PHONE"})
    assert shown.status_code == 200
    assert [f"PHONE-00{i}" in shown.text for i in range(1, 6)] == [True] * 5
    bad = en.post("/admin/serial-rules/preview", data={
        "csrf_token": en.csrf, "template": "{sku}-{seq:3", "sku": "PHONE"})
    assert bad.status_code == 422 and "error" in bad.text and "PHONE-001" not in bad.text
    fragment = en.post("/admin/serial-rules/preview", headers={"HX-Request": "true"}, data={
        "csrf_token": en.csrf, "template": "{bogus}"})
    assert fragment.status_code == 200 and "bogus" in fragment.text
    saved = en.post("/admin/serial-rules/PH", data={
        "csrf_token": en.csrf, "version": "1", "name": "Phones", "template": "P{seq:6}",
        "sku": "PHONE", "line": "L1", "active": "1"}, follow_redirects=False)
    assert saved.status_code == 303
    assert en.get("/api/v1/serial-rules/PH").json()["template"] == "P{seq:6}"
    stale = en.post("/admin/serial-rules/PH", data={
        "csrf_token": en.csrf, "version": "1", "name": "x", "template": "P{seq:6}"})
    assert stale.status_code == 409
    refused = en.post("/admin/serial-rules", data={
        "csrf_token": en.csrf, "code": "NEW", "name": "New", "kind": "serial", "template": "A-"})
    assert refused.status_code == 422 and "field-error" in refused.text
    assert en.get("/admin/serial-rules/NEW").status_code == 404


def test_a_clerk_generates_a_salesperson_cannot_and_csrf_is_checked(app, db, network, phone):
    clerk = _person(app, db, network, "clerk1", "clerk")
    seller = _person(app, db, network, "seller", "sales")
    assert clerk.get("/serials/generate").status_code == 200
    assert generate_in(clerk).status_code == 303
    assert generate_in(clerk, site="S2", key="k3").status_code == 404
    assert seller.get("/serials/generate").status_code == 403
    assert generate_in(seller, key="k4").status_code == 403
    assert seller.get("/serials").status_code == 200
    assert seller.post("/admin/serial-rules", data={
        "csrf_token": seller.csrf, "code": "X", "name": "X", "template": "{seq:4}"}).status_code == 403
    forged = clerk.post("/serials/generate", data={"csrf_token": "forged", "sku": "PHONE",
                                                   "count": "1", "site": "S1"})
    assert forged.status_code == 403
    with db.read() as session:
        assert len(serials.list_serials(session, sku="PHONE")[0]) == 3


def test_serials_at_another_site_stay_hidden(app, db, network, phone, en):
    made = generate_in(en, count=1, site="S2", key="s2")
    number = made.headers["location"].split("/")[-1].split("?")[0]
    code = "80000001" + check_character("luhn", "80000001")
    seller = _person(app, db, network, "seller", "sales")
    assert seller.get(f"/serials/{code}").status_code == 404
    assert seller.get(f"/serials/batches/{number}").status_code == 404
    assert code not in seller.get("/serials").text
    assert 'href="/serials"' in en.get("/stock").text.split("<main>")[0]
    en.cookies.set("lang", "zh_CN")
    zh = en.get("/serials")
    assert zh.status_code == 200 and 'lang="zh-CN"' in zh.text
