"""Random sequences of stock operations against the real services, checked against a shadow ledger.

A hypothesis state machine receives, issues, moves, adjusts, reserves, releases, re-statuses and
reverses on a fresh database per example. A small model of the balances predicts every answer
(including refusals) from the documented rules — free stock is taken from a site's balances
oldest first, a site with negative stock enabled takes a shortfall from the named location — and
after every step the database must agree with it and with its own ledger.
"""

import copy
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from cangliu.core import ledger
from cangliu.core.errors import Conflict, DomainError, InsufficientStock, ValidationFailed
from cangliu.core.ledger import StockStatus
from cangliu.db.models import Location, Reservation, Sku, StockBalance, StockMove
from cangliu.db.queries import single_view
from cangliu.db.uow import Database
from cangliu.services import auth, reservations, stock
from cangliu.services.postings import Meta
from cangliu.services.stock import Line
from cangliu.services.verify import verify
from tests.conftest import BACKENDS, PASSWORD, fresh_url, seed_network

SITE_OF = {"WH": "WH", "WH-A1": "WH", "S1": "S1", "S2": "S2"}  # stocked location → its site
NEGATIVE_SITES = {"S2"}
PLACES = [("WH", None), ("WH", "WH-A1"), ("S1", None), ("S2", None)]  # (site, bin)
SKUS = ["SKU-1", "SKU-KG", "SKU-LOT"]
STATUSES = list(StockStatus)
AVAILABLE = StockStatus.AVAILABLE.value

Key = tuple[str, str, str, str]  # sku code, location code, lot, status


@dataclass(frozen=True)
class Mv:
    sku: str
    qty: Decimal
    src: str
    dst: str
    src_status: str = AVAILABLE
    dst_status: str = AVAILABLE
    lot: str = ""

    def reversed(self) -> "Mv":
        return Mv(self.sku, self.qty, self.dst, self.src, self.dst_status, self.src_status,
                  self.lot)


class Refused(Exception):
    """What the model expects the service to answer instead of posting."""

    def __init__(self, error: type[DomainError], field_name: str | None = None) -> None:
        self.error = error
        self.field = field_name


@dataclass
class Part:
    key: Key
    qty: Decimal
    released: bool = False


@dataclass
class Shadow:
    """Balances in creation (= id) order, open reservation parts, and every posting's moves."""

    ids: dict[str, int]  # database ids of SKU and location codes: postings sort keys by them
    balances: dict[Key, list[Decimal]] = field(default_factory=dict)  # key → [qty, reserved]
    reservations: dict[str, list[Part]] = field(default_factory=dict)
    postings: dict[str, tuple[str, list[Mv]]] = field(default_factory=dict)
    reversed: set[str] = field(default_factory=set)

    def free(self, sku: str, status: str, *, site: str, location: str | None, lot: str | None = None
             ) -> list[tuple[Key, Decimal]]:
        return [(k, q - r) for k, (q, r) in self.balances.items()
                if k[0] == sku and k[3] == status and q > r
                and (k[1] == location if location else SITE_OF[k[1]] == site)
                and (lot is None or k[2] == lot)]

    def sources(self, sku: str, qty: Decimal, status: str, site: str, bin_: str | None
                ) -> list[tuple[str, str, Decimal]]:
        """(location, lot, qty) to take from: oldest balances first, else the shortfall rule."""
        picked, remaining = [], qty
        for key, free in self.free(sku, status, site=site, location=bin_):
            take = min(free, remaining)
            picked.append((key[1], key[2], take))
            remaining -= take
            if remaining == 0:
                return picked
        if site in NEGATIVE_SITES:
            return [(bin_ or site, "", qty)]
        raise Refused(InsufficientStock)

    def post(self, operation: str, moves: list[Mv]) -> tuple[str, list[Mv]]:
        """Apply a posting's moves, or refuse it whole when a balance would go short."""
        deltas: dict[Key, Decimal] = defaultdict(Decimal)
        for m in moves:
            if m.src in SITE_OF:
                deltas[(m.sku, m.src, m.lot, m.src_status)] -= m.qty
            if m.dst in SITE_OF:
                deltas[(m.sku, m.dst, m.lot, m.dst_status)] += m.qty
        keys = sorted((k for k, d in deltas.items() if d), key=self._sort_key)
        for k in keys:
            qty, reserved = self.balances.get(k, (Decimal(0), Decimal(0)))
            if deltas[k] < 0 and SITE_OF[k[1]] not in NEGATIVE_SITES and qty - reserved < -deltas[k]:
                raise Refused(InsufficientStock)
        for k in keys:
            self.balances.setdefault(k, [Decimal(0), Decimal(0)])[0] += deltas[k]
        return operation, moves

    def _sort_key(self, key: Key) -> tuple[int, int, str, str]:
        return self.ids[key[0]], self.ids[key[1]], key[2], key[3]

    def available(self, sku: str, site: str) -> Decimal:
        return sum((q - r for k, (q, r) in self.balances.items()
                    if k[0] == sku and SITE_OF[k[1]] == site and k[3] == AVAILABLE), Decimal(0))

    def open_parts(self, ref: str) -> list[Part]:
        return [p for p in self.reservations[ref] if p.qty > 0 and not p.released]


