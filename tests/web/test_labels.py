"""Label printing: a PDF with a page per single label or per full A4 sheet, the QR holding the
GS1 element string, a Code 128 of the serial or lot; templates managed by settings editors only."""

import re
import shutil
import subprocess
from datetime import date

import pytest
from reportlab.graphics.barcode import code128

from cangliu.core.labels import BUILTINS, LabelItem
from cangliu.core.permissions import ALL_PERMISSIONS
from cangliu.services import auth, masterdata, roles
from cangliu.web import labels as label_pdf
from cangliu.web.labels import render_labels
from tests.conftest import PASSWORD
from tests.web.conftest import csrf_of
from tests.web.test_approval_authorization import _client

GTIN14 = "09506000134352"


def _pages(pdf: bytes) -> int:
    return len(re.findall(rb"/Type /Page\b", pdf))


@pytest.fixture
def symbols(monkeypatch):
    """What was handed to ReportLab's QR widget and Code 128, label by label."""
    seen: dict[str, list[str]] = {"qr": [], "code128": []}
    real_qr, real_bars = label_pdf.QrCodeWidget, code128.Code128

    def qr(value, **kw):  # type: ignore[no-untyped-def]
        seen["qr"].append(value)
        return real_qr(value, **kw)

    def bars(value, **kw):  # type: ignore[no-untyped-def]
        if kw.get("barWidth") != 1:  # not the probe that measures the width
            seen["code128"].append(value)
        return real_bars(value, **kw)

    label_pdf.qr_modules.cache_clear()  # an encoded QR is reused for equal payloads
    monkeypatch.setattr(label_pdf, "QrCodeWidget", qr)
    monkeypatch.setattr(code128, "Code128", bars)
    return seen


def _items(n: int) -> list[dict[str, str]]:
    return [{"title": "数字温度计", "sku": "SKU-G", "gtin": GTIN14, "serial": f"TH-{i:04d}"}
            for i in range(n)]


def test_single_labels_print_a_page_each_with_the_gs1_qr_and_code_128(api, symbols):
    answer = api.post("/api/v1/labels", json={"template": "50x30", "items": _items(3)})
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/pdf"
    assert answer.content.startswith(b"%PDF") and _pages(answer.content) == 3
    assert symbols["qr"] == [f"01{GTIN14}21TH-{i:04d}" for i in range(3)]
    assert symbols["code128"] == [f"TH-{i:04d}" for i in range(3)]


def test_a_sheet_fills_columns_times_rows_before_the_next_a4_page(api, symbols):
    answer = api.post("/api/v1/labels", json={"template": "A4-3x8", "items": _items(25)})
    assert _pages(answer.content) == 2  # 24 on the first sheet, 1 on the second
    assert b"/MediaBox [ 0 0 595.2756 841.8898 ]" in answer.content
    assert len(symbols["qr"]) == 25


def test_a_lot_label_carries_gtin_expiry_and_lot(db, network, api, symbols):
    masterdata.create(db.uow(), network, "sku", {"code": "SKU-ML", "name": "酸奶",
                                                  "tracking": "lot", "barcodes": [GTIN14[1:]]})
    answer = api.post("/api/v1/labels", json={"template": "50x30", "sku": "SKU-ML", "count": 2,
                                              "lot": "L2612", "expiry": "2026-12-31"})
    assert _pages(answer.content) == 2
    assert symbols["qr"] == [f"01{GTIN14}17261231" + "10L2612"]  # encoded once for the lot
    assert symbols["code128"] == ["L2612"] * 2
    missing = api.post("/api/v1/labels", json={"template": "50x30", "sku": "SKU-ML"})
    assert missing.status_code == 422 and missing.json()["errors"][0]["field"] == "lot"


def test_bad_print_requests_are_refused_naming_the_field(api):
    cases = [({"template": "NOPE", "items": _items(1)}, "template"),
             ({"template": "50x30", "items": [_items(1)[0] | {"gtin": "09506000134353"}]},
              "items[0].gtin"),
             ({"template": "50x30", "items": _items(1), "sku": "SKU-1"}, "items"),
             ({"template": "50x30", "serials": ["NO-SUCH"]}, "serials")]
    for body, field in cases:
        answer = api.post("/api/v1/labels", json=body)
        assert answer.status_code == 422, body
        assert answer.json()["errors"][0]["field"] == field


@pytest.mark.skipif(not (shutil.which("pdftoppm") and shutil.which("zbarimg")),
                    reason="needs poppler's pdftoppm and zbar's zbarimg to read the symbols back")
def test_the_printed_symbols_scan_back_to_the_element_string(tmp_path):
    item = LabelItem("牛奶", "SKU-LOT", GTIN14, lot="L2612", expiry=date(2026, 12, 31))
    (tmp_path / "l.pdf").write_bytes(render_labels(BUILTINS[0], [item]))
    subprocess.run(["pdftoppm", "-r", "300", "-png", str(tmp_path / "l.pdf"), str(tmp_path / "l")],
                   check=True)
    png = next(tmp_path.glob("l*.png"))
    read = subprocess.run(["zbarimg", "-q", str(png)], capture_output=True, text=True).stdout
    assert set(read.split()) == {f"QR-Code:01{GTIN14}1726123110L2612", "CODE-128:L2612"}


