"""Master data: SKUs, sites and their bins, suppliers and customers; unique codes, stale edits."""

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from cangliu.core.errors import Conflict, InsufficientStock, NotFound, StaleVersion, ValidationFailed
from cangliu.db.models import Location, Sku
from cangliu.db.queries import single_view
from cangliu.services import masterdata, stock
from cangliu.services.stock import Line

create, update, get = masterdata.create, masterdata.update_record, masterdata.get


def field_of(exc: pytest.ExceptionInfo[ValidationFailed]) -> str:
    assert len(exc.value.errors) == 1, exc.value.errors
    return exc.value.errors[0].field


def count(db, model) -> int:
    with db.read() as s:
        return s.scalar(select(func.count()).select_from(model))


def available(db, sku: str, site: str) -> Decimal:
    with db.read() as s:
        rows = {r["site"]: r["available"] for r in single_view(s, sku)["sites"]}
    return rows.get(site, Decimal(0))


# --- SKUs ------------------------------------------------------------------------------------


def test_a_new_sku_is_shown_with_codes_not_ids(db, network):
    sku = create(db.uow(), network, "sku", {"code": "SKU-9", "name": "酱油", "name_en": "Soy sauce",
                                            "category": "FOOD", "decimals": 2,
                                            "barcodes": ["6900000000093", "6900000000094"]})
    assert sku["category"] == "FOOD"
    assert sku["barcodes"] == ["6900000000093", "6900000000094"]
    assert (sku["version"], sku["decimals"], sku["tracking"]) == (1, 2, "none")
    assert "category_id" not in sku and "id" not in sku
    assert get(db.uow(), "sku", "SKU-9") == sku


def test_editing_a_sku_changes_it_and_bumps_its_version(db, network):
    edited = update(db.uow(), network, "sku", "SKU-1", 1, {"name": "纯净水", "category": None,
                                                            "barcodes": ["6900000000024"]})
    assert (edited["name"], edited["category"], edited["version"]) == ("纯净水", None, 2)
    assert edited["barcodes"] == ["6900000000024"]
    assert get(db.uow(), "sku", "SKU-1") == edited


def test_a_barcode_of_another_sku_is_refused(db, network):
    with pytest.raises(ValidationFailed) as exc:
        create(db.uow(), network, "sku", {"code": "SKU-9", "name": "x",
                                          "barcodes": ["6900000000017"]})
    assert field_of(exc) == "barcodes"
    with pytest.raises(ValidationFailed):
        update(db.uow(), network, "sku", "SKU-KG", 1, {"barcodes": ["6900000000017"]})
    assert get(db.uow(), "sku", "SKU-KG")["version"] == 1
    assert count(db, Sku) == 3


def test_a_sku_in_an_unknown_category_is_refused_naming_the_category(db, network):
    with pytest.raises(ValidationFailed) as exc:
        create(db.uow(), network, "sku", {"code": "SKU-9", "name": "x", "category": "NOPE"})
    assert field_of(exc) == "category"
    with pytest.raises(ValidationFailed) as exc:
        update(db.uow(), network, "sku", "SKU-1", 1, {"category": "NOPE"})
    assert field_of(exc) == "category"
    assert count(db, Sku) == 3
    assert get(db.uow(), "sku", "SKU-1")["category"] == "FOOD"


@pytest.mark.parametrize(("kind", "fields"), [
    ("sku", {"code": "SKU-1", "name": "again"}),
    ("category", {"code": "FOOD", "name": "again"}),
    ("site", {"code": "WH", "name": "again", "site_kind": "store"}),
    ("site", {"code": "WH-A1", "name": "a site named like a bin", "site_kind": "store"}),
    ("location", {"code": "S1", "name": "a bin named like a site", "kind": "bin",
                  "parent": "WH"}),
    ("site", {"code": "@supplier", "name": "a site named like a virtual location",
              "site_kind": "store"}),
])
def test_a_duplicate_code_is_a_conflict_and_changes_nothing(db, network, kind, fields):
    before = count(db, masterdata.KINDS[kind].model)
    with pytest.raises(Conflict):
        create(db.uow(), network, kind, fields)
    assert count(db, masterdata.KINDS[kind].model) == before


def test_an_unknown_record_is_not_found(db, network):
    with pytest.raises(NotFound):
        get(db.uow(), "sku", "NOPE")
    with pytest.raises(NotFound):
        update(db.uow(), network, "sku", "NOPE", 1, {"name": "x"})
    with pytest.raises(NotFound):  # a bin is not a site, a site is not a bin
        get(db.uow(), "site", "WH-A1")
    with pytest.raises(NotFound):
        get(db.uow(), "location", "WH")


