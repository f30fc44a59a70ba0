"""Outbound messages reach only allowed hosts: by default public addresses and this server's own
public URL; loopback, link-local (cloud metadata) and private addresses only when the
administrator allows them with CANGLIU_OUTBOUND_ALLOWED_HOSTS."""

import socket

import httpx
import pytest
from pydantic import ValidationError

from cangliu.config import Settings
from cangliu.integrations import guard, outbound
from cangliu.integrations.guard import PinnedTransport, refusal
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


def _resolving(monkeypatch, *answers: list[str]) -> None:
    """The host name resolves to each answer in turn, as a name under someone else's control can."""
    queue = list(answers)

    def getaddrinfo(host, port, *args, **kwargs):
        found = queue.pop(0) if len(queue) > 1 else queue[0]
        return [(socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "",
                 (a, port)) for a in found]
    monkeypatch.setattr(guard.socket, "getaddrinfo", getaddrinfo)


def test_the_message_goes_to_the_address_that_was_checked_not_to_a_second_lookup(monkeypatch):
    seen: list[httpx.Request] = []
    inner = httpx.MockTransport(lambda r: (seen.append(r), httpx.Response(204))[1])
    _resolving(monkeypatch, ["93.184.216.34"], ["127.0.0.1"])  # public, then rebound to loopback
    with httpx.Client(transport=PinnedTransport("external", PUBLIC, inner)) as client:
        assert client.post("https://hooks.example.net/x", content=b"{}").status_code == 204
        (sent,) = seen
        assert sent.url.host == "93.184.216.34" and sent.url.path == "/x"
        assert sent.headers["host"] == "hooks.example.net"  # the name for the receiver
        assert sent.extensions["sni_hostname"] == "hooks.example.net"  # and for its certificate
        with pytest.raises(httpx.ConnectError,
                           match=r"address 127\.0\.0\.1 \(hooks\.example\.net\) is not allowed"):
            client.post("https://hooks.example.net/x", content=b"{}")
    assert len(seen) == 1


def test_one_refused_address_among_several_refuses_the_host(monkeypatch):
    inner = httpx.MockTransport(lambda r: httpx.Response(204))
    _resolving(monkeypatch, ["93.184.216.34", "10.0.0.5"])
    with httpx.Client(transport=PinnedTransport("external", PUBLIC, inner)) as client, \
            pytest.raises(httpx.ConnectError, match=r"10\.0\.0\.5 \(hooks\.example\.net\)"):
        client.post("https://hooks.example.net/x")


def test_a_webhook_by_name_reaches_the_checked_address_with_its_name(db, admin, receiver,  # noqa: F811
                                                                     monkeypatch):
    port = receiver.url.rsplit(":", 1)[1]
    # The first address does not answer: the next checked one is tried, as a plain connect would.
    _resolving(monkeypatch, ["127.0.0.2", "127.0.0.1"])
    deliveries.create_channel(db.uow(), admin, {"code": "erp", "name": "ERP", "kind": "webhook",
                                                "url": f"http://erp.test:{port}/hook", "events": "*"})
    fan(db, "stock.changed", {"lines": []})
    settings = Settings(public_url=PUBLIC, outbound_allowed_hosts="loopback")
    assert outbound.send_due(db, settings, now=T0) == 1
    (got,) = receiver.requests
    assert got["headers"]["Host"] == f"erp.test:{port}"
    assert log(db)[0]["state"] == "sent"
