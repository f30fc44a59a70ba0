"""Two workers posting the same document at once post it once (issue 3, item 10).

A double click sends one request twice with the same Idempotency-Key: every call gets the one
answer and the ledger holds one posting. Two browser tabs send their own requests (their own
keys, or none): one posts, the others are told why (illegal state, stale version, too much),
and nothing is posted twice. After every race the ledger is read back: the document's moves,
the balances against a replay (``verify``), its state, the reservation it holds and the
receivable or payable it booked.

Workers start together at a barrier, each with its own unit of work, as separate web requests
would. SQLite lets one writer in at a time (``BEGIN IMMEDIATE``), so it races fewer workers.
"""

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import event, func, select

from cangliu.core.documents import IllegalTransition
from cangliu.core.errors import InsufficientStock, StaleVersion, ValidationFailed
from cangliu.core.ledger import Operation, StockStatus
from cangliu.db.models import (
    NumberCounter,
    OpenItem,
    PurchaseOrder,
    Reservation,
    SalesOrder,
    Setting,
    StockCount,
    StockMove,
    TransferOrder,
)
from cangliu.db.queries import FIGURES, single_view
from cangliu.db.uow import Database, UnitOfWork
from cangliu.services import counts, masterdata, purchasing, sales, scrap, stock, transfers
from cangliu.services.counts import CountIn
from cangliu.services.idempotency import Result
from cangliu.services.postings import Meta
from cangliu.services.purchasing import PurchaseLineIn, ReceiptIn, ReturnIn
from cangliu.services.sales import LineQty, SalesLineIn
from cangliu.services.stock import Line
from cangliu.services.transfers import ReceiptLineIn, TransferLineIn
from cangliu.services.verify import verify
from tests.races import race

Outcome = Result | Exception
Action = Callable[[Database, Meta, str], Result]


def _no_surprises(outcomes: list[Outcome], allowed: tuple[type[Exception], ...]) -> None:
    for outcome in outcomes:
        if isinstance(outcome, Exception) and not isinstance(outcome, allowed):
            raise AssertionError(f"a worker failed with {outcome!r}") from outcome


def answered_alike(outcomes: list[Outcome]) -> Result:
    """A double click: every call is answered, all with the answer of the one posting."""
    _no_surprises(outcomes, ())
    first = outcomes[0]
    assert isinstance(first, dict)
    assert all(o == first for o in outcomes)
    return first


def one_posted(outcomes: list[Outcome], refused: type[Exception], number: str | None) -> Result:
    """Two tabs: exactly one call posts; every other one is refused with ``refused``."""
    _no_surprises(outcomes, (refused,))
    posted = [o for o in outcomes if isinstance(o, dict)]
    assert len(posted) == 1, f"{len(posted)} of {len(outcomes)} tabs posted"
    for err in outcomes:
        if isinstance(err, IllegalTransition) and number:
            assert number in str(err)  # the message names the document
    return posted[0]


def double_click(meta: Meta) -> Callable[[int], Meta]:
    return lambda _i: replace(meta, idempotency_key="double-click")


def own_tabs(meta: Meta) -> Callable[[int], Meta]:
    """Odd-numbered tabs send a key of their own, the others none (a client that sets none)."""
    return lambda i: replace(meta, idempotency_key=f"tab-{i}" if i % 2 else None)


# --- what the ledger says about one document -------------------------------------------------

@dataclass(frozen=True)
class Ledger:
    moves: Counter[str]  # operation → stock_move rows of the document
    items: Counter[tuple[str, Decimal]]  # (kind, amount in base currency) → open items booked
    holds: tuple[Decimal, int]  # open reserved quantity, reservations ever made


def ledger_of(db: Database, number: str) -> Ledger:
    with db.read() as s:
        moves = s.execute(select(StockMove.operation, func.count()).where(
            StockMove.document_number == number).group_by(StockMove.operation)).tuples().all()
        items = s.execute(select(OpenItem.kind, OpenItem.amount_base).where(
            OpenItem.document_number == number)).tuples().all()
        held = s.scalar(select(func.sum(Reservation.qty)).where(
            Reservation.document_number == number, Reservation.state == "open"))
        refs = s.scalar(select(func.count(Reservation.ref.distinct())).where(
            Reservation.document_number == number))
    return Ledger(Counter(dict(moves)), Counter(items), (held or Decimal(0), refs or 0))