def quantity(sku: str, units: int, thousandths: int) -> Decimal:
    return Decimal(units) + Decimal(thousandths).scaleb(-3) if sku == "SKU-KG" else Decimal(units)


units = st.integers(1, 12)
deliveries = st.integers(1, 20)  # a little more than one issue takes: stock builds up slowly
thousandths = st.integers(0, 999)
skus = st.sampled_from(SKUS)
places = st.sampled_from(PLACES)
lots = st.sampled_from(["L1", "L2"])
usually = st.sampled_from([True, True, True, False])


class LedgerMachine(RuleBasedStateMachine):
    """Bound to a backend by ``machine_for``; each instance is one example on a fresh database."""

    backend: str
    request: pytest.FixtureRequest
    tmp_path: Path
    examples = 0

    def __init__(self) -> None:
        super().__init__()
        cls = type(self)
        cls.examples += 1
        path = cls.tmp_path / f"example-{cls.examples}"
        path.mkdir()
        self.db = Database(fresh_url(cls.backend, cls.request, path))
        actor = auth.create_user(self.db.uow(), username="admin", password=PASSWORD,
                                 is_admin=True)
        seed_network(self.db, actor)
        self.meta = Meta(actor=actor, reason="stateful")
        with self.db.read() as s:
            ids = dict(s.execute(select(Sku.code, Sku.id)).all())
            ids |= dict(s.execute(select(Location.code, Location.id)).all())
        self.model = Shadow(ids=ids)
        self.touched = set(SKUS)  # SKUs whose single view the next check must read

    def teardown(self) -> None:
        self.db.dispose()

    # --- running one operation against model and database -------------------------------------

    def attempt(self, skus: set[str], plan, call) -> dict | None:  # type: ignore[no-untyped-def]
        """Plan on a copy of the model; the service must post exactly when the plan does.

        ``plan`` returns the (operation, moves) it expects to be posted, or None when the
        operation posts nothing, or raises Refused with the answer it expects instead.
        """
        self.touched |= skus
        name = call.__qualname__.split(".")[1]  # the rule that wrote the lambda, for statistics
        trial = copy.deepcopy(self.model)
        try:
            expected = plan(trial)
        except Refused as refusal:
            event(f"{name}: refused with {refusal.error.__name__}")
            with pytest.raises(refusal.error) as info:
                call()
            if refusal.field:
                assert [e.field for e in info.value.errors] == [refusal.field]
            return None
        event(f"{name}: done")
        if expected is not None and len(expected[1]) > 1:
            event(f"{name}: several moves")
        result = call()
        self.model = trial
        if expected is not None:
            operation, moves = expected
            actual = [Mv(m["sku"], Decimal(m["qty"]), m["from"], m["to"], m["from_status"],
                         m["to_status"], m["lot"]) for m in result["moves"]]
            assert actual == moves
            self.model.postings[result["ref"]] = (operation, moves)
        return result

    def target(self, data: st.DataObject, status: str = AVAILABLE
               ) -> tuple[str, tuple[str, str | None], Decimal]:
        """SKU, place and quantity: usually where the model holds free stock, and then all of it
        (so takes span balances), some of it or more than there is; sometimes anywhere."""
        held = sorted({(k[0], k[1]) for k, (q, r) in self.model.balances.items()
                       if k[3] == status and q > r})
        if held and data.draw(usually, label="prefer stock"):
            sku, loc = data.draw(st.sampled_from(held), label="stocked")
            named = loc != SITE_OF[loc] and data.draw(st.booleans(), label="name the bin")
            place = (SITE_OF[loc], loc if named else None)
        else:
            sku = data.draw(skus, label="sku")
            place = data.draw(places, label="place")
        free = sum((f for _, f in self.model.free(sku, status, site=place[0], location=place[1])),
                   Decimal(0))
        how = data.draw(st.sampled_from(["all", "some", "more"]), label="how much")
        if how == "all" and free > 0:
            return sku, place, free
        if how == "some" and free >= 1:
            return sku, place, Decimal(data.draw(st.integers(1, int(free)), label="units"))
        n = data.draw(st.integers(int(free) + 1, int(free) + 3), label="units")
        return sku, place, quantity(sku, n, data.draw(thousandths, label="thousandths"))

    # --- rules --------------------------------------------------------------------------------

    @initialize(data=st.data())
    def opening_stock(self, data):
        """Some stock of every SKU in most places, so later takes can span several balances;
        one multi-line receipt per site."""
        for site in ("WH", "S1", "S2"):
            lines, moves = [], []
            for sku in SKUS:
                for bin_ in [b for s, b in PLACES if s == site]:
                    n = data.draw(st.integers(0, 20), label=f"{sku} opening at {bin_ or site}")
                    if n:
                        qty = quantity(sku, n, data.draw(thousandths))
                        lot = data.draw(lots) if sku == "SKU-LOT" else ""
                        lines.append(Line(sku, str(qty), bin=bin_, lot=lot or None))
                        moves.append(Mv(sku, qty, "@supplier", bin_ or site, lot=lot))
            if lines:
                self.receive_lines(site, lines, moves)

    def receive_lines(self, site: str, lines: list[Line], moves: list[Mv]) -> None:
        self.attempt(set(SKUS), lambda m: m.post("receive", moves),
                     lambda: stock.receive(self.db.uow(), self.meta, site=site, lines=lines))

    @rule(sku=skus, place=places, n=deliveries, k=thousandths, lot=st.none() | lots)
    def receive(self, sku, place, n, k, lot):
        site, bin_ = place
        qty = quantity(sku, n, k)
        lot = lot if sku == "SKU-LOT" else None
        line = Line(sku, str(qty), bin=bin_, lot=lot)

        def plan(m: Shadow):
            if sku == "SKU-LOT" and not lot:
                raise Refused(ValidationFailed, "lot")
            return m.post("receive", [Mv(sku, qty, "@supplier", bin_ or site, lot=lot or "")])

        self.attempt({sku}, plan, lambda: stock.receive(self.db.uow(), self.meta, site=site,
                                                        lines=[line]))

    @rule(data=st.data())
    def issue(self, data):
        sku, (site, bin_), qty = self.target(data)

        def plan(m: Shadow):
            return m.post("issue", [Mv(sku, q, loc, "@customer", lot=lt)
                                    for loc, lt, q in m.sources(sku, qty, AVAILABLE, site, bin_)])

        self.attempt({sku}, plan, lambda: stock.issue(self.db.uow(), self.meta, site=site,
                                                      lines=[Line(sku, str(qty), bin=bin_)]))

    @rule(data=st.data(), dst=places)
    def move(self, data, dst):
        sku, src, qty = self.target(data)
        target = dst[1] or dst[0]
        line = Line(sku, str(qty), bin=src[1], to_bin=dst[1])

        def plan(m: Shadow):
            parts = m.sources(sku, qty, AVAILABLE, src[0], src[1])
            if any(loc == target for loc, _, _ in parts):
                raise Refused(ValidationFailed, "to_bin")
            return m.post("move", [Mv(sku, q, loc, target, lot=lt) for loc, lt, q in parts])

        self.attempt({sku}, plan, lambda: stock.move(self.db.uow(), self.meta, from_site=src[0],
                                                     to_site=dst[0], lines=[line]))

    @rule(data=st.data(), gain=st.booleans(), lot=lots)
    def adjust(self, data, gain, lot):
        sku, (site, bin_), qty = self.target(data)
        lot = lot if sku == "SKU-LOT" and gain else None
        line = Line(sku, str(qty), bin=bin_, lot=lot)

        def plan(m: Shadow):
            if gain:
                return m.post("adjust", [Mv(sku, qty, "@adjustment", bin_ or site, lot=lot or "")])
            return m.post("adjust", [Mv(sku, q, loc, "@adjustment", lot=lt)
                                     for loc, lt, q in m.sources(sku, qty, AVAILABLE, site, bin_)])

        self.attempt({sku}, plan, lambda: stock.adjust(self.db.uow(), self.meta, site=site,
                                                       gain=gain, lines=[line]))

    @rule(data=st.data(), statuses=st.permutations(STATUSES).map(lambda p: p[:2]))
    def change_status(self, data, statuses):
        frm, to = statuses
        sku, (site, bin_), qty = self.target(data, frm.value)

        def plan(m: Shadow):
            return m.post("status", [Mv(sku, q, loc, loc, frm.value, to.value, lt)
                                     for loc, lt, q in m.sources(sku, qty, frm.value, site, bin_)])

        self.attempt({sku}, plan, lambda: stock.change_status(
            self.db.uow(), self.meta, site=site, from_status=frm, to_status=to,
            lines=[Line(sku, str(qty), bin=bin_)]))

    @rule(data=st.data())
    def reserve(self, data):
        sku, (site, _), qty = self.target(data)
        parts: list[Part] = []

        def plan(m: Shadow):
            remaining = qty
            for key, free in m.free(sku, AVAILABLE, site=site, location=None):
                take = min(free, remaining)
                m.balances[key][1] += take
                parts.append(Part(key, take))
                remaining -= take
                if remaining == 0:
                    return None
            if site not in NEGATIVE_SITES:
                raise Refused(InsufficientStock)
            # a negative-stock site promises the rest from the site itself (DESIGN §3)
            key = (sku, site, "", AVAILABLE)
            m.balances.setdefault(key, [Decimal(0), Decimal(0)])[1] += remaining
            parts.append(Part(key, remaining))
            return None

        result = self.attempt({sku}, plan, lambda: reservations.reserve(
            self.db.uow(), self.meta, sku=sku, site=site, qty=str(qty)))
        if result is not None:
            assert (Decimal(result["qty"]), result["state"]) == (qty, "open")
            self.model.reservations[result["ref"]] = parts

    def pick_reservation(self, data: st.DataObject) -> str:
        """Mostly an open reservation, sometimes any (closed ones must be refused)."""
        refs = list(self.model.reservations)  # in creation order: refs are random
        open_refs = [r for r in refs if self.model.open_parts(r)]
        if open_refs and data.draw(usually, label="prefer open"):
            refs = open_refs
        return data.draw(st.sampled_from(refs), label="reservation")

    @precondition(lambda self: self.model.reservations)
    @rule(data=st.data())
    def release(self, data):
        ref = self.pick_reservation(data)

        def plan(m: Shadow):
            parts = m.open_parts(ref)
            if not parts:
                raise Refused(Conflict)
            for p in parts:
                m.balances[p.key][1] -= p.qty
                p.released = True

        sku = self.model.reservations[ref][0].key[0]
        self.attempt({sku}, plan, lambda: reservations.release(self.db.uow(), self.meta, ref=ref))

    @precondition(lambda self: self.model.reservations)
    @rule(data=st.data(), n=units, k=thousandths, within=st.booleans())
    def issue_reserved(self, data, n, k, within):
        ref = self.pick_reservation(data)
        sku, loc = self.model.reservations[ref][0].key[:2]
        site, qty = SITE_OF[loc], quantity(sku, n, k)
        held = sum(p.qty for p in self.model.open_parts(ref))
        if within and held:
            qty = min(qty, held)

        def plan(m: Shadow):
            parts = m.open_parts(ref)
            if not parts:
                raise Refused(Conflict)
            if qty > sum(p.qty for p in parts):
                raise Refused(ValidationFailed, "qty")
            moves, remaining = [], qty
            for p in parts:
                take = min(p.qty, remaining)
                if take == 0:
                    break
                m.balances[p.key][1] -= take
                p.qty -= take
                remaining -= take
                moves.append(Mv(sku, take, p.key[1], "@customer", lot=p.key[2]))
            return m.post("issue", moves)

        self.attempt({sku}, plan, lambda: stock.issue(
            self.db.uow(), self.meta, site=site, lines=[Line(sku, str(qty))], reservation=ref))

    @precondition(lambda self: self.model.postings)
    @rule(data=st.data())
    def reverse(self, data):
        refs = list(self.model.postings)
        live = [r for r in refs if r not in self.model.reversed
                and self.model.postings[r][0] != "reversal"]
        if live and data.draw(usually, label="prefer reversible"):
            refs = live
        ref = data.draw(st.sampled_from(refs), label="posting")
        operation, moves = self.model.postings[ref]

        def plan(m: Shadow):
            if operation == "reversal" or ref in m.reversed:
                raise Refused(Conflict)
            m.reversed.add(ref)
            return m.post("reversal", [mv.reversed() for mv in moves])

        self.attempt({mv.sku for mv in moves}, plan,
                     lambda: stock.reverse_posting(self.db.uow(), self.meta, ref=ref))

    # --- invariants ---------------------------------------------------------------------------

    @invariant()
    def balances_match_the_shadow_ledger_row_for_row(self):
        sku, loc = aliased(Sku), aliased(Location)
        with self.db.read() as s:
            rows = s.execute(select(sku.code, loc.code, StockBalance.lot, StockBalance.status,
                                    StockBalance.qty, StockBalance.reserved)
                             .join(sku, sku.id == StockBalance.sku_id)
                             .join(loc, loc.id == StockBalance.location_id)
                             .order_by(StockBalance.id)).all()
        actual = [((r[0], r[1], r[2], r[3]), [r[4], r[5]]) for r in rows]
        assert actual == list(self.model.balances.items())

    @invariant()
    def no_site_without_negative_stock_holds_less_than_nothing(self):
        with self.db.read() as s:
            short = s.scalar(select(func.count()).select_from(StockBalance)
                             .join(Location, Location.id == StockBalance.site_id)
                             .where(Location.allow_negative.is_(False),
                                    StockBalance.qty < StockBalance.reserved))
        assert short == 0

    @invariant()
    def balances_and_reservations_equal_the_replayed_ledger(self):
        report = verify(self.db.uow())
        assert report.consistent, [report.describe(d) for d in
                                   report.differences + report.reservation_differences]
        assert report.moves == sum(len(moves) for _, moves in self.model.postings.values())

    @invariant()
    def every_skus_moves_sum_to_zero_across_all_locations(self):
        with self.db.read() as s:
            moves = [ledger.Move(r[0], r[1], r[2], r[3], StockStatus(r[4]), StockStatus(r[5]),
                                 r[6])
                     for r in s.execute(select(
                         StockMove.sku_id, StockMove.qty, StockMove.from_location_id,
                         StockMove.to_location_id, StockMove.from_status, StockMove.to_status,
                         StockMove.lot))]
        totals: dict[int, Decimal] = defaultdict(Decimal)
        for (sku_id, _, _, _), qty in ledger.replay(moves, lambda _: True).items():
            totals[sku_id] += qty
        assert all(t == 0 for t in totals.values()), totals

    @invariant()
    def the_single_view_shows_the_expected_available_stock(self):
        with self.db.read() as s:
            for code in sorted(self.touched):
                shown = {r["site"]: r["available"] for r in single_view(s, code)["sites"]}
                for site in ("WH", "S1", "S2"):
                    expected = self.model.available(code, site)
                    assert shown.get(site, Decimal(0)) == expected, (code, site)
        self.touched.clear()

    @invariant()
    def open_reservations_hold_what_the_shadow_says(self):
        with self.db.read() as s:
            held = dict(s.execute(select(Reservation.ref, func.sum(Reservation.qty))
                                  .where(Reservation.state == "open")
                                  .group_by(Reservation.ref)).all())
        expected = {ref: sum(p.qty for p in self.model.open_parts(ref))
                    for ref in self.model.reservations}
        assert held == {ref: q for ref, q in expected.items() if q}


def machine_for(backend: str, request: pytest.FixtureRequest, tmp_path) -> type:  # type: ignore[no-untyped-def]
    return type(f"LedgerMachine_{backend}", (LedgerMachine,),
                {"backend": backend, "request": request, "tmp_path": tmp_path, "examples": 0})


@pytest.mark.parametrize("backend", BACKENDS)
def test_random_stock_operations_keep_the_ledger_balances_and_shadow_model_in_step(
        backend, request, tmp_path, monkeypatch):
    # One administrator per example: hash its password cheaply, the strength is not under test.
    monkeypatch.setattr(auth, "_hasher", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
    run_state_machine_as_test(machine_for(backend, request, tmp_path), settings=settings(
        max_examples=15, stateful_step_count=25, deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]))
