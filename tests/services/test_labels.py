"""Label templates as data (checked sizes, A4 fit, versions) and what labels say: a SKU's GTIN,
labels by lot for lot-tracked SKUs, and one label per listed serial within the user's sites."""

from datetime import UTC, date, datetime

import pytest

from cangliu.core.errors import StaleVersion, ValidationFailed
from cangliu.core.labels import LabelItem, content_of
from cangliu.db.models import Location, Lot, Sku
from cangliu.services import labels, masterdata

GTIN13 = "9506000134352"  # GS1 General Specifications example GTIN, check digit 2


@pytest.fixture
def gtin_sku(db, network):
    masterdata.create(db.uow(), network, "sku", {"code": "SKU-G", "name": "数字温度计",
                                                  "tracking": "serial",
                                                  "barcodes": ["INT-0001", GTIN13]})
    return "SKU-G"


def _sheet(**changes):
    return {"code": "A4-2x5", "name": "两列五行", "width_mm": 100, "height_mm": 55,
            "sheet": "a4", "columns": 2, "rows": 5, "margin_mm": 3, "gap_mm": 2,
            "fields": ["name", "qr", "code128"], "font_size": 8} | changes


def _fields_of(excinfo) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {e.field: e.message for e in excinfo.value.errors}


def test_the_builtins_apply_until_a_template_is_saved_and_are_seeded_with_it(db, network):
    with db.read() as s:
        assert [t["code"] for t in labels.list_templates(s)] == ["50x30", "A4-3x8"]
        assert labels.spec_of(s, "A4-3x8").per_page == 24
    created = labels.create_template(db.uow(), network, _sheet())
    assert (created["version"], created["builtin"], created["per_page"]) == (1, False, 10)
    with db.read() as s:
        listed = {t["code"]: t for t in labels.list_templates(s)}
    assert set(listed) == {"50x30", "A4-2x5", "A4-3x8"} and listed["50x30"]["builtin"]
    assert listed["A4-2x5"]["fields"] == ["name", "qr", "code128"]
    with pytest.raises(ValidationFailed) as dup:
        labels.create_template(db.uow(), network, _sheet(name="again"))
    assert "exists already" in _fields_of(dup)["code"]


@pytest.mark.parametrize(("changes", "field", "reason"), [
    ({"width_mm": 104}, "width_mm", "do not fit A4: 216 mm needed"),
    ({"rows": 6}, "height_mm", "do not fit A4: 346 mm needed"),
    ({"width_mm": 5}, "width_mm", "must be from"),
    ({"columns": 21}, "columns", "must be from"),
    ({"sheet": "roll"}, "sheet", "must be one of"),
    ({"sheet": "single"}, "columns", "must be 1 for a single label"),
    ({"fields": ["qr", "logo"]}, "fields", "unknown field {field}"),
])
def test_a_template_that_cannot_print_is_refused_naming_the_field(db, network, changes, field,
                                                                  reason):
    with pytest.raises(ValidationFailed) as refused:
        labels.create_template(db.uow(), network, _sheet(**changes))
    message = _fields_of(refused)[field]
    params = next(e.params for e in refused.value.errors if e.field == field)
    assert reason in message.format(**params) or reason in message
    with db.read() as s:
        assert [t["code"] for t in labels.list_templates(s)] == ["50x30", "A4-3x8"]


def test_a_template_changes_by_version_and_keeps_its_code(db, network):
    labels.create_template(db.uow(), network, _sheet())
    changed = labels.update_template(db.uow(), network, "A4-2x5", {"gap_mm": 0, "rows": 5},
                                     version=1)
    assert (changed["version"], changed["gap_mm"], changed["updated_by"]) == (2, 0, "admin")
    with pytest.raises(StaleVersion):
        labels.update_template(db.uow(), network, "A4-2x5", {"gap_mm": 1}, version=1)
    with pytest.raises(ValidationFailed) as too_big:
        labels.update_template(db.uow(), network, "A4-2x5", {"height_mm": 60}, version=2)
    assert "height_mm" in _fields_of(too_big)
    with pytest.raises(ValidationFailed):
        labels.update_template(db.uow(), network, "A4-2x5", {"code": "X"}, version=2)
    # A built-in one can be adjusted too, once it is stored.
    thermal = labels.update_template(db.uow(), network, "50x30", {"font_size": 9}, version=1)
    assert thermal["builtin"] and thermal["version"] == 2


