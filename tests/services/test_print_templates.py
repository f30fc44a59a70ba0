"""Print templates: built-in defaults for every document type, stored templates overriding them,
the sandbox, errors naming the line, field rules in the context, documented variables."""

from datetime import datetime
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select

from cangliu.core.errors import NotFound, StaleVersion, ValidationFailed
from cangliu.core.ledger import StockStatus
from cangliu.core.permissions import FIELD_GROUPS, Actor
from cangliu.db.base import Base
from cangliu.db.models import HeldDocument
from cangliu.services import counts, masterdata, print_templates, purchasing, sales, stock, transfers
from cangliu.services.postings import Meta
from cangliu.services.print_templates import kinds, variables
from cangliu.services.print_templates.samples import sample
from cangliu.services.purchasing import PurchaseLineIn, ReceiptIn, ReturnIn
from cangliu.services.sales import LineQty, SalesLineIn
from cangliu.services.scrap import scrap
from cangliu.services.stock import Line
from cangliu.services.transfers import TransferLineIn

CLERK = Actor(user_id=99, username="clerk1", hidden=frozenset({"cost", "valuation", "margin"}))
NO_PRICES = Actor(user_id=98, username="viewer", hidden=frozenset({"cost", "price"}))


@pytest.fixture
def documents(db, network):
    """A number of every document type that prints."""
    meta = Meta(network)
    masterdata.create(db.uow(), network, "supplier", {"code": "SUP-1", "name": "华东饮品"})
    masterdata.create(db.uow(), network, "customer", {"code": "C1", "name": "客户一"})
    stock.receive(db.uow(), meta, site="WH", lines=[Line("SKU-1", "20")])
    po = purchasing.create_purchase(db.uow(), meta, supplier="SUP-1", site="WH",
                                    lines=[PurchaseLineIn("SKU-1", "10", "2.5")])["number"]
    purchasing.submit_purchase(db.uow(), meta, number=po)
    purchasing.receive_purchase(db.uow(), meta, number=po, lines=[ReceiptIn(1, "10")])
    purchasing.return_purchase(db.uow(), meta, number=po, lines=[ReturnIn(1, "2")])
    so = sales.create_sale(db.uow(), meta, customer="C1", site="WH",
                           lines=[SalesLineIn("SKU-1", "5", "9")])["number"]
    sales.confirm_sale(db.uow(), meta, number=so)
    sales.ship_sale(db.uow(), meta, number=so)
    sales.return_sale(db.uow(), meta, number=so, lines=[LineQty(1, "1")])
    with db.read() as session:
        returned = session.scalar(select(HeldDocument.number).where(
            HeldDocument.document_type == "sales_return"))
    return {
        "purchase_order": po, "supplier_return": po, "sales_order": so,
        "sales_return": returned,
        "transfer": transfers.create_transfer(db.uow(), meta, source="WH", dest="S1",
                                              lines=[TransferLineIn("SKU-1", "1")])["number"],
        "stock_count": counts.start_count(db.uow(), meta, site="WH", blind=False)["number"],
        "scrap": scrap(db.uow(), meta, site="WH", reason_code="lost", lines=[Line("SKU-1", "1")],
                       from_status=StockStatus.AVAILABLE)["number"],
    }


def test_every_document_type_prints_with_its_builtin_template(db, network, documents):
    assert set(documents) == set(print_templates.TYPES)
    for document_type, number in documents.items():
        html = print_templates.render(db.uow(), network, document_type, number)
        kind = print_templates.doc_type(document_type)
        assert number in html and kind.title_zh in html and kind.title_en in html
        assert "window.print()" in html and "size: A4" in html
        assert '<svg class="barcode"' in html  # the number as a Code 128
        assert "矿泉水" in html  # the SKU's name, not only its code
        assert "仓流 Cangliu" in html
    # the state in words, both languages, not its code
    html = print_templates.render(db.uow(), network, "stock_count", documents["stock_count"])
    assert '<span class="state">盘点中 counting</span>' in html


