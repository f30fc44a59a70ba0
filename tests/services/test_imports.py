"""Spreadsheet imports: every entity applies from a good file; wrong headers, types, duplicate
codes and unknown references are reported per row and column; a file with errors writes
nothing; opening stock goes through the ledger."""

import io
import struct
import zipfile
from decimal import Decimal

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from cangliu.core.errors import ValidationFailed
from cangliu.core.permissions import Actor, Grant
from cangliu.db.models import (
    CustomerPrice,
    DemandDay,
    Location,
    RecordVersion,
    Sku,
    StockBalance,
    StockMove,
    SupplierPrice,
)
from cangliu.services import imports, masterdata
from cangliu.services.imports import files, jobs, reader, spec
from cangliu.services.imports.reader import read
from cangliu.services.verify import verify


def csv(text: str) -> bytes:
    return text.strip().encode("utf-8")


def xlsx(rows: list[list[object]]) -> bytes:
    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def errors_of(outcome: imports.Outcome) -> list[tuple[int, str, str]]:
    return [(e.row, e.column, e.message) for e in outcome.errors]


def count(db, model) -> int:  # type: ignore[no-untyped-def]
    with db.read() as s:
        return s.scalar(select(func.count()).select_from(model))


GOOD = {
    "category": "编码,名称,上级分类\nDRINK,饮料,FOOD\nTEA,茶,DRINK",
    "sku": "code,name,category,decimals,tracking,fragile,barcodes\n"
           "W-1,水,FOOD,0,不跟踪,是,6901 6902\nR-1,米,,3,none,no,",
    "site": "编码 / code,名称 / name,站点类型 / site_kind,区域\nS9,九号店,门店,华东\nW9,九号仓,central,",
    "location": "code,name,kind,parent\nWH-Z,Z区,库区,WH\nWH-Z1,Z1,库位,WH-Z",
    "supplier": "code,name,email,lead_time_days\nSUP-1,供应商一,a@b.cn,5",
    "customer": "code,name,channel\nCUS-1,客户一,线上",
}


@pytest.mark.parametrize("entity", list(GOOD))
def test_a_good_master_data_file_creates_every_record(db, network, entity):
    outcome = imports.apply(db.uow(), network, entity, csv(GOOD[entity]), filename="f.csv")
    assert outcome.errors == []
    assert outcome.applied and outcome.creates == len(GOOD[entity].splitlines()) - 1
    code = GOOD[entity].splitlines()[1].split(",")[0]
    kind = entity
    assert masterdata.get(db.uow(), kind, code)["version"] == 1
    with db.read() as s:  # each record's first version is kept for its history
        assert s.scalar(select(RecordVersion.action).where(RecordVersion.entity_key == code)) == "create"


def test_imported_records_read_back_with_their_references_and_values(db, network):
    imports.apply(db.uow(), network, "sku", csv(GOOD["sku"]))
    imports.apply(db.uow(), network, "location", csv(GOOD["location"]))
    sku = masterdata.get(db.uow(), "sku", "W-1")
    assert (sku["category"], sku["fragile"], sku["barcodes"]) == ("FOOD", True, ["6901", "6902"])
    assert masterdata.get(db.uow(), "sku", "R-1")["decimals"] == 3
    bin_ = masterdata.get(db.uow(), "location", "WH-Z1")
    assert (bin_["parent"], bin_["site"], bin_["kind"]) == ("WH-Z", "WH", "bin")


def test_unknown_and_missing_headers_refuse_the_file_naming_them(db, network):
    from cangliu.core.errors import ValidationFailed

    with pytest.raises(ValidationFailed) as failed:
        imports.validate(db.uow(), network, "sku", csv("code,colour,Price\nA,red,1"))
    messages = {(e.message, e.params["columns"]) for e in failed.value.errors}
    assert ("unknown columns: {columns}", "colour, Price") in messages
    assert ("missing required columns: {columns}", "名称 / name") in messages


