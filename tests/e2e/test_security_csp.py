"""The Content Security Policy breaks no page: key pages opened in Chromium log no violation.

Chromium logs every blocked script, style, frame or eval as a console message naming the
"Content Security Policy"; the init script also reports violations the page itself sees.
"""

import pytest

from tests.conftest import PASSWORD

REPORT_VIOLATIONS = """document.addEventListener("securitypolicyviolation", (e) => console.error(
  "Content Security Policy violation: " + e.violatedDirective + " " + e.blockedURI));"""
PAGES = ["/", "/stock", "/stock/SKU-1", "/docs/purchase-orders", "/docs/purchase-orders/new",
         "/scan", "/scan/receive", "/dashboard", "/approvals", "/api/docs"]


@pytest.mark.slow
def test_key_pages_log_no_content_security_policy_violation(server, chromium):
    base, _db, _admin = server
    context = chromium.new_context(locale="zh-CN", viewport={"width": 1280, "height": 800})
    context.add_init_script(REPORT_VIOLATIONS)
    page = context.new_page()
    found: list[str] = []
    page.on("console", lambda m: found.append(f"{m.location.get('url') or page.url}: {m.text}")
            if "Content Security Policy" in m.text else None)
    try:
        page.goto(f"{base}/login")
        page.fill("input[name=username]", "admin")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{base}/stock")
        for path in PAGES:
            page.goto(base + path, wait_until="load")
        # The editor's preview frame loads on its own: the framed print page must be allowed.
        page.goto(f"{base}/admin/print-templates/transfer", wait_until="load")
        preview = page.frame_locator("iframe[name=print-preview]")
        preview.locator("body").wait_for()
        assert page.frame(name="print-preview").content().count("<body") == 1
        page.wait_for_timeout(300)  # late violations (htmx swaps, Alpine init) still arrive
    finally:
        context.close()
    assert found == [], "\n".join(found)
