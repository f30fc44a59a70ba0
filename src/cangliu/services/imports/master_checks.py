"""Checking master-data rows against the database, as ``services.masterdata`` would one by one:
codes unique in the file and new (or, in create-or-update mode, not deleted and not being
edited by someone else), references by code (to stored records or to rows earlier in the file),
the location tree, barcodes owned by one SKU, valuation and negative-stock switches."""

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, null, select

from cangliu.core.errors import DomainError
from cangliu.core.locations import CHILD_KIND, LocationKind
from cangliu.db.models import Barcode, Category, Customer, EditLock, Location, Sku, StockBalance, Supplier
from cangliu.services.imports.cells import Parsed
from cangliu.services.imports.plan import Context, Plan, first_rows
from cangliu.services.valuation import check_method_change

MODELS: dict[str, Any] = {"category": Category, "sku": Sku, "site": Location, "location": Location,
                          "supplier": Supplier, "customer": Customer}
LABELS = {"category": "category", "sku": "SKU", "site": "site", "location": "location",
          "supplier": "supplier", "customer": "customer"}
# Reference column → the entity its code names.
REFS = {"category": {"parent": "category"}, "sku": {"category": "category"},
        "location": {"parent": "location"}}
CHUNK = 20_000


@dataclass(frozen=True)
class Existing:
    id: int
    deleted: bool
    version: int
    kind: str | None = None
    site_id: int | None = None
    parent_id: int | None = None


def _existing(ctx: Context, model: Any, codes: list[str]) -> dict[str, Existing]:
    extra: tuple[Any, ...] = ()
    if model is Location:
        extra = (model.kind, model.site_id, model.parent_id)
    elif model is Category:  # the valuation method takes the kind's place
        extra = (model.valuation, null(), model.parent_id)
    elif model is Sku:
        extra = (model.tracking, null(), model.category_id)
    found: dict[str, Existing] = {}
    for i in range(0, len(codes), CHUNK):
        query = select(model.code, model.id, model.deleted_at.is_not(None), model.version, *extra)
        for code, *rest in ctx.session.execute(query.where(model.code.in_(codes[i:i + CHUNK]))):
            found[code] = Existing(*rest)
    return found


def _locked(ctx: Context, kind: str, codes: list[str]) -> dict[str, str]:
    """Records someone else is editing right now: code → who."""
    if not codes:
        return {}
    rows = ctx.session.execute(select(EditLock.entity_key, EditLock.holder, EditLock.expires_at,
                                      EditLock.holder_id).where(EditLock.entity == kind))
    wanted = set(codes)
    return {key: holder for key, holder, expires, holder_id in rows
            if key in wanted and holder_id != ctx.actor.user_id and expires > ctx.now}


def check(ctx: Context, parsed: Parsed, mode: str) -> Plan:
    plan = Plan(parsed, mode)
    kind = parsed.entity.key
    model = MODELS[kind]
    codes = sorted({row["code"] for _, row in parsed.rows if "code" in row})
    existing = _existing(ctx, model, codes)
    first = first_rows(plan, parsed.rows, ("code",), "repeats row {row} (same code)")
    locked = _locked(ctx, kind, [c for c in codes if c in existing]) if mode == "upsert" else {}
    refs = Refs(ctx, plan, kind)
    for number, row in parsed.rows:
        code = row.get("code")
        if code is None or first.get((code,)) != number:
            continue
        old = existing.get(code)
        if old is not None and not _may_update(plan, number, kind, code, old, locked):
            continue
        if not refs.check(number, row, old):
            continue
        (plan.updates if old else plan.creates).append(
            (number, {**row, "_id": old.id, "_version": old.version} if old else row))
    plan.refs = {code: e.id for code, e in refs.stored.items()}
    return plan


def _may_update(plan: Plan, number: int, kind: str, code: str, old: Existing,
                locked: dict[str, str]) -> bool:
    label = LABELS[kind]
    if kind in ("site", "location") and (old.kind == LocationKind.SITE) != (kind == "site"):
        plan.error(number, "code", "code {code} is already used by another location", code=code)
    elif plan.mode != "upsert":
        if old.deleted:
            plan.error(number, "code", "A deleted {label} keeps the code {code}: restore it instead",
                       label=label, code=code)
        else:
            plan.error(number, "code", "A {label} with code {code} already exists", label=label,
                       code=code)
    elif old.deleted:
        plan.error(number, "code", "{label} {code} is deleted: restore it first", label=label,
                   code=code)
    elif code in locked:
        plan.error(number, "code", "Being edited by {user}", user=locked[code])
    else:
        return True
    return False