def test_headers_match_in_either_language_whatever_the_case_and_spaces(db, network):
    outcome = imports.validate(db.uow(), network, "sku",
                               csv(" CODE ,Name, 分类 ,保质期(天)\nX-1,x,FOOD,3"))
    assert outcome.errors == [] and outcome.creates == 1
    from cangliu.core.errors import ValidationFailed

    with pytest.raises(ValidationFailed) as twice:
        imports.validate(db.uow(), network, "sku", csv("code,name,保质期（天）,Shelf Life Days\nA,b,1,1"))
    assert twice.value.errors[0].params == {"columns": "Shelf Life Days"}


def test_wrong_types_are_reported_by_row_and_column(db, network):
    text = ("code,name,decimals,tracking,fragile,weight_kg,shelf_life_days\n"
            "A-1,a,x,none,no,1,10\nA-2,b,9,sometimes,maybe,-1,0\nbad code,c,0,none,no,1,")
    outcome = imports.validate(db.uow(), network, "sku", csv(text))
    assert errors_of(outcome) == [
        (2, "decimals", "must be a whole number"),
        (3, "decimals", "must be between {low} and {high}"),
        (3, "tracking", "must be one of: {expected}"),
        (3, "fragile", "must be yes or no (是/否)"),
        (3, "weight_kg", "must be between {low} and {high}"),
        (3, "shelf_life_days", "must be between {low} and {high}"),
        (4, "code", "contains characters that are not allowed"),
    ]
    assert outcome.creates == 0


def test_duplicate_and_existing_codes_are_errors_in_create_mode(db, network):
    outcome = imports.validate(db.uow(), network, "sku", csv("code,name\nN-1,a\nN-1,b\nSKU-1,c"))
    assert errors_of(outcome) == [(3, "code", "repeats row {row} (same code)"),
                                  (4, "code", "A {label} with code {code} already exists")]


def test_upsert_mode_updates_existing_records_and_keeps_empty_cells(db, network):
    text = "code,name,uom,decimals\nSKU-1,矿泉水 550ml,,\nNEW-1,新品,箱,1"
    outcome = imports.apply(db.uow(), network, "sku", csv(text), mode="upsert")
    assert (outcome.creates, outcome.updates, outcome.errors) == (1, 1, [])
    sku = masterdata.get(db.uow(), "sku", "SKU-1")
    assert (sku["name"], sku["uom"], sku["version"], sku["barcodes"]) == (
        "矿泉水 550ml", "pcs", 2, ["6900000000017"])


def test_unknown_references_are_errors_and_earlier_rows_can_be_referred_to(db, network):
    outcome = imports.validate(db.uow(), network, "category",
                               csv("code,name,parent\nB,b,A\nA,a,\nC,c,A\nD,d,NOPE\nFOOD,f,FOOD"),
                               mode="upsert")
    assert errors_of(outcome) == [(2, "parent", "unknown {label} {code}"),
                                  (5, "parent", "unknown {label} {code}"),
                                  (6, "parent", "must not be the record itself")]
    bad = imports.validate(db.uow(), network, "location",
                           csv("code,name,kind,parent\nZ1,z,zone,WH-A1\nZ2,z,zone,NOWHERE"))
    assert errors_of(bad) == [(2, "parent", "must be a site or a zone"),
                              (3, "parent", "unknown {label} {code}")]


def test_a_barcode_of_another_sku_is_refused(db, network):
    outcome = imports.validate(db.uow(), network, "sku",
                               csv("code,name,barcodes\nB-1,b,6900000000017\nB-2,c,77 77"))
    assert errors_of(outcome) == [(2, "barcodes", "barcode {code} belongs to another SKU")]


