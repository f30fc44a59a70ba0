"""The planning settings page and API (service levels with their z, review period, default lead
times; saved only by those who may edit settings, errors per field, stale saves refused) and one
SKU × site's threshold page (levels, explanation, inputs, history, overrides by hand)."""

import re
from datetime import UTC, datetime, timedelta

import pytest

from cangliu.services import auth, planning_settings, roles, thresholds
from cangliu.services.postings import Meta
from cangliu.services.stock import Line, receive
from tests.conftest import PASSWORD
from tests.services.test_thresholds import _history
from tests.web.conftest import login
from tests.web.test_approval_authorization import _client

FORM = {"service_level_a": "99", "service_level_b": "95", "service_level_c": "90",
        "review_days": "14", "purchase_lead_days": "7", "purchase_lead_sd": "2",
        "transfer_lead_days": "2", "transfer_lead_sd": "0.5"}


@pytest.fixture
def people(db, network):
    """rm plans in 华东 (S1, WH) without editing settings; sm2 sees planning at S2 only; sm1 sees
    it at S1 without planning.edit; the clerk has no planning at all."""
    for username, role, scope in (("rm", "regional_manager", {"scope": "region", "region": "华东"}),
                                  ("sm1", "store_manager", {"scope": "sites", "sites": ["S1"]}),
                                  ("sm2", "store_manager", {"scope": "sites", "sites": ["S2"]}),
                                  ("clerk", "clerk", {"scope": "all"})):
        auth.create_user(db.uow(), username=username, password=PASSWORD)
        roles.set_assignments(db.uow(), network, username, [{"role": role, **scope}])


def _post(client, url, data):  # type: ignore[no-untyped-def]
    return client.post(url, data={**data, "csrf_token": client.csrf}, follow_redirects=False)


def _version(db) -> int:  # type: ignore[no-untyped-def]
    with db.read() as session:
        return planning_settings.state(session).version


def test_settings_page_shows_each_service_level_with_its_z_and_saves_after_checks(
        app, db, people):
    with login(app, "admin") as admin:
        page = admin.get("/admin/planning-settings")
        assert page.status_code == 200
        assert 'name="service_level_a" value="98"' in page.text and "z = 2.054" in page.text
        assert "z = 1.645" in page.text and "data-confirm=" in page.text
        typed = admin.get("/admin/planning-settings/z", params={"service_level_b": "97.5"})
        assert typed.text == '<small class="muted" data-z="b">z = 1.960</small>'
        assert "z = —" in admin.get("/admin/planning-settings/z",
                                    params={"service_level_c": "abc"}).text

        bad = _post(admin, "/admin/planning-settings",
                    {**FORM, "version": "0", "service_level_c": "97", "transfer_lead_sd": "-1"})
        assert bad.status_code == 422 and _version(db) == 0
        assert re.search(r'name="service_level_c" value="97"[^>]*aria-invalid', bad.text)
        assert bad.text.count('class="field-error"') == 2  # class C above B, negative σ

        done = _post(admin, "/admin/planning-settings", {**FORM, "version": "0"})
        assert done.status_code == 303 and _version(db) == 1
        with db.read() as session:
            assert planning_settings.load(session).service_levels.a == 0.99
        assert "z = 2.326" in admin.get("/admin/planning-settings").text

        stale = _post(admin, "/admin/planning-settings",
                      {**FORM, "version": "0", "review_days": "30"})
        assert stale.status_code == 409 and 'value="30"' in stale.text
        assert 'name="version" value="1"' in stale.text  # saving again applies it knowingly
        with db.read() as session:
            assert planning_settings.load(session).review_days == 14

        assert admin.post("/admin/planning-settings", data={**FORM, "version": "1"},
                          follow_redirects=False).status_code == 403  # no CSRF token


def test_settings_are_seen_by_planners_but_changed_only_by_those_who_edit_settings(
        app, db, people):
    with login(app, "rm") as rm:
        page = rm.get("/admin/planning-settings")
        assert page.status_code == 200 and " inert" in page.text
        assert _post(rm, "/admin/planning-settings", {**FORM, "version": "0"}).status_code == 403
    with login(app, "clerk") as clerk:
        assert clerk.get("/admin/planning-settings").status_code == 403
    assert _version(db) == 0