class Refs:
    """References by code, to stored records or to rows created earlier in the file."""

    def __init__(self, ctx: Context, plan: Plan, kind: str) -> None:
        self.ctx, self.plan, self.kind = ctx, plan, kind
        self.refs = REFS.get(kind, {})
        rows = plan.parsed.rows
        wanted = sorted({row[k] for _, row in rows for k in self.refs if row.get(k)})
        target = MODELS[next(iter(self.refs.values()))] if self.refs else None
        self.stored = _existing(ctx, target, wanted) if target is not None else {}
        self.made: dict[str, tuple[str | None, int | None]] = {}  # code → (kind, site id)
        self.barcodes = _Barcodes(ctx, plan) if kind == "sku" else None

    def check(self, number: int, row: dict[str, Any], old: Existing | None) -> bool:
        ok = True
        for key in self.refs:
            code = row.get(key)
            if code and code == row.get("code"):
                self.plan.error(number, key, "must not be the record itself")
                ok = False
            elif code and code not in self.stored and code not in self.made:
                self.plan.error(number, key, "unknown {label} {code}", label=key, code=code)
                ok = False
        if ok and self.kind == "location":
            ok = self._tree(number, row, old)
        if ok and self.barcodes is not None:
            ok = self.barcodes.check(number, row, old)
        if ok and old is not None:
            ok = self._switches(number, row, old)
        if ok and old is None:
            self.made[row["code"]] = (row.get("kind"), row.get("_site_id"))
        return ok

    def _tree(self, number: int, row: dict[str, Any], old: Existing | None) -> bool:
        """A zone hangs under a site; a bin under a site or a zone; it stays where it is."""
        parent = self.stored.get(row["parent"])
        parent_kind, site_id = ((parent.kind, parent.site_id) if parent
                                else self.made[row["parent"]])
        if parent_kind not in CHILD_KIND:
            self.plan.error(number, "parent", "must be a site or a zone")
        elif parent_kind == LocationKind.ZONE and row["kind"] != LocationKind.BIN:
            self.plan.error(number, "kind", "only bins can sit inside a zone")
        elif old is not None and (old.kind != row["kind"] or (
                parent is None or parent.id != old.parent_id)):
            self.plan.error(number, "parent", "cannot be changed by an import: move it on its page")
        elif not self.ctx.actor.can("site.edit" if old else "site.create", site_id):
            self.plan.error(number, "parent", "Your role may not do this here")
        else:
            row["_site_id"] = site_id
            return True
        return False

    def _switches(self, number: int, row: dict[str, Any], old: Existing) -> bool:
        """Valuation method and negative stock change only as the record's page allows."""
        session = self.ctx.session
        try:
            values: dict[str, Any] = {}
            if self.kind == "category" and row.get("valuation", old.kind) != old.kind:
                values["valuation"] = row["valuation"]
            category = self.stored.get(row.get("category") or "")
            if self.kind == "sku" and category is not None and category.id != old.parent_id:
                values["category_id"] = category.id
            if values:
                check_method_change(session, self.kind, session.get(MODELS[self.kind], old.id),
                                    values)
            if self.kind == "site" and row.get("allow_negative") is False:
                negative = session.scalar(select(func.count()).select_from(StockBalance).where(
                    StockBalance.site_id == old.id, StockBalance.qty < StockBalance.reserved))
                if negative:
                    self.plan.error(number, "allow_negative", "{n} balances at this site are "
                                    "negative: correct them first", n=negative)
                    return False
        except DomainError as exc:
            self.plan.error(number, "valuation" if "valuation" in row else "category",
                            exc.message, **exc.params)
            return False
        return True


class _Barcodes:
    """A barcode names one SKU: not two rows of the file, not another stored SKU."""

    def __init__(self, ctx: Context, plan: Plan) -> None:
        wanted = sorted({b for _, row in plan.parsed.rows for b in row.get("barcodes", ())})
        self.owner: dict[str, int] = {}
        for i in range(0, len(wanted), CHUNK):
            self.owner.update(ctx.session.execute(
                select(Barcode.code, Barcode.sku_id).where(Barcode.code.in_(wanted[i:i + CHUNK])))
                .tuples().all())
        self.plan = plan
        self.first: dict[str, int] = {}

    def check(self, number: int, row: dict[str, Any], old: Existing | None) -> bool:
        ok = True
        for code in row.get("barcodes", ()):
            owner = self.owner.get(code)
            if code in self.first:
                self.plan.error(number, "barcodes", "barcode {code} is also on row {row}",
                                code=code, row=self.first[code])
                ok = False
            elif owner is not None and (old is None or owner != old.id):
                self.plan.error(number, "barcodes", "barcode {code} belongs to another SKU",
                                code=code)
                ok = False
        if ok:
            self.first.update({code: number for code in row.get("barcodes", ())})
        return ok
