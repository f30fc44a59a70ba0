"""Transfer rules on the web: the API (/api/v1/planning/rules) and the settings page
/admin/planning-rules — list, read, save from YAML or JSON fields, refused input with every field
and reason, stale versions, enable/disable, restore, delete, preview, and who may do what."""

import html
from typing import Any

import polars as pl
import pytest
from fastapi.testclient import TestClient

from cangliu.core.planning.rule_builtins import BUILTIN_RULES
from cangliu.core.planning.rules import STATE_COLUMNS
from cangliu.services import auth, planning, planning_rules, roles
from tests.conftest import PASSWORD
from tests.web.conftest import login

RULES = "/api/v1/planning/rules"
PAGE = "/admin/planning-rules"
YAML = {"content-type": "application/yaml"}
MINE = """\
# fills the east stores from the central warehouse
name: east_refill
kind: replenish
priority: 15
target: "region = 'east' AND available < reorder_point"
source: "site_kind = 'central'"
quantity: "max_stock - available"
"""


def _state() -> pl.DataFrame:
    """A store below safety stock and a central warehouse with plenty (for the preview)."""
    blank = {name: 0.0 if kind == "number" else "" for name, (kind, _) in STATE_COLUMNS.items()}
    rows = [{"sku": "SKU-1", "site": "S1", "site_kind": "store", "region": "east", "available": 2.0,
             "safety_stock": 5.0, "reorder_point": 8.0, "max_stock": 20.0, "forecast_daily": 1.0,
             "pack_size": 1.0},
            {"sku": "SKU-1", "site": "WH", "site_kind": "central", "region": "east", "available": 100.0,
             "safety_stock": 10.0, "reorder_point": 30.0, "max_stock": 200.0, "forecast_daily": 1.0,
             "pack_size": 1.0}]
    schema = {name: pl.Float64 if kind == "number" else pl.Utf8 for name, (kind, _) in STATE_COLUMNS.items()}
    return pl.DataFrame([blank | r for r in rows], schema=schema).with_columns(
        sku_id=pl.lit(1, pl.Int64), site_id=pl.Series([1, 2], dtype=pl.Int64), note=pl.lit(""))


@pytest.fixture(autouse=True)
def planning_state(monkeypatch):
    monkeypatch.setattr(planning, "build_state", lambda session, today: _state())


@pytest.fixture
def director(app, db, network) -> TestClient:
    """The inventory director: sees planning and the settings, may not change settings."""
    auth.create_user(db.uow(), username="director", password=PASSWORD)
    roles.set_assignments(db.uow(), network, "director", [{"role": "inventory_director", "scope": "all"}])
    with login(app, "director") as client:
        yield client


def _fields(body: dict[str, Any]) -> list[tuple[str, str]]:
    return [(e["field"], e["message"]) for e in body["errors"]]


# --- API ---------------------------------------------------------------------------------------

def test_the_api_lists_the_built_ins_then_saves_a_rule_from_yaml_or_json(api):
    listed = api.get(RULES).json()["items"]
    assert [r["name"] for r in listed] == list(BUILTIN_RULES)
    created = api.post(RULES, content=MINE, headers=YAML)
    assert created.status_code == 201, created.text
    made = created.json()
    assert (made["name"], made["priority"], made["version"]) == ("east_refill", 15, 1)
    fields = {"name": "json_rule", "kind": "balance", "target": "available < reorder_point",
              "source": "available > max_stock", "quantity": "reorder_point - available", "priority": 25}
    assert api.post(RULES, json=fields).status_code == 201
    got = api.get(f"{RULES}/east_refill").json()
    assert got["yaml"] == MINE and got["target"] == "region = 'east' AND available < reorder_point"
    assert [h["action"] for h in got["history"]] == ["create"]
    assert [r["name"] for r in api.get(RULES).json()["items"]][:3] == [
        "store_replenishment", "east_refill", "regional_balancing"]


