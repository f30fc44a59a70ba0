"""A sample document of every type, shaped exactly as a real one reaches a template: templates
are checked against it on save, previewed with it, and the documented variables are read off
it (tests compare its keys with a real document's, so the documentation cannot drift)."""

from typing import Any

from cangliu.services.print_templates.kinds import TYPES, _totals

_AT = "2026-11-23T09:30:00+00:00"
_BY = {"created_by": "zhang.wei", "created_at": _AT}
_SKUS = [("SKU-1", "矿泉水 550ml", "pcs"), ("SKU-KG", "东北大米", "kg")]


def _line(i: int, **fields: Any) -> dict[str, Any]:
    sku, name, uom = _SKUS[(i - 1) % len(_SKUS)]
    return {"name": name, "uom": uom, "line_no": i, "sku": sku, **fields}


_PO_LINES = [_line(1, qty="120", price="1.8500", received_qty="120", returned_qty="12",
                   open_qty="0", serials=[]),
             _line(2, qty="50.5", price="4.2000", received_qty="20", returned_qty="0",
                   open_qty="30.5", serials=[])]
_PURCHASE = {"number": "PO-20261123-0001", "state": "partially_received", "version": 3,
             "supplier": "SUP-1", "supplier_name": "华东饮品有限公司", "site": "WH",
             "site_name": "中央仓", "currency": "CNY", "rate": "1", "expected_date": "2026-11-30",
             "total": "434.10", "total_base": "434.10", "reason": "", **_BY,
             "allowed_actions": ["close", "receive_all", "receive_part", "return"],
             "custom": {}, "lines": _PO_LINES}

_RAW: dict[str, dict[str, Any]] = {
    "purchase_order": _PURCHASE,
    "sales_order": {
        "number": "SO-20261123-0004", "state": "partially_shipped", "version": 4,
        "customer": "C1", "customer_name": "上海超市连锁", "site": "WH", "site_name": "中央仓",
        "channel": "b2b", "currency": "CNY", "rate": "1", "total": "264.00", "reason": "", **_BY,
        "allowed_actions": ["cancel", "close", "ship_all", "ship_part"], "returns": [],
        "custom": {},
        "lines": [_line(1, qty="60", price="3.00", shipped_qty="40", backorder_qty="20",
                        returned_qty="0", serials=[], returned_serials=[]),
                  _line(2, qty="12", price="7.00", shipped_qty="12", backorder_qty="0",
                        returned_qty="0", serials=[], returned_serials=[])]},
    "transfer": {
        "number": "TO-20261123-0007", "state": "shipped", "version": 5, "source": "WH",
        "source_name": "中央仓", "dest": "S1", "dest_name": "门店一",
        "expected_arrival": "2026-11-25", "overdue": False, "receipt_accuracy": None,
        "reason": "补货 replenishment", "generated_by_rule": None, "exception": None, **_BY,
        "shipped_at": "2026-11-23T10:05:00+00:00", "received_at": None,
        "allowed_actions": ["cancel", "receive_all", "receive_part"], "custom": {},
        "lines": [_line(1, lot=None, qty="24", shipped_qty="24", received_qty="0",
                        damaged_qty="0", shortage_qty="0", serials=[], received_serials=[]),
                  _line(2, lot="L2611", qty="10", shipped_qty="10", received_qty="0",
                        damaged_qty="0", shortage_qty="0", serials=[], received_serials=[])]},
    "stock_count": {
        "number": "SC-20261123-0002", "state": "review", "version": 3, "site": "WH",
        "site_name": "中央仓", "zone": None, "blind": True, "snapshot_at": _AT,
        "allowed_actions": ["cancel", "post", "reopen"], "counted": 2, "custom": {},
        "lines": [{**_line(1), "location": "WH-A1", "lot": None, "counted_qty": "98",
                   "counted_by": "li.na", "snapshot_qty": "100", "expected_qty": "100",
                   "variance": "-2"},
                  {**_line(2), "location": "WH-A1", "lot": None, "counted_qty": "25.5",
                   "counted_by": "li.na", "snapshot_qty": "25", "expected_qty": "25",
                   "variance": "0.5"}]},
    "scrap": {
        "number": "SP-20261123-0001", "state": "posted", "site": "WH", "site_name": "中央仓",
        "reason_code": "damaged", "note": "外箱破损 crushed carton", "from_status": "damaged",
        "operator": "li.na", "device": "", "occurred_at": _AT, "recorded_at": _AT,
        "ref": "7f3c2a", "reversed": False, "custom": {},
        "lines": [_line(1, qty="3", location="WH-A1", lot=None, from_status="damaged")]},
    "sales_return": {
        "number": "RT-20261123-0001", "state": "posted", "site": "WH", "site_name": "中央仓",
        "parent": "SO-20261123-0004", "customer": "C1", "customer_name": "上海超市连锁",
        "currency": "CNY", "fields": {}, "request": {"lines": [], "reason": "包装破损 damaged"},
        **_BY, "custom": {},
        "lines": [_line(1, qty="60", price="3.00", shipped_qty="40", backorder_qty="20",
                        returned_qty="2", serials=[], returned_serials=[], return_qty="2")]},
    "supplier_return": _PURCHASE | {"lines": _PO_LINES[:1]},
}


def sample(document_type: str) -> dict[str, Any]:
    """The sample document of a type, as ``kinds.load`` would give it."""
    return _totals(TYPES[document_type], _RAW[document_type])
