"""Examples for the OpenAPI document, keyed by (method, path): the request body (``request``) and
optionally the answer (``response``, with its ``status`` when not the first 2xx). Values follow
the demo data (sites WH, S1, S2; SKU-1; supplier SUP-1; customer CUST-1) so they read as one flow.
Checked by tests/web/test_openapi.py: every JSON write has one and each validates."""

from typing import Any

EXAMPLES: dict[tuple[str, str], dict[str, Any]] = {
    ("post", "/api/v1/history/{entity}/{key}/restore"): {"request": {"version": 2, "current_version": 3}},
    ("post", "/api/v1/auth/login"): {"request": {"username": "admin", "password": "correct-horse-battery"}},
    ("post", "/api/v1/auth/password"): {
        "request": {"current_password": "my-old-passphrase", "new_password": "a-longer-new-passphrase"}
    },
    ("post", "/api/v1/auth/tokens"): {
        "request": {
            "name": "erp-sync",
            "days": 90,
            "permissions": ["stock.view", "purchase.view", "purchase.post"],
        }
    },
    ("post", "/api/v1/stock/receive"): {
        "request": {
            "sku": "SKU-1",
            "site": "WH",
            "qty": "100",
            "bin": "WH-A1",
            "unit_cost": "2.50",
            "reason": "opening stock",
        }
    },
    ("post", "/api/v1/stock/issue"): {
        "request": {"sku": "SKU-1", "site": "WH", "qty": "2", "reason": "samples"}
    },
    ("post", "/api/v1/stock/move"): {
        "request": {
            "sku": "SKU-1",
            "from_site": "WH",
            "to_site": "WH",
            "qty": "10",
            "bin": "WH-A1",
            "to_bin": "WH-A2",
            "reason": "put away",
        }
    },
    ("post", "/api/v1/stock/adjust"): {
        "request": {
            "sku": "SKU-1",
            "site": "WH",
            "qty": "3",
            "direction": "loss",
            "bin": "WH-A1",
            "reason": "broken in handling",
        }
    },
    ("post", "/api/v1/stock/status"): {
        "request": {
            "sku": "SKU-1",
            "site": "WH",
            "qty": "5",
            "from_status": "available",
            "to_status": "quality_hold",
            "reason": "damaged packaging",
        }
    },
    ("post", "/api/v1/stock/scrap"): {
        "request": {
            "sku": "SKU-LOT",
            "site": "WH",
            "qty": "6",
            "reason_code": "expired",
            "lot": "L20261101",
            "reason": "expired",
        }
    },
    ("post", "/api/v1/stock/reserve"): {
        "request": {"sku": "SKU-1", "site": "WH", "qty": "12", "reason": "VIP order"}
    },
    ("post", "/api/v1/stock/release"): {
        "request": {"reservation": "RES-20261124-0001", "reason": "order cancelled"}
    },
    ("post", "/api/v1/stock/postings/{ref}/reverse"): {"request": {"reason": "posted twice by mistake"}},
    ("post", "/api/v1/transfers"): {
        "request": {
            "source": "WH",
            "dest": "S1",
            "lines": [{"sku": "SKU-1", "qty": "24"}],
            "reason": "weekly replenishment",
        }
    },
    ("post", "/api/v1/transfers/batch"): {
        "request": {
            "source": "WH",
            "destinations": [
                {"dest": "S1", "lines": [{"sku": "SKU-1", "qty": "24"}]},
                {"dest": "S2", "lines": [{"sku": "SKU-1", "qty": "12"}]},
            ],
            "reason": "weekly replenishment",
        }
    },
    ("patch", "/api/v1/transfers/{number}"): {"request": {"version": 1, "expected_arrival": "2026-11-26"}},
    ("post", "/api/v1/transfers/{number}/submit"): {"request": {"reason": ""}},
    ("post", "/api/v1/transfers/{number}/ship"): {"request": {"version": 3, "reason": ""}},
    ("post", "/api/v1/transfers/{number}/receive"): {
        "request": {"lines": [{"line_no": 1, "received": "23", "damaged": "1"}], "reason": ""}
    },
    ("post", "/api/v1/transfers/{number}/cancel"): {"request": {"reason": "store closed for renovation"}},
    ("post", "/api/v1/transfers/{number}/close"): {"request": {"reason": "shortage accepted"}},
    ("put", "/api/v1/suppliers/{supplier}/prices/{sku}"): {"request": {"price": "2.35", "currency": "CNY"}},
    ("post", "/api/v1/purchase-orders"): {
        "request": {
            "supplier": "SUP-1",
            "site": "WH",
            "currency": "CNY",
            "lines": [{"sku": "SKU-1", "qty": "200", "price": "2.35"}],
        }
    },
    ("patch", "/api/v1/purchase-orders/{number}"): {"request": {"version": 1, "currency": "CNY"}},
    ("post", "/api/v1/purchase-orders/{number}/return"): {
        "request": {"lines": [{"line_no": 1, "qty": "5", "reason": "damaged"}]}
    },
    ("post", "/api/v1/purchase-orders/{number}/receive"): {
        "request": {"lines": [{"line_no": 1, "qty": "200", "bin": "WH-A1"}]}
    },
    ("post", "/api/v1/purchase-orders/{number}/{action}"): {"request": {"reason": ""}},
    ("put", "/api/v1/customers/{customer}/prices/{sku}"): {"request": {"price": "3.80"}},
    ("post", "/api/v1/sales-orders"): {
        "request": {
            "customer": "CUST-1",
            "site": "WH",
            "currency": "CNY",
            "lines": [{"sku": "SKU-1", "qty": "48", "price": "3.80"}],
        }
    },
    ("patch", "/api/v1/sales-orders/{number}"): {"request": {"version": 1, "customer": "CUST-1"}},
    ("post", "/api/v1/sales-orders/{number}/ship"): {"request": {"reason": ""}},
    ("post", "/api/v1/sales-orders/{number}/return"): {
        "request": {"lines": [{"line_no": 1, "qty": "2"}], "reason": "customer changed their mind"}
    },
    ("post", "/api/v1/sales-orders/{number}/{action}"): {"request": {"reason": ""}},
    ("post", "/api/v1/counts"): {"request": {"site": "WH"}},
    ("post", "/api/v1/counts/{number}/entries"): {
        "request": {"entries": [{"sku": "SKU-1", "location": "WH-A1", "qty": "97"}]}
    },
    ("post", "/api/v1/counts/{number}/{action}"): {"request": {"reason": "demo"}},
    ("post", "/api/v1/payments"): {
        "request": {
            "kind": "receivable",
            "partner": "CUST-1",
            "amount": "182.40",
            "paid_on": "2026-11-24",
            "currency": "CNY",
        }
    },
    ("post", "/api/v1/periods/close"): {"request": {"through": "2026-10-31"}},
    ("post", "/api/v1/categories"): {"request": {"code": "DRINK", "name": "饮料"}},
    ("patch", "/api/v1/categories/{code}"): {"request": {"version": 1, "name": "饮料与冲调"}},
    ("post", "/api/v1/categories/{code}/restore"): {"request": {"version": 1}},
    ("post", "/api/v1/skus"): {
        "request": {"code": "SKU-100", "name": "矿泉水 550ml", "category": "FOOD", "uom": "pcs"}
    },
    ("patch", "/api/v1/skus/{code}"): {"request": {"version": 1, "name": "矿泉水 550ml×24"}},
    ("post", "/api/v1/skus/{code}/restore"): {"request": {"version": 1}},
    ("post", "/api/v1/sites"): {"request": {"code": "S3", "name": "门店三", "site_kind": "store"}},
    ("patch", "/api/v1/sites/{code}"): {"request": {"version": 1, "name": "门店三（新街口）"}},
    ("post", "/api/v1/sites/{code}/restore"): {"request": {"version": 1}},
    ("post", "/api/v1/locations"): {
        "request": {"code": "WH-A2", "name": "A2", "kind": "bin", "parent": "WH"}
    },
    ("patch", "/api/v1/locations/{code}"): {"request": {"version": 1, "name": "A2 冷藏"}},
    ("post", "/api/v1/locations/{code}/restore"): {"request": {"version": 1}},
    ("post", "/api/v1/suppliers"): {
        "request": {"code": "SUP-2", "name": "华东饮品有限公司", "email": "sales@huadong.example"}
    },
    ("patch", "/api/v1/suppliers/{code}"): {"request": {"version": 1, "email": "orders@huadong.example"}},
    ("post", "/api/v1/suppliers/{code}/restore"): {"request": {"version": 1}},
    ("post", "/api/v1/customers"): {
        "request": {"code": "CUST-2", "name": "城西便利店", "email": "buyer@cityshop.example"}
    },
    ("patch", "/api/v1/customers/{code}"): {"request": {"version": 1, "email": "owner@cityshop.example"}},
    ("post", "/api/v1/customers/{code}/restore"): {"request": {"version": 1}},
    ("post", "/api/v1/scrap"): {
        "request": {
            "site": "WH",
            "reason_code": "expired",
            "reason": "monthly clean-up",
            "lines": [{"sku": "SKU-LOT", "qty": "6", "lot": "L20261101"}],
        }
    },
    ("post", "/api/v1/tasks"): {
        "request": {"title": "Recount bin WH-A1", "note": "variance over 5%", "role": "clerk"}
    },
    ("patch", "/api/v1/tasks/{task_id}"): {"request": {"version": 1, "note": "recounted: 97"}},
    ("post", "/api/v1/documents/{kind}/{number}/comments"): {
        "request": {"body": "Driver will arrive at 14:00"}
    },
    ("post", "/api/v1/roles"): {
        "request": {"code": "auditor", "name": "审计员", "permissions": ["audit.view", "stock.view"]}
    },
    ("patch", "/api/v1/roles/{code}"): {"request": {"version": 1, "name": "内审"}},
    ("post", "/api/v1/users"): {
        "request": {"username": "clerk1", "password": "correct-horse-battery", "display_name": "仓管员一"}
    },
    ("patch", "/api/v1/users/{username}"): {"request": {"display_name": "仓管员一"}},
    ("put", "/api/v1/users/{username}/password"): {"request": {"new_password": "correct-horse-battery-2"}},
    ("put", "/api/v1/users/{username}/assignments"): {"request": {"assignments": [{"role": "clerk"}]}},
    ("post", "/api/v1/approvals/{instance_id}/decision"): {
        "request": {"decision": "approve", "comment": "OK for the weekend"}
    },
    ("post", "/api/v1/thresholds/{sku}/{site}/override"): {
        "request": {
            "safety_stock": "20",
            "reorder_point": "40",
            "max_stock": "120",
            "reason": "promotion week",
            "expires_on": "2026-12-31",
        }
    },
    ("post", "/api/v1/work-orders"): {
        "request": {"sku": "SKU-1", "site": "WH", "qty": "50", "note": "gift packs"}
    },
    ("put", "/api/v1/work-orders/{number}/components"): {
        "request": {"components": [{"sku": "SKU-KG", "qty": "12.5"}]}
    },
    ("post", "/api/v1/work-orders/{number}/complete"): {"request": {}},
    ("post", "/api/v1/work-orders/{number}/cancel"): {"request": {}},
    ("post", "/api/v1/assemblies/install"): {
        "request": {"parent": "PUMP-241124-00017", "child": "MOTOR-241120-00003", "sku": "MOTOR"}
    },
    ("post", "/api/v1/assemblies/remove"): {
        "request": {
            "child": "MOTOR-241120-00003",
            "fate": "in_stock",
            "site": "WH",
            "reason": "replaced under warranty",
            "sku": "MOTOR",
        }
    },
    ("post", "/api/v1/repairs"): {
        "request": {"serial": "PUMP-241124-00017", "fault": "does not start", "customer": "CUST-1"}
    },
    ("post", "/api/v1/repairs/{number}/actions"): {
        "request": {"version": 1, "kind": "diagnose", "note": "motor burnt out"}
    },
    ("post", "/api/v1/repairs/{number}/close"): {
        "request": {"version": 3, "outcome": "repaired", "resolution": "motor replaced"}
    },
    ("post", "/api/v1/repairs/{number}/cancel"): {"request": {"version": 1}},
    ("post", "/api/v1/recalls"): {
        "request": {"sku": "SKU-LOT", "lot": "L20261101", "reason": "supplier quality notice"}
    },
    ("post", "/api/v1/serial-rules"): {
        "request": {
            "code": "PUMP",
            "name": "水泵序列号",
            "sku": "SKU-1",
            "template": "{cat}-{date:%y%m%d}-{seq:05}{check:gs1}",
        }
    },
    ("patch", "/api/v1/serial-rules/{code}"): {"request": {"version": 1, "name": "水泵序列号（新）"}},
    ("post", "/api/v1/serial-rules/preview"): {
        "request": {"template": "{cat}-{date:%y%m%d}-{seq:05}{check:gs1}", "sku": "SKU-1", "site": "WH"}
    },
    ("post", "/api/v1/serials/generate"): {"request": {"sku": "SKU-1", "count": 10, "site": "WH"}},
    ("post", "/api/v1/serials/check"): {"request": {"code": "FOOD-261124-000017", "sku": "SKU-1"}},
    ("post", "/api/v1/suggestions/accept"): {"request": {"ids": [12, 13], "reason": ""}},
    ("post", "/api/v1/suggestions/dismiss"): {"request": {"ids": [14], "reason": "store closed this week"}},
    ("post", "/api/v1/suggestions/run"): {"request": {}},
    ("post", "/api/v1/planning/rules"): {
        "request": {
            "name": "store_top_up",
            "kind": "replenish",
            "priority": 15,
            "target": "site_kind = 'store' AND available + in_transit_in < safety_stock",
            "source": "site_kind = 'central'",
            "quantity": "max_stock - available - in_transit_in",
            "prefer": ["same_region", "lead_time"],
            "approval_policy": "transfer",
            "cooldown_days": 1,
        }
    },
    ("post", "/api/v1/planning/rules/preview"): {
        "request": {
            "name": "store_top_up",
            "kind": "replenish",
            "priority": 15,
            "target": "site_kind = 'store' AND available + in_transit_in < safety_stock",
            "source": "site_kind = 'central'",
            "quantity": "max_stock - available - in_transit_in",
            "prefer": ["same_region", "lead_time"],
            "approval_policy": "transfer",
            "cooldown_days": 1,
        }
    },
    ("put", "/api/v1/planning/rules/{name}"): {
        "request": {
            "name": "store_top_up",
            "kind": "replenish",
            "priority": 12,
            "target": "site_kind = 'store' AND available + in_transit_in < safety_stock",
            "source": "site_kind = 'central'",
            "quantity": "max_stock - available - in_transit_in",
            "prefer": ["same_region", "lead_time"],
            "approval_policy": "transfer",
            "cooldown_days": 1,
            "version": 1,
        }
    },
    ("post", "/api/v1/planning/rules/{name}/restore"): {"request": {"version": 1}},
    ("put", "/api/v1/planning/settings"): {"request": {"version": 1}},
    ("post", "/api/v1/promotions"): {
        "request": {
            "code": "DOUBLE12",
            "name": "双十二",
            "starts_on": "2026-12-10",
            "ends_on": "2026-12-12",
            "uplift_pct": 80,
            "note": "online only",
        }
    },
    ("patch", "/api/v1/promotions/{code}"): {"request": {"version": 1, "uplift_pct": 60}},
    ("post", "/api/v1/labels"): {"request": {"template": "shelf-50x30", "sku": "SKU-1"}},
    ("post", "/api/v1/label-templates"): {
        "request": {"code": "shelf-50x30", "name": "货架标签 50×30", "width_mm": 50, "height_mm": 30}
    },
    ("patch", "/api/v1/label-templates/{code}"): {"request": {"version": 1, "name": "货架标签"}},
    ("post", "/api/v1/alerts/{alert_id}/acknowledge"): {
        "request": {"note": "transfer TO-20261124-0003 on its way"}
    },
    ("post", "/api/v1/alerts/{alert_id}/resolve"): {"request": {"note": "stock arrived"}},
    ("post", "/api/v1/alert-rules"): {
        "request": {"code": "low-stock-stores", "name": "门店低库存", "condition": "available < safety_stock"}
    },
    ("put", "/api/v1/alert-rules/{code}"): {
        "request": {"version": 1, "name": "门店低库存", "condition": "available < reorder_point"}
    },
    ("post", "/api/v1/alert-subscriptions"): {"request": {"role": "store_manager"}},
    ("post", "/api/v1/channels"): {
        "request": {
            "code": "ops-robot",
            "name": "运营群机器人",
            "kind": "wecom",
            "url": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=KEY",
        }
    },
    ("put", "/api/v1/channels/{code}"): {"request": {"version": 1, "active": False}},
    ("post", "/api/v1/reports"): {"request": {"kind": "daily", "period_start": "2026-11-23"}},
    ("post", "/api/v1/reports/subscriptions"): {"request": {"kind": "weekly", "role": "inventory_director"}},
    ("post", "/api/v1/offline/batch"): {
        "request": {
            "device": "pda-01",
            "operations": [
                {
                    "id": "7f1c2a4e-0001",
                    "seq": 1,
                    "kind": "purchase.receive",
                    "at": "2026-11-24T09:12:00+08:00",
                    "payload": {
                        "number": "PO-20261124-0001",
                        "lines": [{"line_no": 1, "qty": "200", "bin": "WH-A1"}],
                    },
                },
                {
                    "id": "7f1c2a4e-0002",
                    "seq": 2,
                    "kind": "stock.move",
                    "at": "2026-11-24T09:20:00+08:00",
                    "payload": {
                        "sku": "SKU-1",
                        "from_site": "WH",
                        "to_site": "WH",
                        "qty": "50",
                        "bin": "WH-A1",
                        "to_bin": "WH-A2",
                    },
                },
            ],
        }
    },
    ("post", "/api/v1/offline/review/{op_id}/dismiss"): {"request": {"note": "done again by hand"}},
    ("put", "/api/v1/print-templates/{document_type}"): {
        "request": {"name": "standard", "version": 1, "body": "<h1>{{ document.number }}</h1>"}
    },
    ("post", "/api/v1/print-templates/{document_type}/preview"): {
        "request": {"body": "<h1>{{ document.number }}</h1>"}
    },
    ("post", "/api/v1/webhooks"): {
        "request": {
            "code": "erp",
            "name": "ERP sync",
            "url": "https://erp.example.com/hooks/cangliu",
            "events": ["stock.changed", "alert.*"],
        }
    },
    ("put", "/api/v1/webhooks/{code}"): {
        "request": {"version": 1, "events": ["stock.changed"], "active": True}
    },
}

