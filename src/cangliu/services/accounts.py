"""Receivables and payables: open items booked by shipments and receipts, payments allocated to
them oldest first (or as the user says), aging and partner statements in the base currency."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from cangliu.core.documents import AGING_BUCKETS, BASE_CURRENCY, aging_bucket
from cangliu.core.errors import ValidationFailed
from cangliu.core.ledger import parse_money
from cangliu.db.models import Allocation, Customer, OpenItem, Payment, Supplier
from cangliu.db.uow import UnitOfWork, retrying
from cangliu.services.idempotency import Result
from cangliu.services.numbering import next_number
from cangliu.services.postings import Meta, transact

Kind = Literal["receivable", "payable"]
CENT = Decimal("0.01")
PAYMENT_TERMS_DAYS = 30


def book_item(uow: UnitOfWork, *, kind: Kind, partner: str, document_type: str,
              document_number: str, posting_ref: str, currency: str, rate: Decimal,
              amount: Decimal, on: date) -> None:
    """Called inside the posting's transaction: the money side of a shipment or receipt."""
    if amount <= 0:
        return
    uow.session.add(OpenItem(
        kind=kind, partner_code=partner, document_type=document_type,
        document_number=document_number, posting_ref=posting_ref, currency=currency, rate=rate,
        amount=amount.quantize(CENT), amount_base=(amount * rate).quantize(CENT),
        settled_base=Decimal(0), item_date=on,
        due_date=date.fromordinal(on.toordinal() + PAYMENT_TERMS_DAYS)))


def book_credit(uow: UnitOfWork, *, kind: Kind, partner: str, document_type: str,
                document_number: str, posting_ref: str, currency: str, rate: Decimal,
                amount: Decimal, on: date) -> None:
    """The money side of goods given back (e.g. a debit note to a supplier): a negative item on
    the partner's statement, applied at once to the same document's open items, then the
    partner's oldest. Credit left over shows on the statement, not in aging."""
    base = (amount * rate).quantize(CENT)
    if base <= 0:
        return
    uow.session.add(OpenItem(
        kind=kind, partner_code=partner, document_type=document_type,
        document_number=document_number, posting_ref=posting_ref, currency=currency, rate=rate,
        amount=-amount.quantize(CENT), amount_base=-base, settled_base=-base, item_date=on,
        due_date=on))
    left = base
    for item in uow.session.scalars(
            select(OpenItem).where(OpenItem.kind == kind, OpenItem.partner_code == partner,
                                   OpenItem.settled_base < OpenItem.amount_base)
            .order_by(OpenItem.document_number != document_number, OpenItem.item_date, OpenItem.id)
            .with_for_update()):
        take = min(left, item.amount_base - item.settled_base)
        item.settled_base += take
        left -= take
        if left <= 0:
            break
    uow.session.flush()


@dataclass(frozen=True)
class AllocationIn:
    document_number: str
    amount: Decimal | str  # in the base currency


def _partner_exists(uow: UnitOfWork, kind: Kind, code: str) -> None:
    model = Customer if kind == "receivable" else Supplier
    if uow.session.scalar(select(model.id).where(model.code == code)) is None:
        raise ValidationFailed.single("partner", "unknown {label} {code}",
                                      label="customer" if kind == "receivable" else "supplier", code=code)


@retrying
def record_payment(uow: UnitOfWork, meta: Meta, *, kind: Kind, partner: str,
                   amount: Decimal | str, paid_on: date, currency: str = BASE_CURRENCY,
                   rate: Decimal | str | None = None, reference: str = "",
                   allocations: list[AllocationIn] | None = None) -> Result:
    """A customer pays us or we pay a supplier; the money settles open items."""
    def work() -> Result:
        _partner_exists(uow, kind, partner)
        value = parse_money(amount, field="amount")
        if value <= 0:
            raise ValidationFailed.single("amount", "must be greater than 0")
        if currency != BASE_CURRENCY and rate in (None, ""):
            raise ValidationFailed.single("rate", "a foreign currency needs an exchange rate")
        fx = Decimal(1) if rate in (None, "") else parse_money(rate, field="rate")
        base = (value * fx).quantize(CENT)
        series = "receipt" if kind == "receivable" else "payment"
        pay = Payment(number=next_number(uow, series, paid_on), kind=series, partner_code=partner,
                      currency=currency, rate=fx, amount=value, amount_base=base, paid_on=paid_on,
                      reference=reference, created_by=meta.actor.username, created_at=uow.now())
        uow.session.add(pay)
        uow.session.flush()
        allocated = _allocate(uow, pay, kind, allocations)
        unallocated = base - sum((Decimal(a["amount"]) for a in allocated), Decimal(0))
        return {"number": pay.number, "kind": kind, "partner": partner, "amount": str(value),
                "currency": currency, "amount_base": _money(base), "allocated": allocated,
                "unallocated": _money(unallocated)}

    request = {"kind": kind, "partner": partner, "amount": str(amount), "paid_on": paid_on,
               "currency": currency, "rate": rate, "reference": reference,
               "allocations": [vars(a) for a in allocations] if allocations else None}
    return transact(uow, meta, "record_payment", request, work)


