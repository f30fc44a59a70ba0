"""Master-data lookups by code for services; unknown or unusable codes become field errors.

Rows found by code are remembered for the rest of the transaction (per session), so a posting
of many lines looks each SKU and location up once; ``prefetch`` loads all the codes a request
names in one query per table.
"""

from collections.abc import Iterable
from threading import Lock
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import Engine, bindparam, select
from sqlalchemy.orm import Session

from cangliu.core.errors import ValidationFailed
from cangliu.core.locations import INTERNAL, VIRTUAL_CODES, LocationKind
from cangliu.db.models import Location, Sku

_SESSION_KEY = "cangliu.masterdata"
# Built once, with bound parameters: building the expression per call cost as much as running it.
_BY_CODE: dict[type, Any] = {
    m: select(m).where(m.code == bindparam("code")) for m in (Sku, Location)}
_BY_CODES: dict[type, Any] = {
    m: select(m).where(m.code.in_(bindparam("codes", expanding=True))) for m in (Sku, Location)}
_VIRTUAL = select(*Location.__table__.columns).where(Location.code == bindparam("code"))


def _remembered(session: Session) -> dict[tuple[type, str], Any]:
    cache: dict[tuple[type, str], Any] = session.info.setdefault(_SESSION_KEY, {})
    return cache


def _by_code(session: Session, model: type[Sku] | type[Location], code: str) -> Any:
    cache = _remembered(session)
    if (model, code) not in cache:
        cache[(model, code)] = session.scalar(_BY_CODE[model], {"code": code})
    return cache[(model, code)]


def prefetch(session: Session, *, skus: Iterable[str] = (), locations: Iterable[str] = ()) -> None:
    """Load the named SKUs and locations in one query each; codes that do not exist are noted."""
    cache = _remembered(session)
    for model, codes in ((Sku, skus), (Location, locations)):
        wanted = sorted({c for c in codes if isinstance(c, str) and (model, c) not in cache})
        if not wanted:
            continue
        found = {row.code: row for row in session.scalars(_BY_CODES[model], {"codes": wanted})}
        cache.update({(model, c): found.get(c) for c in wanted})


def sku_by_code(session: Session, code: str, *, field: str = "sku") -> Sku:
    sku: Sku | None = _by_code(session, Sku, code)
    if sku is None:
        raise ValidationFailed.single(field, "unknown SKU {code}", code=code)
    if not sku.active:
        raise ValidationFailed.single(field, "SKU {code} is inactive", code=code)
    return sku


def site_by_code(session: Session, code: str, *, field: str = "site") -> Location:
    site: Location | None = _by_code(session, Location, code)
    if site is None or site.kind != LocationKind.SITE:
        raise ValidationFailed.single(field, "unknown site {code}", code=code)
    if not site.active:
        raise ValidationFailed.single(field, "site {code} is inactive", code=code)
    return site


def place(session: Session, site_code: str, bin_code: str | None, *, site_field: str = "site",
          bin_field: str = "bin") -> tuple[Location, Location]:
    """(site, location) where stock is taken or put: a zone or bin of the site, or the site."""
    site = site_by_code(session, site_code, field=site_field)
    if not bin_code:
        return site, site
    loc: Location | None = _by_code(session, Location, bin_code)
    if loc is None or loc.kind not in INTERNAL or loc.site_id != site.id:
        raise ValidationFailed.single(bin_field, "no location {code} in site {site}", code=bin_code,
                                      site=site.code)
    return site, loc


# Engine → kind → detached copy of that virtual location.
_virtual: "WeakKeyDictionary[Engine, dict[LocationKind, Location]]" = WeakKeyDictionary()
_virtual_lock = Lock()


def virtual(session: Session, kind: LocationKind) -> Location:
    """The virtual location of a kind (supplier, customer …).

    These rows are created by the first migration and no service can edit them, so each is
    read once per engine; callers get a transient copy, never attached to a session, to read.
    """
    engine = session.get_bind()
    loc = _virtual.get(engine, {}).get(kind)  # type: ignore[call-overload]
    if loc is None:
        row = session.execute(_VIRTUAL, {"code": VIRTUAL_CODES[kind]}).first()
        assert row is not None, f"virtual location {kind} missing: run migrations"
        loc = Location(**row._asdict())
        with _virtual_lock:
            _virtual.setdefault(engine, {})[kind] = loc  # type: ignore[call-overload]
    return loc