def test_a_bad_rule_is_a_422_problem_naming_each_field(api):
    bad = MINE.replace("available < reorder_point", "stock < 1").replace("max_stock - available", "-3")
    response = api.post(RULES, content=bad, headers=YAML)
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    assert [f for f, _ in _fields(response.json())] == ["target", "quantity"]
    assert api.post(RULES, content="name: [", headers=YAML).json()["errors"][0]["field"] == "yaml"
    assert api.post(RULES, json=["not", "an", "object"]).status_code == 422
    dup = api.post(RULES, content=BUILTIN_RULES["store_replenishment"], headers=YAML)
    assert _fields(dup.json())[0][0] == "name"
    assert [r["name"] for r in api.get(RULES).json()["items"]] == list(BUILTIN_RULES)


def test_an_update_needs_the_current_version_and_can_be_restored(api):
    api.post(RULES, content=MINE, headers=YAML)
    assert api.put(f"{RULES}/east_refill", content=MINE, headers=YAML).status_code == 422  # no version
    edited = api.put(f"{RULES}/east_refill?version=1", content=MINE.replace("priority: 15", "priority: 16"),
                     headers=YAML)
    assert edited.status_code == 200 and edited.json()["version"] == 2
    stale = api.put(f"{RULES}/east_refill", json={"yaml": MINE, "version": 1})
    assert stale.status_code == 409 and stale.json()["current_version"] == 2
    restored = api.post(f"{RULES}/east_refill/restore", json={"version": 1, "base_version": 2})
    assert (restored.json()["version"], restored.json()["priority"]) == (3, 15)
    assert api.get(f"{RULES}/east_refill/versions/2").json()["yaml"].count("priority: 16") == 1


def test_enable_disable_delete_and_reset_through_the_api(api):
    api.post(RULES, content=MINE, headers=YAML)
    assert api.post(f"{RULES}/east_refill/disable").json()["enabled"] is False
    assert api.post(f"{RULES}/east_refill/enable").json()["enabled"] is True
    assert api.delete(f"{RULES}/regional_balancing").status_code == 409
    assert api.delete(f"{RULES}/east_refill?version=1").status_code == 409  # now version 3
    assert api.delete(f"{RULES}/east_refill").status_code == 204
    assert api.get(f"{RULES}/east_refill").status_code == 404
    api.post(f"{RULES}/store_replenishment/disable")
    assert api.post(f"{RULES}/store_replenishment/reset").json()["enabled"] is True


def test_preview_shows_proposals_without_saving(api):
    shown = api.post(f"{RULES}/preview", content=BUILTIN_RULES["store_replenishment"], headers=YAML)
    assert shown.status_code == 200, shown.text
    body = shown.json()
    assert (body["transfer_count"], body["purchase_count"]) == (1, 0)
    assert {k: body["transfers"][0][k] for k in ("from_site", "to_site", "qty")} == {
        "from_site": "WH", "to_site": "S1", "qty": 18.0}
    assert api.post(f"{RULES}/preview", content="name: x\nkind: move\n", headers=YAML).status_code == 422
    assert api.get(f"{RULES}/store_replenishment").json()["history"][0]["saved_by"] is None  # nothing saved


def test_reading_needs_planning_view_and_writing_settings_edit(app, db, network, director):
    auth.create_user(db.uow(), username="clerk", password=PASSWORD)
    with TestClient(app) as clerk:
        token = clerk.post("/api/v1/auth/login", json={"username": "clerk", "password": PASSWORD}).json()
        clerk.headers["Authorization"] = f"Bearer {token['access_token']}"
        assert clerk.get(RULES).status_code == 403
    with TestClient(app) as boss:
        token = boss.post("/api/v1/auth/login", json={"username": "director", "password": PASSWORD}).json()
        boss.headers["Authorization"] = f"Bearer {token['access_token']}"
        assert boss.get(RULES).status_code == 200
        assert boss.post(RULES, content=MINE, headers=YAML).status_code == 403
        assert boss.post(f"{RULES}/regional_balancing/disable").status_code == 403


# --- pages -------------------------------------------------------------------------------------

def test_the_page_lists_the_rules_with_their_conditions_and_a_help_box(browser):
    browser.cookies.set("lang", "en")
    page = browser.get(PAGE)
    assert page.status_code == 200
    for name in BUILTIN_RULES:
        assert f'href="{PAGE}/{name}"' in page.text
    assert "site_kind = 'store' AND available + in_transit_in < safety_stock" in html.unescape(page.text)
    rule = browser.get(f"{PAGE}/store_replenishment").text
    assert "days_since_last_sale" in rule and "GREATEST()" in rule and "Validate and preview" in rule
    assert "Reset to built-in" in rule and "Delete" not in rule.split("Version history")[0]


