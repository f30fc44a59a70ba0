"""Which hosts outbound messages (webhooks, WeCom/DingTalk/Feishu robots) may reach.

Channel URLs are typed in by users, so without a check a webhook could make this server call
addresses only it can reach: the cloud metadata service at 169.254.169.254, a database on
localhost, machines of the internal network (server-side request forgery). By default only
public (globally routable) addresses are allowed, plus this server's own public URL (the
built-in webhook receiver). ``CANGLIU_OUTBOUND_ALLOWED_HOSTS`` widens that, comma-separated:

- ``external``: public addresses (the default);
- ``private``: private networks (10/8, 172.16/12, 192.168/16, fc00::/7, 100.64/10);
- ``loopback``: this machine (127/8, ::1);
- a network or address, e.g. ``10.20.0.0/16``; a host name, e.g. ``erp.corp.local``;
- ``*``: anything.

Every address the host name resolves to must be allowed. ``client()`` sends through
``PinnedTransport``, which resolves the name once, checks the addresses and connects to the
checked one (keeping the name for the Host header and the TLS certificate check), so a name
that answers another address on a second lookup (DNS rebinding) cannot slip past the check.
Only when an outbound proxy is configured (``HTTPS_PROXY`` and the like) is the name left to the
proxy to resolve, after the same check.
"""

import ipaddress
import socket
import urllib.request
from typing import Final
from urllib.parse import urlsplit

import httpx

from cangliu.config import Settings
from cangliu.core.hosts import admits, parse

SETTING: Final = "CANGLIU_OUTBOUND_ALLOWED_HOSTS"


def _origin(url: str) -> tuple[str, str | None, int | None]:
    parts = urlsplit(url)
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme, parts.hostname, port


def refusal(url: str, allowed: str, public_url: str) -> str | None:
    """Why ``url`` may not be called, or None when it may (or when its host does not resolve:
    sending then fails the usual way and is tried again later)."""
    return _check(url, allowed, public_url)[1]


def _check(url: str, allowed: str, public_url: str) -> tuple[list[str], str | None]:
    """(the addresses to connect to, None) when every address of the host is allowed, ([], why)
    when one is not, ([], None) when there is nothing to check: this server's own URL, a host
    allowed by name (or ``*``), or a name that does not resolve."""
    if _origin(url) == _origin(public_url):
        return [], None
    entries = parse(allowed)
    _scheme, host, port = _origin(url)
    if host is None or "*" in entries or host.lower() in entries:
        return [], None
    try:
        found = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return [], None
    addresses: list[str] = []
    for *_, sockaddr in found:
        address = ipaddress.ip_address(str(sockaddr[0]).split("%")[0])
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
            address = address.ipv4_mapped
        if not any(admits(entry, address) for entry in entries):
            named = str(address) if str(address) == host.strip("[]") else f"{address} ({host})"
            return [], (f"address {named} is not allowed for outbound messages"
                          f" (allowed: {allowed}); an administrator can allow it with {SETTING}")
        if str(address) not in addresses:
            addresses.append(str(address))
    return addresses, None


class PinnedTransport(httpx.BaseTransport):
    """Sends each request to an address it has just checked: the host name is resolved once,
    here, and the request goes to those addresses (the next when one cannot be reached), with the
    name kept in the Host header and given as the TLS server name, against which the certificate
    is checked as usual."""

    def __init__(self, allowed: str, public_url: str,
                 inner: httpx.BaseTransport | None = None) -> None:
        self.allowed, self.public_url = allowed, public_url
        self.inner = inner or httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        addresses, why = _check(str(request.url), self.allowed, self.public_url)
        if why is not None:
            raise httpx.ConnectError(why, request=request)
        if not addresses or addresses == [request.url.host]:
            return self.inner.handle_request(request)
        request.extensions["sni_hostname"] = request.url.host
        for address in addresses[:-1]:
            request.url = request.url.copy_with(host=address)
            try:
                return self.inner.handle_request(request)
            except httpx.ConnectError:
                continue  # like a plain connection: try the host's next address
        request.url = request.url.copy_with(host=addresses[-1])
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


def client(settings: Settings) -> httpx.Client:
    """The HTTP client for outbound messages: pinned to checked addresses, unless an outbound
    proxy is configured in the environment (the proxy then resolves the names)."""
    if any(k in urllib.request.getproxies() for k in ("http", "https", "all")):
        return httpx.Client()
    return httpx.Client(transport=PinnedTransport(settings.outbound_allowed_hosts,
                                                  settings.public_url))
