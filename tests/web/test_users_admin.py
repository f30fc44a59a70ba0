"""Administering roles and users: the checkbox matrix, site scopes, versions, deactivation."""

import pytest
import yaml
from fastapi.testclient import TestClient

from cangliu.services import auth, roles
from tests.conftest import PASSWORD


def _token_client(app, username):
    client = TestClient(app)
    response = client.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.text
    client.headers["Authorization"] = f"Bearer {response.json()['access_token']}"
    return client


def _page_client(app, username):
    client = TestClient(app)
    page = client.get("/login").text
    csrf = page.split('name="csrf_token" value="')[1].split('"')[0]
    assert client.post("/login", data={"username": username, "password": PASSWORD,
                                       "csrf_token": csrf, "next": "/stock"},
                       follow_redirects=False).status_code == 303
    return client


def _user_with_role(db, admin, username, role, **scope):
    auth.create_user(db.uow(), username=username, password=PASSWORD)
    roles.set_assignments(db.uow(), admin, username, [{"role": role, **(scope or {"scope": "all"})}])


def _fields(response):
    return [e["field"] for e in response.json()["errors"]]


def test_a_role_built_from_checkboxes_limits_its_holder_to_its_permissions_and_sites(browser, app):
    saved = browser.post("/admin/roles/new", data={
        "csrf_token": browser.csrf, "code": "site_viewer", "name": "站点查看", "name_en": "Site viewer",
        "permission": ["site.view", "sku.view"], "rule-cost": "hidden", "rule-price": "readonly",
        "rule-margin": ""}, follow_redirects=False)
    assert saved.status_code == 303
    role = browser.get("/api/v1/roles/site_viewer").json()
    assert role["permissions"] == ["site.view", "sku.view"]
    assert (role["hidden_fields"], role["readonly_fields"]) == (["cost"], ["price"])

    created = browser.post("/admin/users/new", data={
        "csrf_token": browser.csrf, "username": "wang", "display_name": "王芳",
        "password": PASSWORD}, follow_redirects=False)
    assert created.status_code == 303
    assigned = browser.post("/admin/users/wang/assignments", data={
        "csrf_token": browser.csrf, "a-0-role": "site_viewer", "a-0-scope": "sites",
        "a-0-sites": ["S1"], "a-1-role": "", "a-1-scope": "all"}, follow_redirects=False)
    assert assigned.status_code == 303
    assert browser.get("/api/v1/users/wang").json()["assignments"] == [
        {"role": "site_viewer", "scope": "sites", "region": "", "sites": ["S1"]}]

    with _token_client(app, "wang") as wang:
        assert [s["code"] for s in wang.get("/api/v1/sites").json()["items"]] == ["S1"]
        assert wang.get("/api/v1/sites/S2").status_code == 404
        assert wang.get("/api/v1/suppliers").status_code == 403
        assert wang.get("/api/v1/users").status_code == 403


def test_the_role_editor_keeps_built_in_permissions_and_saves_their_field_rules(browser):
    page = browser.get("/admin/roles/clerk")
    assert page.status_code == 200
    assert 'value="transfer.post" aria-label' in page.text and "disabled" in page.text
    before = browser.get("/api/v1/roles/clerk").json()
    saved = browser.post("/admin/roles/clerk", data={
        "csrf_token": browser.csrf, "version": str(before["version"]), "name": "仓库员",
        "name_en": "Warehouse clerk", "rule-cost": "hidden", "rule-valuation": "hidden",
        "rule-margin": "", "rule-price": ""}, follow_redirects=False)
    assert saved.status_code == 303
    after = browser.get("/api/v1/roles/clerk").json()
    assert after["permissions"] == before["permissions"]
    assert (after["hidden_fields"], after["readonly_fields"]) == (["cost", "valuation"], [])
    stale = browser.post("/admin/roles/clerk", data={
        "csrf_token": browser.csrf, "version": str(before["version"]), "name": "仓库员"})
    assert stale.status_code == 409
    assert f'name="version" value="{after["version"]}"' in stale.text


