"""The import page and API: upload → errors → download the report → fix → apply; templates;
the size limit (413); files that are not spreadsheets (422); permissions; background jobs."""

import io

from openpyxl import load_workbook
from sqlalchemy import func, select

from cangliu.db.models import Sku
from cangliu.services import auth, masterdata, roles
from cangliu.services.imports import jobs
from tests.conftest import PASSWORD
from tests.web.conftest import login

BAD = "编码,名称,小数位数\nP-1,一号,0\nP-2,,9\n".encode()
GOOD = "编码,名称,小数位数\nP-1,一号,0\nP-2,二号,2\n".encode()


def upload_page(client, content: bytes, entity: str = "sku", mode: str = "create"):  # type: ignore[no-untyped-def]
    return client.post("/import", data={"csrf_token": client.csrf, "entity": entity, "mode": mode},
                       files={"file": ("skus.csv", content, "text/csv")}, follow_redirects=False)


def sku_count(db) -> int:  # type: ignore[no-untyped-def]
    with db.read() as s:
        return s.scalar(select(func.count()).select_from(Sku))


def test_upload_errors_report_fix_and_apply_on_the_page(app, db, browser):
    assert 'value="sku"' in browser.get("/import").text
    before = sku_count(db)
    sent = upload_page(browser, BAD)
    assert sent.status_code == 303, sent.text[sent.text.find('role="alert"'):][:300]
    page = browser.get(sent.headers["location"])
    assert "必填" in page.text or "is required" in page.text
    assert "小数位数" in page.text and 'action="/import/' not in page.text  # no apply button
    ref = sent.headers["location"].rsplit("/", 1)[1]
    report = browser.get(f"/api/v1/imports/{ref}/errors.xlsx")
    rows = list(load_workbook(io.BytesIO(report.content)).active.iter_rows(values_only=True))
    assert [r[:2] for r in rows[1:]] == [(3, "名称"), (3, "小数位数")]
    assert browser.get(f"/api/v1/imports/{ref}/errors.csv").text.count("\n") == 3
    assert sku_count(db) == before
    fixed = upload_page(browser, GOOD)
    page = browser.get(fixed.headers["location"])
    assert f'action="{fixed.headers["location"]}/apply"' in page.text
    applied = browser.post(fixed.headers["location"] + "/apply", data={"csrf_token": browser.csrf},
                           follow_redirects=True)
    assert applied.status_code == 200
    assert ("Imported: 2 created" in applied.text) or ("导入完成：新建 2 条" in applied.text)
    assert sku_count(db) == before + 2
    assert masterdata.get(db.uow(), "sku", "P-2")["decimals"] == 2


def test_the_api_imports_in_one_call_and_pages_errors(api, db):
    done = api.post("/api/v1/imports/customer?apply=true",
                    files={"file": ("c.csv", b"code,name\nC-1,a\nC-2,b", "text/csv")})
    assert done.status_code == 200 and done.json()["status"] == "applied"
    assert done.json()["counts"] == {"rows": 2, "create": 2, "update": 0, "errors": 0}
    rows = "\n".join(f"X{i}," for i in range(30))
    bad = api.post("/api/v1/imports/customer", files={"file": ("c.csv", f"code,name\n{rows}".encode(),
                                                               "text/csv")},
                   headers={"Accept-Language": "en"})
    ref = bad.json()["id"]
    page = api.get(f"/api/v1/imports/{ref}?limit=10&offset=20", headers={"Accept-Language": "en"})
    body = page.json()
    assert body["status"] == "failed" and body["errors"]["total"] == 30
    assert body["errors"]["items"][0] == {"row": 22, "column": "name", "message": "is required"}
    assert body["errors"]["next_offset"] is None


def test_templates_have_bilingual_headers_and_notes(api):
    got = api.get("/api/v1/imports/templates/opening_stock.xlsx")
    book = load_workbook(io.BytesIO(got.content))
    assert book.sheetnames == ["数据 Data", "示例 Example", "说明 Notes"]
    headers = [c.value for c in book["数据 Data"][1]]
    assert headers[:3] == ["站点编码 / site", "货位 / bin", "SKU编码 / sku"]
    assert api.get("/api/v1/imports/templates/nothing.xlsx").status_code == 422


def test_a_file_over_the_limit_answers_413(app, api):
    app.state.import_max_bytes = 1024
    got = api.post("/api/v1/imports/sku", files={"file": ("big.csv", b"code,name\n" + b"A,b\n" * 500,
                                                          "text/csv")})
    assert got.status_code == 413
    assert got.headers["content-type"].startswith("application/problem+json")


def test_a_file_that_is_not_a_spreadsheet_answers_422_with_the_reason(api):
    got = api.post("/api/v1/imports/sku", files={"file": ("x.xlsx", b"PK\x03\x04garbage", "application/zip")},
                   headers={"Accept-Language": "en"})
    assert got.status_code == 422
    assert got.json()["errors"] == [{"field": "file", "message": "is not a valid XLSX file"}]


def test_importing_needs_the_entitys_permission(app, db, network):
    auth.create_user(db.uow(), username="seller", password=PASSWORD)
    roles.set_assignments(db.uow(), network, "seller", [{"role": "sales", "scope": "all"}])
    with login(app, "seller") as client:
        headers = {"X-CSRF-Token": client.csrf}
        refused = client.post("/api/v1/imports/sku", headers=headers,
                              files={"file": ("s.csv", b"code,name\nA,b", "text/csv")})
        assert refused.status_code == 403
        allowed = client.post("/api/v1/imports/customer", headers=headers,
                              files={"file": ("c.csv", b"code,name\nK-1,b", "text/csv")})
        assert allowed.status_code == 200
        page = client.get("/import").text
        assert 'value="customer"' in page and 'value="sku"' not in page
        assert client.get("/api/v1/imports/templates/sku.xlsx").status_code == 403


def test_a_large_file_runs_in_the_background_and_the_page_polls_its_progress(app, db, browser):
    app.state.import_inline_bytes = 0
    sent = upload_page(browser, GOOD)
    ref = sent.headers["location"].rsplit("/", 1)[1]
    jobs.wait(ref, timeout=60)
    polled = browser.get(f"/import/{ref}/progress", headers={"HX-Request": "true"})
    assert polled.status_code == 204 and polled.headers["HX-Refresh"] == "true"
    assert jobs.get(db, ref)["status"] == "validated"
    browser.post(f"/import/{ref}/apply", data={"csrf_token": browser.csrf})
    jobs.wait(ref, timeout=60)
    assert jobs.get(db, ref)["status"] == "applied"


def test_a_running_job_shows_a_progress_bar_polled_every_second(app, db, browser, network):
    ref = jobs.create(db, network, "sku", "s.csv", GOOD)
    page = browser.get(f"/import/{ref}").text
    assert 'hx-trigger="every 1s"' in page and "<progress" in page
