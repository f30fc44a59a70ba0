"""Group robot messages: WeCom markdown, DingTalk markdown signed in the URL, Feishu cards signed
in the body, each with severity, title, site, SKU and a link back; a robot that answers 200 with
an error code is a failure logged with its message."""

import base64
import hashlib
import hmac
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

from cangliu.integrations import outbound, robots
from cangliu.services import deliveries
from tests.integrations.test_webhooks import SETTINGS, log, receiver  # noqa: F401 - the fixture
from tests.services.test_deliveries import fan

NOW = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
ALERT = {"id": 7, "rule": "low", "rule_name": "门店低库存", "severity": "critical",
         "title": "Low stock: {sku} at {site}", "params": {"sku": "SKU-1", "site": "S1"},
         "site": "S1", "sku": "SKU-1", "link": "/alerts/7", "channels": ["wx"]}
PUBLIC = "https://cangliu.example.com/"


def test_a_wecom_alert_is_markdown_with_severity_title_site_sku_and_a_link_back():
    msg = robots.message("wecom", "alert.opened", ALERT, PUBLIC)
    assert msg["msgtype"] == "markdown"
    content = msg["markdown"]["content"]
    for shown in ("严重", "Low stock: SKU-1 at S1", "站点：S1", "SKU：SKU-1",
                  "[查看](https://cangliu.example.com/alerts/7)"):
        assert shown in content
    assert "库存变动" in robots.message("wecom", "stock.changed", {"lines": [{}]}, PUBLIC)[
        "markdown"]["content"]


def test_a_dingtalk_message_is_markdown_and_signed_in_the_url():
    msg = robots.message("dingtalk", "alert.resolved", ALERT, PUBLIC)
    assert msg["msgtype"] == "markdown" and "已解除" in msg["markdown"]["title"]
    assert "[查看](https://cangliu.example.com/alerts/7)" in msg["markdown"]["text"]
    url = robots.dingtalk_url("https://oapi.dingtalk.com/robot/send?access_token=t", "SECxyz", NOW)
    query = parse_qs(urlsplit(url).query)
    timestamp = str(int(NOW.timestamp() * 1000))
    digest = hmac.new(b"SECxyz", f"{timestamp}\nSECxyz".encode(), hashlib.sha256).digest()
    assert query["access_token"] == ["t"] and query["timestamp"] == [timestamp]
    assert query["sign"] == [base64.b64encode(digest).decode()]


def test_a_feishu_card_is_coloured_by_severity_with_a_button_back_and_a_body_signature():
    card = robots.message("feishu", "alert.opened", ALERT, PUBLIC)
    assert card["msg_type"] == "interactive"
    header, elements = card["card"]["header"], card["card"]["elements"]
    assert header["template"] == "red" and "Low stock: SKU-1 at S1" in header["title"]["content"]
    assert "S1" in elements[0]["text"]["content"]
    assert elements[-1]["actions"][0]["url"] == "https://cangliu.example.com/alerts/7"
    signed = robots.feishu_sign("s3cret", NOW)
    key = f"{int(NOW.timestamp())}\ns3cret".encode()
    assert signed == {"timestamp": str(int(NOW.timestamp())),
                      "sign": base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()}


def test_robots_get_alerts_and_an_error_code_in_a_200_answer_is_a_logged_failure(
        db, admin, receiver):  # noqa: F811
    for code, kind in (("wx", "wecom"), ("dd", "dingtalk"), ("fs", "feishu")):
        deliveries.create_channel(db.uow(), admin, {"code": code, "name": code, "kind": kind,
                                                    "url": f"{receiver.url}/{code}?key=k",
                                                    "secret": "s3cret"})
    fan(db, "alert.opened", ALERT | {"channels": ["wx", "dd", "fs"]})
    receiver.answers.append((200, {"errcode": 93000, "errmsg": "invalid webhook url"}))
    assert outbound.send_due(db, SETTINGS, now=NOW) == 3
    paths = {r["path"].split("?")[0]: r for r in receiver.requests}
    assert "sign=" in paths["/dd"]["path"] and paths["/fs"]["json"]["sign"]
    states = {d["channel"]: (d["state"], d["last_error"]) for d in log(db)}
    failed = [c for c, (state, _error) in states.items() if state == "pending"]
    assert len(failed) == 1 and "invalid webhook url" in states[failed[0]][1]
    assert sorted(s for s, _e in states.values()) == ["pending", "sent", "sent"]


def test_a_test_message_is_sent_at_once_and_logged(db, admin, receiver):  # noqa: F811
    deliveries.create_channel(db.uow(), admin, {"code": "wx", "name": "wx", "kind": "wecom",
                                                "url": receiver.url})
    sent = outbound.send_test(db, SETTINGS, "wx", by="admin", now=NOW)
    assert (sent["state"], sent["kind"]) == ("sent", "test")
    assert "测试" in receiver.requests[0]["json"]["markdown"]["content"]
