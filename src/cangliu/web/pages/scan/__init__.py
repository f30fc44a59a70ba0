"""扫描 / Scanning: phone-sized task pages that keep working offline (a PWA under /scan).

The pages are a shell: the scan pack (``GET /scan/pack``) brings the site's data into the
browser, the operations wait in IndexedDB and go to ``POST /api/v1/offline/batch`` when online.
"""

import hashlib
import json
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Final

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from cangliu.core.permissions import Actor
from cangliu.services import masterdata
from cangliu.web.deps import DbDep, csrf_token, page_permit, permit
from cangliu.web.pages.render import render
from cangliu.web.pages.scan import pack

router = APIRouter(include_in_schema=False)
CanScanPage = Annotated[Actor, page_permit("stock.view")]
CanScan = Annotated[Actor, permit("stock.view")]

WEB: Final = Path(__file__).resolve().parents[2]
JS: Final = WEB / "static" / "js" / "scan"
# Task slug → its title msgid (the page is /scan/<slug>).
TASKS: Final = {"receive": "Receive", "putaway": "Put away", "pick": "Pick", "ship": "Ship",
                "transfer-receive": "Transfer receipt", "count": "Stock take"}
VENDOR: Final = ("/static/vendor/html5-qrcode/html5-qrcode.min.js",)
ICON: Final = ('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 96 96">'
               '<rect width="96" height="96" rx="18" fill="#1f5f8b"/>'
               '<path d="M22 30h6v36h-6zm10 0h3v36h-3zm7 0h6v36h-6zm10 0h3v36h-3zm7 0h8v36h-8zm12'
               ' 0h3v36h-3z" fill="#fff"/></svg>')


def shell_urls() -> list[str]:
    """What the service worker keeps for offline use: the pages, their scripts and styles."""
    scripts = sorted(f"/static/js/scan/{p.name}" for p in JS.glob("*.js") if p.name != "sw.js")
    pages = ["/scan", *(f"/scan/{slug}" for slug in TASKS)]
    return [*pages, "/static/scan.css", *scripts, *VENDOR, "/scan/manifest.webmanifest",
            "/scan/icon.svg"]


@lru_cache
def shell_version() -> str:
    """Changes whenever a shell file changes, so browsers install the new service worker."""
    digest = hashlib.sha256()
    for path in sorted([*JS.glob("*.js"), WEB / "static" / "scan.css",
                        *(WEB / "templates" / "scan").glob("*.html")]):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def _sites(db: DbDep, actor: Actor) -> list[dict[str, Any]]:
    with db.read() as session:
        sites, _ = masterdata.list_records(session, "site", limit=500,
                                           scope=actor.sites("stock.view"))
    return sites


@router.get("/scan", response_class=HTMLResponse)
def menu(request: Request, db: DbDep, actor: CanScanPage) -> HTMLResponse:
    return render(request, "scan/menu.html", actor, sites=_sites(db, actor), tasks=TASKS)


def _task_page(slug: str) -> Any:
    def page(request: Request, actor: CanScanPage) -> HTMLResponse:
        return render(request, "scan/task.html", actor, task=slug, title=TASKS[slug])
    page.__name__ = f"scan_{slug.replace('-', '_')}"
    return page


for _slug in TASKS:  # explicit routes: /scan/review and other pages under /scan stay free
    router.add_api_route(f"/scan/{_slug}", _task_page(_slug), methods=["GET"],
                         response_class=HTMLResponse)


@router.get("/scan/pack")
def scan_pack(site: str, db: DbDep, actor: CanScan) -> JSONResponse:
    """The site's scan pack; never cached by the browser's HTTP cache (IndexedDB keeps it)."""
    body = pack.build(db, actor, site, datetime.now(UTC).isoformat())
    return JSONResponse(body, headers={"Cache-Control": "no-store"})


@router.get("/scan/token")
def token(request: Request, actor: CanScan) -> JSONResponse:
    """The session's CSRF token, for a page opened from the offline cache."""
    return JSONResponse({"csrf": csrf_token(request), "user": actor.username},
                        headers={"Cache-Control": "no-store"})


@router.get("/scan/sw.js")
def service_worker() -> Response:
    source = (JS / "sw.js").read_text(encoding="utf-8")
    source = source.replace("__VERSION__", shell_version()).replace(
        "__SHELL__", json.dumps(shell_urls()))
    return Response(source, media_type="text/javascript",
                    headers={"Service-Worker-Allowed": "/scan", "Cache-Control": "no-cache"})


@router.get("/scan/manifest.webmanifest")
def manifest(request: Request) -> JSONResponse:
    return JSONResponse({
        "name": "仓流扫描 Cangliu Scan", "short_name": "仓流扫描", "lang": "zh-CN",
        "start_url": "/scan", "scope": "/scan", "display": "standalone",
        "orientation": "portrait", "background_color": "#ffffff", "theme_color": "#1f5f8b",
        "icons": [{"src": "/scan/icon.svg", "sizes": "any", "type": "image/svg+xml"}],
    }, media_type="application/manifest+json")


@router.get("/scan/icon.svg")
def icon() -> Response:
    return Response(ICON, media_type="image/svg+xml",
                    headers={"Cache-Control": "public, max-age=86400"})
