"""Custom fields on the web: the administrators' page (add with a preview, reorder, deactivate),
the SKU form and list with a custom field, exports, the definitions API and records' ``custom``
object in the API and its OpenAPI schema."""

import csv
import io

from cangliu.services import custom_fields, masterdata
from tests.services.test_custom_fields import COLOR, NET, TAGS


def _post(client, url, data):  # type: ignore[no-untyped-def]
    return client.post(url, data={**data, "csrf_token": client.csrf}, follow_redirects=False)


NEW_COLOR = {"key": "color", "label_zh": "颜色", "label_en": "Colour", "type": "choice",
             "options": "red | 红 | Red\nblue | 蓝 | Blue", "default": "red"}


def test_an_administrator_adds_a_field_on_the_page_and_sees_its_preview(browser, db):
    page = browser.get("/admin/custom-fields?entity=sku")
    assert page.status_code == 200 and "/admin/custom-fields/sku/new" in page.text
    form = browser.get("/admin/custom-fields/sku/new")
    assert 'hx-get="/admin/custom-fields/preview"' in form.text
    preview = browser.get("/admin/custom-fields/preview", params=NEW_COLOR)
    assert '<option value="blue" >蓝</option>' in preview.text
    bad = _post(browser, "/admin/custom-fields/sku/new", {**NEW_COLOR, "default": "green"})
    assert bad.status_code == 422 and 'class="field-error"' in bad.text
    saved = _post(browser, "/admin/custom-fields/sku/new", NEW_COLOR)
    assert saved.status_code == 303
    listed = browser.get("/admin/custom-fields?entity=sku")
    assert 'data-field="color"' in listed.text and "颜色" in listed.text
    edited = _post(browser, "/admin/custom-fields/sku/color",
                   {**NEW_COLOR, "label_zh": "色彩", "version": "1", "active": "on"})
    assert edited.status_code == 303
    with db.read() as session:
        field = custom_fields.get_field(session, "sku", "color")
    assert field["label_zh"] == "色彩" and field["rules"]["options"][0]["label_en"] == "Red"


def test_fields_are_reordered_and_one_in_use_is_deactivated_after_confirmation(
        browser, db, network):
    for d in (COLOR, NET):
        custom_fields.create_field(db.uow(), network, d)
    masterdata.create(db.uow(), network, "sku", {"code": "A", "name": "A", "custom": {"net": "1"}})
    _post(browser, "/admin/custom-fields/sku/net/move", {"direction": "up"})
    page = browser.get("/admin/custom-fields?entity=sku")
    assert page.text.index('data-field="net"') < page.text.index('data-field="color"')
    assert "data-confirm=" in page.text
    gone = _post(browser, "/admin/custom-fields/sku/net/remove", {"version": "2"})
    assert "deactivated=net" in gone.headers["location"]
    with db.read() as session:
        assert custom_fields.get_field(session, "sku", "net")["active"] is False


def test_the_sku_form_shows_custom_inputs_and_saves_checked_values(browser, db, network):
    for d in (COLOR, TAGS, NET):
        custom_fields.create_field(db.uow(), network, d)
    new = browser.get("/md/skus/new")
    assert 'name="custom.color"' in new.text and '<option value="red" selected>红</option>' in new.text
    base = {"code": "C-1", "name": "杯子", "uom": "pcs", "decimals": "0", "tracking": "none",
            "custom__present": "1", "custom.color": "blue", "custom.net": "101"}
    bad = _post(browser, "/md/skus/new", base)
    assert bad.status_code == 422 and bad.text.count('class="field-error"') == 1
    ok = _post(browser, "/md/skus/new", {**base, "custom.net": "2.50", "custom__multi": "tags",
                                            "custom.tags.gift": "on"})
    assert ok.status_code == 303
    assert masterdata.get(db.uow(), "sku", "C-1")["custom"] == {"color": "blue", "net": "2.5",
                                                                "tags": ["gift"]}
    edit = browser.get("/md/skus/C-1")
    assert 'name="custom.net" value="2.5"' in edit.text
    _post(browser, "/md/skus/C-1", {"name": "杯子", "version": "1", "custom__present": "1",
                                    "custom__multi": "tags", "custom.color": "red",
                                    "custom.net": ""})
    assert masterdata.get(db.uow(), "sku", "C-1")["custom"] == {"color": "red"}


