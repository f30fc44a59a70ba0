"""Security headers, cookies and the ASVS items no other test covers (docs/security.md).

The app here runs on SQLite only: headers, cookies and escaping do not depend on the database.
"""

import re
import shutil
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from cangliu.config import Settings
from cangliu.core.errors import AuthenticationFailed
from cangliu.db.models import AppUser
from cangliu.db.uow import Database
from cangliu.services import auth, masterdata
from cangliu.web.app import create_app
from cangliu.web.security import APP_CSP
from tests.conftest import PASSWORD, seed_network
from tests.web.conftest import csrf_of, login

EVIL = "https://evil.example"


@pytest.fixture(scope="module")
def database(sqlite_template, tmp_path_factory):
    """One database and app for the module: these tests read far more than they write."""
    path = tmp_path_factory.mktemp("security") / "cangliu.db"
    shutil.copy(sqlite_template, path)
    db = Database(f"sqlite:///{path}")
    admin = auth.create_user(db.uow(), username="admin", password=PASSWORD, is_admin=True)
    seed_network(db, admin)
    yield db
    db.dispose()


def _app(db: Database, public_url: str = "http://127.0.0.1:8000"):  # type: ignore[no-untyped-def]
    return create_app(Settings(database_url=db.url, secret_key="test-secret", public_url=public_url),
                      db=db)


@pytest.fixture(scope="module")
def app(database):
    return _app(database)


@pytest.fixture
def anon(app):
    with TestClient(app) as client:
        yield client


@pytest.fixture(scope="module")
def admin_browser(app):
    with login(app, "admin") as client:
        yield client


def _set_cookies(response) -> list[str]:  # type: ignore[no-untyped-def]
    return list(response.headers.get_list("set-cookie"))


# --- headers -----------------------------------------------------------------------------------

def test_pages_carry_the_security_headers_and_no_hsts_over_plain_http(anon):
    response = anon.get("/login")
    assert response.status_code == 200
    headers = response.headers
    assert headers["content-security-policy"] == APP_CSP
    for directive in ("default-src 'self'", "object-src 'none'", "frame-ancestors 'none'",
                      "base-uri 'self'", "form-action 'self'", "connect-src 'self'"):
        assert directive in headers["content-security-policy"]
    assert headers["x-frame-options"] == "DENY"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "same-origin"
    assert "camera=(self)" in headers["permissions-policy"]
    assert "geolocation=()" in headers["permissions-policy"]
    assert headers["cross-origin-opener-policy"] == "same-origin"
    assert headers["cache-control"] == "no-store"
    assert headers["content-type"] == "text/html; charset=utf-8"
    assert "strict-transport-security" not in headers


def test_api_answers_and_errors_carry_the_headers_too(anon):
    for response in (anon.get("/api/v1/stock"), anon.get("/no-such-page"),
                     anon.post("/api/v1/auth/login", json={"username": "x"})):
        assert response.status_code in (401, 404, 422)
        assert response.headers["x-content-type-options"] == "nosniff"
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
        assert response.headers["cache-control"] == "no-store"


def test_a_header_the_route_set_itself_is_kept(admin_browser):
    worker = admin_browser.get("/scan/sw.js")
    assert worker.status_code == 200
    assert worker.headers["cache-control"] == "no-cache"  # the service worker's own
    assert worker.headers["x-content-type-options"] == "nosniff"


def test_static_files_stay_cacheable_but_are_never_sniffed(anon):
    response = anon.get("/static/app.css")
    assert response.status_code == 200
    assert "cache-control" not in response.headers
    assert response.headers["x-content-type-options"] == "nosniff"


def test_print_pages_run_no_script_and_only_the_editors_preview_may_be_framed(admin_browser):
    page = admin_browser.get("/print/transfer/TO-NONE")
    csp = page.headers["content-security-policy"]
    assert csp.startswith("default-src 'none'")
    script_src = next(d for d in csp.split("; ") if d.startswith("script-src")).split()
    # Only the built-in print button's handler: no 'self', no 'unsafe-inline', no other hash.
    assert script_src[1:2] == ["'unsafe-hashes'"] and len(script_src) == 3
    assert "frame-ancestors 'none'" in csp
    assert page.headers["x-frame-options"] == "DENY"
    preview = admin_browser.post("/admin/print-templates/transfer/preview", data={
        "csrf_token": admin_browser.csrf, "body": "<script>alert(1)</script>{{ doc.number }}",
        "number": ""})
    assert preview.status_code == 200
    assert "<script>alert(1)</script>" in preview.text  # the author's markup, so no script may run
    assert preview.headers["content-security-policy"].startswith("default-src 'none'")
    assert "frame-ancestors 'self'" in preview.headers["content-security-policy"]
    assert preview.headers["x-frame-options"] == "SAMEORIGIN"


