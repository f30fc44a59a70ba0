"""A Chinese reader sees Chinese: no text the catalogue translates reaches a zh_CN page untranslated.

Each page is rendered for a zh_CN reader and its visible text (text nodes and the placeholder,
title, aria-label and alt attributes) is read back. A text that is itself a msgid with a
different Chinese translation was put on the page without passing through gettext. Codes shown
as codes are left out: ``<code>``, ``<pre>``, ``<textarea>``, scripts, styles, and anything
marked ``translate="no"`` (HTML's own flag for text that must stay as it is).
"""

from html.parser import HTMLParser

import pytest

from cangliu.core.ledger import StockStatus
from cangliu.i18n import translations
from cangliu.services import notifications, stock
from cangliu.services.alerts import rules
from cangliu.services.postings import Meta
from cangliu.services.scrap import scrap
from cangliu.services.stock import Line

VERBATIM = {"script", "style", "code", "pre", "textarea", "kbd", "samp"}
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}
SHOWN_ATTRIBUTES = ("placeholder", "title", "aria-label", "alt")
BRANDS = {"Cangliu"}  # the product's name stays Latin beside 仓流


class VisibleText(HTMLParser):
    """The texts a reader sees or hears, outside verbatim and translate="no" elements."""

    def __init__(self) -> None:
        super().__init__()
        self.skipping: list[str] = []
        self.texts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if self.skipping:
            if tag == self.skipping[-1]:
                self.skipping.append(tag)
            return
        if tag in VERBATIM or values.get("translate") == "no":
            if tag not in VOID:
                self.skipping.append(tag)
            return
        self.texts += [v.strip() for k in SHOWN_ATTRIBUTES if (v := values.get(k))]

    def handle_endtag(self, tag: str) -> None:
        if self.skipping and tag == self.skipping[-1]:
            self.skipping.pop()

    def handle_data(self, data: str) -> None:
        if not self.skipping and data.strip():
            self.texts.append(data.strip())


def visible_texts(html: str) -> list[str]:
    parser = VisibleText()
    parser.feed(html)
    return parser.texts


def text_of(html: str) -> str:
    return " ".join(visible_texts(html))


def untranslated(html: str) -> list[str]:
    """The visible texts that are msgids the Chinese catalogue translates to something else."""
    catalogue = translations("zh_CN")
    return sorted({t for t in visible_texts(html)
                   if t not in BRANDS and catalogue.gettext(t) != t})


@pytest.fixture
def zh(browser, db, network):
    """The administrator reading in Chinese, with a scrap written off for quality, the default
    alert rules and an approval message in the inbox."""
    browser.cookies.set("lang", "zh_CN")
    meta = Meta(network)
    stock.receive(db.uow(), meta, site="WH", lines=[Line("SKU-1", "5")])
    done = scrap(db.uow(), Meta(network, reason="seal broken"), site="WH", reason_code="quality",
                 lines=[Line("SKU-1", "1")], from_status=StockStatus.AVAILABLE)
    rules.ensure_defaults(db.uow())
    notifications.send(db.uow(), [network.user_id], kind="approval",
                       title="{document} was approved", params={"document": "TO-TEST-1"})
    browser.scrap_number = done["number"]
    return browser


PAGES = (
    "/stock", "/stock/SKU-1", "/transfers", "/docs/purchase-orders", "/docs/sales-orders",
    "/docs/counts", "/md/skus", "/md/sites", "/md/categories", "/docs/scrap", "/docs/scrap/new",
    "/admin/roles", "/admin/roles/new", "/admin/roles/store_manager", "/admin/users",
    "/admin/users/admin", "/audit", "/history/sku/SKU-1", "/admin/alert-rules",
    "/admin/alert-rules/low_stock", "/alerts", "/inbox", "/admin/approval-policies",
    "/admin/print-templates", "/admin/serial-rules", "/admin/planning-rules",
)


def test_no_page_shows_a_catalogued_english_text_to_a_chinese_reader(zh):
    pages = [*PAGES, f"/docs/scrap/{zh.scrap_number}"]
    leaks = {}
    for path in pages:
        response = zh.get(path)
        assert response.status_code == 200, path
        if found := untranslated(response.text):
            leaks[path] = found
    assert not leaks, "\n".join(f"{path}: {', '.join(found)}" for path, found in leaks.items())


def test_the_leaks_once_found_now_read_in_chinese(zh):
    role = visible_texts(zh.get("/admin/roles/store_manager").text)
    assert {"创建", "导出", "成本", "估值", "毛利", "价格", "一物一码", "预警"} <= set(role)
    assert "指定站点" in visible_texts(zh.get("/admin/users/admin").text)
    assert "原因代码: 质量问题" in text_of(zh.get(f"/docs/scrap/{zh.scrap_number}").text)
    assert "质量问题" in visible_texts(zh.get("/docs/scrap").text)
    assert "质量问题: seal broken" in visible_texts(zh.get("/stock/SKU-1").text)
    audit = visible_texts(zh.get("/audit").text)
    assert {"起始日期", "截止日期"} <= set(audit) and "来源" not in audit
    rules_page = visible_texts(zh.get("/admin/alert-rules").text)
    assert {"低于安全库存", "警告"} <= set(rules_page)
    assert "TO-TEST-1 已审批通过" in visible_texts(zh.get("/inbox").text)


def test_an_english_reader_sees_the_english_name_of_an_alert_rule(zh):
    zh.cookies.set("lang", "en")
    page = visible_texts(zh.get("/admin/alert-rules").text)
    assert "Below safety stock" in page and "低于安全库存" not in page
