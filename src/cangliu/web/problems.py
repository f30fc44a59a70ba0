"""Errors as RFC 9457 problem details, in the caller's language."""

from decimal import Decimal
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from cangliu.core.errors import DomainError, Locked, StaleVersion, ValidationFailed
from cangliu.i18n import DEFAULT, negotiate, translate

PROBLEM = "application/problem+json"

# Pydantic error types → our messages (translated like every other message).
PYDANTIC_MESSAGES = {
    "missing": "is required",
    "extra_forbidden": "is not allowed here",
    "json_invalid": "is not valid JSON",
    "string_type": "must be text",
    "string_too_short": "must not be empty",
    "not_null": "must not be empty",
    "string_too_long": "is too long",
    "string_pattern_mismatch": "contains characters that are not allowed",
    "int_parsing": "must be a whole number",
    "int_type": "must be a whole number",
    "bool_parsing": "must be true or false",
    "bool_type": "must be true or false",
    "decimal_parsing": "must be a number",
    "float_parsing": "must be a number",
    "greater_than_equal": "is too small",
    "less_than_equal": "is too large",
    "greater_than": "is too small",
    "enum": "must be one of: {expected}",
    "literal_error": "must be one of: {expected}",
    "date_from_datetime_parsing": "must be a date (YYYY-MM-DD)",
    "date_parsing": "must be a date (YYYY-MM-DD)",
    "datetime_parsing": "must be a date and time (ISO 8601)",
    "datetime_from_date_parsing": "must be a date and time (ISO 8601)",
    "list_type": "must be a list",
    "timezone_aware": "must include a time zone, e.g. 2026-11-23T08:00:00+08:00",
    "model_attributes_type": "must be an object",
    "dict_type": "must be an object",
    "value_error": "{error}",
}


def locale_of(request: Request) -> str:
    return negotiate(request.headers.get("accept-language"), request.cookies.get("lang"),
                     getattr(request.app.state, "default_locale", DEFAULT))


def problem(request: Request, status: int, title: str, detail: str, **extra: Any) -> JSONResponse:
    locale = locale_of(request)
    body = {"type": "about:blank", "title": translate(locale, title), "status": status,
            "detail": detail, **extra}
    return JSONResponse(body, status_code=status, media_type=PROBLEM)


def _field(loc: tuple[Any, ...]) -> str:
    parts = [p for p in loc if p not in ("body", "query", "path", "header")]
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or "body"


def _pydantic_message(locale: str, err: dict[str, Any]) -> str:
    template = PYDANTIC_MESSAGES.get(err["type"])
    if template is None:
        return str(err.get("msg", "is invalid"))
    ctx = {k: str(v) for k, v in (err.get("ctx") or {}).items()}
    try:
        return translate(locale, template, **ctx) if ctx or "{" in template else translate(
            locale, template)
    except KeyError:
        return translate(locale, template.split("{")[0].strip(": "))


async def on_request_validation(request: Request, exc: RequestValidationError) -> JSONResponse:
    locale = locale_of(request)
    errors = [{"field": _field(tuple(e["loc"])), "message": _pydantic_message(locale, e)}
              for e in exc.errors()]
    detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
    return problem(request, 422, "Invalid input", detail, errors=errors)


async def on_domain_error(request: Request, exc: DomainError) -> JSONResponse:
    locale = locale_of(request)
    extra: dict[str, Any] = {}
    if isinstance(exc, ValidationFailed):
        errors = [{"field": e.field, "message": translate(locale, e.message, **e.params)}
                  for e in exc.errors]
        extra["errors"] = errors
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
    else:
        detail = translate(locale, exc.message, **exc.params)
    if isinstance(exc, StaleVersion):
        extra.update(stale_details(exc))
    if isinstance(exc, Locked):
        extra["locked_by"] = exc.holder
        extra["expires_at"] = exc.expires_at.isoformat()
    response = problem(request, exc.status, exc.title, detail, **extra)
    if exc.status == 401:
        response.headers["WWW-Authenticate"] = "Bearer"
    return response


def stale_details(exc: StaleVersion) -> dict[str, Any]:
    """A stale edit's 409: the current version and record, who saved it and when, and per
    changed field its value at the caller's version and now."""
    # Decimals stay decimal strings, as in every other answer.
    body: dict[str, Any] = jsonable_encoder({
        "current_version": exc.current_version, "current": exc.changed,
        "saved_by": exc.saved_by or None,
        "saved_at": exc.saved_at.isoformat() if exc.saved_at else None,
        "changes": {c.field: {"before": c.before, "after": c.after} for c in exc.changes}},
        custom_encoder={Decimal: str})
    return body


async def on_http_error(request: Request, exc: HTTPException) -> Any:
    if not request.url.path.startswith("/api/"):
        from fastapi.exception_handlers import http_exception_handler
        return await http_exception_handler(request, exc)
    titles = {400: "Invalid input", 401: "Not authenticated", 403: "Forbidden", 404: "Not found",
              405: "Method not allowed"}
    title = titles.get(exc.status_code, "Request failed")
    locale = locale_of(request)
    if exc.status_code == 400 and exc.detail == "There was an error parsing the body":
        return problem(request, 400, title, translate(locale, "The request body could not be read"),
                       errors=[{"field": "body", "message": translate(locale, "is not valid JSON")}])
    detail = translate(locale, str(exc.detail)) if exc.detail else title
    return problem(request, exc.status_code, title, detail)


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, on_request_validation)  # type: ignore[arg-type]
    app.add_exception_handler(DomainError, on_domain_error)  # type: ignore[arg-type]
    app.add_exception_handler(HTTPException, on_http_error)  # type: ignore[arg-type]
