"""Master-data lookups by code for services; unknown or unusable codes become field errors."""

from sqlalchemy import select
from sqlalchemy.orm import Session

from cangliu.core.errors import ValidationFailed
from cangliu.core.locations import INTERNAL, VIRTUAL_CODES, LocationKind
from cangliu.db.models import Location, Sku


def sku_by_code(session: Session, code: str, *, field: str = "sku") -> Sku:
    sku = session.scalar(select(Sku).where(Sku.code == code))
    if sku is None:
        raise ValidationFailed.single(field, "unknown SKU {code}", code=code)
    if not sku.active:
        raise ValidationFailed.single(field, "SKU {code} is inactive", code=code)
    return sku


def site_by_code(session: Session, code: str, *, field: str = "site") -> Location:
    site = session.scalar(select(Location).where(Location.code == code))
    if site is None or site.kind != LocationKind.SITE:
        raise ValidationFailed.single(field, "unknown site {code}", code=code)
    if not site.active:
        raise ValidationFailed.single(field, "site {code} is inactive", code=code)
    return site


def place(session: Session, site_code: str, bin_code: str | None, *, site_field: str = "site",
          bin_field: str = "bin") -> tuple[Location, Location]:
    """(site, location) where stock is taken or put: a zone or bin of the site, or the site itself."""
    site = site_by_code(session, site_code, field=site_field)
    if not bin_code:
        return site, site
    loc = session.scalar(select(Location).where(Location.code == bin_code))
    if loc is None or loc.kind not in INTERNAL or loc.site_id != site.id:
        raise ValidationFailed.single(bin_field, "no location {code} in site {site}", code=bin_code,
                                      site=site.code)
    return site, loc


def virtual(session: Session, kind: LocationKind) -> Location:
    loc = session.scalar(select(Location).where(Location.code == VIRTUAL_CODES[kind]))
    assert loc is not None, f"virtual location {kind} missing: run migrations"
    return loc