def _allocate(uow: UnitOfWork, pay: Payment, kind: Kind, wanted: list[AllocationIn] | None
              ) -> list[dict[str, str]]:
    open_items = list(uow.session.scalars(
        select(OpenItem).where(OpenItem.kind == kind, OpenItem.partner_code == pay.partner_code,
                               OpenItem.settled_base < OpenItem.amount_base)
        .order_by(OpenItem.item_date, OpenItem.id).with_for_update()))
    left, done = pay.amount_base, []
    if wanted is None:
        plan = [(item, item.amount_base - item.settled_base) for item in open_items]
    else:
        plan = []
        for i, a in enumerate(wanted):
            items = [it for it in open_items if it.document_number == a.document_number]
            if not items:
                raise ValidationFailed.single(f"allocations[{i}].document_number",
                                              "no open item for {number}", number=a.document_number)
            plan.append((items[0], parse_money(a.amount, field=f"allocations[{i}].amount")))
    for i, (item, asked) in enumerate(plan):
        take = min(asked, left) if wanted is None else asked
        if wanted is not None and (take > item.amount_base - item.settled_base or take > left):
            raise ValidationFailed.single(f"allocations[{i}].amount", "is more than is open or paid")
        if take <= 0:
            continue
        item.settled_base += take
        left -= take
        uow.session.add(Allocation(payment_id=pay.id, item_id=item.id, amount_base=take))
        done.append({"document_number": item.document_number, "amount": _money(take)})
    uow.session.flush()
    return done


def aging(session: Session, *, kind: Kind, as_of: date) -> list[dict[str, Any]]:
    """Open amounts per partner by age of the item (days since it was booked)."""
    labels = [label for _l, _h, label in AGING_BUCKETS]
    table: dict[str, dict[str, Decimal]] = {}
    items = session.scalars(select(OpenItem).where(
        OpenItem.kind == kind, OpenItem.settled_base < OpenItem.amount_base,
        OpenItem.item_date <= as_of))
    for item in items:
        row = table.setdefault(item.partner_code, dict.fromkeys(labels, Decimal(0)))
        row[aging_bucket((as_of - item.item_date).days)] += item.amount_base - item.settled_base
    return [{"partner": p, **{k: _money(v) for k, v in row.items()},
             "total": _money(sum(row.values(), Decimal(0)))} for p, row in sorted(table.items())]


def _money(value: Decimal) -> str:
    return str(value.quantize(CENT))


def statement(session: Session, *, kind: Kind, partner: str, start: date, end: date
              ) -> dict[str, Any]:
    """Items booked and payments made in a period, with opening and running balances."""
    items = list(session.scalars(select(OpenItem).where(
        OpenItem.kind == kind, OpenItem.partner_code == partner, OpenItem.item_date <= end)))
    series = "receipt" if kind == "receivable" else "payment"
    pays = list(session.scalars(select(Payment).where(
        Payment.kind == series, Payment.partner_code == partner, Payment.paid_on <= end)))
    opening = (sum((i.amount_base for i in items if i.item_date < start), Decimal(0))
               - sum((p.amount_base for p in pays if p.paid_on < start), Decimal(0)))
    entries = sorted([(i.item_date, 0, i.document_number, i.amount_base) for i in items
                      if i.item_date >= start]
                     + [(p.paid_on, 1, p.number, -p.amount_base) for p in pays if p.paid_on >= start])
    balance, lines = opening, []
    for day, _order, number, amount in entries:
        balance += amount
        lines.append({"date": day.isoformat(), "document": number, "amount": _money(amount),
                      "balance": _money(balance)})
    return {"partner": partner, "kind": kind, "from": start.isoformat(), "to": end.isoformat(),
            "opening": _money(opening), "closing": _money(balance), "lines": lines}


def partner_names(session: Session, kind: Kind, codes: list[str]) -> dict[str, str]:
    """The names of a kind's partners by code (customers owe receivables, suppliers payables);
    codes that name no partner of that kind are left out."""
    model = Customer if kind == "receivable" else Supplier
    rows = session.execute(select(model.code, model.name).where(model.code.in_(codes)))
    return {code: name for code, name in rows}