EXAMPLES[("post", "/api/v1/custom-fields")] = {
    "request": {
        "entity": "sku",
        "key": "shelf_life_note",
        "label_zh": "保质期说明",
        "label_en": "Shelf-life note",
        "type": "text",
    }
}
EXAMPLES[("put", "/api/v1/custom-fields/{entity}/{key}")] = {
    "request": {"version": 1, "label_zh": "保质期备注", "required": False}
}
EXAMPLES[("patch", "/api/v1/serials/{code}")] = {
    "request": {"custom": {"warranty_card": "WC-2026-0042", "installer": None}}
}


# Answers, as the demo gives them.
STOCK_ROW: dict[str, Any] = {
    "sku": "SKU-0001",
    "sku_name": "薯片 001",
    "sku_name_en": "Potato chips 001",
    "uom": "pcs",
    "site": "WH-CENTRAL",
    "region": "华东",
    "on_hand": "389",
    "reserved": "8",
    "available": "380",
    "in_transit_in": "0",
    "in_transit_out": "13",
    "on_order": "160",
    "quality_hold": "1",
    "damaged": "0",
}
PURCHASE_ORDER: dict[str, Any] = {
    "number": "PO-20261124-0009",
    "state": "partially_received",
    "version": 3,
    "supplier": "SUP-01",
    "site": "WH-CENTRAL",
    "currency": "CNY",
    "rate": "1",
    "expected_date": None,
    "total": "384.00",
    "total_base": "384.00",
    "reason": "",
    "created_by": "admin",
    "created_at": "2026-11-24T04:36:47.202288+00:00",
    "custom": {},
    "allowed_actions": ["cancel", "close", "receive_all", "receive_part", "return"],
    "lines": [
        {
            "line_no": 1,
            "sku": "SKU-0001",
            "qty": "120",
            "price": "3.2",
            "received_qty": "80",
            "returned_qty": "0",
            "open_qty": "40",
        }
    ],
}
WEBHOOK = {
    "code": "erp",
    "name": "ERP sync",
    "url": "https://erp.example.com/hooks/cangliu",
    "events": ["stock.changed", "alert.*"],
    "active": True,
    "has_secret": True,
    "secret": "mYwO2BfTGpp2wy_mUeOJBshyfLToX0YRUiy2R8BoD3g",
    "version": 1,
    "created_at": "2026-11-24T04:37:04.980239Z",
    "updated_at": "2026-11-24T04:37:04.980239Z",
}
DELIVERY = {
    "id": 3,
    "channel": "erp",
    "kind": "test",
    "event_id": None,
    "state": "sent",
    "attempts": 1,
    "next_at": "2026-11-24T04:39:07.043929Z",
    "last_status": 200,
    "last_error": "",
    "created_at": "2026-11-24T04:37:05.355230Z",
    "sent_at": "2026-11-24T04:37:07.449111Z",
    "payload": {"at": "2026-11-24T04:37:05.355230+00:00", "data": {"test": True, "by": "admin"}},
}
RESPONSES: dict[tuple[str, str], Any] = {
    ("post", "/api/v1/auth/login"): {
        "access_token": "xiuKzRuqrSWuop6vGMsYbX3nPcmxzu1mz6Ln5CZZO6s",
        "token_type": "bearer",
        "expires_in": 43200,
    },
    ("post", "/api/v1/auth/tokens"): {
        "id": "2a58cd9b62db49a8bca3",
        "name": "erp-sync",
        "created_at": "2026-11-24T04:40:24.553534Z",
        "expires_at": "2027-02-22T04:40:24.553534Z",
        "last_used_at": None,
        "permissions": ["purchase.create", "purchase.post", "purchase.view", "stock.view"],
        "token": "M3dMLD87tvQhcvzLMOYdyKJEJ9mmf3aFP6WfSMx-Dc4",
    },
    ("get", "/api/v1/stock"): {"items": [STOCK_ROW], "next_cursor": "WyJTS1UtMDAwMSIsICJXSC1DRU5UUkFMIl0="},
    ("get", "/api/v1/stock/{sku_code}"): {
        "sku": "SKU-0001",
        "name": "薯片 001",
        "name_en": "Potato chips 001",
        "uom": "pcs",
        "sites": [
            {k: v for k, v in STOCK_ROW.items() if k not in ("sku", "sku_name", "sku_name_en", "uom")}
            | {"site_name": "中央仓"}
        ],
    },
    ("post", "/api/v1/stock/move"): {
        "ref": "a3d7398d9c454426a98e",
        "operation": "move",
        "occurred_at": "2026-11-24T04:37:25.824497+00:00",
        "moves": [
            {
                "sku": "SKU-0001",
                "qty": "20",
                "from": "WH-CENTRAL-A01",
                "to": "WH-CENTRAL-A02",
                "from_status": "available",
                "to_status": "available",
                "lot": "",
                "unit_cost": "4.825446",
                "value": "96.50892",
            }
        ],
    },
    ("get", "/api/v1/purchase-orders"): {
        "items": [
            {
                "number": "PO-20261124-0009",
                "state": "partially_received",
                "supplier": "SUP-01",
                "site": "WH-CENTRAL",
                "currency": "CNY",
                "expected_date": None,
                "version": 3,
                "created_at": "2026-11-24T04:36:47.202288+00:00",
            }
        ],
        "next_cursor": "PO-20261124-0009",
    },
    ("post", "/api/v1/purchase-orders"): PURCHASE_ORDER
    | {
        "state": "draft",
        "version": 1,
        "allowed_actions": ["cancel", "edit", "submit"],
        "lines": [PURCHASE_ORDER["lines"][0] | {"received_qty": "0", "open_qty": "120"}],
    },
    ("get", "/api/v1/purchase-orders/{number}"): PURCHASE_ORDER,
    ("post", "/api/v1/purchase-orders/{number}/receive"): PURCHASE_ORDER,
    ("get", "/api/v1/transfers"): {
        "items": [
            {
                "number": "TO-20261124-0010",
                "state": "shipped",
                "source": "WH-CENTRAL",
                "dest": "ST-SH01",
                "version": 3,
                "expected_arrival": None,
                "created_at": "2026-11-24T04:32:20.933463+00:00",
                "shipped_at": "2026-11-24T04:32:20.933463+00:00",
                "received_at": None,
            }
        ],
        "next_cursor": "TO-20261124-0010",
    },
    ("get", "/api/v1/webhooks"): {"items": [WEBHOOK | {"secret": None}], "next_cursor": None},
    ("post", "/api/v1/webhooks"): WEBHOOK,
    ("get", "/api/v1/webhooks/{code}"): WEBHOOK | {"secret": None},
    ("post", "/api/v1/webhooks/{code}/test"): DELIVERY
    | {"state": "pending", "attempts": 0, "sent_at": None, "last_status": None},
    ("get", "/api/v1/webhooks/{code}/deliveries"): {"items": [DELIVERY], "next_cursor": None},
    ("post", "/api/v1/offline/batch"): {
        "device": "pda-01",
        "next_seq": 3,
        "results": [
            {"id": "7f1c2a4e-0001", "seq": 1, "status": "applied", "result": PURCHASE_ORDER, "error": None},
            {
                "id": "7f1c2a4e-0002",
                "seq": 2,
                "status": "failed",
                "result": None,
                "error": {
                    "title": "Insufficient stock",
                    "detail": "Insufficient stock of SKU-0001 at WH-CENTRAL-A01: requested 50, available 20",
                    "errors": [],
                },
            },
        ],
    },
}
for key, answer in RESPONSES.items():
    EXAMPLES.setdefault(key, {})["response"] = answer

# Answers that are not JSON: (method, path) → {status: OpenAPI content}.
MEDIA: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}