def test_the_sku_list_offers_custom_columns_a_filter_and_exports_them(browser, db, network):
    custom_fields.create_field(db.uow(), network, COLOR)
    masterdata.create(db.uow(), network, "sku", {"code": "B-1", "name": "蓝杯",
                                                 "custom": {"color": "blue"}})
    page = browser.get("/md/skus")
    assert 'data-column="color"' in page.text and 'data-custom-column="color"' in page.text
    assert "<td x-show=\"shown.includes('color')\" x-cloak>蓝</td>" in page.text
    filtered = browser.get("/md/skus", params={"cf": "color", "cv": "blue"})
    assert "B-1" in filtered.text and "SKU-KG" not in filtered.text
    exported = browser.get("/md/skus", params={"format": "csv", "cf": "color", "cv": "blue"},
                           headers={"Accept-Language": "en"})
    rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert rows[0][-1] == "Colour" and rows[1][0] == "B-1" and rows[1][-1] == "Blue"


def test_the_api_manages_definitions_and_records_answer_their_custom_object(api, db):
    made = api.post("/api/v1/custom-fields", json={**COLOR, "rules": COLOR["rules"]})
    assert made.status_code == 201 and made.json()["default"] == "red"
    assert api.get("/api/v1/custom-fields", params={"entity": "sku"}).json()["items"][0][
        "key"] == "color"
    changed = api.put("/api/v1/custom-fields/sku/color", json={"version": 1, "label_en": "Hue"})
    assert changed.json()["label_en"] == "Hue" and changed.json()["version"] == 2
    assert api.put("/api/v1/custom-fields/sku/color",
                   json={"version": 1, "label_en": "x"}).status_code == 409
    sku = api.post("/api/v1/skus", json={"code": "API-1", "name": "x"}).json()
    assert sku["custom"] == {"color": "red"}
    assert api.get("/api/v1/skus/SKU-1").json()["custom"] == {}
    bad = api.patch("/api/v1/skus/API-1", json={"version": 1, "custom": {"color": "green"}})
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "custom.color"
    listed = api.get("/api/v1/skus", params={"custom.color": "red"}).json()["items"]
    assert [i["code"] for i in listed] == ["API-1"]
    assert api.delete("/api/v1/custom-fields/sku/color", params={"version": 2}).json()[
        "removed"] is False


def test_the_openapi_document_shows_the_custom_object(api):
    schemas = api.get("/openapi.json").json()["components"]["schemas"]
    for name in ("SkuCreate", "SkuUpdate", "SiteCreate", "SupplierCreate", "CustomerCreate"):
        custom = schemas[name]["properties"]["custom"]
        assert "custom fields" in custom["description"] and custom["examples"]


PRIORITY = {"key": "priority", "label_zh": "优先级", "label_en": "Priority", "type": "choice",
            "default": "normal",
            "rules": {"options": [{"value": "normal", "label_zh": "普通"},
                                  {"value": "urgent", "label_zh": "加急"}]}}


def test_documents_take_custom_values_over_the_api_and_their_pages_show_them(
        api, browser, db, network):
    for entity in ("purchase_order", "transfer_order"):
        custom_fields.create_field(db.uow(), network, {**PRIORITY, "entity": entity})
    api.post("/api/v1/suppliers", json={"code": "SUP-1", "name": "供应商一"})
    bad = api.post("/api/v1/purchase-orders", json={
        "supplier": "SUP-1", "site": "WH", "lines": [{"sku": "SKU-1", "qty": "5", "price": "2"}],
        "custom": {"priority": "asap"}})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "custom.priority"
    po = api.post("/api/v1/purchase-orders", json={
        "supplier": "SUP-1", "site": "WH", "lines": [{"sku": "SKU-1", "qty": "5", "price": "2"}]})
    assert po.json()["custom"] == {"priority": "normal"}
    number = po.json()["number"]
    edited = api.patch(f"/api/v1/purchase-orders/{number}",
                       json={"version": 1, "custom": {"priority": "urgent"}})
    assert edited.json()["custom"] == {"priority": "urgent"}
    page = browser.get(f"/docs/purchase-orders/{number}")
    assert 'data-custom-values="purchase_order"' in page.text and "加急" in page.text
    assert 'name="custom.priority"' in page.text  # the draft's edit form
    assert '<option value="normal" selected>普通</option>' in browser.get(
        "/docs/purchase-orders/new").text
    transfer = api.post("/api/v1/transfers", json={
        "source": "WH", "dest": "S1", "lines": [{"sku": "SKU-1", "qty": "1"}],
        "custom": {"priority": "urgent"}}).json()
    assert transfer["custom"] == {"priority": "urgent"}
    shown = browser.get(f"/transfers/{transfer['number']}")
    assert 'data-custom-values="transfer_order"' in shown.text and "加急" in shown.text
    assert 'name="custom.priority"' in browser.get("/transfers/new").text
    schemas = api.get("/openapi.json").json()["components"]["schemas"]
    for name in ("PurchaseIn", "PurchaseEdit", "SaleIn", "SaleEdit", "TransferIn",
                 "TransferEdit", "SerialEdit"):
        assert "custom" in schemas[name]["properties"]


