"""Suggestions (调拨建议) of the planning run: listed with their explanation, accepted — transfer
suggestions become transfer orders submitted for approval, purchase suggestions draft purchase
orders with the cheapest listed supplier — or dismissed with a reason. Accepting or dismissing
many at once is one transaction: one bad suggestion changes nothing."""

import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any, Final

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session, aliased

from cangliu.core.errors import FieldError, ValidationFailed
from cangliu.core.permissions import Actor
from cangliu.db.models import Location, PlanningSuggestion, Sku, Supplier, SupplierPrice
from cangliu.db.uow import UnitOfWork, retrying
from cangliu.services import purchasing, transfers
from cangliu.services.idempotency import Result
from cangliu.services.postings import Meta, transact

STATES: Final = ("open", "accepted", "dismissed", "superseded")
MAX_BATCH: Final = 500


class Codes:
    """SKU and site codes by id, loaded once per request, to show suggestion rows."""

    def __init__(self, session: Session) -> None:
        self.skus = dict(session.execute(select(Sku.id, Sku.code)).tuples().all())
        self.sites = dict(session.execute(select(Location.id, Location.code).where(
            Location.kind == "site")).tuples().all())

    def row(self, s: PlanningSuggestion | dict[str, Any]) -> dict[str, Any]:
        """A stored suggestion, or one a dry run would add (a dict of its columns)."""
        r: dict[str, Any] = s if isinstance(s, dict) else {
            c.key: getattr(s, c.key) for c in PlanningSuggestion.__table__.columns}
        run_on = r.get("run_on")
        return {"id": r.get("id"), "kind": r["kind"], "rule": r["rule"],
                "sku": self.skus.get(r["sku_id"]), "from_site": self.sites.get(r["from_site_id"]),
                "to_site": self.sites.get(r["to_site_id"]), "qty": str(r["qty"]),
                "trigger": json.loads(r["trigger"]), "cover_before": r["cover_before"],
                "cover_after": r["cover_after"], "exception": r["exception"],
                "state": r.get("state") or "open", "document": r.get("document"),
                "run_on": run_on.isoformat() if run_on else None,
                "decided_by": r.get("decided_by"), "reason": r.get("reason")}


def _filtered(query: Select[Any], *, state: str | None, rule: str | None, kind: str | None,
              site: str | None, sku: str | None, exception: bool | None,
              scope: frozenset[int] | None) -> Select[Any]:
    src, dst = aliased(Location), aliased(Location)
    s = PlanningSuggestion
    query = query.outerjoin(src, src.id == s.from_site_id).join(dst, dst.id == s.to_site_id)
    if state:
        query = query.where(s.state == state)
    if rule:
        query = query.where(s.rule == rule)
    if kind:
        query = query.where(s.kind == kind)
    if site:
        query = query.where(or_(src.code == site, dst.code == site))
    if sku:
        query = query.where(s.sku_id.in_(select(Sku.id).where(Sku.code == sku)))
    if exception is not None:
        query = query.where(s.exception == exception)
    if scope is not None:
        query = query.where(or_(s.to_site_id.in_(scope), s.from_site_id.in_(scope)))
    return query


def list_suggestions(session: Session, *, state: str | None = "open", rule: str | None = None,
                     kind: str | None = None, site: str | None = None, sku: str | None = None,
                     exception: bool | None = None, scope: frozenset[int] | None = None,
                     limit: int = 50, offset: int = 0) -> dict[str, Any]:
    """Suggestions by rule priority order of their rule name, SKU and destination; ``scope``:
    the sites whose suggestions (at either end) may be shown; ``total`` for paging."""
    filters: dict[str, Any] = {"state": state, "rule": rule, "kind": kind, "site": site,
                               "sku": sku, "exception": exception, "scope": scope}
    rows = session.scalars(_filtered(select(PlanningSuggestion), **filters)
                           .order_by(PlanningSuggestion.rule, PlanningSuggestion.sku_id,
                                     PlanningSuggestion.to_site_id, PlanningSuggestion.id)
                           .offset(offset).limit(limit)).all()
    total = session.scalar(_filtered(select(func.count(PlanningSuggestion.id)), **filters))
    rules = session.scalars(select(PlanningSuggestion.rule).distinct().order_by(
        PlanningSuggestion.rule)).all()
    codes = Codes(session)
    return {"items": [codes.row(r) for r in rows], "total": total or 0, "rules": list(rules)}


def _locked(uow: UnitOfWork, ids: Sequence[int]) -> list[PlanningSuggestion]:
    """The open suggestions ``ids``, locked; any missing or no longer open is named by position."""
    if not ids:
        raise ValidationFailed.single("ids", "choose at least one suggestion")
    if len(ids) > MAX_BATCH:
        raise ValidationFailed.single("ids", "at most {max} suggestions at once", max=MAX_BATCH)
    found = {s.id: s for s in uow.session.scalars(select(PlanningSuggestion).where(
        PlanningSuggestion.id.in_(ids)).with_for_update())}
    errors = []
    for i, sid in enumerate(ids):
        row = found.get(sid)
        if row is None:
            errors.append(FieldError(f"ids[{i}]", "suggestion {id} not found", {"id": str(sid)}))
        elif row.state != "open":
            errors.append(FieldError(f"ids[{i}]", "suggestion {id} is {state}, not open",
                                     {"id": str(sid), "state": row.state}))
    if errors:
        raise ValidationFailed(errors)
    return [found[sid] for sid in dict.fromkeys(ids)]