def test_the_sample_has_every_key_a_real_document_has(db, network, documents):
    """The documented variables come from the sample: it must not drift from real answers."""
    for document_type, number in documents.items():
        real = kinds.load(db.uow(), kinds.TYPES[document_type], number)
        fake = sample(document_type)
        assert set(real) - set(fake) == set(), document_type
        assert set(real["lines"][0]) - set(fake["lines"][0]) == set(), document_type


def test_every_variable_is_documented():
    for document_type in print_templates.TYPES:
        listed = print_templates.variables_of(document_type)
        assert [v["name"] for v in listed if not v["meaning"]] == [], document_type
        assert {"doc.number", "doc.lines[].sku", "company", "printed_at"} <= {
            v["name"] for v in listed}


def test_a_stored_template_overrides_the_builtin_until_reset(db, network, documents):
    number = documents["transfer"]
    body = "<h1>{{ company }} · {{ doc.number }} · {{ doc.lines|length }} lines</h1>"
    saved = print_templates.save_template(db.uow(), network, "transfer", body=body, version=0)
    assert saved["version"] == 1 and not saved["builtin"]
    assert print_templates.render(db.uow(), network, "transfer", number) == (
        f"<h1>仓流 Cangliu · {number} · 1 lines</h1>")
    print_templates.set_company_name(db.uow(), network, "上海仓流贸易")
    assert "上海仓流贸易" in print_templates.render(db.uow(), network, "transfer", number)
    with pytest.raises(StaleVersion):  # based on the built-in, but version 1 is in force
        print_templates.save_template(db.uow(), network, "transfer", body=body, version=0)
    print_templates.save_template(db.uow(), network, "transfer", body=body + "!", version=1)
    assert print_templates.get_template(db.uow(), "transfer")["version"] == 2
    back = print_templates.reset_template(db.uow(), network, "transfer")
    assert back["builtin"] and back["version"] == 0
    assert "调拨单" in print_templates.render(db.uow(), network, "transfer", number)
    with pytest.raises(NotFound):
        print_templates.reset_template(db.uow(), network, "transfer")


def test_a_named_template_prints_on_request(db, network, documents):
    print_templates.save_template(db.uow(), network, "scrap", body="small {{ doc.number }}",
                                  version=0, name="small", is_default=False)
    number = documents["scrap"]
    assert print_templates.render(db.uow(), network, "scrap", number, template="small") == (
        f"small {number}")
    assert "报废单" in print_templates.render(db.uow(), network, "scrap", number)
    with pytest.raises(ValidationFailed):
        print_templates.render(db.uow(), network, "scrap", number, template="nope")


def _error(body: str) -> tuple[str, str]:
    with pytest.raises(ValidationFailed) as caught:
        print_templates.check("purchase_order", body)
    err = caught.value.errors[0]
    return err.field, err.params.get("line", "")


@pytest.mark.parametrize("body", [
    "{{ ''.__class__.__mro__ }}",
    "{{ doc.__class__.__base__.__subclasses__() }}",
    "{{ doc.lines.append(1) }}",
    "{{ doc.update({'number': 1}) }}",
    "{{ (doc.number).__init__.__globals__ }}",
    "{{ 'x' * 900000000 }}",
    "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
    "{% include '/etc/passwd' %}",
])
def test_the_sandbox_refuses_unsafe_templates_naming_the_body(body):
    assert _error(body) == ("body", "1")


def test_globals_and_loaders_give_nothing_away():
    html = print_templates.check("purchase_order", "[{{ lipsum }}{{ cycler }}{{ config }}"
                                 "{{ self.__init__ }}]")
    assert html == "[]"