def test_the_api_docs_page_loads_swagger_ui_from_our_own_origin_and_one_hashed_script(
        admin_browser):
    page = admin_browser.get("/api/docs")
    csp = page.headers["content-security-policy"]
    script_src = next(d for d in csp.split("; ") if d.startswith("script-src"))
    assert "'unsafe-inline'" not in script_src and "'sha256-" in script_src
    assert "frame-ancestors 'none'" in csp
    assert "https:" not in csp and "http:" not in csp  # no CDN: swagger-ui is vendored
    assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert len(assets) == 3 and all(a.startswith("/static/vendor/swagger-ui/") for a in assets)
    for asset in assets:
        assert admin_browser.get(asset).status_code == 200


TEMPLATES = Path(__file__).resolve().parents[2] / "src" / "cangliu" / "web" / "templates"
INLINE_SCRIPT = re.compile(
    r"""\son[a-z]+\s*=|javascript:|<script(?![^>]*\bsrc=)(?![^>]*type="application/json")""", re.I)


def test_no_page_carries_an_inline_script_or_event_handler():
    """The application policy allows scripts from our own files only; what a page needs done
    goes in a data-* attribute that static/js/page.js acts on (data-confirm and the like)."""
    assert next(d for d in APP_CSP.split("; ") if d.startswith("script-src")) == "script-src 'self'"
    found = [f"{path.relative_to(TEMPLATES)}: {m.group(0)!r}"
             for path in sorted(TEMPLATES.rglob("*.html"))
             for m in INLINE_SCRIPT.finditer(path.read_text(encoding="utf-8"))]
    assert found == [], found


INLINE_STYLE = re.compile(r"""\sstyle\s*=|<style[\s>]""", re.I)


def test_no_page_carries_an_inline_style():
    """Style sheets come from our own files only: classes in static/*.css, and what must be
    computed (a bar's width, the fields changed meanwhile) is set by static/js/page.js."""
    assert next(d for d in APP_CSP.split("; ") if d.startswith("style-src")) == "style-src 'self'"
    found = [f"{path.relative_to(TEMPLATES)}: {m.group(0)!r}"
             for path in sorted(TEMPLATES.rglob("*.html"))
             for m in INLINE_STYLE.finditer(path.read_text(encoding="utf-8"))]
    assert found == [], found


# --- cookies and TLS ---------------------------------------------------------------------------

def test_the_session_cookie_is_httponly_and_samesite_lax(anon):
    cookie = next(c for c in _set_cookies(anon.get("/login")) if c.startswith("cangliu_session="))
    flags = [f.strip().lower() for f in cookie.split(";")]
    assert "httponly" in flags and "samesite=lax" in flags


def test_under_tls_hsts_is_sent_and_every_cookie_is_secure(database):
    with TestClient(_app(database, "https://cangliu.example")) as client:
        response = client.get("/login")
        assert response.headers["strict-transport-security"] == "max-age=31536000; includeSubDomains"
        session = next(c for c in _set_cookies(response)
                       if c.startswith("__Host-cangliu_session="))
        flags = [f.strip().lower() for f in session.split(";")]
        assert "secure" in flags and "path=/" in flags and not any(f.startswith("domain=") for f in flags)
        assert not any(c.startswith("cangliu_session=") for c in _set_cookies(response))
        lang = client.get("/lang/en", follow_redirects=False)
        cookie = next(c for c in _set_cookies(lang) if c.startswith("lang="))
        assert "secure" in [f.strip().lower() for f in cookie.split(";")]


def test_under_tls_a_login_works_with_the_prefixed_session_cookie(database):
    with TestClient(_app(database, "https://cangliu.example"), base_url="https://testserver") as client:
        token = csrf_of(client.get("/login").text)
        done = client.post("/login", data={"username": "admin", "password": PASSWORD,
                                           "csrf_token": token}, follow_redirects=False)
        assert done.status_code == 303 and client.cookies.get("__Host-cangliu_session")
        assert client.get("/stock").status_code == 200


# --- validation, encoding, redirects -------------------------------------------------------------

@pytest.mark.parametrize("target", ["//evil.example/", "/\\evil.example", EVIL + "/",
                                    "/\t/evil.example", "javascript:alert(1)"])
