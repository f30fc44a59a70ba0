"""The OpenAPI document, built once: FastAPI's schema plus what it cannot infer — the bearer and
session security schemes, problem+json errors on every operation, the conventional headers,
tag descriptions and request/response examples (kept in ``openapi_examples``)."""

from copy import deepcopy
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from cangliu.web.openapi_examples import EXAMPLES, MEDIA

PROBLEM = "application/problem+json"
MAX_INTEGER = 2**63 - 1
ERRORS = {401: "Not logged in, or the token is unknown, expired or revoked",
          403: "Logged in, but your role (or the token's scope) may not do this",
          404: "No such record, or it lies outside your sites",
          409: "Conflict: a stale version (the answer carries the current one and what changed), "
               "a document in the wrong state, a lock held by someone else",
          422: "Invalid input: `errors` names each field and what is wrong with it",
          429: "Too many requests: wait `Retry-After` seconds"}
BAD_BODY = "The body could not be read at all (not UTF-8, or a broken multipart form)"

DESCRIPTION = """The Cangliu REST API. Log in with `POST /api/v1/auth/login` (or create an API
token with scopes) and send `Authorization: Bearer <token>`. Errors are RFC 9457 problem details;
lists are `{"items": [...], "next_cursor": ...}`; quantities and money are decimal strings; times
are ISO 8601 in UTC. See docs/api.md for the full guide."""

TAGS = [
    ("auth", "Log in for a bearer token; sessions; API tokens limited to some permissions."),
    ("stock", "Balances, the ledger of moves, and direct postings (receive, issue, move, adjust…)."),
    ("transfers", "Transfer orders between sites: draft → approval → ship → receive."),
    ("purchasing", "Purchase orders, receipts (partial, with QC hold), put-away and returns."),
    ("sales", "Sales orders, reservations, pick lists, shipments and returns."),
    ("stock counts", "Stock counts: frozen snapshot, blind entries, variance posted on approval."),
    ("finance", "Payments, receivables/payables aging, statements, inventory value, periods."),
    ("master data", "SKUs, categories, sites, locations, suppliers and customers."),
    ("webhooks", "Webhook subscriptions: signed POSTs of domain events to your URL."),
    ("channels", "All outbound channels (webhooks, group robots, e-mail) and their delivery log."),
    ("alerts", "Alerts, alert rules and subscriptions."),
    ("approvals", "Approval instances, decisions and policies."),
    ("planning", "Thresholds, planning runs, transfer rules, suggestions and promotions."),
    ("serials", "Serial and lot numbers: rules, generation, checks and history."),
    ("work orders", "Production work orders and assemblies."),
    ("repairs", "After-sales repair tickets on a serial."),
    ("recalls", "Recalls: trace a component serial or lot to every unit, customer and bin."),
    ("serial analytics", "Failure rates and repair turnaround."),
    ("labels", "Label templates and label sheets (PDF)."),
    ("kpis", "KPIs: turnover, days of inventory, stock-out rate, risks."),
    ("reports", "Scheduled and on-demand reports."),
    ("collaboration", "Notifications, tasks, comments and document timelines."),
    ("users", "Users, roles and their site assignments."),
    ("locks", "Visible edit locks with expiry."),
    ("history", "Record history, differences and restore."),
    ("audit", "The audit log."),
    ("offline", "Batches of operations recorded offline, replayed exactly once."),
    ("imports", "Excel/CSV import with a row-by-row error report, and export."),
    ("events", "Server-Sent Events for live pages."),
    ("custom fields", "Fields an administrator adds to SKUs, partners and documents."),
    ("print templates", "Templates for printed documents."),
    ("system", "Health."),
]

HEADERS = {
    "Accept-Language": {"name": "Accept-Language", "in": "header", "required": False,
                        "description": "Language of messages and errors: zh-CN (default) or en.",
                        "schema": {"type": "string", "example": "zh-CN"}},
    "Idempotency-Key": ("A key of yours, unique per intended write (e.g. a UUID): sending the "
                        "same request again with it answers the first result and writes nothing "
                        "twice; the same key with a different body answers 409."),
}