def test_a_sku_label_carries_its_first_valid_gtin_padded_to_14_digits(db, gtin_sku):
    with db.read() as s:
        items = labels.items_for_sku(s, gtin_sku, count=3)
        plain = labels.items_for_sku(s, "SKU-1", count=1)  # 6900000000017: check digit wrong
    assert len(items) == 3 and items[0] == LabelItem("数字温度计", "SKU-G", "0" + GTIN13)
    assert content_of(items[0]).qr == "01" + "0" + GTIN13
    assert plain[0].gtin is None and content_of(plain[0]).qr == "SKU-1"


def test_a_lot_tracked_sku_is_labelled_by_lot_with_the_lots_expiry(db, network):
    sku_lot = masterdata.create(db.uow(), network, "sku", {
        "code": "SKU-ML", "name": "酸奶", "tracking": "lot", "barcodes": [GTIN13]})
    assert sku_lot
    with db.uow() as uow:
        sku_id = uow.session.query(Sku.id).filter(Sku.code == "SKU-ML").scalar()
        uow.session.add(Lot(sku_id=sku_id, code="L2612", expiry_date=date(2026, 12, 31)))
        uow.commit()
    with db.read() as s:
        with pytest.raises(ValidationFailed) as no_lot:
            labels.items_for_sku(s, "SKU-ML", count=1)
        item = labels.items_for_sku(s, "SKU-ML", count=2, lot="L2612")[0]
        with pytest.raises(ValidationFailed) as not_lot:
            labels.items_for_sku(s, "SKU-1", count=1, lot="L1")
        with pytest.raises(ValidationFailed) as too_many:
            labels.items_for_sku(s, "SKU-1", count=5001)
        with pytest.raises(ValidationFailed) as unknown:
            labels.items_for_sku(s, "NOPE", count=1)
    assert "lot" in _fields_of(no_lot) and "lot" in _fields_of(not_lot)
    assert "count" in _fields_of(too_many) and "sku" in _fields_of(unknown)
    assert item.expiry == date(2026, 12, 31)
    assert content_of(item).qr == "0109506000134352" + "17261231" + "10L2612"
    assert content_of(item).qr_text == "(01)09506000134352(17)261231(10)L2612"


def _serial(db, sku: str, code: str, site: str | None, lot: str = "") -> None:  # type: ignore[no-untyped-def]
    from cangliu.db.models.serials import Serial

    with db.uow() as uow:
        s = uow.session
        sku_id = s.query(Sku.id).filter(Sku.code == sku).scalar()
        site_id = s.query(Location.id).filter(Location.code == site).scalar() if site else None
        s.add(Serial(sku_id=sku_id, code=code, unique_key=code, status="in_stock", site_id=site_id,
                     lot=lot, created_at=datetime.now(UTC)))
        uow.commit()


def test_serial_labels_come_in_the_order_given_and_only_within_the_sites_in_scope(db, gtin_sku):
    _serial(db, gtin_sku, "TH-0002", "S1", lot="B7")
    _serial(db, gtin_sku, "TH-0001", "S2")
    _serial(db, "SKU-1", "MW-0001", None)
    with db.read() as s:
        items = labels.items_for_serials(s, ["TH-0002", " TH-0001", "MW-0001", "TH-0002", ""])
        s1 = s.query(Location.id).filter(Location.code == "S1").scalar()
        with pytest.raises(ValidationFailed) as outside:
            labels.items_for_serials(s, ["TH-0002", "TH-0001"], sites=frozenset({s1}))
        with pytest.raises(ValidationFailed) as unknown:
            labels.items_for_serials(s, ["TH-0002", "TH-9999"])
        with pytest.raises(ValidationFailed) as empty:
            labels.items_for_serials(s, [" "])
    assert [(i.serial, i.site, i.lot, i.gtin) for i in items] == [
        ("TH-0002", "S1", "B7", "0" + GTIN13), ("TH-0001", "S2", None, "0" + GTIN13),
        ("MW-0001", None, None, None)]
    assert content_of(items[0]).qr == "01" + "0" + GTIN13 + "21TH-0002"
    assert content_of(items[2]).qr == "MW-0001"
    assert outside.value.errors[0].params == {"code": "TH-0001"}
    assert unknown.value.errors[0].params == {"code": "TH-9999"}
    assert empty.value.errors[0].field == "serials"
