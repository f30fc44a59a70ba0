"""The approval policy settings pages (issue 5): the policies in force, one policy as a table and
as YAML, saving typed or uploaded YAML as a new version (refused input kept with every path and
reason), download, the version history with restore, and who may see and save."""

import html

import pytest
from fastapi.testclient import TestClient

from cangliu.services import approvals, auth, roles
from tests.conftest import PASSWORD
from tests.web.conftest import login

SIMPLE = """document_type: transfer
branches:
  - name: everything
    condition: amount >= 0
    steps:
      - {name: director_check, approvers: {kind: role, role: inventory_director}}
  - name: default
    steps: []
"""
# Two problems: an unknown role and a step without a name.
BAD = """document_type: transfer
branches:
  - name: default
    steps:
      - {name: boss, approvers: {kind: role, role: chief_of_everything}}
      - {approvers: {kind: manager}}
"""


@pytest.fixture
def director(app, db, network) -> TestClient:
    """The inventory director: may see the settings, not change them."""
    auth.create_user(db.uow(), username="director", password=PASSWORD)
    roles.set_assignments(db.uow(), network, "director", [{"role": "inventory_director", "scope": "all"}])
    with login(app, "director") as client:
        yield client


def _version(db) -> int:
    return approvals.active_policy(db.uow(), "transfer").version


def _save(client: TestClient, text: str, path: str = "/admin/approval-policies/transfer"):
    return client.post(path, data={"csrf_token": client.csrf, "yaml": text}, follow_redirects=False)


def test_the_policies_in_force_are_listed_for_settings_viewers_only(app, db, network, browser,
                                                                    director):
    browser.cookies.set("lang", "en")
    page = browser.get("/admin/approval-policies")
    assert page.status_code == 200
    assert 'href="/admin/approval-policies"' in page.text  # in the navigation
    for kind in ("transfer", "purchase", "count", "scrap", "sales_return"):
        assert f'href="/admin/approval-policies/{kind}"' in page.text
    assert "Built-in default" in page.text and "Approval times" in page.text
    assert director.get("/admin/approval-policies").status_code == 200
    auth.create_user(db.uow(), username="sales", password=PASSWORD)
    roles.set_assignments(db.uow(), network, "sales", [{"role": "sales", "scope": "all"}])
    with login(app, "sales") as sales:
        assert 'href="/admin/approval-policies"' not in sales.get("/account").text
        assert sales.get("/admin/approval-policies").status_code == 403
        assert sales.get("/admin/approval-policies/transfer").status_code == 403


def test_a_policy_reads_as_branches_and_steps_with_the_fields_conditions_may_use(browser):
    page = browser.get("/admin/approval-policies/transfer")
    assert page.status_code == 200
    text = page.text
    assert "cross_region_or_large" in text and "cross_region OR amount &gt;= 50000" in text
    assert "库存总监" in text and "regional_manager" in text  # approvers and escalation roles
    for field in ("generated_by_rule", "dest_kind", "amount"):  # the help box
        assert f"<code>{field}</code>" in text
    assert "<code>auto_reject</code>" in text
    assert browser.get("/admin/approval-policies/invoice").status_code == 404


def test_saving_valid_yaml_makes_a_new_version(db, browser):
    browser.cookies.set("lang", "en")
    saved = _save(browser, SIMPLE)
    assert saved.status_code == 303 and saved.headers["location"].endswith("?saved=2")
    assert _version(db) == 2
    page = browser.get(saved.headers["location"])
    assert "Saved as version 2." in page.text and "director_check" in page.text
    assert "admin" in page.text.split("Version history")[1]  # who saved it


def test_bad_yaml_is_refused_with_each_path_and_reason_and_the_text_kept(db, browser):
    refused = _save(browser, BAD)
    assert refused.status_code == 422
    page = html.unescape(refused.text)
    assert "branches[0].steps[0].approvers.role: 未知角色 chief_of_everything" in page.replace(
        "<code>", "").replace("</code>", "")
    assert "branches[0].steps[1].name" in page
    assert BAD in page  # the entered text is still in the editor
    assert _version(db) == 1
    broken = _save(browser, "document_type: transfer\nbranches: [\n")
    assert broken.status_code == 422 and "不是有效的 YAML" in broken.text
    assert "branches: [" in broken.text


def test_an_uploaded_file_is_validated_and_saved_like_typed_text(db, browser):
    upload = "/admin/approval-policies/transfer/upload"
    refused = browser.post(upload, data={"csrf_token": browser.csrf},
                           files={"file": ("bad.yaml", BAD.encode(), "application/yaml")})
    assert refused.status_code == 422 and "chief_of_everything" in refused.text
    assert _version(db) == 1
    saved = browser.post(upload, data={"csrf_token": browser.csrf}, follow_redirects=False,
                         files={"file": ("p.yaml", SIMPLE.encode("utf-8-sig"), "application/yaml")})
    assert saved.status_code == 303 and _version(db) == 2


def test_the_yaml_downloads_as_a_file(browser):
    file = browser.get("/admin/approval-policies/purchase/download")
    assert file.status_code == 200
    assert file.headers["content-disposition"] == (
        'attachment; filename="approval-policy-purchase-v1.yaml"')
    assert file.text.startswith("document_type: purchase\n")


def test_an_earlier_version_is_viewed_and_restored_as_the_newest(db, browser):
    browser.cookies.set("lang", "en")
    _save(browser, SIMPLE)
    old = browser.get("/admin/approval-policies/transfer?version=1")
    assert old.status_code == 200 and "cross_region_or_large" in old.text
    assert "Restore this version" in old.text
    assert "director_check" in browser.get("/admin/approval-policies/transfer/download?version=2").text
    restored = browser.post("/admin/approval-policies/transfer/restore", follow_redirects=False,
                            data={"csrf_token": browser.csrf, "version": "1"})
    assert restored.status_code == 303 and _version(db) == 3
    assert [b.name for b in approvals.active_policy(db.uow(), "transfer").branches][-2:] == [
        "cross_region_or_large", "default"]
    assert browser.get("/admin/approval-policies/transfer?version=9").status_code == 404


def test_a_settings_viewer_without_edit_may_not_save(db, director):
    director.cookies.set("lang", "en")
    page = director.get("/admin/approval-policies/transfer")
    assert "Save as a new version" not in page.text and "readonly" in page.text
    assert _save(director, SIMPLE).status_code == 403
    assert director.post("/admin/approval-policies/transfer/restore",
                         data={"csrf_token": director.csrf, "version": "1"}).status_code == 403
    assert _version(db) == 1


def test_approval_times_are_served_to_report_viewers(api, director, db, network):
    figures = api.get("/api/v1/approvals/metrics", params={"since": "2026-01-01T00:00:00Z"})
    assert figures.status_code == 200
    transfer = figures.json()["document_types"]["transfer"]
    assert transfer["approvals"]["count"] == 0 and transfer["overdue"] == 0
    assert api.get("/api/v1/approvals/metrics", params={"since": "2026-01-01T00:00"}).status_code == 422
    auth.create_user(db.uow(), username="clerk", password=PASSWORD)
    roles.set_assignments(db.uow(), network, "clerk", [{"role": "clerk", "scope": "all"}])
    with login(api.app, "clerk") as clerk:
        assert clerk.get("/api/v1/approvals/metrics").status_code == 403