PROBLEM_SCHEMA = {
    "type": "object", "title": "Problem",
    "description": "RFC 9457 problem details, in the caller's language.",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string", "example": "about:blank"},
        "title": {"type": "string", "example": "Invalid input"},
        "status": {"type": "integer", "example": 422},
        "detail": {"type": "string", "example": "qty: must be a positive number"},
        "errors": {"type": "array", "items": {
            "type": "object", "required": ["field", "message"],
            "properties": {"field": {"type": "string"}, "message": {"type": "string"}}}},
    },
    "additionalProperties": True,
}


def install(app: FastAPI) -> None:
    """Serve ``document(app)`` as the app's schema (computed on first use, then kept)."""
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def document(app: FastAPI) -> dict[str, Any]:
    schema = get_openapi(title=app.title, version=app.version, description=DESCRIPTION,
                         routes=app.routes, tags=[{"name": n, "description": d} for n, d in TAGS])
    components = schema.setdefault("components", {})
    components.setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
    components["securitySchemes"] = {
        "bearer": {"type": "http", "scheme": "bearer",
                   "description": "A login token (POST /api/v1/auth/login) or an API token."},
        "session": {"type": "apiKey", "in": "cookie",
                    "name": getattr(app.state, "session_cookie", "cangliu_session"),
                    "description": "The browser session; writes also need X-CSRF-Token."}}
    schema["security"] = [{"bearer": []}, {"session": []}]
    bound_integers(schema)
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            complete(path, method, operation)
    return schema


def complete(path: str, method: str, operation: dict[str, Any]) -> None:
    """One operation: its headers, error answers, media types and examples."""
    if (method, path) in PUBLIC:
        operation["security"] = []
    parameters = operation.setdefault("parameters", [])
    for parameter in parameters:
        if parameter.get("in") == "header" and parameter["name"] == "Idempotency-Key":
            parameter["description"] = HEADERS["Idempotency-Key"]
    parameters.append(deepcopy(HEADERS["Accept-Language"]))
    responses = operation.setdefault("responses", {})
    add_problems(responses, with_body="requestBody" in operation)
    for code, media in MEDIA.get((method, path), {}).items():
        responses.setdefault(code, {"description": "OK"})["content"] = media
    add_examples(EXAMPLES.get((method, path), {}), operation)


def add_problems(responses: dict[str, Any], *, with_body: bool) -> None:
    """Every error answer is problem details (FastAPI's own 422 schema included)."""
    errors = ERRORS | ({400: BAD_BODY} if with_body else {})
    for status, description in errors.items():
        answer = responses.setdefault(str(status), {})
        if not answer.get("description") or status == 422:
            answer["description"] = description
        answer["content"] = {PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}}


def bound_integers(node: Any) -> None:
    """Integers are stored as 64-bit: say so wherever the models give no maximum of their own."""
    if isinstance(node, dict):
        if node.get("type") == "integer" and "maximum" not in node:
            node["maximum"] = MAX_INTEGER
        for value in node.values():
            bound_integers(value)
    elif isinstance(node, list):
        for value in node:
            bound_integers(value)


PUBLIC = frozenset({("post", "/api/v1/auth/login"), ("get", "/health"),
                    ("post", "/api/v1/webhooks/echo")})


def add_examples(examples: dict[str, Any], operation: dict[str, Any]) -> None:
    """``{"request": body, "response": body, "status": "201"}`` onto the operation's JSON media."""
    body = operation.get("requestBody", {}).get("content", {}).get("application/json")
    if body is not None and "request" in examples:
        body["example"] = examples["request"]
    if "response" not in examples:
        return
    status = examples.get("status") or next(
        (s for s in operation["responses"] if s.startswith("2")), "200")
    answer = operation["responses"].setdefault(status, {"description": "OK"})
    media = answer.setdefault("content", {}).setdefault("application/json", {"schema": {}})
    media["example"] = examples["response"]
