"""Make the screenshots of the role guides (docs/guide/) from a fresh demo database.

    .venv/bin/python docs/screenshots.py                 # build the demo, shoot zh and en
    .venv/bin/python docs/screenshots.py --db /tmp/d.db  # reuse a demo database (copied first)

It builds the demo with ``cangliu demo`` in a temporary directory, serves it with
``cangliu serve`` (scheduler off) on a free port, logs in as each role's demo user in Debian's
Chromium (driven by Playwright; never ``playwright install``) once with locale zh-CN and once
with en, and saves 1280×800 viewport shots as docs/img/guide/<lang>/<role>-<n>-<what>.png,
reduced to 256 colours to keep the repository small. Not part of the test suite.
"""

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

from PIL import Image
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "img" / "guide"
# The admin's (and so every demo user's) password; --db needs the one that database was built with.
PASSWORD = os.environ.get("CANGLIU_ADMIN_PASSWORD") or "guide-demo-pass-2026"
CANGLIU = str(Path(sys.executable).with_name("cangliu"))
LANGS = {"zh": "zh-CN", "en": "en"}
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def build_demo(env: dict[str, str]) -> None:
    """``cangliu demo`` into the database of ``env``; prints what it prints (the demo users)."""
    started = time.monotonic()
    subprocess.run([CANGLIU, "demo"], env=env, check=True)
    print(f"demo built in {time.monotonic() - started:.0f} s", flush=True)


