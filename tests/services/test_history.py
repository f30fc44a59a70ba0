"""Record history: every version of master data and drafts is kept, two versions compare side by
side, an earlier version comes back as a new one, and deleted master data can be restored."""

import json
from dataclasses import replace

import pytest
from sqlalchemy import delete, select

from cangliu.core.errors import Conflict, NotFound, StaleVersion, ValidationFailed
from cangliu.db import audit
from cangliu.db.models import AuditEvent, RecordVersion
from cangliu.services import history, masterdata, purchasing, sales, stock, transfers
from cangliu.services.purchasing import PurchaseLineIn
from cangliu.services.sales import SalesLineIn
from cangliu.services.stock import Line
from cangliu.services.transfers import TransferLineIn


def _edit_sku(db, actor, version, **fields):
    return masterdata.update_record(db.uow(), actor, "sku", "SKU-1", version, fields)


def test_every_master_data_version_is_listed_newest_first(db, network):
    _edit_sku(db, network, 1, name="矿泉水 550ml")
    with audit.acting(network):  # who saved a version is who the audit log names
        _edit_sku(db, network, 2, uom="bottle", barcodes=["6900000000024"])
    found = history.versions(db.uow(), "sku", "SKU-1")
    assert [v["version"] for v in found["items"]] == [3, 2, 1]
    assert [v["action"] for v in found["items"]] == ["update", "update", "create"]
    assert found["items"][0]["username"] == "admin" and found["current_version"] == 3


def test_diff_shows_both_versions_of_each_field_and_marks_the_changed_ones(db, network):
    _edit_sku(db, network, 1, name="矿泉水 550ml", barcodes=["6900000000024"])
    fields = {f["field"]: f for f in history.diff(db.uow(), "sku", "SKU-1", 1, 2)["fields"]}
    assert fields["name"] == {"field": "name", "before": "矿泉水", "after": "矿泉水 550ml",
                              "changed": True}
    assert fields["barcodes"]["before"] == "6900000000017"
    assert fields["barcodes"]["after"] == "6900000000024"
    assert fields["category"]["before"] == "FOOD" and not fields["category"]["changed"]


def test_restoring_a_version_makes_a_new_audited_version_with_its_content(db, network):
    _edit_sku(db, network, 1, name="改名", barcodes=["6900000000024"], fragile=True)
    with audit.acting(network):
        restored = history.restore(db.uow(), network, "sku", "SKU-1", version=1,
                                   current_version=2)
    assert restored["version"] == 3 and restored["name"] == "矿泉水" and not restored["fragile"]
    assert restored["barcodes"] == ["6900000000017"]
    assert history.versions(db.uow(), "sku", "SKU-1")["items"][0]["action"] == "restore"
    with db.read() as s:
        event = s.scalars(select(AuditEvent).where(AuditEvent.entity == "sku")
                          .order_by(AuditEvent.id.desc())).first()
    assert json.loads(event.after)["name"] == "矿泉水" and event.username == "admin"


def test_restore_based_on_a_stale_version_changes_nothing(db, network):
    _edit_sku(db, network, 1, name="改名")
    with pytest.raises(StaleVersion) as caught:
        history.restore(db.uow(), network, "sku", "SKU-1", version=1, current_version=1)
    assert caught.value.current_version == 2
    assert masterdata.get(db.uow(), "sku", "SKU-1")["name"] == "改名"


def test_unknown_entity_key_or_version_is_refused_naming_the_field(db, network):
    with pytest.raises(ValidationFailed) as caught:
        history.versions(db.uow(), "warehouse", "WH")
    assert caught.value.errors[0].field == "entity"
    with pytest.raises(NotFound):
        history.versions(db.uow(), "sku", "NOPE")
    with pytest.raises(ValidationFailed) as caught:
        history.restore(db.uow(), network, "sku", "SKU-1", version=7, current_version=1)
    assert caught.value.errors[0].field == "version"
    with pytest.raises(ValidationFailed) as caught:
        history.diff(db.uow(), "sku", "SKU-1", 1, 9)
    assert caught.value.errors[0].field == "to"


def test_a_deleted_record_leaves_lists_keeps_its_code_and_can_be_restored(db, network):
    masterdata.delete_record(db.uow(), network, "sku", "SKU-KG", 1)
    with db.read() as s:
        codes = [r["code"] for r in masterdata.list_records(s, "sku")[0]]
        gone = [r["code"] for r in history.deleted(s, "sku")[0]]
    assert "SKU-KG" not in codes and gone == ["SKU-KG"]
    with pytest.raises(Conflict):
        masterdata.create(db.uow(), network, "sku", {"code": "SKU-KG", "name": "again"})
    with pytest.raises(Conflict):
        masterdata.update_record(db.uow(), network, "sku", "SKU-KG", 2, {"name": "x"})
    back = masterdata.restore_record(db.uow(), network, "sku", "SKU-KG", 2)
    assert back["version"] == 3 and back["deleted_at"] is None and back["name"] == "大米"
    actions = [v["action"] for v in history.versions(db.uow(), "sku", "SKU-KG")["items"]]
    assert actions == ["restore", "delete", "create"]


def test_stock_on_hand_or_children_keep_a_record_from_being_deleted(db, meta):
    stock.receive(db.uow(), meta, site="WH", lines=[Line("SKU-1", "5", unit_cost="2")])
    network = meta.actor
    with pytest.raises(Conflict):
        masterdata.delete_record(db.uow(), network, "sku", "SKU-1", 1)
    with pytest.raises(Conflict):
        masterdata.delete_record(db.uow(), network, "category", "FOOD", 1)
    assert masterdata.get(db.uow(), "sku", "SKU-1")["deleted_at"] is None


