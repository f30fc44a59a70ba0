"""The serials API: rules with a live preview, batch generation (idempotent, within the user's
sites), scanning validation in the caller's language, the list and one serial's timeline."""

from cangliu.core.serials.checkdigits import check_character
from cangliu.services import auth, masterdata, roles
from tests.conftest import PASSWORD
from tests.web.test_approval_authorization import _client

RULE = {"code": "PH", "name": "手机序列号", "template": "8{seq:7:never}{check:luhn}", "sku": "PHONE"}


def _phone(db, admin) -> None:  # type: ignore[no-untyped-def]
    masterdata.create(db.uow(), admin, "sku", {"code": "PHONE", "name": "手机", "tracking": "serial"})


def test_rules_are_created_previewed_and_edited_with_their_version(api, db, network):
    _phone(db, network)
    made = api.post("/api/v1/serial-rules", json=RULE)
    assert made.status_code == 201 and made.json()["version"] == 1
    preview = api.post("/api/v1/serial-rules/preview",
                       json={"template": "{sku}-{seq:3}", "sku": "PHONE", "count": 2})
    assert preview.json() == {"codes": ["PHONE-001", "PHONE-002"]}
    bad = api.post("/api/v1/serial-rules/preview", json={"template": "{sku}-{seq:3", "sku": "PHONE"})
    assert bad.status_code == 422 and "template" in bad.text
    edited = api.patch("/api/v1/serial-rules/PH", json={"version": 1, "line": "L1"})
    assert edited.status_code == 200 and edited.json()["line"] == "L1"
    assert api.patch("/api/v1/serial-rules/PH", json={"version": 1, "name": "x"}).status_code == 409
    assert [r["code"] for r in api.get("/api/v1/serial-rules").json()["items"]] == ["PH"]
    assert api.get("/api/v1/serial-rules/PH").json()["version"] == 2
    assert api.get("/api/v1/serial-rules/NOPE").status_code == 404


def test_a_batch_is_generated_once_listed_checked_and_followed(api, db, network):
    _phone(db, network)
    api.post("/api/v1/serial-rules", json=RULE)
    body = {"sku": "PHONE", "count": 3, "site": "S1"}
    first = api.post("/api/v1/serials/generate", json=body, headers={"Idempotency-Key": "b1"})
    again = api.post("/api/v1/serials/generate", json=body, headers={"Idempotency-Key": "b1"})
    assert first.status_code == again.status_code == 201 and first.json() == again.json()
    codes = first.json()["codes"]
    assert len(codes) == 3 and codes[0] == "80000001" + check_character("luhn", "80000001")
    listed = api.get("/api/v1/serials", params={"sku": "PHONE", "limit": 2}).json()
    assert [i["code"] for i in listed["items"]] == codes[:2] and listed["next_cursor"]
    one = api.get(f"/api/v1/serials/{codes[0]}").json()
    assert (one["status"], one["site"], one["batch"]) == ("generated", "S1", first.json()["batch"])
    assert [e["kind"] for e in one["events"]] == ["generated"]

    good = api.post("/api/v1/serials/check", json={"code": codes[0], "sku": "PHONE", "site": "S1"})
    assert good.json()["valid"] is True
    wrong = codes[0][:-1] + str((int(codes[0][-1]) + 1) % 10)
    en = api.post("/api/v1/serials/check", json={"code": wrong}, headers={"Accept-Language": "en"})
    assert en.json()["problems"][0]["message"] == f"check digit mismatch: expected {codes[0][-1]}"
    zh = api.post("/api/v1/serials/check", json={"code": wrong},
                  headers={"Accept-Language": "zh-CN"})
    assert zh.json()["valid"] is False and zh.json()["problems"][0]["params"] == {
        "expected": codes[0][-1]}

    refused = api.post("/api/v1/serials/generate", json={"sku": "PHONE", "count": 0})
    assert refused.status_code == 422 and "count" in refused.text
    untracked = api.post("/api/v1/serials/generate", json={"sku": "SKU-1", "count": 1})
    assert untracked.status_code == 422 and "sku" in untracked.text


def test_roles_and_sites_limit_who_generates_and_what_they_see(app, api, db, network):
    _phone(db, network)
    api.post("/api/v1/serial-rules", json=RULE)
    at_s2 = api.post("/api/v1/serials/generate", json={"sku": "PHONE", "count": 1, "site": "S2"})
    for username, role in (("clerk1", "clerk"), ("seller", "sales")):
        auth.create_user(db.uow(), username=username, password=PASSWORD)
        roles.set_assignments(db.uow(), network, username,
                              [{"role": role, "scope": "sites", "sites": ["S1"]}])
    clerk, seller = _client(app, "clerk1"), _client(app, "seller")
    made = clerk.post("/api/v1/serials/generate", json={"sku": "PHONE", "count": 2, "site": "S1"})
    assert made.status_code == 201
    assert clerk.post("/api/v1/serials/generate",
                      json={"sku": "PHONE", "count": 1, "site": "S2"}).status_code == 404
    assert clerk.post("/api/v1/serial-rules", json={**RULE, "code": "X"}).status_code == 403
    assert seller.post("/api/v1/serials/generate",
                       json={"sku": "PHONE", "count": 1, "site": "S1"}).status_code == 403
    hidden = at_s2.json()["codes"][0]
    assert seller.get(f"/api/v1/serials/{hidden}").status_code == 404
    assert hidden not in [i["code"] for i in seller.get("/api/v1/serials").json()["items"]]
    assert seller.get(f"/api/v1/serials/{made.json()['codes'][0]}").status_code == 200
