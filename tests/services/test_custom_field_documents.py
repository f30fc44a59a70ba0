"""Custom fields on serials and documents: purchase, sales and transfer orders take their values
on create (defaults applied) and on edit, refuse bad ones naming ``custom.<key>``, and answer
with a ``custom`` object (what print templates read); serials take defaults at generation and
are edited and filtered by their values."""

import pytest

from cangliu.core.errors import ValidationFailed
from cangliu.services import custom_fields, masterdata, purchasing, sales, serials, transfers
from cangliu.services.purchasing import PurchaseLineIn
from cangliu.services.sales import SalesLineIn
from cangliu.services.transfers import TransferLineIn
from tests.services.test_serials import gen, phones  # noqa: F401  (fixture)

PRIORITY = {"key": "priority", "label_zh": "优先级", "type": "choice", "default": "normal",
            "rules": {"options": [{"value": "normal"}, {"value": "urgent"}]}}
CONTRACT = {"key": "contract", "label_zh": "合同号", "type": "text", "required": True,
            "rules": {"max_length": 8}}


def _define(db, actor, entity):  # type: ignore[no-untyped-def]
    for d in (PRIORITY, CONTRACT):
        custom_fields.create_field(db.uow(), actor, {**d, "entity": entity})


def _errors(caught):  # type: ignore[no-untyped-def]
    return {e.field: e.message for e in caught.value.errors}


@pytest.fixture
def partners(db, network):  # type: ignore[no-untyped-def]
    masterdata.create(db.uow(), network, "supplier", {"code": "SUP", "name": "供应商"})
    masterdata.create(db.uow(), network, "customer", {"code": "CUS", "name": "客户"})
    return network


def _purchase(db, meta, **kw):  # type: ignore[no-untyped-def]
    return purchasing.create_purchase(db.uow(), meta, supplier="SUP", site="WH",
                                      lines=[PurchaseLineIn("SKU-1", "5", "2")], **kw)


def _sale(db, meta, **kw):  # type: ignore[no-untyped-def]
    return sales.create_sale(db.uow(), meta, customer="CUS", site="WH",
                             lines=[SalesLineIn("SKU-1", "1", "3")], **kw)


def _transfer(db, meta, **kw):  # type: ignore[no-untyped-def]
    return transfers.create_transfer(db.uow(), meta, source="WH", dest="S1",
                                     lines=[TransferLineIn("SKU-1", "1")], **kw)


CREATE = {"purchase_order": _purchase, "sales_order": _sale, "transfer_order": _transfer}
EDIT = {"purchase_order": purchasing.update_purchase, "sales_order": sales.update_sale,
        "transfer_order": transfers.update_transfer}


@pytest.mark.parametrize("entity", list(CREATE))
def test_documents_take_custom_values_check_them_and_answer_them(db, meta, partners, entity):
    _define(db, partners, entity)
    create = CREATE[entity]
    with pytest.raises(ValidationFailed) as caught:
        create(db, meta, custom={"priority": "asap"})
    assert _errors(caught) == {"custom.priority": "is not one of the options",
                               "custom.contract": "is required"}
    doc = create(db, meta, custom={"contract": "C-1"})
    assert doc["custom"] == {"priority": "normal", "contract": "C-1"}
    edited = EDIT[entity](db.uow(), meta, number=doc["number"], version=doc["version"],
                          custom={"priority": "urgent"})
    assert edited["custom"] == {"priority": "urgent", "contract": "C-1"}
    with pytest.raises(ValidationFailed) as caught:
        EDIT[entity](db.uow(), meta, number=doc["number"], version=edited["version"],
                     custom={"contract": "TOO-LONG-1"})
    assert list(_errors(caught)) == ["custom.contract"]


@pytest.mark.parametrize("entity", list(CREATE))
def test_documents_the_system_makes_take_defaults_without_asking_for_required_values(
        db, meta, partners, entity):
    _define(db, partners, entity)
    doc = CREATE[entity](db, meta)
    assert doc["custom"] == {"priority": "normal"}
    plain = EDIT[entity](db.uow(), meta, number=doc["number"], version=doc["version"])
    assert plain["custom"] == {"priority": "normal"}


def test_serials_take_defaults_at_generation_and_are_edited_and_filtered(db, phones):  # noqa: F811
    custom_fields.create_field(db.uow(), phones, {
        "entity": "serial", "key": "grade", "label_zh": "成色", "type": "choice",
        "default": "new", "rules": {"options": [{"value": "new"}, {"value": "refurbished"}]}})
    batch = gen(db, phones, count=2)
    first, second = batch["first_code"], batch["last_code"]
    with db.read() as session:
        assert serials.get_serial(session, first)["custom"] == {"grade": "new"}
    changed = serials.set_custom(db.uow(), second, {"grade": "refurbished"})
    assert changed["custom"] == {"grade": "refurbished"}
    with pytest.raises(ValidationFailed) as caught:
        serials.set_custom(db.uow(), second, {"grade": "broken"})
    assert list(_errors(caught)) == ["custom.grade"]
    with db.read() as session:
        items, _ = serials.list_serials(session, custom={"grade": "refurbished"})
    assert [i["code"] for i in items] == [second]