def test_a_draft_purchase_order_comes_back_with_its_earlier_lines(db, meta):
    masterdata.create(db.uow(), meta.actor, "supplier", {"code": "SUP-1", "name": "供应商一"})
    po = purchasing.create_purchase(db.uow(), meta, supplier="SUP-1", site="WH",
                                    lines=[PurchaseLineIn("SKU-1", "10", "2.50")])
    number = po["number"]
    purchasing.update_purchase(db.uow(), meta, number=number, version=1, lines=[
        PurchaseLineIn("SKU-1", "4", "3"), PurchaseLineIn("SKU-KG", "1.5", "8")])
    fields = {f["field"]: f for f in history.diff(db.uow(), "purchase", number, 1, 2)["fields"]}
    assert fields["lines[1].qty"]["before"] == "10" and fields["lines[1].qty"]["after"] == "4"
    assert fields["lines[2].sku"] == {"field": "lines[2].sku", "before": None, "after": "SKU-KG",
                                      "changed": True}
    back = history.restore(db.uow(), meta.actor, "purchase", number, version=1, current_version=2)
    assert back["version"] == 3
    assert [(ln["sku"], ln["qty"], ln["price"]) for ln in back["lines"]] == [("SKU-1", "10", "2.5")]
    assert [v["action"] for v in history.versions(db.uow(), "purchase", number)["items"]] == [
        "restore", "update", "create"]


def test_only_a_draft_document_can_be_restored(db, meta):
    t = transfers.create_transfer(db.uow(), meta, source="WH", dest="S2",
                                  lines=[TransferLineIn("SKU-1", "1")])
    transfers.submit_transfer(db.uow(), meta, number=t["number"])
    with pytest.raises(Conflict) as caught:
        history.restore(db.uow(), meta.actor, "transfer", t["number"], version=1,
                        current_version=2)
    assert "draft" in str(caught.value)
    assert transfers.get_transfer(db.uow(), t["number"])["version"] == 2


def test_a_restore_that_would_change_a_field_the_user_may_not_set_is_refused(db, meta):
    masterdata.create(db.uow(), meta.actor, "supplier", {"code": "SUP-1", "name": "供应商一"})
    po = purchasing.create_purchase(db.uow(), meta, supplier="SUP-1", site="WH",
                                    lines=[PurchaseLineIn("SKU-1", "10", "2.50")])
    purchasing.update_purchase(db.uow(), meta, number=po["number"], version=1,
                               lines=[PurchaseLineIn("SKU-1", "10", "3")])
    fixed_price = replace(meta.actor, is_admin=False, readonly=frozenset({"price"}))
    with pytest.raises(ValidationFailed) as caught:
        history.restore(db.uow(), fixed_price, "purchase", po["number"], version=1,
                        current_version=2)
    assert caught.value.errors[0].params["field"] == "price"
    rows = history.diff(db.uow(), "purchase", po["number"], 1, 2, hidden=frozenset({"price"}))
    assert "lines[1].price" not in [f["field"] for f in rows["fields"]]


def test_draft_transfers_and_sales_orders_restore_their_earlier_lines(db, meta):
    t = transfers.create_transfer(db.uow(), meta, source="WH", dest="S2",
                                  lines=[TransferLineIn("SKU-1", "1")])
    transfers.update_transfer(db.uow(), meta, number=t["number"], version=1,
                              lines=[TransferLineIn("SKU-KG", "2.5")])
    back = history.restore(db.uow(), meta.actor, "transfer", t["number"], version=1,
                           current_version=2)
    assert [(ln["sku"], ln["qty"]) for ln in back["lines"]] == [("SKU-1", "1")]
    masterdata.create(db.uow(), meta.actor, "customer", {"code": "CUS-1", "name": "客户一"})
    so = sales.create_sale(db.uow(), meta, customer="CUS-1", site="WH",
                           lines=[SalesLineIn("SKU-1", "2", "5")])
    sales.update_sale(db.uow(), meta, number=so["number"], version=1, channel="online",
                      lines=[SalesLineIn("SKU-1", "7", "4")])
    back = history.restore(db.uow(), meta.actor, "sales", so["number"], version=1,
                           current_version=2)
    assert back["channel"] == "store" and back["lines"][0]["qty"] == "2"


def test_a_deleted_record_must_be_restored_before_an_earlier_version(db, network):
    _edit_sku(db, network, 1, name="改名")
    masterdata.delete_record(db.uow(), network, "sku", "SKU-1", 2)
    with pytest.raises(Conflict):
        history.restore(db.uow(), network, "sku", "SKU-1", version=1, current_version=3)
    assert history.versions(db.uow(), "sku", "SKU-1")["deleted"]


def test_a_record_saved_before_history_was_kept_shows_its_current_version(db, network):
    with db.writer.begin() as conn:
        conn.execute(delete(RecordVersion))
    found = history.versions(db.uow(), "sku", "SKU-1")
    assert [(v["version"], v["action"]) for v in found["items"]] == [(1, "current")]
    assert {f["field"] for f in history.diff(db.uow(), "sku", "SKU-1", 1, 1)["fields"]} >= {
        "name", "barcodes"}