def figures(db: Database, site: str) -> dict[str, Decimal]:
    with db.read() as s:
        rows = {r["site"]: r for r in single_view(s, "SKU-1")["sites"]}
    return rows.get(site) or dict.fromkeys(FIGURES, Decimal(0))


# --- documents ready for the action under race ------------------------------------------------

def _stock(db: Database, meta: Meta, qty: str) -> None:
    stock.receive(db.uow(), meta, site="WH", lines=[Line("SKU-1", qty)])


def approved_transfer(db: Database, meta: Meta) -> str:
    _stock(db, meta, "20")
    draft = transfers.create_transfer(db.uow(), meta, source="WH", dest="S1",
                                      lines=[TransferLineIn("SKU-1", "10")])
    return str(transfers.submit_transfer(db.uow(), meta, number=draft["number"])["number"])


def shipped_transfer(db: Database, meta: Meta) -> str:
    number = approved_transfer(db, meta)
    transfers.ship_transfer(db.uow(), meta, number=number)
    return number


def _tolerance(db: Database, pct: str) -> None:
    with db.uow() as uow:
        uow.session.add(Setting(key=purchasing.TOLERANCE_SETTING, value=pct))
        uow.commit()


def approved_purchase(db: Database, meta: Meta) -> str:
    draft = purchasing.create_purchase(db.uow(), meta, supplier="SUP-1", site="WH",
                                       lines=[PurchaseLineIn("SKU-1", "10")])
    return str(purchasing.submit_purchase(db.uow(), meta, number=draft["number"])["number"])


def tolerant_purchase(db: Database, meta: Meta) -> str:
    """Ordered 10 with 10 % over-receipt tolerance: at most 11 may arrive in all."""
    _tolerance(db, "10")
    return approved_purchase(db, meta)


def partly_received_purchase(db: Database, meta: Meta) -> str:
    number = tolerant_purchase(db, meta)
    purchasing.receive_purchase(db.uow(), meta, number=number, lines=[ReceiptIn(1, "4")])
    return number


def received_purchase(db: Database, meta: Meta) -> str:
    number = approved_purchase(db, meta)
    purchasing.receive_purchase(db.uow(), meta, number=number, lines=[ReceiptIn(1, "10")])
    return number


def draft_sale(db: Database, meta: Meta) -> str:
    _stock(db, meta, "10")
    return str(sales.create_sale(db.uow(), meta, customer="C1", site="WH",
                                 lines=[SalesLineIn("SKU-1", "6")])["number"])


def confirmed_sale(db: Database, meta: Meta) -> str:
    number = draft_sale(db, meta)
    sales.confirm_sale(db.uow(), meta, number=number)
    return number


def shipped_sale(db: Database, meta: Meta) -> str:
    number = confirmed_sale(db, meta)
    sales.ship_sale(db.uow(), meta, number=number)
    return number


def reviewed_count(db: Database, meta: Meta) -> str:
    """10 on the books at WH, 7 counted: a loss of 3 waiting to be posted."""
    _stock(db, meta, "10")
    number = str(counts.start_count(db.uow(), meta, site="WH")["number"])
    counts.record_counts(db.uow(), meta, number=number, entries=[CountIn("SKU-1", "7")])
    counts.submit_count(db.uow(), meta, number=number)
    return number


@dataclass(frozen=True)
class Case:
    prepare: Callable[[Database, Meta], str]  # the document, ready for the action
    action: Action
    refused: type[Exception]  # what the tabs that lose the race are told
    state: str  # the document's state afterwards
    moves: dict[str, int]  # operation → stock_move rows the action writes
    read: Callable[[UnitOfWork, str], Result]
    items: dict[tuple[str, str], int] = field(default_factory=dict)  # (kind, amount) → booked
    holds: tuple[str, int] | None = None  # open reserved qty, reservations ever made
    sites: dict[str, dict[str, int]] = field(default_factory=dict)  # single-view figures after