def test_a_file_with_one_bad_row_writes_nothing(db, network):
    before = (count(db, Sku), count(db, RecordVersion))
    rows = "\n".join(f"OK-{i},name {i}" for i in range(50))
    outcome = imports.apply(db.uow(), network, "sku", csv(f"code,name\n{rows}\nBAD-1,"))
    assert not outcome.applied and errors_of(outcome) == [(52, "name", "is required")]
    assert (count(db, Sku), count(db, RecordVersion)) == before


def test_xlsx_files_and_the_template_format_are_read_back(db, network):
    template = files.template(spec.ENTITIES["supplier"], "zh_CN")
    assert read(template).headers[:2] == ["编码 / code", "名称 / name"]
    content = xlsx([read(template).headers[:3], ["SUP-X", "某供应商", "李四"], [None],
                    [1001, "数字编码", None]])
    outcome = imports.apply(db.uow(), network, "supplier", content, filename="s.xlsx")
    assert outcome.errors == [] and outcome.creates == 2
    assert masterdata.get(db.uow(), "supplier", "1001")["name"] == "数字编码"


def test_csv_in_gbk_and_with_a_bom_is_read(db, network):
    gbk = "编码,名称\nG-1,国标编码\n".encode("gbk")
    bom = "\ufeffcode,name\nU-1,带BOM\n".encode()
    assert imports.validate(db.uow(), network, "customer", gbk).creates == 1
    assert imports.validate(db.uow(), network, "customer", bom).creates == 1


def test_a_non_spreadsheet_file_is_refused_with_its_reason(db, network):
    from cangliu.core.errors import ValidationFailed

    for content, reason in ((b"\x00\x01\x02binary", "is not a spreadsheet (XLSX or CSV)"),
                            (b"PK\x03\x04broken", "is not a valid XLSX file"),
                            (b"", "is empty")):
        with pytest.raises(ValidationFailed) as failed:
            imports.validate(db.uow(), network, "sku", content)
        assert failed.value.errors[0].message == reason


def test_opening_stock_is_one_posting_through_the_ledger_and_verify_holds(db, network):
    text = ("site,bin,sku,qty,lot,expiry_date,unit_cost\nWH,WH-A1,SKU-1,100,,,2.5\n"
            "WH,,SKU-KG,12.345,,,\nS1,,SKU-LOT,6,L-1,2027-01-31,\nS1,,6900000000017,4,,,1")
    outcome = imports.apply(db.uow(), network, "opening_stock", csv(text), job="JOB-1")
    assert outcome.errors == [] and outcome.creates == 4 and outcome.posting
    with db.read() as s:
        moves = s.execute(select(StockMove.ref, StockMove.reason, StockMove.document_type,
                                 StockMove.document_number)).all()
        assert {m.ref for m in moves} == {outcome.posting} and len(moves) == 4
        assert {(m.reason, m.document_type, m.document_number) for m in moves} == {
            ("opening stock", "import", "JOB-1")}
        wh = s.scalar(select(Location.id).where(Location.code == "WH-A1"))
        assert s.scalar(select(StockBalance.qty).where(StockBalance.location_id == wh)) == 100
    assert verify(db.uow()).consistent


def test_opening_stock_rows_are_checked_like_an_adjustment(db, network):
    text = ("site,bin,sku,qty,lot\nWH,S1,SKU-1,1,\nNOPE,,SKU-1,1,\nWH,,SKU-KG,1.2345,\n"
            "WH,,SKU-LOT,1,\nWH,,SKU-1,1,L9\nWH,,GHOST,1,\nWH,,SKU-1,0,")
    outcome = imports.apply(db.uow(), network, "opening_stock", csv(text))
    assert errors_of(outcome) == [
        (2, "bin", "no location {code} in site {site}"), (3, "site", "unknown site {code}"),
        (4, "qty", "allows at most {decimals} decimal places"),
        (5, "lot", "is required for lot-tracked SKU {sku}"),
        (6, "lot", "SKU {sku} is not lot-tracked"), (7, "sku", "unknown SKU {code}"),
        (8, "qty", "must be greater than 0")]
    assert count(db, StockMove) == 0 and verify(db.uow()).consistent