def serve(env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    """The server as a subprocess; returns once it answers /login."""
    proc = subprocess.Popen([CANGLIU, "serve", "--port", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=2)
            return proc
        except OSError:
            time.sleep(0.3)
    proc.terminate()
    raise SystemExit("the server did not start")


class Shooter:
    """One browser context per user and language; ``shot`` saves the viewport (or one element)."""

    def __init__(self, browser: Browser, base: str, lang: str) -> None:
        self.browser, self.base, self.lang = browser, base, lang
        self.dir = OUT / lang
        self.dir.mkdir(parents=True, exist_ok=True)
        self.saved: list[Path] = []

    def login(self, username: str) -> Page:
        return self.page_in(self.browser.new_context(
            locale=LANGS[self.lang], viewport={"width": 1280, "height": 800}), username)

    def page_in(self, context: BrowserContext, username: str) -> Page:
        """A logged-in page; timeouts are generous because a busy machine serves slowly."""
        context.set_default_timeout(120_000)
        page = context.new_page()
        page.goto(f"{self.base}/login")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_load_state("networkidle")
        return page

    def go(self, page: Page, path: str) -> None:
        page.goto(self.base + path)
        page.wait_for_load_state("networkidle")

    def first(self, page: Page, list_path: str, link_prefix: str) -> str:
        """Open the first document a filtered list shows; returns its path."""
        self.go(page, list_path)
        href = page.locator(f"main table a[href^='{link_prefix}']").first.get_attribute("href")
        if not href:
            raise SystemExit(f"nothing listed at {list_path}")
        self.go(page, href)
        return href

    def check(self, page: Page, what: str) -> None:
        """Print the page's heading and any error it shows, so a refused step is seen."""
        heading = page.locator("h1").first.inner_text().replace("\n", " ")
        errors = page.locator("main .error, main [role=alert]").all_inner_texts()
        print(f"  {what}: {heading}" + (f"  ERROR {' '.join(errors)[:200]}" if errors else ""),
              flush=True)

    def shot(self, page: Page, name: str, *, at: str | None = None, full: bool = False) -> None:
        """Save ``<role>-<n>-<what>.png``; ``at`` scrolls that element to the top first."""
        if at:
            page.locator(at).first.evaluate("e => e.scrollIntoView({block: 'start'})")
            page.evaluate("window.scrollBy(0, -12)")
        path = self.dir / f"{name}.png"
        page.screenshot(path=str(path), full_page=full)
        with Image.open(path) as img:
            small = img.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT)
        small.save(path, optimize=True)
        self.saved.append(path)
        print(f"  {path.relative_to(ROOT)}  {path.stat().st_size // 1024} KB", flush=True)


# ---- the shots, one function per role ---------------------------------------------------------


def _button(s: Shooter, zh: str, en: str) -> str:
    """A selector for the action button labelled in the shooter's language."""
    return f".actions button:has-text('{zh if s.lang == 'zh' else en}')"


def purchaser(s: Shooter) -> None:
    page = s.login("purchaser")
    s.go(page, "/docs/purchase-orders/new")
    page.select_option("select[name=supplier]", index=0)
    page.select_option("select[name=site]", "WH-CENTRAL")
    # Over 100 000 CNY: the built-in policy asks the purchasing manager, then finance.
    page.fill("textarea[name=lines]", "SKU-0001 24000\nSKU-0002 600 8.50")
    page.click("form.card button[type=submit]")
    page.wait_for_load_state("networkidle")
    page.click(_button(s, "提交", "Submit"))
    page.wait_for_load_state("networkidle")
    s.check(page, "submitted")
    s.shot(page, "purchaser-1-submitted")
    number = page.url.rstrip("/").rsplit("/", 1)[-1]
    page.context.close()
    lead = s.login("buyer_lead")
    s.go(lead, "/approvals")
    lead.locator(f"li.card:has-text('{number}') a.approval-open").first.click()
    lead.wait_for_load_state("networkidle")
    s.shot(lead, "purchaser-2-approve")
    lead.context.close()


def clerk(s: Shooter) -> None:
    page = s.login("clerk")
    s.first(page, "/docs/purchase-orders?state=partially_received", "/docs/purchase-orders/")
    page.fill("input[name=qty_1]", "60")
    page.fill("input[name=bin_1]", "WH-CENTRAL-A02")
    s.shot(page, "clerk-1-receive")
    # The director plans a transfer to a store; the clerk of the source warehouse ships it.
    number = _new_transfer(s, "WH-EAST", "ST-SH01", "SKU-0066 10")
    s.go(page, f"/transfers/{number}")
    s.shot(page, "clerk-2-transfer-ship")
    page.click(_button(s, "发货", "Ship"))
    page.wait_for_load_state("networkidle")
    s.check(page, "transfer shipped")
    s.go(page, "/docs/counts/new")
    page.select_option("select[name=site]", "WH-CENTRAL")
    page.click("form.card button[type=submit]")
    page.wait_for_load_state("networkidle")
    page.fill("textarea[name=lines]", "SKU-0001 12\nSKU-0002 3 WH-CENTRAL-A03")
    s.shot(page, "clerk-3-count")
    page.context.close()
    # The scanning pages are phone pages: shoot them in a phone-sized window.
    context = s.browser.new_context(locale=LANGS[s.lang], viewport={"width": 400, "height": 800})
    phone = s.page_in(context, "clerk")
    s.go(phone, "/scan")
    phone.select_option("#site-select", "WH-CENTRAL")
    phone.fill("#device-name", "PDA-01")
    phone.wait_for_timeout(3000)  # the scan pack downloads into IndexedDB
    s.shot(phone, "clerk-4-scan-menu")
    s.go(phone, "/scan/receive")
    phone.wait_for_timeout(1500)
    phone.locator("#doc-list li").first.click()
    phone.wait_for_timeout(500)
    for code in ("WH-CENTRAL-A02", "SKU-0001", "SKU-0001"):  # the bin first, then the goods
        phone.fill("#scan-input", code)
        phone.press("#scan-input", "Enter")
        phone.wait_for_timeout(600)
    s.shot(phone, "clerk-5-scan-receive")
    _refused_offline_op(phone, s)
    context.close()
    page = s.login("clerk")
    s.go(page, "/scan/review")
    s.shot(page, "clerk-6-review-queue")
    page.context.close()


def _new_transfer(s: Shooter, source: str, dest: str, lines: str) -> str:
    """A transfer created and submitted by the director (a small one to a store of the same
    region is approved at once by the built-in policy); returns its number."""
    page = s.login("director")
    s.go(page, "/transfers/new")
    page.select_option("select[name=source]", source)
    page.select_option("select[name=dest]", dest)
    page.fill("textarea[name=lines]", lines)
    page.click("main form button[type=submit]")
    page.wait_for_load_state("networkidle")
    page.click(_button(s, "提交", "Submit"))
    page.wait_for_load_state("networkidle")
    s.check(page, "transfer submitted")
    number = page.url.rstrip("/").rsplit("/", 1)[-1]
    page.context.close()
    return number


def _refused_offline_op(page: Page, s: Shooter) -> None:
    """An operation a device did offline that the server refuses: it waits in the review queue."""
    csrf = page.request.get(f"{s.base}/scan/token").json()["csrf"]
    body = {"device": f"PDA-GUIDE-{s.lang}", "operations": [{
        "id": f"guide-{s.lang}-1", "seq": 1, "kind": "stock.issue",
        "payload": {"sku": "SKU-0004", "site": "WH-CENTRAL", "qty": "99999"}}]}
    answer = page.request.post(f"{s.base}/api/v1/offline/batch", data=body, headers={
        "X-CSRF-Token": csrf, "Accept-Language": LANGS[s.lang]})  # the reason's language
    print(f"  offline batch: {answer.status} {answer.json()['results'][0]['status']}", flush=True)


def sales(s: Shooter) -> None:
    page = s.login("sales")
    s.go(page, "/docs/sales-orders/new")
    page.select_option("select[name=site]", "WH-CENTRAL")
    page.select_option("select[name=channel]", "wholesale")
    page.fill("textarea[name=lines]", "SKU-0001 5\nSKU-0002 2 19.90")
    s.shot(page, "sales-1-new-order")
    s.first(page, "/docs/sales-orders?state=confirmed", "/docs/sales-orders/")
    s.shot(page, "sales-2-confirmed-pick-list")
    s.first(page, "/docs/sales-orders?state=shipped", "/docs/sales-orders/")
    s.shot(page, "sales-3-shipped-return", at="#entry-return")
    page.context.close()


def finance(s: Shooter) -> None:
    page = s.login("finance")
    s.first(page, "/docs/purchase-orders?state=received", "/docs/purchase-orders/")
    s.shot(page, "finance-1-payment", at="#collab")
    s.go(page, "/reports")
    s.shot(page, "finance-2-reports")
    page.context.close()


def store_manager(s: Shooter) -> None:
    page = s.login("store")
    s.go(page, "/alerts")
    s.shot(page, "store-manager-1-alerts")
    s.first(page, "/transfers?state=shipped", "/transfers/T")
    page.locator("input[name^=received_]").first.fill("10")
    s.shot(page, "store-manager-2-transfer-receive")
    page.context.close()


def regional_manager(s: Shooter) -> None:
    page = s.login("director")
    s.go(page, "/dashboard")
    page.wait_for_timeout(2000)  # the chart animates its line
    s.shot(page, "regional-manager-1-dashboard")
    s.go(page, "/planning/suggestions?state=open")
    s.shot(page, "regional-manager-2-suggestions")
    s.go(page, "/admin/planning-settings")
    s.shot(page, "regional-manager-3-planning-settings")
    page.context.close()
    # The demo's escalated transfer waits for the 华东 regional manager.
    east = s.login("regional_east")
    s.go(east, "/approvals")
    east.locator("a.approval-open").first.click()
    east.wait_for_load_state("networkidle")
    s.shot(east, "regional-manager-4-decision")
    east.context.close()


def admin(s: Shooter) -> None:
    page = s.login("admin")
    s.go(page, "/admin/users/clerk")
    s.shot(page, "admin-1-user-scope")
    s.go(page, "/admin/roles/clerk")
    s.shot(page, "admin-2-role-field-rules", at="select[name^=rule-]")
    s.go(page, "/admin/approval-policies")
    s.shot(page, "admin-3-approval-policies")
    s.go(page, "/import")
    s.shot(page, "admin-4-import")
    s.go(page, "/audit?q=SKU-0001")
    page.locator("main details summary").first.click()
    s.shot(page, "admin-5-audit")
    page.context.close()


ROLES: dict[str, Callable[[Shooter], None]] = {
    "purchaser": purchaser, "clerk": clerk, "sales": sales, "finance": finance,
    "store-manager": store_manager, "regional-manager": regional_manager, "admin": admin}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, help="a demo database to copy instead of building one")
    parser.add_argument("--lang", choices=sorted(LANGS), action="append")
    parser.add_argument("--role", choices=sorted(ROLES), action="append")
    args = parser.parse_args()
    chromium = shutil.which("chromium")
    if chromium is None:
        raise SystemExit("chromium is required (apt-get install chromium)")
    with tempfile.TemporaryDirectory(prefix="cangliu-guide-") as tmp:
        db = Path(tmp) / "demo.db"
        env = {**os.environ, "CANGLIU_DATABASE_URL": f"sqlite:///{db}",
               "CANGLIU_ADMIN_PASSWORD": PASSWORD, "CANGLIU_SCHEDULER": "off",
               "CANGLIU_SECRET_KEY": "guide-screenshots"}
        if args.db:
            shutil.copy(args.db, db)
        else:
            build_demo(env)
        port = _free_port()
        server = serve(env, port)
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
                saved: list[Path] = []
                for lang in args.lang or list(LANGS):
                    print(f"[{lang}]", flush=True)
                    shooter = Shooter(browser, f"http://127.0.0.1:{port}", lang)
                    for role in args.role or list(ROLES):
                        ROLES[role](shooter)
                    saved += shooter.saved
                browser.close()
            print(f"{len(saved)} screenshots, {sum(p.stat().st_size for p in saved) // 1024} KB")
        finally:
            server.terminate()
            server.wait(10)


if __name__ == "__main__":
    main()