def _transfer(action: Action, **kw: Any) -> Case:
    return Case(action=action, read=transfers.get_transfer, **kw)


def _purchase(action: Action, **kw: Any) -> Case:
    return Case(action=action, read=purchasing.get_purchase, **kw)


def _sale(action: Action, **kw: Any) -> Case:
    return Case(action=action, read=sales.get_sale, **kw)


CASES = {
    "transfer ship": _transfer(
        lambda db, m, n: transfers.ship_transfer(db.uow(), m, number=n),
        prepare=approved_transfer, refused=IllegalTransition, state="shipped",
        moves={Operation.TRANSFER_SHIP: 1},
        sites={"WH": {"available": 10, "in_transit_out": 10}, "S1": {"in_transit_in": 10}}),
    "transfer receive in full": _transfer(
        lambda db, m, n: transfers.receive_transfer(db.uow(), m, number=n,
                                                    lines=[ReceiptLineIn(1, received="10")]),
        prepare=shipped_transfer, refused=IllegalTransition, state="received",
        moves={Operation.TRANSFER_RECEIVE: 1},
        sites={"WH": {"available": 10, "in_transit_out": 0},
               "S1": {"available": 10, "in_transit_in": 0}}),
    "transfer receive part twice": _transfer(
        lambda db, m, n: transfers.receive_transfer(db.uow(), m, number=n,
                                                    lines=[ReceiptLineIn(1, received="6")]),
        prepare=shipped_transfer, refused=ValidationFailed, state="partially_received",
        moves={Operation.TRANSFER_RECEIVE: 1},
        sites={"WH": {"in_transit_out": 4}, "S1": {"available": 6, "in_transit_in": 4}}),
    "transfer cancel after ship": _transfer(
        lambda db, m, n: transfers.cancel_transfer(db.uow(), m, number=n),
        prepare=shipped_transfer, refused=IllegalTransition, state="cancelled",
        moves={Operation.CANCEL: 1},
        sites={"WH": {"available": 20, "in_transit_out": 0}, "S1": {"in_transit_in": 0}}),
    "purchase receive in full": _purchase(
        lambda db, m, n: purchasing.receive_purchase(db.uow(), m, number=n,
                                                     lines=[ReceiptIn(1, "10")]),
        prepare=approved_purchase, refused=IllegalTransition, state="received",
        moves={Operation.RECEIVE: 1}, items={("payable", "25.00"): 1},
        sites={"WH": {"on_hand": 10, "on_order": 0}}),
    "purchase receive the rest within tolerance": _purchase(
        lambda db, m, n: purchasing.receive_purchase(db.uow(), m, number=n,
                                                     lines=[ReceiptIn(1, "6")]),
        prepare=partly_received_purchase, refused=IllegalTransition, state="received",
        moves={Operation.RECEIVE: 1}, items={("payable", "15.00"): 1},
        sites={"WH": {"on_hand": 10, "on_order": 0}}),
    "purchase receive twice past tolerance": _purchase(
        lambda db, m, n: purchasing.receive_purchase(db.uow(), m, number=n,
                                                     lines=[ReceiptIn(1, "6")]),
        prepare=tolerant_purchase, refused=ValidationFailed, state="partially_received",
        moves={Operation.RECEIVE: 1}, items={("payable", "15.00"): 1},
        sites={"WH": {"on_hand": 6, "on_order": 4}}),
    "purchase supplier return": _purchase(
        lambda db, m, n: purchasing.return_purchase(db.uow(), m, number=n,
                                                    lines=[ReturnIn(1, "10", reason="broken")]),
        prepare=received_purchase, refused=ValidationFailed, state="received",
        moves={Operation.SUPPLIER_RETURN: 1}, items={("payable", "-25.00"): 1},
        sites={"WH": {"on_hand": 0}}),
    "sales confirm": _sale(
        lambda db, m, n: sales.confirm_sale(db.uow(), m, number=n),
        prepare=draft_sale, refused=IllegalTransition, state="confirmed", moves={},
        holds=("6", 1), sites={"WH": {"on_hand": 10, "reserved": 6, "available": 4}}),
    "sales confirm at the version the tab loaded": _sale(
        lambda db, m, n: sales.confirm_sale(db.uow(), m, number=n, version=1),
        prepare=draft_sale, refused=StaleVersion, state="confirmed", moves={},
        holds=("6", 1), sites={"WH": {"on_hand": 10, "reserved": 6, "available": 4}}),
    "sales ship everything open": _sale(
        lambda db, m, n: sales.ship_sale(db.uow(), m, number=n),
        prepare=confirmed_sale, refused=IllegalTransition, state="shipped",
        moves={Operation.ISSUE: 1}, items={("receivable", "30.00"): 1}, holds=("0", 1),
        sites={"WH": {"on_hand": 4, "reserved": 0, "available": 4}}),
    "sales ship part twice": _sale(
        lambda db, m, n: sales.ship_sale(db.uow(), m, number=n, lines=[LineQty(1, "4")]),
        prepare=confirmed_sale, refused=ValidationFailed, state="partially_shipped",
        moves={Operation.ISSUE: 1}, items={("receivable", "20.00"): 1}, holds=("2", 1),
        sites={"WH": {"on_hand": 6, "reserved": 2, "available": 4}}),
    "sales customer return": _sale(
        lambda db, m, n: sales.return_sale(db.uow(), m, number=n, lines=[LineQty(1, "6")]),
        prepare=shipped_sale, refused=ValidationFailed, state="shipped",
        moves={Operation.RECEIVE: 1}, items={("receivable", "-30.00"): 1}, holds=("0", 1),
        sites={"WH": {"available": 4, "quality_hold": 6}}),
    "sales cancel after confirm": _sale(
        lambda db, m, n: sales.cancel_sale(db.uow(), m, number=n),
        prepare=confirmed_sale, refused=IllegalTransition, state="cancelled", moves={},
        holds=("0", 1), sites={"WH": {"on_hand": 10, "reserved": 0, "available": 10}}),
    "stock count post": Case(
        action=lambda db, m, n: counts.post_count(db.uow(), m, number=n),
        prepare=reviewed_count, refused=IllegalTransition, state="posted",
        moves={Operation.ADJUST: 1}, read=counts.get_count,
        sites={"WH": {"on_hand": 7, "available": 7}}),
}


