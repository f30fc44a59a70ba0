"""The variables a print template may use, per document type, read off the sample context:
each with its path (``doc.lines[].qty``), an example value and its meaning."""

from typing import Any

# Meanings (English msgids, translated where shown). Every key of every sample must have one:
# a test checks it, so a field added to a document answer is documented or the build fails.
MEANINGS: dict[str, str] = {
    "company": "Company name (the setting company_name, else 仓流 Cangliu)",
    "printed_at": "When the page was printed (ISO 8601, UTC)",
    "printed_by": "Who printed it (user name)",
    "lang": "The reader's language: zh_CN or en",
    "document_type": "The document type code",
    "title": "The document type's title: title.zh and title.en",
    "title.zh": "Title in Chinese", "title.en": "Title in English",
    "state_label": "The document's state in words: state_label.zh and state_label.en",
    "state_label.zh": "State in Chinese", "state_label.en": "State in English",
    "custom_labels": "Labels of the custom fields, by key, in the reader's language",
    "doc": "The document",
    "number": "Document number", "state": "State", "version": "Version (for optimistic locking)",
    "supplier": "Supplier code", "supplier_name": "Supplier name",
    "customer": "Customer code", "customer_name": "Customer name",
    "site": "Site code", "site_name": "Site name",
    "source": "Source site code", "source_name": "Source site name",
    "dest": "Destination site code", "dest_name": "Destination site name",
    "currency": "Currency", "rate": "Exchange rate to CNY",
    "expected_date": "Expected delivery date", "expected_arrival": "Expected arrival date",
    "total": "Total amount (document currency); absent when prices are hidden from the reader",
    "total_base": "Total amount in CNY", "total_qty": "Sum of the line quantities",
    "reason": "Reason or note", "created_by": "Created by", "created_at": "Created at",
    "allowed_actions": "Actions the document allows now",
    "custom": "Custom field values by key (empty when none)",
    "lines": "The lines (a list; loop with {% for ln in doc.lines %})",
    "line_no": "Line number", "sku": "SKU code", "name": "SKU name", "uom": "Unit of measure",
    "qty": "Quantity", "price": "Unit price; absent when prices are hidden from the reader",
    "line_total": "Line amount (quantity × price); absent when prices are hidden",
    "received_qty": "Quantity received", "returned_qty": "Quantity returned",
    "open_qty": "Quantity still to receive", "shipped_qty": "Quantity shipped",
    "backorder_qty": "Quantity on back order", "serials": "Serial numbers moved on the line",
    "returned_serials": "Serial numbers returned", "received_serials": "Serial numbers received",
    "channel": "Sales channel", "returns": "Return requests of the order not yet posted",
    "overdue": "Past its expected arrival", "receipt_accuracy": "Received ÷ shipped, once received",
    "generated_by_rule": "The transfer rule that proposed it", "exception": "Exception note",
    "shipped_at": "Shipped at", "received_at": "Received at",
    "lot": "Lot", "damaged_qty": "Quantity received damaged", "shortage_qty": "Quantity short",
    "zone": "Zone counted (empty: whole site)", "blind": "Blind count (expected quantities hidden)",
    "snapshot_at": "When the stock snapshot was taken", "counted": "Lines counted so far",
    "location": "Bin", "counted_qty": "Quantity counted", "counted_by": "Counted by",
    "snapshot_qty": "Quantity at the snapshot", "expected_qty": "Expected quantity",
    "variance": "Counted − expected",
    "reason_code": "Scrap reason", "note": "Note", "from_status": "Stock status written off",
    "operator": "Operator", "device": "Device", "occurred_at": "When it happened",
    "recorded_at": "When it was recorded", "ref": "Posting reference",
    "reversed": "Reversed since", "parent": "The sales order returned against",
    "fields": "Values the approval policy saw", "request": "The return as requested",
    "request.lines": "Requested lines", "request.reason": "Reason given",
    "return_qty": "Quantity coming back",
}


def _example(value: Any) -> str:
    if isinstance(value, dict | list):
        return ""
    return "" if value is None else str(value)[:60]


def walk(value: Any, path: str = "") -> list[tuple[str, str, str]]:
    """(path, example, key) of every variable under ``value``; a list of records shows its
    first record's fields as ``path[].field``."""
    out: list[tuple[str, str, str]] = []
    if isinstance(value, dict):
        for key, item in value.items():
            sub = f"{path}.{key}" if path else str(key)
            out.append((sub, _example(item), str(key)))
            out += walk(item, sub)
    elif isinstance(value, list) and value and isinstance(value[0], dict):
        out += walk(value[0], f"{path}[]")
    return out


def meaning(path: str, key: str) -> str:
    """The meaning of a variable: by its dotted tail (``title.zh``) or by its key."""
    tail = ".".join(path.replace("[]", "").split(".")[-2:])
    return MEANINGS.get(tail) or MEANINGS.get(key, "")


def variables(context: dict[str, Any]) -> list[dict[str, str]]:
    """Every variable of a template context with an example and its meaning (English msgid)."""
    return [{"name": path, "example": example, "meaning": meaning(path, key)}
            for path, example, key in walk(context)]


HEADER = """# Print templates (打印模板)

Administrators edit each document type's print template at **Settings → Print templates**
(`/admin/print-templates`, settings.view to read, settings.edit to save). A template is
[Jinja2](https://jinja.palletsprojects.com/templates/) run in a sandbox (autoescaped; no files,
no Python internals, bounded time, loops and output). It may `{% extends "layout" %}` — the
built-in A4 page with the company name, title, Code 128 of the number, a print button and the
footer — and fill its blocks `meta`, `lines`, `notes` and `signatures`; or be a page of its own.
A template is saved only when it renders the sample document below; an error names the line.
Resetting deletes the stored template and the built-in one applies again.

Print a document at `/print/{type}/{number}` (or `GET /api/v1/documents/{type}/{number}/print`);
`?template=name` picks a stored template other than the default. Field rules apply: a value the
reader's role hides (cost, prices…) is absent, so test with `is defined`.

Filters: `money` (`{{ doc.total|money }}` → 1,234.50; `money(4)`), `qty` (no trailing zeros),
`date` (`{{ doc.created_at|date("%Y-%m-%d") }}`), `barcode_svg` (`{{ doc.number|barcode_svg(40) }}`,
a Code 128 as inline SVG), `qr_svg` (`{{ doc.number|qr_svg(96) }}`).

This file is generated from the sample documents (`cangliu.services.print_templates.docs_markdown`);
a test fails when it no longer matches.
"""


def markdown(sections: list[tuple[str, str, list[dict[str, str]]]]) -> str:
    """The variables reference: one table per document type (code, title, variables)."""
    parts = [HEADER]
    for code, title, listed in sections:
        parts.append(f"\n## {title} (`{code}`)\n\n| variable | meaning | example |\n|---|---|---|")
        parts += [f"| `{v['name']}` | {v['meaning']} | {v['example'].replace('|', '/')} |"
                  for v in listed]
    return "\n".join(parts) + "\n"
