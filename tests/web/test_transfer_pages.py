"""Transfer pages: create from typed/scanned lines, ship, receive, print and PDF."""


def _csrf(html):
    return html.split('name="csrf_token" value="')[1].split('"')[0]


def _key(html):
    return html.split('name="key" value="')[1].split('"')[0]


def test_a_clerk_creates_ships_and_receives_a_transfer_in_the_browser(browser):
    browser.post("/api/v1/stock/receive", json={"sku": "SKU-1", "site": "WH", "qty": "10"},
                 headers={"X-CSRF-Token": browser.csrf})
    form = browser.get("/transfers/new").text
    bad = browser.post("/transfers/new", data={"csrf_token": _csrf(form), "key": _key(form),
                                               "source": "WH", "dest": "S1", "lines": "SKU-1"})
    assert bad.status_code == 422 and "请填写商品编码和数量" in bad.text
    created = browser.post("/transfers/new", data={
        "csrf_token": _csrf(form), "key": _key(form), "source": "WH", "dest": "S1",
        "lines": "SKU-1 4\n\nSKU-KG, 1.5\n", "reason": "补货"}, follow_redirects=False)
    assert created.status_code == 303
    url = created.headers["location"]
    again = browser.post("/transfers/new", data={
        "csrf_token": _csrf(form), "key": _key(form), "source": "WH", "dest": "S1",
        "lines": "SKU-1 4\n\nSKU-KG, 1.5\n", "reason": "补货"}, follow_redirects=False)
    assert again.headers["location"] == url  # the same form posted twice makes one transfer
    page = browser.get(url).text
    assert "草稿" in page and "SKU-KG" in page
    for action in ("submit",):
        browser.post(f"{url}/{action}", data={"csrf_token": _csrf(page), "key": "k-" + action})
    browser.post("/api/v1/stock/receive", json={"sku": "SKU-KG", "site": "WH", "qty": "2"},
                 headers={"X-CSRF-Token": browser.csrf})
    shipped = browser.post(f"{url}/ship", data={"csrf_token": _csrf(page), "key": "k-ship"})
    assert "已发货" in shipped.text
    partial = browser.post(f"{url}/receive", data={"csrf_token": _csrf(page), "key": "k-r1",
                                                   "received_1": "4", "received_2": "",
                                                   "damaged_2": "0.5"})
    assert "部分收货" in partial.text
    nothing = browser.post(f"{url}/receive", data={"csrf_token": _csrf(page), "key": "k-r2"})
    assert nothing.status_code == 422 and "请填写实收、残损或短少数量" in nothing.text
    done = browser.post(f"{url}/receive", data={"csrf_token": _csrf(page), "key": "k-r3",
                                                "received_2": "1"})
    assert "已收货" in done.text
    listing = browser.get("/transfers", params={"state": "received"}).text
    assert url.rsplit("/", 1)[1] in listing
    pdf = browser.get(f"{url}/pdf")
    assert pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    assert "SKU-KG" in browser.get(f"{url}/print").text