def test_validate_and_preview_shows_the_proposals_or_the_errors_and_saves_nothing(browser, db):
    browser.cookies.set("lang", "en")
    shown = browser.post(f"{PAGE}/new/preview", data={"csrf_token": browser.csrf, "yaml": MINE})
    assert shown.status_code == 200 and "1 transfers and 0 purchases" in shown.text
    assert "<td>WH</td><td>S1</td>" in shown.text
    broken = MINE.replace("max_stock - available", "SHELL(1)")
    bad = browser.post(f"{PAGE}/new/preview", data={"csrf_token": browser.csrf, "yaml": broken})
    assert bad.status_code == 422 and "<code>quantity</code>" in bad.text
    assert "quantity: &#34;SHELL(1)&#34;" in bad.text  # the text is kept as entered
    with db.read() as s:
        assert [r["name"] for r in planning_rules.list_rules(s)] == list(BUILTIN_RULES)


def test_a_rule_is_created_edited_disabled_and_restored_on_the_page(browser, db):
    browser.cookies.set("lang", "en")
    form = {"csrf_token": browser.csrf, "yaml": MINE}
    created = browser.post(f"{PAGE}/new", data=form, follow_redirects=False)
    assert created.status_code == 303 and created.headers["location"] == f"{PAGE}/east_refill?saved=1"
    edited = browser.post(f"{PAGE}/east_refill", data=form | {"version": "1", "yaml": MINE.replace(
        "priority: 15", "priority: 16")}, follow_redirects=False)
    assert edited.headers["location"].endswith("?saved=2")
    stale = browser.post(f"{PAGE}/east_refill", data=form | {"version": "1"})
    assert stale.status_code == 409 and "now version 2" in stale.text
    off = browser.post(f"{PAGE}/east_refill/disable", data={"csrf_token": browser.csrf, "version": "2"},
                       follow_redirects=False)
    assert off.status_code == 303
    old = browser.get(f"{PAGE}/east_refill?version=1").text
    assert "Restore this version" in old and "priority: 15" in old
    browser.post(f"{PAGE}/east_refill/restore", data={"csrf_token": browser.csrf, "version": "3",
                                                      "restore": "1"})
    with db.read() as s:
        rule = planning_rules.get_rule(s, "east_refill")
    assert (rule["version"], rule["priority"], rule["enabled"]) == (4, 15, True)
    gone = browser.post(f"{PAGE}/east_refill/delete", data={"csrf_token": browser.csrf, "version": "4"},
                        follow_redirects=False)
    assert gone.status_code == 303 and browser.get(f"{PAGE}/east_refill").status_code == 404


def test_a_bad_save_shows_every_field_and_a_built_in_is_not_deleted(browser):
    browser.cookies.set("lang", "en")
    bad = browser.post(f"{PAGE}/new", data={"csrf_token": browser.csrf, "yaml": MINE.replace(
        "kind: replenish", "kind: teleport")})
    assert bad.status_code == 422 and "<code>kind</code>" in bad.text
    kept = browser.post(f"{PAGE}/regional_balancing/delete",
                        data={"csrf_token": browser.csrf, "version": "1"})
    assert kept.status_code == 409 and "only disabled" in kept.text
    assert browser.post(f"{PAGE}/new", data={"csrf_token": "forged", "yaml": MINE}).status_code == 403


def test_the_director_may_view_and_preview_but_not_save(director):
    assert director.get(PAGE).status_code == 200
    page = director.get(f"{PAGE}/store_replenishment").text
    assert "校验并预览" in page and "重置为内置规则" not in page
    assert director.post(f"{PAGE}/store_replenishment/preview",
                         data={"csrf_token": director.csrf, "yaml": MINE}).status_code == 200
    assert director.post(f"{PAGE}/new", data={"csrf_token": director.csrf, "yaml": MINE}).status_code == 403
    assert director.get(f"{PAGE}/new").status_code == 403