def test_a_syntax_error_names_its_line_and_is_not_saved(db, network):
    assert _error("<p>\n{{ doc.number }}\n{{ doc.state }\n</p>") == ("body", "3")
    assert _error("a\nb\n{{ doc.missing.field }}") == ("body", "3")
    with pytest.raises(ValidationFailed) as caught:
        print_templates.save_template(db.uow(), network, "purchase_order",
                                      body="ok\n{% if %}", version=0)
    assert caught.value.errors[0].field == "body"
    assert caught.value.errors[0].message == "line {line}: {error}"
    assert print_templates.get_template(db.uow(), "purchase_order")["builtin"]


def test_prices_are_absent_for_a_role_that_hides_them(db, network, documents):
    number = documents["purchase_order"]
    shown = print_templates.render(db.uow(), network, "purchase_order", number)
    hidden = print_templates.render(db.uow(), NO_PRICES, "purchase_order", number)
    assert "2.5000" in shown and "25.00" in shown  # price and line amount
    assert "2.5000" not in hidden and "25.00" not in hidden and "单价" not in hidden
    probe = "{{ doc.total is defined }} {{ doc.lines[0].price is defined }}"
    assert print_templates.preview(db.uow(), NO_PRICES, "purchase_order", probe,
                                   number=number) == "False False"


def test_cost_fields_are_absent_for_a_clerk():
    """Whatever cost a document answer carries never reaches a clerk's template context."""
    doc = sample("purchase_order") | {"unit_cost": "1.23", "avg_cost": "1.20"}
    doc["lines"] = [ln | {"unit_cost": "1.23", "value": "147.60"} for ln in doc["lines"]]
    context = print_templates._context(kinds.TYPES["purchase_order"], doc, reader=CLERK,
                                       company="X", now=datetime(2026, 11, 23), lang="en",
                                       labels={})
    hidden = FIELD_GROUPS["cost"] | FIELD_GROUPS["valuation"]
    assert not hidden & set(context["doc"]) and not hidden & set(context["doc"]["lines"][0])
    assert context["doc"]["lines"][0]["price"] == "1.8500"  # a clerk still sees prices
    assert context["printed_by"] == "clerk1"


def test_filters_format_money_quantities_dates_and_codes():
    html = print_templates.check("purchase_order", (
        "{{ 12345.5|money }}|{{ '12.500'|qty }}|{{ doc.created_at|date('%d/%m/%Y') }}|"
        "{{ doc.number|qr_svg(50) }}"))
    money, qty, day, qr = html.split("|")
    assert (money, qty, day) == ("12,345.50", "12.5", "23/11/2026")
    assert qr.startswith('<svg class="qr"')


def test_custom_fields_print_when_the_document_has_them():
    doc = sample("transfer") | {"custom": {"carrier": "顺丰"}}
    html = print_templates.sandbox.render_body(
        print_templates.ENV, print_templates.BUILTINS["transfer"],
        print_templates._context(kinds.TYPES["transfer"], doc, reader=None, company="X",
                                 now=datetime(2026, 11, 23), lang="zh_CN",
                                 labels={"carrier": "承运商"}))
    assert "承运商" in html and "顺丰" in html


def test_unknown_document_types_and_documents_are_not_found(db, network):
    with pytest.raises(NotFound):
        print_templates.render(db.uow(), network, "invoice", "X-1")
    with pytest.raises(NotFound):
        print_templates.render(db.uow(), network, "transfer", "TO-19990101-0001")


def test_the_variable_walk_lists_nested_lines():
    listed = variables.walk({"doc": {"lines": [{"sku": "A"}]}})
    assert ("doc.lines[].sku", "A", "sku") in listed


def test_the_variables_reference_in_docs_is_up_to_date():
    """docs/print-templates.md is generated from the samples: regenerate it when this fails."""
    path = Path(__file__).parents[2] / "docs" / "print-templates.md"
    assert path.read_text(encoding="utf-8") == print_templates.docs_markdown()


def test_the_model_and_the_migration_agree_on_the_print_template_table(db):
    with db.writer.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert [d for d in diff if "print_template" in repr(d)] == []