def test_settings_api_reads_and_writes_with_a_version(app, api, db, people):
    rm = _client(app, "rm")
    shown = rm.get("/api/v1/planning/settings").json()
    assert shown["version"] == 0 and shown["service_level_b"] == "95"
    assert shown["z"]["B"] == 1.645
    assert rm.put("/api/v1/planning/settings", json={"version": 0}).status_code == 403
    assert _client(app, "clerk").get("/api/v1/planning/settings").status_code == 403

    bad = api.put("/api/v1/planning/settings", json={"version": 0, "review_days": 0})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "review_days"
    assert api.put("/api/v1/planning/settings",
                   json={"version": 0, "surprise": 1}).status_code == 422
    saved = api.put("/api/v1/planning/settings", json={"version": 0, "service_level_a": 99.5,
                                                       "transfer_lead_days": "1.5"})
    assert saved.status_code == 200
    assert (saved.json()["version"], saved.json()["service_level_a"]) == (1, "99.5")
    assert saved.json()["transfer_lead_days"] == "1.5" and saved.json()["saved_by"] == "admin"
    stale = api.put("/api/v1/planning/settings", json={"version": 0, "review_days": 9})
    assert stale.status_code == 409 and stale.json()["current_version"] == 1


@pytest.fixture
def computed(db, network, people):
    receive(db.uow(), Meta(network), site="S1", lines=[Line("SKU-1", "12")])
    _history(db)
    thresholds.recompute(db.uow(), today=datetime.now(UTC).date())


def test_threshold_page_explains_the_levels_in_force_and_their_history(app, db, computed):
    with login(app, "sm1") as sm1:
        page = sm1.get("/planning/thresholds/SKU-1/S1")
        assert page.status_code == 200
        assert re.search(r"SS \d+ = [\d.]+ × √", page.text)
        for key in ("demand", "demand_sd", "lead_time", "lead_time_sd", "z", "abc", "pattern",
                    "model", "lead_time_source"):
            assert f'data-input="{key}"' in page.text
        assert 'action="/planning/thresholds/SKU-1/S1/override"' not in page.text  # view only
        sku_page = sm1.get("/stock/SKU-1").text
        assert 'href="/planning/thresholds/SKU-1/S1"' in sku_page
    with login(app, "sm2") as sm2:  # S1 lies outside sm2's sites: as if it did not exist
        assert sm2.get("/planning/thresholds/SKU-1/S1").status_code == 404
    with login(app, "clerk") as clerk:
        assert clerk.get("/planning/thresholds/SKU-1/S1").status_code == 403


def test_an_override_by_hand_is_checked_per_field_and_then_in_force(app, db, computed):
    expires = (datetime.now(UTC).date() + timedelta(days=7)).isoformat()
    form = {"safety_stock": "10", "reorder_point": "20", "max_stock": "60", "reason": "春节备货",
            "expires_on": expires}
    url = "/planning/thresholds/SKU-1/S1/override"
    with login(app, "sm1") as sm1:
        assert _post(sm1, url, form).status_code == 403  # may see, may not plan
    with login(app, "rm") as rm:
        page = rm.get("/planning/thresholds/SKU-1/S1").text
        assert f'action="{url}"' in page
        bad = _post(rm, url, {**form, "max_stock": "15"})
        assert bad.status_code == 422
        assert re.search(r'name="max_stock" value="15"[^<]*<span class="field-error">', bad.text)
        assert _post(rm, url, {**form, "expires_on": "soon"}).status_code == 422
        with db.read() as session:
            assert thresholds.history(session, "SKU-1", "S1")["overrides"] == []
        done = _post(rm, url, form)
        assert done.status_code == 303
        page = rm.get("/planning/thresholds/SKU-1/S1").text
        assert "春节备货" in page and ">rm<" in page
    with db.read() as session:
        levels = thresholds.by_code(session, datetime.now(UTC).date(), [("SKU-1", "S1")])
    assert levels[("SKU-1", "S1")].overridden and levels[("SKU-1", "S1")].reorder_point == 20