@pytest.fixture
def partners(db: Database, network: Any) -> None:
    masterdata.create(db.uow(), network, "supplier", {"code": "SUP-1", "name": "供应商一"})
    purchasing.set_supplier_price(db.uow(), network, supplier="SUP-1", sku="SKU-1", price="2.50")
    masterdata.create(db.uow(), network, "customer", {"code": "C1", "name": "客户一"})
    sales.set_customer_price(db.uow(), network, customer="C1", sku="SKU-1", price="5")


def check_posted_once(db: Database, case: Case, number: str, before: Ledger, answer: Result) -> None:
    after = ledger_of(db, number)
    assert after.moves - before.moves == Counter({str(op): n for op, n in case.moves.items()})
    assert after.items - before.items == Counter(
        {(kind, Decimal(amount)): n for (kind, amount), n in case.items.items()})
    if case.holds is not None:
        assert after.holds == (Decimal(case.holds[0]), case.holds[1])
    assert answer["state"] == case.state
    assert case.read(db.uow(), number)["state"] == case.state
    for site, expected in case.sites.items():
        seen = figures(db, site)
        assert {k: seen[k] for k in expected} == {k: Decimal(v) for k, v in expected.items()}, site
    report = verify(db.uow())
    assert report.consistent, [report.describe(d) for d in report.differences]


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_a_double_click_posts_the_document_once_and_answers_every_call_alike(
        db, meta, partners, case):
    number = case.prepare(db, meta)
    before = ledger_of(db, number)
    meta_of = double_click(meta)
    answer = answered_alike(race(db, lambda i: case.action(db, meta_of(i), number)))
    check_posted_once(db, case, number, before, answer)


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_two_tabs_posting_the_same_document_post_it_once_and_the_others_are_told_why(
        db, meta, partners, case):
    number = case.prepare(db, meta)
    before = ledger_of(db, number)
    meta_of = own_tabs(meta)
    answer = one_posted(race(db, lambda i: case.action(db, meta_of(i), number)),
                        case.refused, number)
    check_posted_once(db, case, number, before, answer)


