"""The promotion calendar (促销日历): plan, edit and cancel promotions and list them (their effect
on planning: ``promotion_effects``).

A promotion without SKUs covers every SKU, one without sites every site. A user whose planning
rights are limited to some sites plans promotions at those sites only; a network-wide one needs
planning rights everywhere.
"""

import re
from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, exists, or_, select
from sqlalchemy import update as sql_update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from cangliu.core.errors import Conflict, DomainError, FieldError, NotFound, ValidationFailed
from cangliu.core.permissions import Actor
from cangliu.db.models import Location, NumberCounter, Promotion, PromotionSite, PromotionSku, Sku
from cangliu.db.repositories import masterdata as md
from cangliu.db.uow import UnitOfWork, retrying
from cangliu.services.conflicts import stale_version

STATES = ("upcoming", "running", "past", "cancelled", "all")
CODE = re.compile(r"^[A-Z0-9][A-Z0-9._\-]*$")
FIELDS = ("name", "starts_on", "ends_on", "uplift_pct", "note", "skus", "sites")
MIN_UPLIFT, MAX_UPLIFT = Decimal(-100), Decimal(1000)


class NotPermitted(DomainError):
    status = 403
    title = "Forbidden"


# --- planning inputs -------------------------------------------------------------------------

def active(*conditions: ColumnElement[bool]) -> list[ColumnElement[bool]]:
    return [Promotion.cancelled_at.is_(None), *conditions]


# --- reading ---------------------------------------------------------------------------------

def state_of(row: Promotion, today: date) -> str:
    if row.cancelled_at is not None:
        return "cancelled"
    if row.starts_on > today:
        return "upcoming"
    return "running" if row.ends_on >= today else "past"


def _codes(session: Session, ids: Sequence[int]) -> dict[int, tuple[list[str], list[str]]]:
    out: dict[int, tuple[list[str], list[str]]] = {i: ([], []) for i in ids}
    for slot, model, target, column in ((0, PromotionSku, Sku, PromotionSku.sku_id),
                                        (1, PromotionSite, Location, PromotionSite.site_id)):
        rows = session.execute(select(model.promotion_id, target.code)
                               .join(target, target.id == column)
                               .where(model.promotion_id.in_(ids)).order_by(target.code))
        for promotion_id, code in rows:
            out[promotion_id][slot].append(code)
    return out


def _out(row: Promotion, today: date, skus: list[str], sites: list[str]) -> dict[str, Any]:
    return {"code": row.code, "name": row.name, "starts_on": row.starts_on.isoformat(),
            "ends_on": row.ends_on.isoformat(), "uplift_pct": row.uplift_pct, "note": row.note,
            "skus": skus, "sites": sites, "state": state_of(row, today), "version": row.version,
            "created_by": row.created_by, "created_at": row.created_at,
            "cancelled_at": row.cancelled_at, "cancelled_by": row.cancelled_by}


def _to_dict(session: Session, row: Promotion, today: date) -> dict[str, Any]:
    return _out(row, today, *_codes(session, [row.id])[row.id])


def _visible_to(scope: frozenset[int] | None) -> ColumnElement[bool]:
    """Network-wide promotions, or those touching one of ``scope``'s sites."""
    if scope is None:
        return Promotion.id.is_not(None)
    site_of = PromotionSite.promotion_id == Promotion.id
    return or_(~exists().where(site_of), exists().where(site_of, PromotionSite.site_id.in_(scope)))


def _row(session: Session, code: str, scope: frozenset[int] | None) -> Promotion:
    row = session.scalar(select(Promotion).where(Promotion.code == code.strip().upper(),
                                                 _visible_to(scope)))
    if row is None:
        raise NotFound("No promotion {code}", code=code)
    return row


def get(session: Session, code: str, *, today: date, scope: frozenset[int] | None = None
        ) -> dict[str, Any]:
    """One promotion by code; outside ``scope`` (site ids; None: all) it does not exist."""
    return _to_dict(session, _row(session, code, scope), today)


def _state_filter(state: str, today: date) -> list[ColumnElement[bool]]:
    if state not in STATES:
        raise ValidationFailed.single("state", "must be one of: {expected}",
                                      expected=", ".join(STATES))
    filters: dict[str, list[ColumnElement[bool]]] = {
        "upcoming": active(Promotion.starts_on > today),
        "running": active(Promotion.starts_on <= today, Promotion.ends_on >= today),
        "past": active(Promotion.ends_on < today),
        "cancelled": [Promotion.cancelled_at.is_not(None)], "all": []}
    return filters[state]


def _covering(session: Session, field: str, code: str | None) -> list[ColumnElement[bool]]:
    """Promotions covering the SKU or site ``code``: naming it, or covering all of its kind."""
    if not code:
        return []
    model, link, column = ((Sku, PromotionSku, PromotionSku.sku_id) if field == "sku"
                           else (Location, PromotionSite, PromotionSite.site_id))
    ref = session.scalar(select(model.id).where(model.code == code))
    if ref is None:
        raise ValidationFailed.single(field, "unknown {label} {code}", label=field, code=code)
    mine = link.promotion_id == Promotion.id
    return [or_(~exists().where(mine), exists().where(mine, column == ref))]


