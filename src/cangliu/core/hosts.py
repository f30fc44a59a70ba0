"""Outbound host rules: which addresses outbound messages may reach (the setting
``CANGLIU_OUTBOUND_ALLOWED_HOSTS``; see ``cangliu.integrations.guard``)."""

import ipaddress
import re
from typing import Final

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
KEYWORDS: Final = ("external", "private", "loopback", "*")
HOST: Final = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$")
SHARED: Final = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT


def parse(value: str) -> list[str | Network]:
    """The entries of the setting; ValueError naming the first one that is none of the kinds."""
    entries: list[str | Network] = []
    for raw in value.split(","):
        entry = raw.strip().lower()
        if not entry:
            continue
        if entry in KEYWORDS:
            entries.append(entry)
            continue
        try:
            entries.append(ipaddress.ip_network(entry, strict=False))
            continue
        except ValueError:
            pass
        if not HOST.match(entry):
            raise ValueError(f"{raw.strip()!r} is not external, private, loopback, *, "
                             "a network like 10.0.0.0/8 or a host name")
        entries.append(entry)
    return entries


def admits(entry: str | Network, address: Address) -> bool:
    if isinstance(entry, str):
        private = (address.is_private and not address.is_loopback and not address.is_link_local
                   and not address.is_unspecified) or address in SHARED
        return (entry == "*" or (entry == "external" and address.is_global)
                or (entry == "loopback" and address.is_loopback)
                or (entry == "private" and private))
    return address.version == entry.version and address in entry