def test_a_serials_custom_values_are_shown_and_edited_on_its_page_and_over_the_api(
        api, browser, db, network):
    custom_fields.create_field(db.uow(), network, {
        "entity": "serial", "key": "refurbished", "label_zh": "翻新", "type": "bool"})
    masterdata.create(db.uow(), network, "sku", {"code": "PHONE", "name": "手机",
                                                 "tracking": "serial"})
    code = api.post("/api/v1/serials/generate", json={"sku": "PHONE", "count": 1}).json()[
        "first_code"]
    saved = _post(browser, f"/serials/{code}/custom",
                  {"sku": "PHONE", "custom__present": "1", "custom.refurbished": "true"})
    assert saved.status_code == 303
    page = browser.get(f"/serials/{code}")
    assert 'data-custom-field="refurbished"' in page.text and "<dd>是</dd>" in page.text
    patched = api.patch(f"/api/v1/serials/{code}", json={"custom": {"refurbished": False}})
    assert patched.json()["custom"] == {"refurbished": False}
    assert api.patch(f"/api/v1/serials/{code}",
                     json={"custom": {"refurbished": "maybe"}}).status_code == 422
    listed = api.get("/api/v1/serials", params={"custom.refurbished": "false"}).json()["items"]
    assert [s["code"] for s in listed] == [code]


def test_a_required_custom_field_is_asked_of_people_creating_records_over_the_api(api, db):
    api.post("/api/v1/custom-fields", json={"entity": "supplier", "key": "licence",
                                            "label_zh": "许可证号", "type": "text",
                                            "required": True})
    missing = api.post("/api/v1/suppliers", json={"code": "S-9", "name": "x"},
                       headers={"Accept-Language": "en"})
    assert missing.status_code == 422
    assert missing.json()["errors"] == [{"field": "custom.licence", "message": "is required"}]
    made = api.post("/api/v1/suppliers", json={"code": "S-9", "name": "x",
                                               "custom": {"licence": "L-1"}})
    assert made.status_code == 201 and made.json()["custom"] == {"licence": "L-1"}


def test_the_document_forms_save_their_custom_values(api, browser, db, network):
    for entity in ("purchase_order", "sales_order", "transfer_order"):
        custom_fields.create_field(db.uow(), network, {**PRIORITY, "entity": entity})
    masterdata.create(db.uow(), network, "supplier", {"code": "SUP-1", "name": "供应商一"})
    masterdata.create(db.uow(), network, "customer", {"code": "C1", "name": "客户一"})

    def post(url, data):
        page = browser.get(url).text
        csrf = page.split('name="csrf_token" value="')[1].split('"')[0]
        key = page.split('name="key" value="')[1].split('"')[0] if 'name="key"' in page else "k"
        return browser.post(url, data={"csrf_token": csrf, "key": key, "custom__present": "1",
                                       "custom.priority": "urgent", **data})

    po = post("/docs/purchase-orders/new", {"supplier": "SUP-1", "site": "WH", "lines": "SKU-1 1 2"})
    so = post("/docs/sales-orders/new", {"customer": "C1", "site": "WH", "lines": "SKU-1 1 3"})
    to = post("/transfers/new", {"source": "WH", "dest": "S1", "lines": "SKU-1 1"})
    for page, api_path in ((po, "/api/v1/purchase-orders/"), (so, "/api/v1/sales-orders/"),
                           (to, "/api/v1/transfers/")):
        number = page.url.path.rsplit("/", 1)[1]
        assert api.get(api_path + number).json()["custom"] == {"priority": "urgent"}
