"""Security headers on every response: a Content Security Policy, no framing by other sites, no
MIME sniffing, a same-origin referrer, a narrow permissions policy, no caching of dynamic pages,
and under TLS HSTS plus the Secure flag on every cookie.

A header a route set itself is left as it is. Two kinds of page get a policy of their own: the
print pages, whose HTML an administrator writes (so none of its scripts run, and the
editor's preview may be framed by our own pages); and the Swagger UI at /api/docs, which starts
the vendored swagger-ui with one inline script, allowed by its hash.
"""

import base64
import hashlib
import re

from fastapi.openapi.docs import get_swagger_ui_html
from starlette.datastructures import MutableHeaders
from starlette.responses import HTMLResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Scripts come only from our own files: no inline <script>, no onclick="…" (static/js/page.js
# does what those did, from data-* attributes), so an injected script or handler does not run;
# and nothing is compiled from strings (Alpine.js is its CSP build, which evaluates expressions
# without eval).
APP_CSP = "; ".join((
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",  # no <style> or style="…" in pages either: an injected one has no effect
    "img-src 'self' data: blob:",  # html5-qrcode shows a scanned image file as a blob: URL
    "media-src 'self' blob:",  # and falls back to a blob: URL for the camera stream
    "font-src 'self'",
    "connect-src 'self'",  # fetch, htmx and the SSE stream at /events
    "worker-src 'self'",  # the scanning app's service worker at /scan/sw.js
    "manifest-src 'self'",
    "frame-src 'self'",  # the print-template editor's preview frame
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
))


def _sha256(source: str) -> str:
    return f"'sha256-{base64.b64encode(hashlib.sha256(source.encode()).digest()).decode()}'"


# Print pages render an administrator's template: markup and styles only; the one script
# allowed is the print button's handler of the built-in layout (onclick="window.print()").
PRINT_CSP = "; ".join((
    "default-src 'none'",
    f"script-src 'unsafe-hashes' {_sha256('window.print()')}",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "font-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors {ancestors}",
))
PRINT_PATHS = re.compile(r"^/print/[^/]+/[^/]+$|^/api/v1/documents/[^/]+/[^/]+/print$"
                         r"|^(/admin|/api/v1)/print-templates/[^/]+/preview$")
PREVIEW_PATHS = re.compile(r"^/admin/print-templates/[^/]+/preview$")

SWAGGER = "/static/vendor/swagger-ui"


def swagger_ui_page(title: str) -> HTMLResponse:
    """FastAPI's Swagger UI page with swagger-ui from our own vendored copy, not a CDN."""
    return get_swagger_ui_html(openapi_url="/openapi.json", title=title,
                               swagger_js_url=f"{SWAGGER}/swagger-ui-bundle.js",
                               swagger_css_url=f"{SWAGGER}/swagger-ui.css",
                               swagger_favicon_url=f"{SWAGGER}/favicon-32x32.png")


def _inline_script_hash(html: str) -> str:
    """The CSP source for the one inline script FastAPI's Swagger page carries."""
    script = re.search(r"<script>(.*?)</script>", html, re.S)
    assert script is not None, "FastAPI's Swagger UI page has no inline script any more"
    return _sha256(script.group(1))


DOCS_CSP = "; ".join((
    "default-src 'self'",
    "script-src 'self' " + _inline_script_hash(bytes(swagger_ui_page("").body).decode()),
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
))

COMMON = (
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "same-origin"),  # /lang/{locale} goes back to the same-origin Referer
    ("Permissions-Policy", "camera=(self), microphone=(), geolocation=(), payment=(), usb=()"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
    ("Cross-Origin-Resource-Policy", "same-origin"),
)
HSTS = ("Strict-Transport-Security", "max-age=31536000; includeSubDomains")


def headers_for(path: str, *, tls: bool) -> list[tuple[str, str]]:
    """The headers a response to ``path`` gets unless the route set them itself."""
    framed = bool(PREVIEW_PATHS.match(path))
    if PRINT_PATHS.match(path):
        csp = PRINT_CSP.format(ancestors="'self'" if framed else "'none'")
    elif path == "/api/docs":
        csp = DOCS_CSP
    else:
        csp = APP_CSP
    found = [("Content-Security-Policy", csp),
             ("X-Frame-Options", "SAMEORIGIN" if framed else "DENY"), *COMMON]
    if not path.startswith("/static/"):
        # Pages and answers carry stock, prices and people: browsers keep no copy on disk.
        found.append(("Cache-Control", "no-store"))
    if tls:
        found.append(HSTS)
    return found


def secure_cookie(value: str) -> str:
    """``value`` of a Set-Cookie header with the Secure flag, added when missing."""
    flags = [part.strip().lower() for part in value.split(";")[1:]]
    return value if "secure" in flags else value + "; Secure"


class SecurityHeadersMiddleware:
    """Adds the security headers to every HTTP response (pure ASGI, so streams pass through)."""

    def __init__(self, app: ASGIApp, *, tls: bool = False) -> None:
        self.app = app
        self.tls = tls

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        wanted = headers_for(scope["path"], tls=self.tls)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                headers = MutableHeaders(scope=message)
                for name, value in wanted:
                    if name not in headers:
                        headers[name] = value
                if self.tls:
                    message["headers"] = [
                        (key, secure_cookie(value.decode("latin-1")).encode("latin-1"))
                        if key.lower() == b"set-cookie" else (key, value)
                        for key, value in message["headers"]]
            await send(message)

        await self.app(scope, receive, send_with_headers)
