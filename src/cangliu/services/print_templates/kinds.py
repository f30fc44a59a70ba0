"""The document types that print, and what a print template sees of one document: the answer
the document's own service gives (``get_purchase`` …), with the names behind its codes, line
amounts and a quantity total added — never a second reading of the document itself."""

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from cangliu.core.errors import NotFound
from cangliu.db.models import Customer, Location, Sku, Supplier
from cangliu.db.uow import UnitOfWork
from cangliu.services import counts, purchasing, sales, scrap, transfers

Loader = Callable[[UnitOfWork, str], dict[str, Any]]


def _supplier_return(uow: UnitOfWork, number: str) -> dict[str, Any]:
    """A supplier return has no number of its own: it is what a purchase order gave back."""
    po = purchasing.get_purchase(uow, number)
    lines = [ln for ln in po["lines"] if Decimal(ln["returned_qty"]) > 0]
    if not lines:
        raise NotFound("No supplier return on {number}", number=number)
    return po | {"lines": lines}


@dataclass(frozen=True)
class DocType:
    """``code`` names the type in URLs; ``resource`` is its permission resource, ``kind`` the
    name ``timeline.document_sites`` knows it by; ``qty`` the line field summed as the total
    quantity and priced as the line amount."""

    code: str
    title_zh: str
    title_en: str
    resource: str
    kind: str
    load: Loader
    qty: str = "qty"
    entity: str = ""  # the custom-field entity of its header, if it has one


TYPES: dict[str, DocType] = {t.code: t for t in (
    DocType("purchase_order", "采购订单", "Purchase order", "purchase", "purchase",
            purchasing.get_purchase, entity="purchase_order"),
    DocType("sales_order", "销售发货单", "Sales order / delivery note", "sales", "sales",
            sales.get_sale, entity="sales_order"),
    DocType("transfer", "调拨单", "Transfer order", "transfer", "transfer",
            transfers.get_transfer, entity="transfer_order"),
    DocType("stock_count", "盘点表", "Stock count sheet", "count", "count", counts.get_count,
            qty="counted_qty"),
    DocType("scrap", "报废单", "Scrap", "scrap", "scrap", scrap.get_scrap),
    DocType("sales_return", "客户退货单", "Customer return", "sales", "sales_return",
            sales.get_return, qty="return_qty"),
    DocType("supplier_return", "退供应商单", "Supplier return", "purchase", "purchase",
            _supplier_return, qty="returned_qty"),
)}


def doc_type(code: str) -> DocType:
    found = TYPES.get(code)
    if found is None:
        raise NotFound("No document type {type}", type=code)
    return found


def _dec(value: Any) -> Decimal | None:
    try:
        return None if value in (None, "") else Decimal(str(value))
    except InvalidOperation:
        return None


def _totals(kind: DocType, doc: dict[str, Any]) -> dict[str, Any]:
    """Each line's amount (quantity × price) where it has a price; the quantity total, and the
    amount total where the service gives none (returns)."""
    lines, qty_total, amount = [], Decimal(0), Decimal(0)
    for ln in doc.get("lines", []):
        qty, price = _dec(ln.get(kind.qty)), _dec(ln.get("price"))
        qty_total += qty or 0
        if qty is not None and price is not None:
            ln = ln | {"line_total": str((qty * price).quantize(Decimal("0.01")))}
            amount += qty * price
        lines.append(ln)
    out = doc | {"lines": lines, "total_qty": str(qty_total)}
    if "total" not in doc and any("line_total" in ln for ln in lines):
        out["total"] = str(amount.quantize(Decimal("0.01")))
    return out


def _names(session: Session, model: Any, codes: set[str]) -> dict[str, str]:
    if not codes:
        return {}
    return dict(session.execute(select(model.code, model.name).where(model.code.in_(codes)))
                .tuples().all())


def enrich(session: Session, kind: DocType, doc: dict[str, Any]) -> dict[str, Any]:
    """The names and units behind the codes a document answer carries."""
    doc = _totals(kind, doc) | {"custom": doc.get("custom") or {}}
    places = _names(session, Location, {doc[k] for k in ("site", "source", "dest") if doc.get(k)})
    for key in ("site", "source", "dest"):
        if doc.get(key):
            doc[f"{key}_name"] = doc.get(f"{key}_name") or places.get(doc[key], doc[key])
    for key, model in (("supplier", Supplier), ("customer", Customer)):
        if doc.get(key):
            doc[f"{key}_name"] = _names(session, model, {doc[key]}).get(doc[key], doc[key])
    skus = {ln["sku"] for ln in doc["lines"] if ln.get("sku")}
    found = {code: (name, uom) for code, name, uom in session.execute(
        select(Sku.code, Sku.name, Sku.uom).where(Sku.code.in_(skus)))} if skus else {}
    doc["lines"] = [{"name": found.get(ln.get("sku"), ("", ""))[0],
                     "uom": found.get(ln.get("sku"), ("", ""))[1]} | ln for ln in doc["lines"]]
    return doc


def custom_labels(session: Session, kind: DocType, lang: str) -> dict[str, str]:
    """The labels of the custom fields a document type's header carries, in ``lang``."""
    if not kind.entity:
        return {}
    column = "label_zh" if lang == "zh_CN" else "label_en"
    rows = session.execute(text(f"SELECT key, {column} FROM custom_field WHERE entity = :e"),
                           {"e": kind.entity})
    return {str(k): str(v) for k, v in rows}


def load(uow: UnitOfWork, kind: DocType, number: str) -> dict[str, Any]:
    """The document's answer from its own service, as a template sees it (before field rules)."""
    answer = kind.load(uow, number)
    with uow:
        return enrich(uow.session, kind, answer)