def list_promotions(session: Session, *, today: date, q: str | None = None, state: str = "all",
                    site: str | None = None, sku: str | None = None, after: str | None = None,
                    limit: int = 50, scope: frozenset[int] | None = None
                    ) -> tuple[list[dict[str, Any]], str | None]:
    """One page ordered by start date then code, searched by code and name; ``after`` is the
    ``next_cursor`` of the page before."""
    query = select(Promotion).where(_visible_to(scope), *_state_filter(state, today),
                                    *_covering(session, "sku", sku), *_covering(session, "site", site))
    if q and q.strip():
        like = f"%{q.strip()}%"
        query = query.where(or_(Promotion.code.ilike(like), Promotion.name.ilike(like)))
    if after:
        day, _, code = after.partition("_")
        try:
            since = date.fromisoformat(day)
        except ValueError:
            raise ValidationFailed.single("cursor", "is not valid") from None
        query = query.where(or_(Promotion.starts_on > since,
                                and_(Promotion.starts_on == since, Promotion.code > code)))
    rows = list(session.scalars(query.order_by(Promotion.starts_on, Promotion.code).limit(limit + 1)))
    page = rows[:limit]
    codes = _codes(session, [r.id for r in page])
    nxt = f"{page[-1].starts_on.isoformat()}_{page[-1].code}" if len(rows) > limit else None
    return [_out(r, today, *codes[r.id]) for r in page], nxt


# --- writing ---------------------------------------------------------------------------------

def _uplift(value: Any) -> Decimal:
    try:
        pct = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError("must be a number") from None
    if not pct.is_finite():
        raise ValueError("must be a number")
    if pct <= MIN_UPLIFT:
        raise ValueError("must be above -100")
    if pct > MAX_UPLIFT:
        raise ValueError("must be at most 1000")
    if pct != pct.quantize(Decimal("0.000001")):
        raise ValueError("has more than six decimal places")
    return pct


def _refs(session: Session, field: str, codes: Sequence[str], errors: list[FieldError]
          ) -> list[int]:
    lookup = md.sku_by_code if field == "skus" else md.site_by_code
    ids: list[int] = []
    for code in dict.fromkeys(c.strip() for c in codes if c.strip()):
        try:
            ids.append(lookup(session, code, field=field).id)
        except ValidationFailed as exc:
            errors.extend(exc.errors)
    return ids


def _clean(session: Session, values: dict[str, Any]) -> dict[str, Any]:
    """``values`` (the promotion's fields after the change) checked together: every bad field is
    named at once."""
    errors: list[FieldError] = []
    clean = dict(values)
    for name, limit in (("name", 200), ("note", 200)):
        text = str(values.get(name) or "").strip()
        if name == "name" and not text:
            errors.append(FieldError(name, "is required"))
        elif len(text) > limit:
            errors.append(FieldError(name, "is too long"))
        clean[name] = text
    for name in ("starts_on", "ends_on"):
        if not isinstance(values.get(name), date):
            errors.append(FieldError(name, "must be a date (YYYY-MM-DD)"))
    if (isinstance(values.get("starts_on"), date) and isinstance(values.get("ends_on"), date)
            and values["ends_on"] < values["starts_on"]):
        errors.append(FieldError("ends_on", "must not be before the start date"))
    try:
        clean["uplift_pct"] = _uplift(values.get("uplift_pct"))
    except ValueError as exc:
        errors.append(FieldError("uplift_pct", str(exc)))
    clean["sku_ids"] = _refs(session, "skus", values.get("skus") or (), errors)
    clean["site_ids"] = _refs(session, "sites", values.get("sites") or (), errors)
    if errors:
        raise ValidationFailed(errors)
    return clean


def _check_scope(session: Session, actor: Actor, site_ids: Sequence[int]) -> None:
    """A user planning at some sites only may name only those, and not plan network-wide."""
    scope = actor.sites("planning.edit")
    if scope is None:
        return
    if not site_ids:
        raise ValidationFailed.single("sites", "a promotion at every site needs planning rights "
                                               "at every site: name your sites")
    outside = [i for i in site_ids if i not in scope]
    if outside:
        code = session.get_one(Location, outside[0]).code
        raise ValidationFailed.single("sites", "you may not plan at site {code}", code=code)


def _link(session: Session, row: Promotion, sku_ids: list[int], site_ids: list[int]) -> None:
    session.execute(delete(PromotionSku).where(PromotionSku.promotion_id == row.id))
    session.execute(delete(PromotionSite).where(PromotionSite.promotion_id == row.id))
    session.add_all([*(PromotionSku(promotion_id=row.id, sku_id=i) for i in sku_ids),
                     *(PromotionSite(promotion_id=row.id, site_id=i) for i in site_ids)])
    session.flush()


