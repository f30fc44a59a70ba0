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

Every address the host name resolves to must be allowed. The name is resolved again when the
message is sent, so a name that changes its address between the two lookups is not caught.
"""

import ipaddress
import socket
from typing import Final
from urllib.parse import urlsplit

from cangliu.core.hosts import admits, parse

SETTING: Final = "CANGLIU_OUTBOUND_ALLOWED_HOSTS"


def _origin(url: str) -> tuple[str, str | None, int | None]:
    parts = urlsplit(url)
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme, parts.hostname, port


def refusal(url: str, allowed: str, public_url: str) -> str | None:
    """Why ``url`` may not be called, or None when it may (or when its host does not resolve:
    sending then fails the usual way and is tried again later)."""
    if _origin(url) == _origin(public_url):
        return None
    entries = parse(allowed)
    _scheme, host, port = _origin(url)
    if host is None or "*" in entries or host.lower() in entries:
        return None
    try:
        found = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return None
    for *_, sockaddr in found:
        address = ipaddress.ip_address(str(sockaddr[0]).split("%")[0])
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
            address = address.ipv4_mapped
        if not any(admits(entry, address) for entry in entries):
            named = str(address) if str(address) == host.strip("[]") else f"{address} ({host})"
            return (f"address {named} is not allowed for outbound messages"
                    f" (allowed: {allowed}); an administrator can allow it with {SETTING}")
    return None
