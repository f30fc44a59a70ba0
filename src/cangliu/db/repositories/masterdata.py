"""Master-data lookups by code for services; unknown or unusable codes become field errors.

Rows found by code are remembered for the rest of the transaction (per session), so a posting
of many lines looks each SKU and location up once; ``prefetch`` loads all the codes a request
names up front, in a single query when there are few of them.
"""

from collections.abc import Iterable
from threading import Lock
from typing import Any, cast
from weakref import WeakKeyDictionary

from sqlalchemy import Engine, bindparam, select
from sqlalchemy.orm import Session

from cangliu.core.errors import ValidationFailed
from cangliu.core.locations import INTERNAL, VIRTUAL_CODES, LocationKind
from cangliu.db.models import Barcode, Location, Sku

_SESSION_KEY = "cangliu.masterdata"
# Built once, with bound parameters: building the expression per call cost as much as running it.
_BY_CODE: dict[type, Any] = {
    m: select(m).where(m.code == bindparam("code")) for m in (Sku, Location)}
_BY_CODES: dict[type, Any] = {
    m: select(m).where(m.code.in_(bindparam("codes", expanding=True))) for m in (Sku, Location)}
_VIRTUAL = select(*Location.__table__.columns).where(Location.code == bindparam("code"))
# Every named location paired with every named SKU (NULL when none exists): one round trip
# instead of two for the usual request of one SKU at one or two places.
_LOCATIONS_AND_SKUS = (
    select(Location, Sku).select_from(Location)
    .outerjoin(Sku, Sku.code.in_(bindparam("skus", expanding=True)))
    .where(Location.code.in_(bindparam("locations", expanding=True))))
_PAIRS_IN_ONE_QUERY = 16


def _remembered(session: Session) -> dict[tuple[type, str], Any]:
    cache: dict[tuple[type, str], Any] = session.info.setdefault(_SESSION_KEY, {})
    return cache


def _by_code(session: Session, model: type[Sku] | type[Location], code: str) -> Any:
    cache = _remembered(session)
    if (model, code) not in cache:
        cache[(model, code)] = session.scalar(_BY_CODE[model], {"code": code})
    return cache[(model, code)]


def prefetch(session: Session, *, skus: Iterable[str] = (), locations: Iterable[str] = ()) -> None:
    """Load the named SKUs and locations at once; codes that do not exist are noted as such."""
    cache = _remembered(session)
    sku_codes = sorted({c for c in skus if (Sku, c) not in cache})
    location_codes = sorted({c for c in locations if (Location, c) not in cache})
    if sku_codes and location_codes and len(sku_codes) * len(location_codes) <= _PAIRS_IN_ONE_QUERY:
        rows = session.execute(_LOCATIONS_AND_SKUS,
                               {"skus": sku_codes, "locations": location_codes}).all()
        if rows:  # with no location found, the rows say nothing about the SKUs
            _note(cache, Location, location_codes, (loc for loc, _ in rows))
            _note(cache, Sku, sku_codes, (sku for _, sku in rows if sku is not None))
            return
    for model, codes in ((Sku, sku_codes), (Location, location_codes)):
        if codes:
            _note(cache, model, codes, session.scalars(_BY_CODES[model], {"codes": codes}))


def _note(cache: dict[tuple[type, str], Any], model: type, codes: list[str],
          rows: Iterable[Any]) -> None:
    found = {row.code: row for row in rows}
    cache.update({(model, c): found.get(c) for c in codes})


def sku_by_code(session: Session, code: str, *, field: str = "sku") -> Sku:
    """The SKU of a code or, as a scanner types it, of one of its barcodes."""
    sku: Sku | None = _by_code(session, Sku, code) or session.scalar(
        select(Sku).join(Barcode, Barcode.sku_id == Sku.id).where(Barcode.code == code))
    if sku is None:
        raise ValidationFailed.single(field, "unknown SKU {code}", code=code)
    if not sku.active or sku.deleted_at is not None:
        raise ValidationFailed.single(field, "SKU {code} is inactive", code=code)
    return sku


def site_by_code(session: Session, code: str, *, field: str = "site") -> Location:
    site: Location | None = _by_code(session, Location, code)
    if site is None or site.kind != LocationKind.SITE:
        raise ValidationFailed.single(field, "unknown site {code}", code=code)
    if not site.active or site.deleted_at is not None:
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
    engine = cast(Engine, session.get_bind())
    with _virtual_lock:
        loc = _virtual.get(engine, {}).get(kind)
    if loc is None:
        row = session.execute(_VIRTUAL, {"code": VIRTUAL_CODES[kind]}).first()
        assert row is not None, f"virtual location {kind} missing: run migrations"
        loc = Location(**row._asdict())
        with _virtual_lock:
            _virtual.setdefault(engine, {})[kind] = loc
    return loc


def load(session: Session, model: type[Sku] | type[Location], ids: Iterable[int]) -> None:
    """Load rows by id in one query, so the ``session.get`` calls that follow (one per document
    line) find them in the identity map. The session holds only weak references to its rows,
    so the loaded ones are kept for the rest of the transaction."""
    wanted = sorted(set(ids))
    if wanted:
        kept: list[Any] = session.info.setdefault("cangliu.loaded", [])
        kept += session.scalars(select(model).where(model.id.in_(wanted)))