def test_an_edit_based_on_an_old_role_version_is_refused(api):
    assert api.post("/api/v1/roles", json={"code": "auditor", "name": "审计",
                                           "permissions": ["audit.view"]}).status_code == 201
    first = api.patch("/api/v1/roles/auditor", json={"version": 1,
                                                      "permissions": ["audit.view", "audit.export"]})
    assert first.status_code == 200 and first.json()["version"] == 2
    stale = api.patch("/api/v1/roles/auditor", json={"version": 1, "name": "审计员"})
    assert stale.status_code == 409
    assert api.get("/api/v1/roles/auditor").json()["permissions"] == ["audit.export", "audit.view"]
    fixed = api.patch("/api/v1/roles/clerk", json={"version": 1, "permissions": ["audit.view"]})
    assert fixed.status_code == 422 and _fields(fixed) == ["permissions"]


def test_unknown_permissions_sites_and_fields_are_refused_naming_the_field(api):
    bad = api.post("/api/v1/roles", json={"code": "x", "name": "X", "permissions": ["site.fly"]})
    assert bad.status_code == 422 and _fields(bad) == ["permissions"]
    bad = api.post("/api/v1/roles", json={"code": "x", "name": "X", "hidden_fields": ["salary"]})
    assert bad.status_code == 422 and _fields(bad) == ["hidden_fields"]
    bad = api.post("/api/v1/roles", json={"code": "x", "name": "X", "colour": "red"})
    assert bad.status_code == 422 and _fields(bad) == ["colour"]
    assert api.post("/api/v1/users", json={"username": "zhao", "password": PASSWORD}
                    ).status_code == 201
    bad = api.put("/api/v1/users/zhao/assignments", json={"assignments": [
        {"role": "clerk", "scope": "all"}, {"role": "sales", "scope": "sites", "sites": ["NOPE"]}]})
    assert bad.status_code == 422 and _fields(bad) == ["assignments[1].sites"]
    bad = api.put("/api/v1/users/zhao/assignments", json={"assignments": [{"role": "boss"}]})
    assert bad.status_code == 422 and _fields(bad) == ["assignments[0].role"]
    assert api.get("/api/v1/users/zhao").json()["assignments"] == []


def test_a_new_user_needs_a_long_enough_password_and_a_free_username(api):
    short = api.post("/api/v1/users", json={"username": "qian", "password": "short"})
    assert short.status_code == 422 and _fields(short) == ["password"]
    assert api.post("/api/v1/users", json={"username": "admin", "password": PASSWORD}
                    ).status_code == 409


def test_a_clerk_may_not_open_the_administration(db, network, app):
    _user_with_role(db, network, "li", "clerk")
    with _token_client(app, "li") as li:
        assert li.get("/api/v1/users").status_code == 403
        assert li.get("/api/v1/roles").status_code == 403
    with _page_client(app, "li") as page:
        assert page.get("/admin/users").status_code == 403
        assert "/admin/users" not in page.get("/stock").text


def test_deactivating_a_user_ends_their_logins_until_reactivated(db, network, app, api):
    _user_with_role(db, network, "sun", "sales")
    with _token_client(app, "sun") as sun:
        assert sun.get("/api/v1/customers").status_code == 200
        off = api.patch("/api/v1/users/sun", json={"active": False, "display_name": "孙"})
        assert off.status_code == 200 and off.json()["active"] is False
        assert sun.get("/api/v1/customers").status_code == 401
        assert sun.post("/api/v1/auth/login", json={"username": "sun", "password": PASSWORD}
                        ).status_code == 401
    assert api.patch("/api/v1/users/sun", json={"active": True}).status_code == 200
    with _token_client(app, "sun") as sun:
        assert sun.get("/api/v1/customers").status_code == 200