def _next_code(uow: UnitOfWork) -> str:
    """PR-YYYYMMDD-NNNN from a counter upserted in one statement: never handed out twice."""
    day = uow.now().date().strftime("%Y%m%d")
    insert = postgresql.insert if uow.dialect == "postgresql" else sqlite.insert
    stmt = insert(NumberCounter).values(doc_type="promotion", period=day, last=1)
    stmt = stmt.on_conflict_do_update(index_elements=["doc_type", "period"],
                                      set_={"last": NumberCounter.last + 1})
    return f"PR-{day}-{uow.session.execute(stmt.returning(NumberCounter.last)).scalar_one():04d}"


@retrying
def create(uow: UnitOfWork, actor: Actor, *, name: str, starts_on: date, ends_on: date,
           uplift_pct: Decimal | str, skus: Sequence[str] = (), sites: Sequence[str] = (),
           note: str = "", code: str = "") -> dict[str, Any]:
    """Plan a promotion; ``code`` blank: PR-YYYYMMDD-NNNN. SKUs and sites by code (none: all)."""
    with uow:
        s = uow.session
        given = (code or "").strip().upper()
        if given and (len(given) > 40 or not CODE.match(given)):
            raise ValidationFailed.single("code", "contains characters that are not allowed")
        if given and s.scalar(select(Promotion.id).where(Promotion.code == given)) is not None:
            raise ValidationFailed.single("code", "is already used by promotion {code}", code=given)
        clean = _clean(s, {"name": name, "starts_on": starts_on, "ends_on": ends_on,
                           "uplift_pct": uplift_pct, "note": note, "skus": skus, "sites": sites})
        _check_scope(s, actor, clean["site_ids"])
        row = Promotion(code=given or _next_code(uow), version=1, created_by=actor.username,
                        created_at=uow.now(), **{k: clean[k] for k in FIELDS[:5]})
        s.add(row)
        s.flush()
        _link(s, row, clean["sku_ids"], clean["site_ids"])
        result = _to_dict(s, row, uow.now().date())
        uow.commit()
    return result


def _editable(uow: UnitOfWork, actor: Actor, code: str, version: int) -> Promotion:
    """The promotion ``code`` at ``version``, not cancelled, wholly within the actor's sites."""
    s = uow.session
    row = _row(s, code, actor.sites("planning.view"))
    scope = actor.sites("planning.edit")
    site_ids = list(s.scalars(select(PromotionSite.site_id)
                              .where(PromotionSite.promotion_id == row.id)))
    if scope is not None and (not site_ids or not scope.issuperset(site_ids)):
        raise NotPermitted("Only a planner of all its sites may change promotion {code}",
                           code=row.code)
    if row.version != version:
        raise stale_version(s, table="promotion", key=row.code, version=version,
                            current_version=row.version,
                            current=_to_dict(s, row, uow.now().date()))
    if row.cancelled_at is not None:
        raise Conflict("Promotion {code} is cancelled", code=row.code)
    return row


def _bump(uow: UnitOfWork, row: Promotion, version: int, values: dict[str, Any]) -> None:
    bumped = uow.session.execute(
        sql_update(Promotion).where(Promotion.id == row.id, Promotion.version == version)
        .values(**values, version=version + 1).execution_options(synchronize_session=False))
    uow.session.refresh(row)
    if bumped.rowcount != 1:  # type: ignore[attr-defined]
        raise stale_version(uow.session, table="promotion", key=row.code, version=version,
                            current_version=row.version,
                            current=_to_dict(uow.session, row, uow.now().date()))


@retrying
def update(uow: UnitOfWork, actor: Actor, code: str, version: int,
                     fields: Mapping[str, Any]) -> dict[str, Any]:
    """Change some of name, starts_on, ends_on, uplift_pct, note, skus, sites; a stale
    ``version`` changes nothing and says what changed."""
    unknown = sorted(set(fields) - set(FIELDS))
    if unknown:
        raise ValidationFailed.single(unknown[0], "cannot be changed")
    with uow:
        s = uow.session
        row = _editable(uow, actor, code, version)
        now = _to_dict(s, row, uow.now().date())
        clean = _clean(s, {**now, "starts_on": row.starts_on, "ends_on": row.ends_on,
                           "uplift_pct": row.uplift_pct, **fields})
        _check_scope(s, actor, clean["site_ids"])
        _bump(uow, row, version, {k: clean[k] for k in FIELDS[:5]})
        if "skus" in fields or "sites" in fields:
            _link(s, row, clean["sku_ids"], clean["site_ids"])
        result = _to_dict(s, row, uow.now().date())
        uow.commit()
    return result


@retrying
def cancel(uow: UnitOfWork, actor: Actor, code: str, version: int) -> dict[str, Any]:
    """Cancel a promotion: it stays listed (cancelled) but no longer adjusts any forecast."""
    with uow:
        row = _editable(uow, actor, code, version)
        _bump(uow, row, version, {"cancelled_at": uow.now(), "cancelled_by": actor.username})
        result = _to_dict(uow.session, row, uow.now().date())
        uow.commit()
    return result
