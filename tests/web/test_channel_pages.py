"""Channels over the API and the pages: a bad URL is refused naming the field (the page keeps
what was typed), secrets are masked, a test message is queued and shown in the channel's log,
a dead delivery is redelivered from the log, and a role without settings.view is refused."""

from sqlalchemy import update

from cangliu.db.models import Delivery
from cangliu.services import auth, roles
from tests.conftest import PASSWORD
from tests.web.conftest import csrf_of, login


def test_channels_and_deliveries_over_the_api(api):
    bad = api.post("/api/v1/channels", json={"code": "erp", "name": "ERP", "kind": "webhook",
                                             "url": "ftp://erp.example.com", "events": ["*"]})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "url"
    made = api.post("/api/v1/channels", json={"code": "erp", "name": "ERP", "kind": "webhook",
                                              "url": "https://erp.example.com/hook",
                                              "events": ["stock.changed", "alert.*"]})
    assert made.status_code == 201, made.text
    secret = made.json()["secret"]
    listed = api.get("/api/v1/channels").json()["items"]
    assert [c["code"] for c in listed] == ["erp"] and secret not in str(listed)
    assert secret not in api.get("/api/v1/channels/erp").text
    stale = api.put("/api/v1/channels/erp", json={"version": 9, "name": "x"})
    assert stale.status_code == 409
    renamed = api.put("/api/v1/channels/erp", json={"version": 1, "name": "ERP 系统"})
    assert renamed.status_code == 200 and renamed.json()["version"] == 2
    tested = api.post("/api/v1/channels/erp/test")
    assert tested.status_code == 202 and tested.json()["state"] == "pending"
    log = api.get("/api/v1/deliveries", params={"channel": "erp"}).json()
    assert [d["kind"] for d in log["items"]] == ["test"] and log["next_cursor"] is None
    assert api.post(f"/api/v1/deliveries/{tested.json()['id']}/redeliver").status_code == 409
    assert api.delete("/api/v1/channels/erp").status_code == 204
    assert api.get("/api/v1/channels/erp").status_code == 404


def test_channel_pages_keep_input_queue_a_test_and_redeliver_a_dead_delivery(app, browser, db, network):
    browser.cookies.set("lang", "en")
    form = browser.get("/admin/channels/new")
    assert form.status_code == 200 and "X-Cangliu-Signature" in form.text
    typed = {"csrf_token": csrf_of(form.text), "code": "wx", "name": "Store group", "kind": "wecom",
             "url": "mailto:someone", "active": "on"}
    refused = browser.post("/admin/channels/new", data=typed)
    assert refused.status_code == 422
    assert "http:// or https://" in refused.text and 'value="mailto:someone"' in refused.text
    made = browser.post("/admin/channels/new", data=typed | {
        "url": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=SECRETKEY"})
    assert made.status_code == 201 and "Recent deliveries" in made.text
    assert "SECRETKEY" not in browser.get("/admin/channels").text
    tested = browser.post("/admin/channels/wx/test", data={"csrf_token": csrf_of(made.text)},
                          follow_redirects=False)
    assert tested.status_code == 303
    page = browser.get(tested.headers["location"])
    assert "A test message is queued" in page.text and "<code>test</code>" in page.text
    with db.uow() as uow:
        uow.session.execute(update(Delivery).values(state="dead", attempts=8,
                                                    last_error="HTTP 502: bad gateway"))
        uow.commit()
    dead = browser.get("/admin/deliveries", params={"state": "dead"})
    assert "HTTP 502: bad gateway" in dead.text and "Redeliver" in dead.text
    again = browser.post(f"/admin/deliveries/{tested.headers['location'].split('=')[-1]}/redeliver",
                         data={"csrf_token": csrf_of(dead.text), "back": "/admin/deliveries?state=dead"})
    assert again.status_code == 200 and "will be sent again" in again.text
    assert "bad gateway" not in again.text  # no dead delivery left

    auth.create_user(db.uow(), username="clerk", password=PASSWORD)
    roles.set_assignments(db.uow(), network, "clerk", [{"role": "sales", "scope": "all"}])
    with login(app, "clerk") as client:
        assert client.get("/admin/channels").status_code == 403