def test_an_administrator_cannot_deactivate_themselves_or_drop_their_admin_role(api):
    me = api.patch("/api/v1/users/admin", json={"active": False})
    assert me.status_code == 422 and _fields(me) == ["active"]
    assert api.get("/api/v1/users/admin").json()["assignments"][0]["role"] == "admin"
    drop = api.put("/api/v1/users/admin/assignments", json={"assignments": [{"role": "clerk"}]})
    assert drop.status_code == 422 and _fields(drop) == ["assignments"]


def test_a_user_editor_who_is_not_an_administrator_cannot_grant_more_than_they_hold(db, network,
                                                                                  api, app):
    assert api.post("/api/v1/roles", json={"code": "hr", "name": "人事", "permissions": [
        "user.view", "user.create", "user.edit"]}).status_code == 201
    _user_with_role(db, network, "hr1", "hr")
    with _token_client(app, "hr1") as hr:
        grab = hr.put("/api/v1/users/hr1/assignments", json={"assignments": [{"role": "admin"}]})
        assert grab.status_code == 422 and _fields(grab) == ["assignments[0].role"]
        widen = hr.patch("/api/v1/roles/hr", json={"version": 1, "permissions": [
            "user.view", "user.edit", "finance.view"]})
        assert widen.status_code == 422 and _fields(widen) == ["permissions"]
        assert hr.patch("/api/v1/users/admin", json={"active": False}).status_code == 403


def test_the_user_list_is_searched_and_paginated(db, api):
    for name in ("chen", "chen2", "zhou"):
        auth.create_user(db.uow(), username=name, password=PASSWORD, display_name=f"{name} 先生")
    first = api.get("/api/v1/users", params={"limit": 2}).json()
    assert [u["username"] for u in first["items"]] == ["admin", "chen"]
    second = api.get("/api/v1/users", params={"limit": 2, "cursor": first["next_cursor"]}).json()
    assert [u["username"] for u in second["items"]] == ["chen2", "zhou"]
    assert second["next_cursor"] is None
    found = api.get("/api/v1/users", params={"q": "CHEN"}).json()["items"]
    assert [u["username"] for u in found] == ["chen", "chen2"]


@pytest.mark.parametrize(("lang", "clerk"), [("zh_CN", "仓库员"), ("en", "Warehouse clerk")])
def test_the_administration_pages_speak_the_users_language(browser, db, network, lang, clerk):
    _user_with_role(db, network, "li", "clerk", scope="sites", sites=["S1"])
    browser.cookies.set("lang", lang)
    assert clerk in browser.get("/admin/roles").text
    users_page = browser.get("/admin/users", params={"q": "li"}).text
    assert clerk in users_page and "/admin/users/li" in users_page
    page = browser.get("/admin/users/li")
    assert page.status_code == 200
    assert f'<option value="clerk" selected>{clerk}</option>' in page.text
    assert '<option value="S1" selected>' in page.text
    assert "/admin/users" in browser.get("/stock").text
    short = browser.post("/admin/users/new", data={"csrf_token": browser.csrf,
                                                   "username": "qian", "password": "short"})
    assert short.status_code == 422 and "password" in short.text


def test_the_user_page_renames_and_refuses_to_deactivate_oneself(browser, db):
    auth.create_user(db.uow(), username="wu", password=PASSWORD)
    renamed = browser.post("/admin/users/wu", data={"csrf_token": browser.csrf,
                                                    "display_name": "吴 经理"}, follow_redirects=False)
    assert renamed.status_code == 303
    assert browser.get("/api/v1/users/wu").json()["display_name"] == "吴 经理"
    too_long = browser.post("/admin/users/wu", data={"csrf_token": browser.csrf,
                                                     "display_name": "x" * 101})
    assert too_long.status_code == 422 and "display_name" in too_long.text
    browser.cookies.set("lang", "en")
    myself = browser.post("/admin/users/admin", data={"csrf_token": browser.csrf, "active": "0"})
    assert myself.status_code == 422 and "you cannot deactivate yourself" in myself.text
    assert browser.get("/api/v1/users/admin").json()["active"] is True