# --- stale versions --------------------------------------------------------------------------


def test_an_edit_based_on_a_stale_version_is_refused_and_changes_nothing(db, network):
    update(db.uow(), network, "sku", "SKU-1", 1, {"name": "first editor"})
    current = get(db.uow(), "sku", "SKU-1")
    with pytest.raises(StaleVersion) as exc:
        update(db.uow(), network, "sku", "SKU-1", 1, {"name": "second editor", "uom": "box"})
    assert exc.value.current_version == 2
    assert exc.value.changed["name"] == "first editor"
    assert get(db.uow(), "sku", "SKU-1") == current


def test_a_version_from_the_future_is_also_stale(db, network):
    with pytest.raises(StaleVersion):
        update(db.uow(), network, "site", "WH", 7, {"name": "x"})
    assert get(db.uow(), "site", "WH")["name"] == "中央仓"


def test_every_edit_needs_the_latest_version(db, network):
    for version in (1, 2, 3):
        update(db.uow(), network, "sku", "SKU-KG", version,
               {"name": f"大米 v{version + 1}"})
    assert get(db.uow(), "sku", "SKU-KG")["version"] == 4


# --- sites, zones and bins -------------------------------------------------------------------


def test_a_site_is_its_own_site_and_takes_stock(db, network, meta):
    site = create(db.uow(), network, "site", {"code": "ON1", "name": "线上仓", "site_kind": "online",
                                              "region": "华北", "channel": "online"})
    assert (site["kind"], site["site_kind"], site["version"]) == ("site", "online", 1)
    stock.receive(db.uow(), meta, site="ON1", lines=[Line("SKU-1", "3")])
    assert available(db, "SKU-1", "ON1") == 3


def test_zones_and_bins_inherit_the_site_they_are_placed_in(db, network, meta):
    zone = create(db.uow(), network, "location", {"code": "S1-Z", "name": "冷区", "kind": "zone",
                                                  "parent": "S1"})
    bin_ = create(db.uow(), network, "location", {"code": "S1-Z-01", "name": "01", "kind": "bin",
                                                  "parent": "S1-Z"})
    assert (zone["site"], zone["parent"]) == ("S1", "S1")
    assert (bin_["site"], bin_["parent"]) == ("S1", "S1-Z")
    stock.receive(db.uow(), meta, site="S1", lines=[Line("SKU-1", "2", bin="S1-Z-01")])
    assert available(db, "SKU-1", "S1") == 2


@pytest.mark.parametrize(("fields", "field"), [
    ({"code": "X", "name": "x", "kind": "zone", "parent": "WH-A1"}, "parent"),  # under a bin
    ({"code": "X", "name": "x", "kind": "bin", "parent": "@supplier"}, "parent"),
    ({"code": "X", "name": "x", "kind": "bin", "parent": "NOPE"}, "parent"),
    ({"code": "X", "name": "x", "kind": "site", "parent": "WH"}, "kind"),
    ({"code": "X", "name": "x", "kind": "transit", "parent": "WH"}, "kind"),
])
def test_a_location_must_fit_the_site_zone_bin_tree(db, network, fields, field):
    before = count(db, Location)
    with pytest.raises(ValidationFailed) as exc:
        create(db.uow(), network, "location", fields)
    assert field_of(exc) == field
    assert count(db, Location) == before


def test_only_bins_sit_inside_a_zone(db, network):
    create(db.uow(), network, "location", {"code": "WH-Z", "name": "z", "kind": "zone",
                                           "parent": "WH"})
    with pytest.raises(ValidationFailed) as exc:
        create(db.uow(), network, "location", {"code": "WH-Z-Z", "name": "zz", "kind": "zone",
                                               "parent": "WH-Z"})
    assert field_of(exc) == "kind"


def test_a_bin_moved_under_another_site_belongs_to_that_site(db, network, meta):
    add = {"code": "WH-A9", "name": "A9", "kind": "bin", "parent": "WH"}
    create(db.uow(), network, "location", add)
    moved = update(db.uow(), network, "location", "WH-A9", 1, {"parent": "S1"})
    assert moved["site"] == "S1"
    stock.receive(db.uow(), meta, site="S1", lines=[Line("SKU-1", "1", bin="WH-A9")])
    assert available(db, "SKU-1", "S1") == 1


