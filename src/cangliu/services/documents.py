"""The shared life of a document: lock it, check version and state table, act, move to the next state."""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from cangliu.core.documents import StateTable
from cangliu.core.errors import NotFound, ValidationFailed
from cangliu.core.ledger import parse_money
from cangliu.db.uow import UnitOfWork
from cangliu.services.conflicts import stale_version
from cangliu.services.idempotency import Result
from cangliu.services.locks import check_not_locked
from cangliu.services.postings import Meta, transact


@dataclass(frozen=True)
class DocumentKind:
    doc_type: str  # e.g. "transfer", also the document_type written on its moves
    label: str  # for messages: "No {label} {number}"
    model: Any  # the SQLAlchemy row class, with number / state / version columns
    table: StateTable
    answer: Callable[[UnitOfWork, Any], Result]


def replace_lines(uow: UnitOfWork, old: Iterable[Any], new: list[Any]) -> None:
    """A draft's lines are edited as a whole: the old rows go (first, so line numbers can be
    reused), the new ones come."""
    for row in old:
        uow.session.delete(row)
    uow.session.flush()
    uow.session.add_all(new)


def line_price(listed: Decimal | None, given: Decimal | str | None, field: str) -> Decimal:
    """A line's price: the one typed in, else the partner's price list; one of them must exist."""
    if given is not None and given != "":
        return parse_money(given, field=field)
    if listed is None:
        raise ValidationFailed.single(field, "no price list entry: give a price")
    return listed


def load(uow: UnitOfWork, kind: DocumentKind, number: str, *, lock: bool = True) -> Any:
    """The document row, locked for this transaction so two tabs cannot act on it at once."""
    query = select(kind.model).where(kind.model.number == number)
    row = uow.session.scalar(query.with_for_update() if lock else query)
    if row is None:
        raise NotFound("No {label} {number}", label=kind.label, number=number)
    return row


def act(uow: UnitOfWork, meta: Meta, kind: DocumentKind, number: str, action: str,
        request: dict[str, Any], body: Callable[[Any, Meta], str | None],
        version: int | None = None) -> Result:
    """Lock, check the version and the state table, do the work, move to the next state.

    ``body`` may return the next state itself (e.g. received vs partially received); otherwise
    the state table's target for ``action`` is used.
    """
    def work() -> Result:
        doc = load(uow, kind, number)
        if action == "edit":
            check_not_locked(uow.session, meta.actor, kind.doc_type, number, uow.now())
        if version is not None and doc.version != version:
            raise stale_version(uow.session, table=kind.model.__tablename__, key=number,
                                version=version, current_version=doc.version,
                                current=kind.answer(uow, doc))
        kind.table.next(number, doc.state, action)
        doc_meta = replace(meta, document_type=kind.doc_type, document_number=doc.number)
        doc.state = body(doc, doc_meta) or kind.table.next(number, doc.state, action)
        doc.version += 1
        uow.session.flush()
        return kind.answer(uow, doc)

    return transact(uow, meta, f"{kind.doc_type}_{action}", {"number": number, **request}, work)


def get(uow: UnitOfWork, kind: DocumentKind, number: str) -> Result:
    with uow:
        return kind.answer(uow, load(uow, kind, number, lock=False))
