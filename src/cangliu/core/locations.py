"""Locations: the site → zone → bin tree plus the virtual locations stock flows in from and out to."""

from enum import StrEnum


class LocationKind(StrEnum):
    SITE = "site"
    ZONE = "zone"
    BIN = "bin"
    SUPPLIER = "supplier"
    CUSTOMER = "customer"
    TRANSIT = "transit"
    ADJUSTMENT = "adjustment"
    SCRAP = "scrap"
    PRODUCTION = "production"


class SiteKind(StrEnum):
    CENTRAL = "central"
    REGIONAL = "regional"
    STORE = "store"
    ONLINE = "online"


class Channel(StrEnum):
    WAREHOUSE = "warehouse"
    STORE = "store"
    ONLINE = "online"
    WHOLESALE = "wholesale"


INTERNAL = frozenset({LocationKind.SITE, LocationKind.ZONE, LocationKind.BIN})
VIRTUAL = frozenset(set(LocationKind) - INTERNAL)
# Goods on the road belong to neither site, yet they are still the company's stock: transit
# locations keep balances so "in transit" is answered from balances like everything else.
HOLDS_STOCK = INTERNAL | {LocationKind.TRANSIT}

# The one virtual location of each kind, created by the first migration.
VIRTUAL_CODES = {kind: f"@{kind.value}" for kind in VIRTUAL}
CHILD_KIND = {LocationKind.SITE: LocationKind.ZONE, LocationKind.ZONE: LocationKind.BIN}


def holds_stock(kind: LocationKind) -> bool:
    return kind in HOLDS_STOCK


def is_internal(kind: LocationKind) -> bool:
    return kind in INTERNAL