def _check_scope(actor: Actor, rows: list[PlanningSuggestion], ids: Sequence[int]) -> None:
    position = {sid: i for i, sid in enumerate(ids)}
    for row in rows:
        needed = (("transfer.create", row.from_site_id), ("transfer.create", row.to_site_id)) \
            if row.kind == "transfer" else (("purchase.create", row.to_site_id),)
        for permission, site_id in needed:
            if site_id is not None and not actor.can(permission, site_id):
                raise ValidationFailed.single(f"ids[{position[row.id]}]",
                                              "you may not create this document at its sites")


def _suppliers(uow: UnitOfWork, rows: list[PlanningSuggestion], ids: Sequence[int]
               ) -> dict[int, str]:
    """The cheapest listed supplier's code per SKU of the purchase suggestions."""
    wanted = {r.sku_id for r in rows if r.kind == "purchase"}
    best: dict[int, tuple[Decimal, str]] = {}
    if wanted:
        for sku_id, price, code in uow.session.execute(
                select(SupplierPrice.sku_id, SupplierPrice.price, Supplier.code)
                .join(Supplier, Supplier.id == SupplierPrice.supplier_id)
                .where(SupplierPrice.sku_id.in_(wanted)).order_by(Supplier.code)):
            if sku_id not in best or price < best[sku_id][0]:
                best[sku_id] = (price, code)
    position = {sid: i for i, sid in enumerate(ids)}
    for r in rows:
        if r.kind == "purchase" and r.sku_id not in best:
            raise ValidationFailed.single(f"ids[{position[r.id]}]",
                                          "no supplier lists a price for this SKU: order it by hand")
    return {sku_id: code for sku_id, (_price, code) in best.items()}


@retrying
def accept(uow: UnitOfWork, meta: Meta, ids: Sequence[int]) -> Result:
    """Accept open suggestions: one transfer order per rule, source and destination (submitted:
    its approval policy approves it or starts the approval), one draft purchase order per
    supplier and site. Each suggestion names the document made from it."""
    def work() -> Result:
        rows = _locked(uow, ids)
        _check_scope(meta.actor, rows, ids)
        suppliers = _suppliers(uow, rows, ids)
        codes = Codes(uow.session)
        groups: dict[tuple[Any, ...], list[PlanningSuggestion]] = defaultdict(list)
        for r in rows:
            key = (("transfer", r.rule, r.from_site_id, r.to_site_id) if r.kind == "transfer"
                   else ("purchase", suppliers[r.sku_id], r.to_site_id))
            groups[key].append(r)
        made = [_make(uow, meta, codes, key, group) for key, group in groups.items()]
        now = uow.now()
        for number, group in made:
            for r in group:
                r.state, r.document, r.decided_by, r.decided_at = (
                    "accepted", number, meta.actor.username, now)
        uow.session.flush()
        return {"accepted": len(rows), "documents": [
            {"number": n, "kind": g[0].kind, "suggestions": [r.id for r in g]} for n, g in made]}

    return transact(uow, meta, "accept_suggestions", {"ids": list(ids)}, work)


def _make(uow: UnitOfWork, meta: Meta, codes: Codes, key: tuple[Any, ...],
          group: list[PlanningSuggestion]) -> tuple[str, list[PlanningSuggestion]]:
    """The document for one group of suggestions: its number."""
    reason = meta.reason or f"planning rule {group[0].rule}"
    doc_meta = replace(meta, reason=reason[:200])
    if key[0] == "transfer":
        src = uow.session.get_one(Location, key[2])
        order = transfers.new_order(uow, doc_meta, src, codes.sites[key[3]], [
            transfers.TransferLineIn(sku=codes.skus[r.sku_id], qty=r.qty) for r in group], None)
        order.generated_by_rule = key[1]
        order.exception = any(r.exception for r in group)
        uow.session.flush()
        order.state = transfers.start_approval(uow, meta.actor, order)
        order.version += 1
        return order.number, group
    po = purchasing.new_purchase(uow, doc_meta, supplier=key[1], site=codes.sites[key[2]], lines=[
        purchasing.PurchaseLineIn(sku=codes.skus[r.sku_id], qty=r.qty) for r in group])
    return po.number, group


@retrying
def dismiss(uow: UnitOfWork, actor: Actor, ids: Sequence[int], reason: str) -> dict[str, Any]:
    """Dismiss open suggestions with a reason (their rule's cooldown then starts)."""
    with uow:
        reason = reason.strip()
        if not reason:
            raise ValidationFailed.single("reason", "is required")
        rows = _locked(uow, ids)
        position = {sid: i for i, sid in enumerate(ids)}
        for r in rows:
            if not actor.can("planning.edit", r.to_site_id):
                raise ValidationFailed.single(f"ids[{position[r.id]}]",
                                              "you may not plan for this site")
        now = uow.now()
        for r in rows:
            r.state, r.reason, r.decided_by, r.decided_at = "dismissed", reason[:200], actor.username, now
        uow.commit()
    return {"dismissed": len(rows)}


def get(session: Session, sid: int, scope: frozenset[int] | None) -> dict[str, Any] | None:
    row = session.get(PlanningSuggestion, sid)
    if row is None or (scope is not None and not {row.to_site_id, row.from_site_id} & scope):
        return None
    return Codes(session).row(row)


def opened_on(session: Session) -> date | None:
    """The day of the newest run that left suggestions."""
    return session.scalar(select(func.max(PlanningSuggestion.run_on)))
