"""The Content Security Policy breaks no page: key pages opened in Chromium log no violation.

Chromium logs every blocked script, style, frame or eval as a console message naming the
"Content Security Policy"; the init script also reports violations the page itself sees.
"""

import pytest

from tests.conftest import PASSWORD

REPORT_VIOLATIONS = """document.addEventListener("securitypolicyviolation", (e) => console.error(
  "Content Security Policy violation: " + e.violatedDirective + " " + e.blockedURI));"""
PAGES = ["/", "/stock", "/stock/SKU-1", "/docs/purchase-orders", "/docs/purchase-orders/new",
         "/scan", "/scan/receive", "/dashboard", "/approvals", "/api/docs", "/finance/periods",
         "/account", "/planning/suggestions", "/admin/policies", "/stock/NO-SUCH-SKU"]


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


def test_the_behaviours_of_static_js_page_replace_the_inline_handlers(server, chromium):
    """With no inline handler allowed, static/js/page.js asks before destructive steps (a refused
    confirmation sends nothing), ticks every box for a select-all box and submits a form whose
    field says so, also on content added after the page loaded (as htmx swaps in)."""
    base, _db, _admin = server
    context = chromium.new_context(locale="zh-CN")
    page = context.new_page()
    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    answers: list[bool] = []
    page.on("dialog", lambda d: (answers.append(d.message != ""),
                                 d.accept() if len(answers) > 1 else d.dismiss()))
    try:
        page.goto(f"{base}/login")
        page.fill("input[name=username]", "admin")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{base}/stock")
        csp = page.evaluate("() => fetch('/stock').then(r => r.headers.get('content-security-policy'))")
        script_src = next(d for d in csp.split("; ") if d.startswith("script-src")).split()
        assert "'unsafe-inline'" not in script_src

        page.goto(f"{base}/finance/periods")
        page.fill("input[name=through]", "2020-01-31")
        posts.clear()
        page.click("form[action='/finance/periods/close'] button[type=submit]")  # dismissed
        page.wait_for_timeout(300)
        assert answers == [True] and posts == []
        assert "2020-01-31" not in page.locator("#closed").inner_text()
        with page.expect_navigation():
            page.click("form[action='/finance/periods/close'] button[type=submit]")  # accepted
        assert len(answers) == 2 and posts == [f"{base}/finance/periods/close"]
        assert "2020-01-31" in page.locator("#closed").inner_text()

        page.goto(f"{base}/stock")
        page.evaluate("""() => document.querySelector('main').insertAdjacentHTML('beforeend',
            '<input type=checkbox id=all data-select-all=ids>'
            + '<input type=checkbox name=ids value=1><input type=checkbox name=ids value=2>'
            + '<input type=checkbox name=other id=other>'
            + '<form id=auto method=get action=/stock><select name=q data-autosubmit>'
            + '<option value=a>a</option><option value=SKU-1>b</option></select></form>')""")
        page.check("#all")
        assert page.eval_on_selector_all("input[name=ids]", "els => els.map(e => e.checked)") == [
            True, True]
        assert not page.is_checked("#other")
        page.uncheck("#all")
        assert page.eval_on_selector_all("input[name=ids]", "els => els.map(e => e.checked)") == [
            False, False]
        with page.expect_navigation():
            page.select_option("#auto select", "SKU-1")
        assert page.url == f"{base}/stock?q=SKU-1"
    finally:
        context.close()
