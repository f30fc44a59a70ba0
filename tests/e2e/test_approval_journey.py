"""A cross-region transfer signed at three levels in real browsers: the store manager approves from
我的审批, the regional manager on a phone-sized decision page, the director from the document
itself, whose approval timeline then shows all three decisions."""

from playwright.sync_api import Browser, Page, expect

from cangliu.services import auth, roles, transfers
from cangliu.services.postings import Meta
from cangliu.services.transfers import TransferLineIn
from tests.conftest import PASSWORD
from tests.e2e.conftest import ARTIFACTS

PEOPLE = (("sm2", "store_manager", {"scope": "sites", "sites": ["S2"]}),
          ("rm_east", "regional_manager", {"scope": "region", "region": "华东"}),
          ("director", "inventory_director", {"scope": "all"}))


def _as(chromium: Browser, base: str, username: str, **context: object) -> Page:
    page = chromium.new_context(locale="zh-CN", **context).new_page()  # type: ignore[arg-type]
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    return page


def _shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"approval_{name}.png"), full_page=True)


def test_a_cross_region_transfer_walks_three_levels_in_the_browser(server, page, chromium):
    base, db, admin = server
    for username, role, scope in PEOPLE:
        auth.create_user(db.uow(), username=username, password=PASSWORD)
        roles.set_assignments(db.uow(), admin, username, [{"role": role, **scope}])
    number = transfers.create_transfer(db.uow(), Meta(admin), source="WH", dest="S2",
                                       lines=[TransferLineIn("SKU-1", "5")])["number"]
    transfers.submit_transfer(db.uow(), Meta(admin), number=number)

    store = _as(chromium, base, "sm2")
    store.goto(f"{base}/approvals")
    row = store.locator("form.approval-quick").first
    expect(store.locator("body")).to_contain_text(number)
    _shot(store, "my_approvals")
    row.locator("input[name=comment]").fill("门店急需")
    row.locator("button[value=approve]").click()
    store.wait_for_load_state()
    expect(store.locator("form.approval-quick")).to_have_count(0)
    store.context.close()

    regional = _as(chromium, base, "rm_east", viewport={"width": 390, "height": 844},
                   is_mobile=True, has_touch=True)
    regional.goto(f"{base}/approvals")
    _shot(regional, "phone_list")
    regional.locator("a[href^='/approvals/']:not([href*='box'])").first.click()
    regional.wait_for_load_state()
    expect(regional.locator("button.approve")).to_be_visible()
    box = regional.locator("button.approve").bounding_box()
    assert box is not None and box["height"] >= 44  # a thumb-sized target on a phone
    _shot(regional, "phone_decision")
    regional.locator("textarea[name=comment]").fill("华东有余量")
    regional.locator("button.approve").click()
    regional.wait_for_load_state()
    regional.context.close()

    director = _as(chromium, base, "director")
    director.goto(f"{base}/transfers/{number}")
    director.locator("form[action^='/approvals/'] button[value=approve]").first.click()
    director.wait_for_load_state()
    director.goto(f"{base}/transfers/{number}")
    steps = director.locator(".approval-steps > li")
    expect(steps).to_have_count(3)
    for who, step in zip(("sm2", "rm_east", "director"), range(3), strict=True):
        expect(steps.nth(step)).to_contain_text(who)
    expect(director.locator("body")).to_contain_text("华东有余量")
    assert transfers.get_transfer(db.uow(), number)["state"] == "approved"
    _shot(director, "timeline")
    director.context.close()
    page.goto(f"{base}/transfers/{number}")  # the fixture's page: the submitter's view
