"""Document lines take what a scanner types: a barcode stands for its SKU."""

import pytest

from cangliu.core.errors import ValidationFailed
from cangliu.services import masterdata, purchasing, transfers
from cangliu.services.purchasing import PurchaseLineIn
from cangliu.services.transfers import TransferLineIn


def test_a_scanned_barcode_names_its_sku_on_document_lines(db, meta, network):
    masterdata.create(db.uow(), network, "supplier", {"code": "SUP-1", "name": "供应商"})
    order = purchasing.create_purchase(db.uow(), meta, supplier="SUP-1", site="WH",
                                       lines=[PurchaseLineIn("6900000000017", "4", "2")])
    assert [ln["sku"] for ln in order["lines"]] == ["SKU-1"]
    transfer = transfers.create_transfer(db.uow(), meta, source="WH", dest="S1",
                                         lines=[TransferLineIn("6900000000017", "1")])
    assert [ln["sku"] for ln in transfer["lines"]] == ["SKU-1"]


def test_an_unknown_code_or_a_deleted_sku_is_refused_on_its_line(db, meta, network):
    with pytest.raises(ValidationFailed) as unknown:
        transfers.create_transfer(db.uow(), meta, source="WH", dest="S1",
                                  lines=[TransferLineIn("SKU-1", "1"), TransferLineIn("690000", "1")])
    assert [e.field for e in unknown.value.errors] == ["lines[1].sku"]
    masterdata.delete_record(db.uow(), network, "sku", "SKU-KG", 1)
    with pytest.raises(ValidationFailed) as deleted:
        transfers.create_transfer(db.uow(), meta, source="WH", dest="S1",
                                  lines=[TransferLineIn("SKU-KG", "1")])
    assert [e.field for e in deleted.value.errors] == ["lines[0].sku"]
