"""Assemblies: a component serial installed in a unit leaves the shelf into production and goes
where the unit goes; removed, it returns to stock (or to its supplier, or to scrap) and the link
stays as history. Loops, double installs and units not free to install are refused."""

import pytest
from sqlalchemy import select

from cangliu.core.errors import ValidationFailed
from cangliu.db.models import Serial, Sku, StockBalance
from cangliu.db.repositories import masterdata as md
from cangliu.services import assemblies, masterdata, serials, stock
from cangliu.services.stock import Line
from cangliu.services.verify import verify


@pytest.fixture
def units(db, network, meta):
    """Two boards in stock at WH and three generated cases."""
    for code, name in (("BOARD", "主板"), ("CASE", "机箱")):
        masterdata.create(db.uow(), network, "sku", {"code": code, "name": name,
                                                      "tracking": "serial"})
    boards = serials.generate(db.uow(), network, sku="BOARD", count=2)["codes"]
    cases = serials.generate(db.uow(), network, sku="CASE", count=3)["codes"]
    stock.receive(db.uow(), meta, site="WH", lines=[Line("BOARD", "2", unit_cost="10")])
    with db.uow() as uow:  # bind the boards to the shelf as a receipt with serials would
        ids = uow.session.scalars(select(Serial.id).where(Serial.code.in_(boards))).all()
        serials.record_event(uow.session, ids, "received", at=uow.now(), operator="t",
                             site_id=md.site_by_code(uow.session, "WH").id)
        uow.commit()
    return boards, cases


def _refused(match: str):  # type: ignore[no-untyped-def]
    return pytest.raises(ValidationFailed, check=lambda e: match in (e.errors[0].field, e.errors[0].message)
                         or match in e.errors[0].message)


def _free(db, sku):  # type: ignore[no-untyped-def]
    with db.read() as s:
        return sum(b.qty for b in s.scalars(select(StockBalance).join(
            Sku, Sku.id == StockBalance.sku_id).where(Sku.code == sku)))


def test_install_consumes_the_part_and_remove_puts_it_back(db, meta, units):
    boards, cases = units
    done = assemblies.install(db.uow(), meta, parent=cases[0], child=boards[0])
    assert done["child_status"] == "installed" and done["posting"]
    assert _free(db, "BOARD") == 1
    with db.read() as s:
        part = serials.get_serial(s, boards[0])
        case = serials.get_serial(s, cases[0])
    assert part["parent"] == cases[0] and part["site"] is None
    assert case["events"][-1]["kind"] == "part_installed"
    assert case["events"][-1]["detail"] == {"child": boards[0]}
    with _refused("already installed"):
        assemblies.install(db.uow(), meta, parent=cases[1], child=boards[0])
    with _refused("make a loop"):
        assemblies.install(db.uow(), meta, parent=boards[0], child=cases[0])
    back = assemblies.remove(db.uow(), meta, child=boards[0], fate="in_stock", site="WH",
                             reason="faulty")
    assert back["child_status"] == "in_stock" and _free(db, "BOARD") == 2
    with db.read() as s:
        row = s.scalar(select(Serial).where(Serial.code == cases[0]))
        history = assemblies.children(s, row.id, history=True)
        assert assemblies.children(s, row.id) == []
    assert len(history) == 1 and history[0]["removal_reason"] == "faulty"
    assert verify(db.uow()).consistent


def test_a_removed_part_can_go_to_scrap_and_bad_requests_change_nothing(db, meta, units):
    _boards, cases = units
    assemblies.install(db.uow(), meta, parent=cases[0], child=cases[1])  # generated: no stock
    with _refused("reason"):
        assemblies.remove(db.uow(), meta, child=cases[1], fate="scrapped", reason=" ")
    with _refused("must be one of"):
        assemblies.remove(db.uow(), meta, child=cases[1], fate="lost", reason="x")
    with _refused("in itself"):
        assemblies.install(db.uow(), meta, parent=cases[2], child=cases[2])
    done = assemblies.remove(db.uow(), meta, child=cases[1], fate="scrapped", reason="cracked")
    assert done["child_status"] == "scrapped" and done["posting"] is None