def test_an_administrator_resets_a_password_and_the_old_logins_end(db, network, app, api,
                                                                   browser):
    _user_with_role(db, network, "zhou", "sales")
    new = "a-brand-new-password"
    with _token_client(app, "zhou") as zhou:
        short = api.put("/api/v1/users/zhou/password", json={"new_password": "short"})
        assert short.status_code == 422 and _fields(short) == ["new_password"]
        assert zhou.get("/api/v1/customers").status_code == 200
        assert api.put("/api/v1/users/zhou/password", json={"new_password": new}
                       ).status_code == 204
        assert zhou.get("/api/v1/customers").status_code == 401
        own = zhou.put("/api/v1/users/zhou/password", json={"new_password": new})
        assert own.status_code == 401
    assert TestClient(app).post("/api/v1/auth/login", json={
        "username": "zhou", "password": PASSWORD}).status_code == 401
    login = TestClient(app).post("/api/v1/auth/login", json={"username": "zhou", "password": new})
    assert login.status_code == 200
    inbox = TestClient(app).get("/api/v1/notifications", headers={
        "Authorization": f"Bearer {login.json()['access_token']}"}).json()["items"]
    assert [n["kind"] for n in inbox] == ["security"]
    assert inbox[0]["title"] == "您的密码已被 admin 重置。如果您没有提出重置，请立即告知管理员。"
    mismatch = browser.post("/admin/users/zhou/password", data={
        "csrf_token": browser.csrf, "new_password": new + "1", "new_password_again": new})
    assert mismatch.status_code == 422 and "new_password_again" in mismatch.text
    done = browser.post("/admin/users/zhou/password", data={
        "csrf_token": browser.csrf, "new_password": PASSWORD, "new_password_again": PASSWORD},
                        follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"].endswith("password_reset=1")
    assert api.put("/api/v1/users/admin/password", json={"new_password": new}
                   ).status_code == 422  # one's own password: on the account page


def test_only_an_administrator_resets_an_administrators_password(db, network, api, app):
    assert api.post("/api/v1/roles", json={"code": "hr", "name": "人事", "permissions": [
        "user.view", "user.edit"]}).status_code == 201
    _user_with_role(db, network, "hr2", "hr")
    with _token_client(app, "hr2") as hr:
        assert hr.put("/api/v1/users/admin/password", json={
            "new_password": "long-enough-password"}).status_code == 403


def test_a_custom_role_is_deleted_only_when_nobody_holds_it_and_no_policy_names_it(db, network,
                                                                                  api, browser):
    assert api.post("/api/v1/roles", json={"code": "temp", "name": "临时", "permissions": [
        "sku.view"]}).status_code == 201
    _user_with_role(db, network, "li", "temp")
    held = api.delete("/api/v1/roles/temp")
    assert held.status_code == 409 and "li" not in held.text
    assert api.delete("/api/v1/roles/clerk").status_code == 409  # built in
    api.put("/api/v1/users/li/assignments", json={"assignments": []})
    policy = yaml.safe_load(api.get("/api/v1/approval-policies/purchase").text)
    steps = next(b for b in policy["branches"] if b["steps"])["steps"]
    steps[0]["cc"] = ["temp"]
    assert api.put("/api/v1/approval-policies/purchase", content=yaml.safe_dump(
        policy, allow_unicode=True)).status_code == 200
    named = api.delete("/api/v1/roles/temp")
    assert named.status_code == 409 and "purchase" in named.text
    steps[0]["cc"] = []
    assert api.put("/api/v1/approval-policies/purchase", content=yaml.safe_dump(
        policy, allow_unicode=True)).status_code == 200
    page = browser.post("/admin/roles/temp/delete", data={"csrf_token": browser.csrf},
                        follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"] == "/admin/roles?deleted=1"
    assert api.get("/api/v1/roles/temp").status_code == 404
    assert api.delete("/api/v1/roles/temp").status_code == 404
