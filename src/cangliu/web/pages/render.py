"""Rendering pages: the template environment, the locale and the per-request context."""

import secrets
from decimal import Decimal
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from cangliu.core.permissions import Actor
from cangliu.i18n import translate
from cangliu.web.deps import csrf_token
from cangliu.web.problems import locale_of

templates = Jinja2Templates(directory=Path(__file__).parent.parent / "templates")


def qty(value: Any) -> str:
    """Quantities without trailing zeros or exponents."""
    if value is None or value == "":
        return ""
    d = Decimal(str(value))
    return f"{d:f}".rstrip("0").rstrip(".") if "." in f"{d:f}" else f"{d:f}"


templates.env.filters["qty"] = qty


def render(request: Request, name: str, actor: Actor | None, status_code: int = 200,
           **context: Any) -> HTMLResponse:
    locale = locale_of(request)

    def _(message: str, **params: Any) -> str:
        return translate(locale, message, **params)

    return templates.TemplateResponse(request, name, {
        "_": _, "locale": locale, "actor": actor, "csrf": csrf_token(request),
        # A fresh idempotency key per rendered form: a double submit posts once.
        "form_key": secrets.token_hex(12), **context,
    }, status_code=status_code)