def test_a_bin_holding_stock_cannot_change_site(db, network, meta):
    stock.receive(db.uow(), meta, site="WH", lines=[Line("SKU-1", "5", bin="WH-A1")])
    before = get(db.uow(), "location", "WH-A1")
    with pytest.raises(Conflict):
        update(db.uow(), network, "location", "WH-A1", before["version"], {"parent": "S1"})
    assert get(db.uow(), "location", "WH-A1") == before
    assert (available(db, "SKU-1", "WH"), available(db, "SKU-1", "S1")) == (5, 0)


def test_a_bin_cannot_be_moved_under_another_bin(db, network):
    create(db.uow(), network, "location", {"code": "WH-A9", "name": "A9", "kind": "bin",
                                           "parent": "WH"})
    with pytest.raises(ValidationFailed) as exc:
        update(db.uow(), network, "location", "WH-A9", 1, {"parent": "WH-A1"})
    assert field_of(exc) == "parent"
    assert get(db.uow(), "location", "WH-A9")["parent"] == "WH"


def test_a_code_cannot_be_changed_by_an_edit(db, network):
    with pytest.raises(ValidationFailed) as exc:
        update(db.uow(), network, "sku", "SKU-1", 1, {"code": "SKU-ONE"})
    assert field_of(exc) == "code"
    assert get(db.uow(), "sku", "SKU-1")["version"] == 1


# --- negative stock setting ------------------------------------------------------------------


def test_negative_stock_cannot_be_switched_off_while_a_balance_is_negative(db, network, meta):
    stock.issue(db.uow(), meta, site="S2", lines=[Line("SKU-1", "4")])
    before = get(db.uow(), "site", "S2")
    with pytest.raises(Conflict):
        update(db.uow(), network, "site", "S2", before["version"], {"allow_negative": False})
    assert get(db.uow(), "site", "S2") == before
    stock.issue(db.uow(), meta, site="S2", lines=[Line("SKU-1", "1")])  # still allowed
    assert available(db, "SKU-1", "S2") == -5


def test_once_negative_stock_is_switched_off_a_site_cannot_ship_more_than_it_holds(
        db, network, meta):
    stock.receive(db.uow(), meta, site="S2", lines=[Line("SKU-1", "3")])
    stock.issue(db.uow(), meta, site="S2", lines=[Line("SKU-1", "1")])
    update(db.uow(), network, "site", "S2", 1, {"allow_negative": False})
    with pytest.raises(InsufficientStock):
        stock.issue(db.uow(), meta, site="S2", lines=[Line("SKU-1", "3")])
    assert available(db, "SKU-1", "S2") == 2


def test_switching_negative_stock_on_lets_a_site_ship_ahead_of_its_receipts(db, network, meta):
    stock.receive(db.uow(), meta, site="WH", lines=[Line("SKU-1", "2")])
    update(db.uow(), network, "site", "WH", 1, {"allow_negative": True})
    stock.issue(db.uow(), meta, site="WH", lines=[Line("SKU-1", "5")])
    assert available(db, "SKU-1", "WH") == -3


# --- suppliers and customers -----------------------------------------------------------------


@pytest.mark.parametrize(("kind", "fields", "edit"), [
    ("supplier", {"code": "SUP-1", "name": "华南食品", "lead_time_days": 5, "phone": "020-1"},
     {"lead_time_days": 9}),
    ("customer", {"code": "CUS-1", "name": "张三超市", "channel": "wholesale"},
     {"contact": "张三"}),
])
def test_partners_are_created_edited_and_keep_their_codes_unique(db, admin, kind, fields, edit):
    created = create(db.uow(), admin, kind, fields)
    assert created["version"] == 1 and created["name"] == fields["name"]
    edited = update(db.uow(), admin, kind, fields["code"], 1, edit)
    assert edited == {**created, **edit, "version": 2}
    with pytest.raises(Conflict):
        create(db.uow(), admin, kind, {**fields, "name": "another"})
    with pytest.raises(StaleVersion):
        update(db.uow(), admin, kind, fields["code"], 1, {"name": "late"})
    assert get(db.uow(), kind, fields["code"]) == edited


def test_an_inactive_site_takes_no_stock(db, network, meta):
    update(db.uow(), network, "site", "S1", 1, {"active": False})
    with pytest.raises(ValidationFailed) as exc:
        stock.receive(db.uow(), meta, site="S1", lines=[Line("SKU-1", "1")])
    assert field_of(exc) == "site"