# --- scrap: each call is a new document, so only the key or the stock stops a second one ------

def _scrap(db: Database, meta: Meta, qty: str) -> Result:
    return scrap.scrap(db.uow(), meta, site="WH", reason_code="damaged",
                       lines=[Line("SKU-1", qty)], from_status=StockStatus.AVAILABLE)


def _scrap_documents(db: Database) -> list[str]:
    with db.read() as s:
        return list(s.scalars(select(StockMove.document_number).distinct().where(
            StockMove.operation == Operation.SCRAP.value)))


def test_a_double_click_on_scrap_writes_one_scrap_document(db, meta):
    _stock(db, meta, "10")
    meta_of = double_click(meta)
    answer = answered_alike(race(db, lambda i: _scrap(db, meta_of(i), "4")))
    assert _scrap_documents(db) == [answer["number"]]
    assert ledger_of(db, answer["number"]).moves == Counter({Operation.SCRAP.value: 1})
    assert figures(db, "WH")["on_hand"] == Decimal(6)
    assert verify(db.uow()).consistent


def test_two_tabs_scrapping_the_same_stock_write_it_off_once(db, meta):
    _stock(db, meta, "4")
    meta_of = own_tabs(meta)
    answer = one_posted(race(db, lambda i: _scrap(db, meta_of(i), "4")), InsufficientStock, None)
    assert _scrap_documents(db) == [answer["number"]]
    assert ledger_of(db, answer["number"]).moves == Counter({Operation.SCRAP.value: 1})
    assert figures(db, "WH")["on_hand"] == Decimal(0)
    assert verify(db.uow()).consistent


# --- creating a document: one key, one document, one number -----------------------------------

CREATORS: dict[str, tuple[Any, str, Callable[[Database, Meta], Result]]] = {
    "transfer": (TransferOrder, "transfer", lambda db, m: transfers.create_transfer(
        db.uow(), m, source="WH", dest="S1", lines=[TransferLineIn("SKU-1", "3")])),
    "purchase order": (PurchaseOrder, "purchase_order", lambda db, m: purchasing.create_purchase(
        db.uow(), m, supplier="SUP-1", site="WH", lines=[PurchaseLineIn("SKU-1", "3")])),
    "sales order": (SalesOrder, "sales_order", lambda db, m: sales.create_sale(
        db.uow(), m, customer="C1", site="WH", lines=[SalesLineIn("SKU-1", "3")])),
    "stock count": (StockCount, "stock_count", lambda db, m: counts.start_count(
        db.uow(), m, site="WH")),
}


@pytest.mark.parametrize("creator", CREATORS.values(), ids=CREATORS.keys())
def test_a_double_click_on_create_makes_one_document_with_one_number(db, meta, partners, creator):
    model, series, create = creator
    meta_of = double_click(meta)
    answer = answered_alike(race(db, lambda i: create(db, meta_of(i))))
    with db.read() as s:
        assert list(s.scalars(select(model.number))) == [answer["number"]]
        assert s.scalar(select(NumberCounter.last).where(NumberCounter.doc_type == series)) == 1


@pytest.mark.parametrize("creator", list(CREATORS.values())[:3], ids=list(CREATORS)[:3])
def test_the_number_is_taken_once_the_order_is_checked(db, meta, partners, creator):
    """The counter row stays locked until the commit: everything that looks things up or can
    refuse the order comes before it, so others creating orders wait as little as possible."""
    _model, _series, create = creator
    sent: list[str] = []

    def note(conn: Any, cursor: Any, sql: str, *args: Any) -> None:
        sent.append(sql)
    event.listen(db.writer, "before_cursor_execute", note)
    try:
        create(db, meta)
    finally:
        event.remove(db.writer, "before_cursor_execute", note)
    taken = next(i for i, sql in enumerate(sent) if "number_counter" in sql)
    checks = ("custom_field", "supplier_price", "customer_price", ".code IN", ".code =")
    assert [sql for sql in sent[:taken] if "custom_field" in sql]  # the checks ran: before
    assert not [sql for sql in sent[taken:] if any(c in sql for c in checks)]