def test_opening_stock_outside_the_importers_sites_is_refused(db, network):
    with db.read() as s:
        s1 = s.scalar(select(Location.id).where(Location.code == "S1"))
    clerk = Actor(99, "clerk", grants=(Grant(frozenset({"stock.create"}), frozenset({s1})),))
    outcome = imports.validate(db.uow(), clerk, "opening_stock",
                               csv("site,sku,qty\nS1,SKU-1,1\nWH,SKU-1,1"))
    assert errors_of(outcome) == [(3, "site", "Your role may not do this here")]


def test_price_lists_create_and_update_prices(db, network):
    masterdata.create(db.uow(), network, "supplier", {"code": "SUP", "name": "供应商"})
    masterdata.create(db.uow(), network, "customer", {"code": "CUS", "name": "客户"})
    first = imports.apply(db.uow(), network, "supplier_price",
                          csv("supplier,sku,price,currency,min_order_qty\nSUP,SKU-1,1.2,usd,24"))
    again = imports.apply(db.uow(), network, "supplier_price",
                          csv("供应商编码,SKU编码,采购价\nSUP,SKU-1,1.5\nSUP,SKU-KG,3"))
    assert (first.creates, again.creates, again.updates) == (1, 1, 1)
    sold = imports.apply(db.uow(), network, "customer_price", csv("customer,sku,price\nCUS,SKU-1,2"))
    assert sold.applied
    with db.read() as s:
        assert s.scalar(select(SupplierPrice.price).where(SupplierPrice.sku_id == 1)) == Decimal("1.5")
        assert s.scalar(select(CustomerPrice.price)) == 2
    bad = imports.validate(db.uow(), network, "customer_price",
                           csv("customer,sku,price\nNOBODY,SKU-1,1\nCUS,SKU-1,-1\nCUS,SKU-1,1"))
    assert errors_of(bad) == [(2, "customer", "unknown {label} {code}"),
                              (3, "price", "must be 0 or more"),
                              (4, "sku", "repeats row {row} (same partner and SKU)")]


def test_demand_history_is_stored_as_imported_days(db, network):
    text = ("date,site,sku,qty,stockout,lost_qty\n2026-11-01,S1,SKU-1,5,,\n"
            "2026/11/02,S1,SKU-1,0,是,2\n2026-11-01,S1,SKU-1,1,,\n2026-11-03,S1,SKU-1,1.5,,")
    bad = imports.apply(db.uow(), network, "demand", csv(text))
    assert errors_of(bad) == [(4, "sku", "repeats row {row} (same date, site and SKU)"),
                              (5, "qty", "allows at most {decimals} decimal places")]
    good = imports.apply(db.uow(), network, "demand", csv("\n".join(text.splitlines()[:3])))
    assert good.creates == 2
    with db.read() as s:
        days = s.execute(select(DemandDay.qty, DemandDay.stockout, DemandDay.source)
                         .order_by(DemandDay.day)).all()
    assert [tuple(d) for d in days] == [(5, False, "import"), (0, True, "import")]


def test_a_job_keeps_its_errors_and_applying_it_is_audited_once(db, network):
    bad = jobs.create(db, network, "customer", "c.csv", csv("code,name\nC1,a\nC1,b"))
    assert jobs.run(db, network, bad)["status"] == "failed"
    assert [(e.row, e.message) for e in jobs.errors(db, bad)] == [
        (3, "repeats row {row} (same code)")]
    good = jobs.create(db, network, "customer", "c.csv", csv("code,name\nC1,a\nC2,b"))
    assert jobs.run(db, network, good)["status"] == "validated"
    done = jobs.run(db, network, good, apply=True)
    assert (done["status"], done["counts"]["create"]) == ("applied", 2)
    from cangliu.db.models import AuditEvent

    with db.read() as s:
        audited = s.execute(select(AuditEvent.entity, AuditEvent.entity_key)
                            .where(AuditEvent.entity == "import_job")).all()
    assert audited == [("import_job", good)]


