"""What an import would write, once its rows were checked against the database: the rows to
create, the rows to update (with their record's id and version) and the row errors."""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cangliu.core.locations import LocationKind
from cangliu.core.permissions import Actor
from cangliu.db.models import Barcode, Location, Sku
from cangliu.services.imports.cells import Parsed, RowError

Row = tuple[int, dict[str, Any]]


@dataclass
class Plan:
    parsed: Parsed
    mode: str  # create | upsert
    creates: list[Row] = field(default_factory=list)
    updates: list[Row] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    refs: dict[str, int] = field(default_factory=dict)  # code → id of stored records referred to

    def error(self, number: int, key: str, message: str, **params: object) -> None:
        self.errors.append(RowError(number, self.parsed.headers.get(key, key), message,
                                    {k: str(v) for k, v in params.items()}))

    @property
    def all_errors(self) -> list[RowError]:
        """Cell errors and database errors, in row then column order."""
        order = {h: i for i, h in enumerate(self.parsed.headers.values())}
        return sorted([*self.parsed.errors, *self.errors],
                      key=lambda e: (e.row, order.get(e.column, -1)))


@dataclass
class Context:
    """Who imports (scopes, field rules) and the session the checks read from."""

    session: Session
    actor: Actor
    now: datetime


def bad_rows(parsed: Parsed) -> set[int]:
    return {e.row for e in parsed.errors}


def first_rows(plan: Plan, rows: Iterable[Row], keys: tuple[str, ...], message: str
               ) -> dict[tuple[Any, ...], int]:
    """The row each key (e.g. a code) first appears on; later rows repeating it are errors."""
    seen: dict[tuple[Any, ...], int] = {}
    for number, row in rows:
        key = tuple(row.get(k) for k in keys)
        if any(v is None for v in key) and keys == ("code",):
            continue
        if key in seen:
            plan.error(number, keys[-1] if len(keys) > 1 else keys[0], message, row=seen[key])
        else:
            seen[key] = number
    return seen


@dataclass(frozen=True)
class SkuInfo:
    id: int
    code: str
    decimals: int
    tracking: str
    active: bool
    deleted: bool


def skus_by_code(session: Session, codes: set[str]) -> dict[str, SkuInfo]:
    """SKUs by code or, as scanners type them, by barcode (a code wins over a barcode)."""
    cols = (Sku.id, Sku.code, Sku.decimals, Sku.tracking, Sku.active, Sku.deleted_at.is_not(None))
    found: dict[str, SkuInfo] = {}
    wanted = sorted(codes)
    for i in range(0, len(wanted), 20_000):
        chunk = wanted[i:i + 20_000]
        for r in session.execute(select(*cols).where(Sku.code.in_(chunk))).tuples():
            found[r[1]] = SkuInfo(*r)
        rest = [c for c in chunk if c not in found]
        if rest:
            for b in session.execute(select(*cols, Barcode.code).join(
                    Barcode, Barcode.sku_id == Sku.id).where(Barcode.code.in_(rest))).tuples():
                found[b[6]] = SkuInfo(*b[:6])
    return found


def check_sku(plan: Plan, number: int, code: str, skus: dict[str, SkuInfo], *,
              active: bool = True) -> SkuInfo | None:
    """The SKU a row names, or an error on its cell (unknown; inactive where that matters)."""
    sku = skus.get(code)
    if sku is None or (sku.deleted and not active):
        plan.error(number, "sku", "unknown SKU {code}", code=code)
        return None
    if active and (not sku.active or sku.deleted):
        plan.error(number, "sku", "SKU {code} is inactive", code=code)
        return None
    return sku


@dataclass(frozen=True)
class SiteInfo:
    id: int
    code: str
    active: bool
    allow_negative: bool


def sites_by_code(session: Session) -> dict[str, SiteInfo]:
    rows = session.execute(select(Location.id, Location.code, Location.active,
                                  Location.allow_negative)
                           .where(Location.kind == LocationKind.SITE.value,
                                  Location.deleted_at.is_(None)))
    return {r[1]: SiteInfo(*r) for r in rows}


def values_without(row: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k not in keys}
