"""Outbound messages reach only allowed hosts: by default public addresses and this server's own
public URL; loopback, link-local (cloud metadata) and private addresses only when the
administrator allows them with CANGLIU_OUTBOUND_ALLOWED_HOSTS."""

import pytest
from pydantic import ValidationError

from cangliu.config import Settings
from cangliu.integrations import outbound
from cangliu.integrations.guard import refusal
from cangliu.services import deliveries
from tests.integrations.test_webhooks import SETTINGS, T0, log, receiver  # noqa: F401
from tests.services.test_deliveries import fan

PUBLIC = "https://cangliu.example.com"


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:9/hook", "http://localhost:9/hook", "http://[::1]:9/hook",
    "http://169.254.169.254/latest/meta-data/", "http://10.1.2.3/", "http://192.168.0.10/",
    "http://100.64.0.1/", "http://0.0.0.0:9/", "http://[::ffff:127.0.0.1]:9/",
    "http://[fe80::1]/"])
def test_by_default_internal_addresses_are_refused_naming_the_setting(url):
    why = refusal(url, "external", PUBLIC)
    assert why is not None and "is not allowed" in why and "CANGLIU_OUTBOUND_ALLOWED_HOSTS" in why


def test_public_addresses_and_this_servers_own_url_are_allowed():
    assert refusal("https://93.184.216.34/hook", "external", PUBLIC) is None
    assert refusal("http://127.0.0.1:8000/api/v1/webhooks/echo", "external",
                   "http://127.0.0.1:8000") is None
    # the same host on another port is not this server
    assert refusal("http://127.0.0.1:8001/", "external", "http://127.0.0.1:8000") is not None


def test_the_setting_widens_by_kind_network_or_host_name():
    assert refusal("http://10.1.2.3/", "private", PUBLIC) is None
    assert refusal("http://127.0.0.1:9/", "private", PUBLIC) is not None
    assert refusal("http://169.254.169.254/", "private", PUBLIC) is not None
    assert refusal("http://127.0.0.1:9/", "loopback", PUBLIC) is None
    assert refusal("http://10.1.2.3/", "loopback", PUBLIC) is not None
    assert refusal("http://10.1.2.3/", "external, 10.1.0.0/16", PUBLIC) is None
    assert refusal("http://10.2.0.1/", "external, 10.1.0.0/16", PUBLIC) is not None
    assert refusal("http://localhost:9/", "localhost", PUBLIC) is None
    assert refusal("http://169.254.169.254/", "*", PUBLIC) is None


@pytest.mark.parametrize("value", ["external, bad host", "10.0.0.0/33", "intranet!"])
def test_a_bad_setting_is_refused_naming_it(value):
    with pytest.raises(ValidationError, match="outbound_allowed_hosts"):
        Settings(outbound_allowed_hosts=value)


def test_a_webhook_to_a_refused_address_is_not_called_and_the_log_says_why(db, admin, receiver):  # noqa: F811
    deliveries.create_channel(db.uow(), admin, {"code": "erp", "name": "ERP", "kind": "webhook",
                                                "url": receiver.url + "/hook", "events": "*"})
    fan(db, "stock.changed", {"lines": []})
    assert outbound.send_due(db, Settings(public_url=PUBLIC), now=T0) == 1
    (entry,) = log(db)
    assert entry["state"] == "pending" and entry["last_status"] is None
    assert "127.0.0.1 is not allowed" in entry["last_error"]
    assert receiver.requests == []
    # allowed by the administrator, the retry goes through
    assert outbound.send_due(db, SETTINGS, now=entry["next_at"]) == 1
    assert [d["state"] for d in log(db)] == ["sent"] and len(receiver.requests) == 1


def test_a_robot_to_a_refused_address_is_not_called(db, admin, receiver):  # noqa: F811
    deliveries.create_channel(db.uow(), admin, {"code": "wx", "name": "企业微信", "kind": "wecom",
                                                "url": receiver.url + "/cgi-bin/webhook/send?key=k"})
    made = outbound.send_test(db, Settings(public_url=PUBLIC), "wx", now=T0)
    assert "is not allowed" in made["last_error"] and receiver.requests == []