def test_the_error_report_neutralises_formulas(db, network):
    ref = jobs.create(db, network, "sku", "s.csv", csv("code,name\n=cmd,x"))
    jobs.run(db, network, ref)
    report = files.errors_csv(jobs.errors(db, ref), "en").decode("utf-8-sig")
    assert report.splitlines()[1].startswith("2,code,")
    found = jobs.errors(db, ref)
    found[0] = type(found[0])(2, "=HYPERLINK()", found[0].message)
    assert "'=HYPERLINK()" in files.errors_csv(found, "en").decode("utf-8-sig")
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(files.errors_xlsx(found, "en"))).active
    assert (sheet["B2"].value, sheet["B2"].data_type) == ("=HYPERLINK()", "s")


def test_the_model_and_the_migration_agree_on_the_import_tables(db):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from cangliu.db.base import Base

    with db.writer.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert [d for d in diff if "import_" in repr(d)] == []


def test_upsert_refuses_deleted_records_and_records_someone_else_is_editing(db, network):
    from cangliu.services import auth, locks
    from tests.conftest import PASSWORD

    other = auth.create_user(db.uow(), username="other", password=PASSWORD, is_admin=True)
    locks.acquire(db.uow(), other, "sku", "SKU-1")
    masterdata.delete_record(db.uow(), network, "sku", "SKU-KG", 1)
    outcome = imports.validate(db.uow(), network, "sku",
                               csv("code,name\nSKU-1,a\nSKU-KG,b\nSKU-LOT,c"), mode="upsert")
    assert errors_of(outcome) == [(2, "code", "Being edited by {user}"),
                                  (3, "code", "{label} {code} is deleted: restore it first")]
    assert outcome.updates == 1


def _pad(content: bytes, size: int, *, declare: int | None = None) -> bytes:
    """The XLSX with one more member of ``size`` zero bytes (deflated to almost nothing), its
    unpacked size declared as ``declare`` in both zip headers when given."""
    buffer = io.BytesIO(content)
    with zipfile.ZipFile(buffer, "a", zipfile.ZIP_DEFLATED) as book:
        book.writestr("xl/media/pad.bin", b"\0" * size)
    data = bytearray(buffer.getvalue())
    if declare is not None:
        with zipfile.ZipFile(io.BytesIO(bytes(data))) as book:
            local = book.getinfo("xl/media/pad.bin").header_offset
        central = data.index(b"PK\x01\x02", data.index(b"xl/media/pad.bin", local + 30) + 1)
        while not data[central + 46:].startswith(b"xl/media/pad.bin"):
            central = data.index(b"PK\x01\x02", central + 4)
        data[local + 22:local + 26] = struct.pack("<I", declare)
        data[central + 24:central + 28] = struct.pack("<I", declare)
    return bytes(data)


def test_an_xlsx_that_unpacks_too_far_is_refused_whatever_its_headers_declare(monkeypatch):
    monkeypatch.setattr(reader, "MAX_UNPACKED_MB", 1)
    template = files.template(spec.ENTITIES["supplier"], "zh_CN")
    reader.sniff(template)
    assert read(_pad(template, 100_000)).headers[:2] == ["编码 / code", "名称 / name"]
    for bomb in (_pad(template, 2 << 20), _pad(template, 2 << 20, declare=1000)):
        assert len(bomb) < len(template) + 10_000  # two MB of zeros deflate to a few KB
        for check in (reader.sniff, read):
            with pytest.raises(ValidationFailed) as refused:
                check(bomb)
            error = refused.value.errors[0]
            assert (error.field, error.message, error.params) == (
                "file", "unpacks to more than {mb} MB: split it into smaller files", {"mb": "1"})
