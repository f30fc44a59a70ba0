"""The calendar event pages (/planning/events): the list upcoming first with search and pages,
the add form with bad fields and duplicates named, deleting after a confirmation, CSRF checked;
viewers read, only planners of every site change; the navigation links to it."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from cangliu.db.models import CalendarEvent
from cangliu.services import auth, calendar_events, roles
from tests.conftest import PASSWORD
from tests.web.conftest import csrf_of, login

TODAY = datetime.now(UTC).date()
PAGE = "/planning/events"
EN = {"Accept-Language": "en"}


def _count(db) -> int:
    with db.read() as s:
        return s.scalar(select(func.count()).select_from(CalendarEvent)) or 0


def _ids(db) -> dict[str, int]:
    with db.read() as s:
        return {r.name: r.id for r in s.scalars(select(CalendarEvent))}


def test_events_are_listed_added_and_deleted_after_a_confirmation(browser, db):
    listed = browser.get(PAGE, headers=EN)
    assert listed.status_code == 200 and "Nothing found." in listed.text
    assert 'href="/planning/events"' in listed.text  # the navigation link
    token = csrf_of(listed.text)
    bad = browser.post(PAGE, headers=EN, data={"csrf_token": token, "day": "2026-02-30",
                                                "name": "x" * 61, "kind": "party"})
    assert bad.status_code == 422 and _count(db) == 0
    assert "Please correct the marked fields." in bad.text
    assert "must be a date (YYYY-MM-DD)" in bad.text and "is too long" in bad.text
    day = (TODAY + timedelta(days=30)).isoformat()
    done = browser.post(PAGE, follow_redirects=False,
                        data={"csrf_token": token, "day": day, "name": "春节", "kind": "national"})
    assert done.status_code == 303 and done.headers["location"] == f"{PAGE}?added=1"
    twice = browser.post(PAGE, headers=EN,
                         data={"csrf_token": token, "day": day, "name": "春节", "kind": "cultural"})
    assert twice.status_code == 422 and f"an event 春节 on {day} exists already" in twice.text
    assert 'value="春节"' in twice.text and _count(db) == 1
    page = browser.get(PAGE, headers=EN).text
    assert day in page and "National holiday" in page and "Typed in" in page
    event_id = _ids(db)["春节"]
    confirm = browser.get(f"{PAGE}/{event_id}/delete", headers=EN)
    assert confirm.status_code == 200 and f"Delete the event 春节 on {day}?" in confirm.text
    assert _count(db) == 1  # asking deletes nothing
    forged = browser.post(f"{PAGE}/{event_id}/delete", data={"csrf_token": "x"})
    assert forged.status_code == 403 and _count(db) == 1
    gone = browser.post(f"{PAGE}/{event_id}/delete", follow_redirects=False,
                        data={"csrf_token": token})
    assert gone.status_code == 303 and _count(db) == 0
    assert browser.get(f"{PAGE}/{event_id}/delete").status_code == 404
    assert browser.post(PAGE, data={"csrf_token": "x", "day": day, "name": "国庆"}).status_code == 403
    assert _count(db) == 0


def test_the_list_pages_and_searches_upcoming_first(browser, db, network):
    for offset in range(-3, 60):
        calendar_events.add(db.uow(), network, day=TODAY + timedelta(days=offset),
                            name=f"event {offset:+03d}")
    first = browser.get(PAGE).text
    assert first.index("event +00") < first.index("event +01") < first.index("event +49")
    assert "event -01" not in first and "cursor=" in first
    cursor = first.split("cursor=")[1].split("&")[0]
    second = browser.get(PAGE, params={"cursor": cursor.replace("%5F", "_")}).text
    assert "event +50" in second and second.index("event -01") < second.index("event -03")
    assert "event +00" not in second
    found = browser.get(PAGE, params={"q": "-02"}).text
    assert "event -02" in found and "event +02" not in found
    assert browser.get(PAGE, params={"cursor": "nonsense"}).status_code == 422


def test_only_planners_of_every_site_change_events(app, db, network):
    made = calendar_events.add(db.uow(), network, day=TODAY, name="双十一", kind="commercial")
    for name, role, scope in (("sm", "store_manager", {"scope": "sites", "sites": ["S1"]}),
                              ("clerk", "clerk", {"scope": "all"}),
                              ("rm", "regional_manager", {"scope": "region", "region": "华东"})):
        auth.create_user(db.uow(), username=name, password=PASSWORD)
        roles.set_assignments(db.uow(), network, name, [{"role": role, **scope}])
    with login(app, "sm") as sm:
        page = sm.get(PAGE)
        assert page.status_code == 200 and "双十一" in page.text
        assert 'name="day"' not in page.text and "/delete" not in page.text
        refused = sm.post(PAGE, data={"csrf_token": sm.csrf, "day": TODAY.isoformat(), "name": "x"})
        assert refused.status_code == 403
        assert sm.post(f"{PAGE}/{made['id']}/delete", data={"csrf_token": sm.csrf}
                       ).status_code == 403
    with login(app, "rm") as rm:  # plans in one region only: events concern every site
        page = rm.get(PAGE)
        assert page.status_code == 200 and 'name="day"' not in page.text
        refused = rm.post(PAGE, headers=EN, data={"csrf_token": rm.csrf, "day": TODAY.isoformat(),
                                                  "name": "x"})
        assert refused.status_code == 403 and "planning rights at every site" in refused.text
        assert rm.post(f"{PAGE}/{made['id']}/delete", data={"csrf_token": rm.csrf}
                       ).status_code == 403
    with login(app, "clerk") as clerk:
        assert clerk.get(PAGE).status_code == 403
        assert 'href="/planning/events"' not in clerk.get("/stock").text
    assert _count(db) == 1
