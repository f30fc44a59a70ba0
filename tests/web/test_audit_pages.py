"""The audit page and GET /api/v1/audit: administrators only, real actor and request id recorded."""


def test_an_api_write_is_audited_with_its_user_address_device_and_request_id(api):
    response = api.post("/api/v1/suppliers", json={"code": "SUP-W", "name": "网"},
                        headers={"X-Request-ID": "trace-42", "X-Device": "scanner-7"})
    assert response.status_code == 201 and response.headers["x-request-id"] == "trace-42"
    items = api.get("/api/v1/audit", params={"entity": "supplier", "q": "SUP-W"}).json()["items"]
    assert len(items) == 1
    event = items[0]
    assert (event["username"], event["request_id"], event["device"], event["action"]) == (
        "admin", "trace-42", "scanner-7", "create")
    assert event["after"]["name"] == "网" and event["address"]


def test_a_request_without_an_id_gets_one(api):
    assert len(api.get("/health").headers["x-request-id"]) == 32


def test_the_audit_page_lists_changes_with_their_diff(browser):
    page = browser.get("/audit", params={"entity": "sku"})
    assert page.status_code == 200 and "SKU-KG" in page.text and "<details>" in page.text
    # actions and record kinds in the reader's language, the record's own code as it is
    assert "<td>新建</td>" in page.text and '<summary>商品 <span translate="no">SKU-KG' in page.text
    assert '<option value="purchase_order" >采购单 · purchase_order</option>' in page.text


def test_the_audit_log_is_for_administrators_only(anon):
    assert anon.get("/api/v1/audit").status_code == 401
    assert anon.get("/audit", follow_redirects=False).status_code == 303
