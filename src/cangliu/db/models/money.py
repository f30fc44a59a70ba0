"""Receivables and payables: open items from shipments and receipts, payments and their allocation."""

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from cangliu.db.base import Base, BigId
from cangliu.db.types import Exact


class OpenItem(Base):
    """What a customer owes us (receivable) or we owe a supplier (payable) for one posting."""

    __tablename__ = "open_item"
    __table_args__ = (CheckConstraint("kind IN ('receivable', 'payable')", name="kind"),
                      CheckConstraint("settled_base <= amount_base", name="not_over_settled"),
                      Index("ix_open_item_partner", "kind", "partner_code", "item_date"))
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(12))
    partner_code: Mapped[str] = mapped_column(String(40))
    document_type: Mapped[str] = mapped_column(String(30))
    document_number: Mapped[str] = mapped_column(String(40), index=True)
    posting_ref: Mapped[str] = mapped_column(String(40))
    currency: Mapped[str] = mapped_column(String(3))
    rate: Mapped[Decimal] = mapped_column(Exact)
    amount: Mapped[Decimal] = mapped_column(Exact)
    amount_base: Mapped[Decimal] = mapped_column(Exact)
    settled_base: Mapped[Decimal] = mapped_column(Exact, default=Decimal(0))
    item_date: Mapped[date] = mapped_column(Date)
    due_date: Mapped[date] = mapped_column(Date)


class Payment(Base):
    """Money received from a customer (receipt) or paid to a supplier (payment)."""

    __tablename__ = "payment"
    __table_args__ = (CheckConstraint("amount > 0", name="amount_positive"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    kind: Mapped[str] = mapped_column(String(12))
    partner_code: Mapped[str] = mapped_column(String(40), index=True)
    currency: Mapped[str] = mapped_column(String(3))
    rate: Mapped[Decimal] = mapped_column(Exact)
    amount: Mapped[Decimal] = mapped_column(Exact)
    amount_base: Mapped[Decimal] = mapped_column(Exact)
    paid_on: Mapped[date] = mapped_column(Date)
    reference: Mapped[str] = mapped_column(String(100), default="")
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]


class Allocation(Base):
    __tablename__ = "allocation"
    __table_args__ = (CheckConstraint("amount_base > 0", name="amount_positive"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payment.id"), index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("open_item.id"), index=True)
    amount_base: Mapped[Decimal] = mapped_column(Exact)
