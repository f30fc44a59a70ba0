"""The OpenAPI document: examples on every write, each valid against its own schema; problem
details, security and conventional headers on every operation."""

import jsonschema_rs
import pytest

from cangliu.web import openapi
from cangliu.web.openapi_examples import EXAMPLES

WRITES = ("post", "put", "patch")


@pytest.fixture
def schema(app):
    openapi.install(app)
    return app.openapi()


def operations(schema):
    for path, ops in schema["paths"].items():
        for method, op in ops.items():
            yield method, path, op


def validate(schema, subschema, value):
    root = {"$ref": "#/$defs/it", "$defs": {"it": subschema}, "components": schema["components"]}
    validator = jsonschema_rs.validator_for(root)
    return [f"{'/'.join(map(str, e.instance_path))}: {e.message}"
            for e in validator.iter_errors(value)]


def test_the_schema_is_served_to_logged_in_callers_only(anon, api):
    assert anon.get("/openapi.json").status_code == 401
    assert "paths" in api.get("/openapi.json").json()


def test_every_json_write_has_a_request_example(schema):
    missing = [f"{m.upper()} {p}" for m, p, op in operations(schema) if m in WRITES
               and "application/json" in op.get("requestBody", {}).get("content", {})
               and "example" not in op["requestBody"]["content"]["application/json"]]
    assert missing == []


def test_every_example_validates_against_its_own_schema(schema):
    wrong = {}
    for method, path, op in operations(schema):
        body = op.get("requestBody", {}).get("content", {}).get("application/json", {})
        if "example" in body:
            wrong[f"{method} {path} request"] = validate(schema, body["schema"], body["example"])
        for status, answer in op["responses"].items():
            media = answer.get("content", {}).get("application/json", {})
            if "example" in media:
                wrong[f"{method} {path} {status}"] = validate(schema, media["schema"], media["example"])
    assert {k: v for k, v in wrong.items() if v} == {}


def test_examples_name_only_operations_that_exist(schema):
    known = {(m, p) for m, p, _ in operations(schema)}
    assert set(EXAMPLES) - known == set()


def test_every_operation_documents_problem_details_and_the_language_header(schema):
    for method, path, op in operations(schema):
        for status in ("401", "403", "404", "409", "422", "429"):
            content = op["responses"][status]["content"]
            assert content == {"application/problem+json": {
                "schema": {"$ref": "#/components/schemas/Problem"}}}, (method, path, status)
        assert "Accept-Language" in [p["name"] for p in op["parameters"]], (method, path)


def test_bearer_security_applies_everywhere_but_login_and_health(schema):
    assert schema["components"]["securitySchemes"]["bearer"] == {
        "type": "http", "scheme": "bearer",
        "description": "A login token (POST /api/v1/auth/login) or an API token."}
    assert schema["security"] == [{"bearer": []}, {"session": []}]
    assert schema["paths"]["/api/v1/auth/login"]["post"]["security"] == []
    assert "security" not in schema["paths"]["/api/v1/stock"]["get"]


def test_idempotency_keys_are_explained_where_writes_take_them(schema):
    receive = schema["paths"]["/api/v1/stock/receive"]["post"]
    key = next(p for p in receive["parameters"] if p["name"] == "Idempotency-Key")
    assert "writes nothing twice" in key["description"]


def test_every_tag_in_use_is_described(schema):
    described = {t["name"] for t in schema["tags"] if t["description"]}
    used = {t for _, _, op in operations(schema) for t in op.get("tags", [])}
    assert used - described == set()


def test_the_schema_is_built_once(app):
    openapi.install(app)
    assert app.openapi() is app.openapi()