def test_login_never_sends_the_user_to_another_site(anon, target):
    response = anon.post("/login", data={"username": "admin", "password": PASSWORD, "next": target,
                                         "csrf_token": csrf_of(anon.get("/login").text)},
                         follow_redirects=False)
    assert response.status_code == 303
    location = response.headers["location"]
    assert location.startswith("/") and location[1:2] not in ("/", "\\")
    assert urlsplit(location).netloc == "" and not any(c.isspace() for c in location)


def test_the_language_switch_goes_back_only_within_the_site(anon):
    response = anon.get("/lang/en", headers={"Referer": EVIL + "/phish"}, follow_redirects=False)
    assert response.headers["location"] == "/stock"


def test_text_users_typed_is_escaped_in_pages(database, admin_browser):
    admin = auth.actor_for_user(database.uow(), 1)
    masterdata.create(database.uow(), admin, "sku", {"code": "SKU-XSS",
                                                     "name": '<script>alert("x")</script>'})
    page = admin_browser.get("/stock/SKU-XSS")
    assert page.status_code == 200
    assert '<script>alert("x")</script>' not in page.text
    assert "&lt;script&gt;" in page.text


def test_unknown_fields_and_bodies_that_are_not_json_are_refused(anon):
    extra = anon.post("/api/v1/auth/login",
                      json={"username": "admin", "password": PASSWORD, "is_admin": True})
    assert extra.status_code == 422
    assert any(e["field"].endswith("is_admin") for e in extra.json()["errors"])
    plain = anon.post("/api/v1/auth/login", content=b"username=admin&password=x",
                      headers={"Content-Type": "text/plain"})
    assert plain.status_code in (400, 415, 422)
    assert "access_token" not in plain.text


def test_methods_a_route_does_not_offer_are_refused(anon):
    assert anon.delete("/health").status_code == 405
    assert anon.request("TRACE", "/login").status_code == 405


def test_no_other_site_may_read_answers_cross_origin(anon):
    preflight = anon.options("/api/v1/stock", headers={
        "Origin": EVIL, "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "authorization"})
    simple = anon.get("/health", headers={"Origin": EVIL})
    for response in (preflight, simple):
        assert "access-control-allow-origin" not in response.headers
        assert "access-control-allow-credentials" not in response.headers


def test_static_files_list_no_directories_and_stay_inside_their_folder(anon):
    for path in ("/static/", "/static/vendor/", "/static/..%2f..%2fconfig.py",
                 "/static/%2e%2e/%2e%2e/config.py"):
        response = anon.get(path)
        assert response.status_code == 404, path
        assert "Settings" not in response.text


# --- errors -------------------------------------------------------------------------------------

def test_an_unexpected_error_answers_a_generic_500_without_its_details(app):
    @app.get("/api/v1/boom-for-test")
    def boom() -> None:
        raise RuntimeError("database password is hunter2")

    @app.get("/boom-page-for-test")
    def boom_page() -> None:
        raise RuntimeError("database password is hunter2")

    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/api/v1/boom-for-test", headers={"X-Request-ID": "req-boom-1"})
        page = client.get("/boom-page-for-test", headers={"Accept": "text/html",
                                                          "Accept-Language": "en"})
    assert response.status_code == 500
    assert "hunter2" not in response.text and "Traceback" not in response.text
    # the answer names the request id, so a report can be matched with the server's log
    assert response.headers["x-request-id"] == response.json()["request_id"] == "req-boom-1"
    assert response.headers["content-type"] == "application/problem+json"
    assert "req-boom-1" in response.json()["detail"]
    assert page.status_code == 500 and "hunter2" not in page.text
    made_up = page.headers["x-request-id"]
    assert len(made_up) == 32 and f"quote request {made_up}" in page.text


# --- passwords ----------------------------------------------------------------------------------

def test_long_and_chinese_passwords_work_whole_and_are_stored_as_argon2id(database):
    password = "仓流-库存-" + "x" * 120  # 126 characters: kept whole, never truncated
    auth.create_user(database.uow(), username="long", password=password)
    assert auth.authenticate(database.uow(), username="long", password=password).username == "long"
    with pytest.raises(AuthenticationFailed):
        auth.authenticate(database.uow(), username="long", password=password[:-1])
    with database.uow() as uow:
        stored = uow.session.scalars(select(AppUser.password_hash)
                                     .where(AppUser.username == "long")).one()
    assert stored.startswith("$argon2id$")