def test_a_template_that_does_not_fit_a4_is_refused_naming_the_field(api):
    body = {"code": "A4-3x7", "name": "太宽", "width_mm": 71, "height_mm": 40, "sheet": "a4",
            "columns": 3, "rows": 7}
    refused = api.post("/api/v1/label-templates", json=body)
    assert refused.status_code == 422
    assert refused.json()["errors"] == [{"field": "width_mm", "message": refused.json()[
        "errors"][0]["message"]}]
    assert "213" in refused.json()["errors"][0]["message"]
    created = api.post("/api/v1/label-templates", json=body | {"width_mm": 70})
    assert created.status_code == 201 and created.json()["version"] == 1
    too_wide = api.patch("/api/v1/label-templates/A4-3x7", json={"version": 1, "gap_mm": 1})
    assert too_wide.json()["errors"][0]["field"] == "width_mm"  # 3 × 70 + 2 × 1 > 210
    patched = api.patch("/api/v1/label-templates/A4-3x7", json={"version": 1, "font_size": 9})
    assert patched.json()["version"] == 2 and patched.json()["font_size"] == 9
    stale = api.patch("/api/v1/label-templates/A4-3x7", json={"version": 1, "font_size": 6})
    assert stale.status_code == 409
    codes = [t["code"] for t in api.get("/api/v1/label-templates").json()["items"]]
    assert codes == ["50x30", "A4-3x7", "A4-3x8"]


def test_printing_needs_sku_view_and_templates_need_settings_edit(app, db, network):
    for username, assignments in (("nobody", []), ("clerk", [{"role": "clerk", "scope": "all"}])):
        auth.create_user(db.uow(), username=username, password=PASSWORD)
        roles.set_assignments(db.uow(), network, username, assignments)
    nobody, clerk = _client(app, "nobody"), _client(app, "clerk")
    body = {"template": "50x30", "items": _items(1)}
    assert nobody.post("/api/v1/labels", json=body).status_code == 403
    assert nobody.get("/api/v1/label-templates").status_code == 403
    assert clerk.post("/api/v1/labels", json=body).status_code == 200
    template = {"code": "T1", "name": "t", "width_mm": 40, "height_mm": 20}
    assert clerk.post("/api/v1/label-templates", json=template).status_code == 403
    assert clerk.patch("/api/v1/label-templates/50x30", json={"version": 1}).status_code == 403


def test_the_print_page_makes_the_pdf_and_warns_of_a_sku_without_gtin(browser):
    page = browser.get("/labels", params={"sku": "SKU-1"})
    assert page.status_code == 200 and 'value="SKU-1"' in page.text
    assert "GTIN" in page.text and 'class="warn"' in page.text  # 6900000000017 is no valid GTIN
    assert 'href="/labels/templates/new"' in page.text
    form = {"csrf_token": csrf_of(page.text), "template": "A4-3x8", "sku": "SKU-1", "count": "30",
            "lot": "", "expiry": "", "serials": ""}
    pdf = browser.post("/labels", data=form)
    assert pdf.headers["content-type"] == "application/pdf" and _pages(pdf.content) == 2
    bad = browser.post("/labels", data=form | {"count": "0"})
    assert bad.status_code == 422 and 'class="field-error"' in bad.text
    assert 'href="/labels?sku=SKU-1"' in browser.get("/stock/SKU-1").text


def test_templates_are_managed_on_their_page_by_settings_editors(app, browser, db, network):
    new = browser.get("/labels/templates/new")
    form = {"csrf_token": csrf_of(new.text), "code": "W", "name": "宽", "width_mm": "150",
            "height_mm": "37", "sheet": "a4", "columns": "2", "rows": "8", "margin_mm": "0",
            "gap_mm": "0", "font_size": "8", "fields": ["name", "qr"]}
    refused = browser.post("/labels/templates", data=form)
    assert refused.status_code == 422 and 'class="field-error"' in refused.text
    saved = browser.post("/labels/templates", data=form | {"width_mm": "100"},
                         follow_redirects=False)
    assert saved.status_code == 303
    edit = browser.get("/labels/templates/W")
    assert 'name="version" value="1"' in edit.text
    auth.create_user(db.uow(), username="clerk", password=PASSWORD)
    roles.set_assignments(db.uow(), network, "clerk", [{"role": "clerk", "scope": "all"}])
    from tests.web.conftest import login
    with login(app, "clerk") as clerk:
        assert clerk.get("/labels").status_code == 200
        assert clerk.get("/labels/templates/new").status_code == 403


@pytest.mark.skipif("serial.view" not in ALL_PERMISSIONS, reason="no serial resource yet")
def test_serial_labels_need_serial_view_at_the_serials_site(app, db, network):
    from tests.services.test_labels import _serial

    masterdata.create(db.uow(), network, "sku", {"code": "SKU-G", "name": "数字温度计",
                                                  "tracking": "serial", "barcodes": [GTIN14]})
    _serial(db, "SKU-G", "TH-S1", "S1")
    _serial(db, "SKU-G", "TH-S2", "S2")
    for username, role, scope in (("fin", "finance", {"scope": "all"}),
                                  ("clerk1", "clerk", {"scope": "sites", "sites": ["S1"]})):
        auth.create_user(db.uow(), username=username, password=PASSWORD)
        roles.set_assignments(db.uow(), network, username, [{"role": role, **scope}])
    fin, clerk1 = _client(app, "fin"), _client(app, "clerk1")
    body = {"template": "50x30", "serials": ["TH-S1"]}
    assert fin.post("/api/v1/labels", json=body).status_code == 403  # sku.view, no serial.view
    assert _pages(clerk1.post("/api/v1/labels", json=body).content) == 1
    outside = clerk1.post("/api/v1/labels", json=body | {"serials": ["TH-S1", "TH-S2"]})
    assert outside.status_code == 422 and "TH-S2" in outside.json()["errors"][0]["message"]
