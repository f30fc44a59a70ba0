"""Calendar events: added with every bad field named and duplicates refused, deleted, listed
upcoming first in pages, audited, kept to planners of every site; the M5 calendar imported
idempotently (also by the M5 demand import); the thresholds' forecasts read them."""

from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import func, select

from cangliu.cli import app
from cangliu.core.errors import NotFound, ValidationFailed
from cangliu.core.permissions import Actor, Grant
from cangliu.db.models import AuditEvent, CalendarEvent, Location
from cangliu.services import calendar_events as events
from cangliu.services import demand, thresholds
from tests import test_cli_demand
from tests.services.test_demand import m5_files
from tests.test_cli_demand import runner, said

cli_db = test_cli_demand.cli_db  # the CLI's database fixture, used here too
TODAY = date(2026, 11, 23)
CALENDAR = """date,wm_yr_wk,weekday,event_name_1,event_type_1,event_name_2,event_type_2,snap_CA
2011-02-06,11102,Sunday,SuperBowl,Sporting,,,1
2011-02-07,11102,Monday,,,,,1
2011-04-24,11113,Sunday,OrthodoxEaster,Religious,Easter,Cultural,0
2011-11-25,11143,Friday,Thanksgiving,National,,,0
"""


def _count(db) -> int:
    with db.read() as s:
        return s.scalar(select(func.count()).select_from(CalendarEvent)) or 0


def test_an_event_is_added_listed_and_deleted_with_an_audit_trail(db, network):
    made = events.add(db.uow(), network, day=TODAY + timedelta(days=60), name=" 春节 ",
                      kind="National")
    assert (made["name"], made["kind"], made["source"]) == ("春节", "national", "manual")
    with db.read() as s:
        assert events.get(s, made["id"])["day"] == (TODAY + timedelta(days=60)).isoformat()
        framed = events.frame(s, TODAY, TODAY + timedelta(days=90))
        assert framed.to_dicts() == [{"day": TODAY + timedelta(days=60), "name": "春节"}]
        assert events.frame(s, TODAY, TODAY + timedelta(days=59)).is_empty()
        assert s.scalar(select(func.count()).select_from(AuditEvent)
                        .where(AuditEvent.entity == "calendar_event")) == 1
    gone = events.remove(db.uow(), network, made["id"])
    assert gone["name"] == "春节" and _count(db) == 0
    with pytest.raises(NotFound):
        events.remove(db.uow(), network, made["id"])
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(AuditEvent)
                        .where(AuditEvent.entity == "calendar_event")) == 2


def test_bad_fields_are_named_and_a_duplicate_is_refused(db, network):
    with pytest.raises(ValidationFailed) as bad:
        events.add(db.uow(), network, day=None, name="x" * 61, kind="party")
    assert {e.field for e in bad.value.errors} == {"day", "name", "kind"}
    with pytest.raises(ValidationFailed) as empty:
        events.add(db.uow(), network, day=TODAY, name="  ")
    assert [(e.field, e.message) for e in empty.value.errors] == [("name", "is required")]
    events.add(db.uow(), network, day=TODAY, name="国庆", kind="national")
    with pytest.raises(ValidationFailed) as twice:
        events.add(db.uow(), network, day=TODAY, name="国庆", kind="cultural")
    assert twice.value.errors[0].field == "name"
    events.add(db.uow(), network, day=TODAY + timedelta(days=1), name="国庆")  # another day: fine
    assert _count(db) == 2


def test_only_a_planner_of_every_site_changes_events(db, network):
    with db.read() as s:
        s1 = s.scalar(select(Location.id).where(Location.code == "S1"))
    regional = Actor(user_id=98, username="rm", grants=(
        Grant(frozenset({"planning.view", "planning.edit"}), frozenset({s1})),))
    with pytest.raises(Exception) as refused:
        events.add(db.uow(), regional, day=TODAY, name="双十一")
    assert getattr(refused.value, "status", None) == 403 and _count(db) == 0
    made = events.add(db.uow(), network, day=TODAY, name="双十一", kind="commercial")
    with pytest.raises(Exception) as kept:
        events.remove(db.uow(), regional, made["id"])
    assert getattr(kept.value, "status", None) == 403 and _count(db) == 1


def test_the_list_shows_upcoming_events_first_then_the_past_latest_first(db, network):
    for offset, name in ((-30, "past-far"), (-1, "past-near"), (0, "today"), (10, "soon"),
                         (40, "later")):
        events.add(db.uow(), network, day=TODAY + timedelta(days=offset), name=name)
    names: list[str] = []
    cursor = None
    with db.read() as s:
        while True:
            page, cursor = events.list_events(s, today=TODAY, after=cursor, limit=2)
            assert len(page) <= 2
            names += [e["name"] for e in page]
            if cursor is None:
                break
        assert names == ["today", "soon", "later", "past-near", "past-far"]
        found, _ = events.list_events(s, today=TODAY, q="PAST")
        assert [e["name"] for e in found] == ["past-near", "past-far"]
        with pytest.raises(ValidationFailed):
            events.list_events(s, today=TODAY, after="X_nonsense")


def test_the_m5_calendar_is_imported_once(db, network, tmp_path: Path):
    path = tmp_path / "m5_tiny_calendar.csv"
    path.write_text(CALENDAR)
    assert events.import_m5_calendar(db.uow(), path) == 4
    assert events.import_m5_calendar(db.uow(), path) == 0  # idempotent
    with db.read() as s:
        rows = {(r.day, r.name): (r.kind, r.source) for r in s.scalars(select(CalendarEvent))}
    assert rows[(date(2011, 4, 24), "Easter")] == ("cultural", "import")
    assert rows[(date(2011, 2, 6), "SuperBowl")] == ("sporting", "import")
    assert len(rows) == 4
    bad = tmp_path / "bad.csv"
    bad.write_text("date,event_name_1\n2011-01-01,X\n")
    with pytest.raises(ValidationFailed):
        events.import_m5_calendar(db.uow(), bad)


def test_effects_are_learned_from_years_of_demand_days(db, network, tmp_path: Path):
    fridays = [date(2023, 11, 24), date(2024, 11, 29), date(2025, 11, 28)]
    closed = [date(2023, 12, 25), date(2024, 12, 25), date(2025, 12, 25)]
    rows = ["date,site,sku,qty"]
    for day in [*fridays, *closed]:  # the closed days have no row: no demand
        rows += [f"{day + timedelta(days=7 * w)},S1,SKU-1,{30 if w == 0 else 10}"
                 for w in (-2, -1, 0, 1, 2) if w or day in fridays]
    path = tmp_path / "d.csv"
    path.write_text("\n".join(rows) + "\n")
    demand.import_demand(db.uow(), path, fmt="generic")
    for day in fridays:
        events.add(db.uow(), network, day=day, name="Black Friday", kind="commercial")
    for day in closed:
        events.add(db.uow(), network, day=day, name="Christmas", kind="religious")
    events.add(db.uow(), network, day=date(2026, 11, 27), name="Black Friday")  # ahead
    with db.read() as s:
        learned = events.effects(s, date(2026, 1, 31))  # the three years before
        before = events.effects(s, date(2024, 12, 1))  # the 2023 occurrences only: too few
        assert events.effects(s, date(2020, 1, 1)).is_empty()
        only = events.effects(s, date(2026, 1, 31), ahead=date(2026, 12, 1))  # no Christmas
        assert set(only["name"]) == {"Black Friday"}
    pooled = dict(learned.filter(pl.col("sku").is_null()).select("name", "factor").iter_rows())
    assert pooled["Black Friday"] == pytest.approx((3 * 3 + 0.5) / 3.5)
    assert pooled["Christmas"] == pytest.approx(0.5 / 3.5)  # 0 shrunk toward 1
    assert set(before["name"]) == {"Black Friday"}  # 2 occurrences; Christmas only 1


def test_the_thresholds_forecast_reads_the_events(db, network, monkeypatch):
    seen: dict[str, pl.DataFrame] = {}
    real = thresholds.forecast

    def spy(history, classes, **options):
        seen["events"], seen["effects"] = options.get("events"), options.get("event_effects")
        return real(history, classes, **options)

    events.add(db.uow(), network, day=TODAY + timedelta(days=3), name="双十二", kind="commercial")
    monkeypatch.setattr(thresholds, "forecast", spy)
    with db.read() as s:
        start = TODAY - timedelta(days=91)
        history = pl.DataFrame({"sku": [1] * 91, "site": [1] * 91,
                                "day": [start + timedelta(days=i) for i in range(91)],
                                "qty": [5.0] * 91, "stockout": [False] * 91})
        stats = pl.DataFrame({"sku": [1], "site": [1], "pattern": ["smooth"], "periods": [91]})
        thresholds._forecasts(s, history, stats, start, TODAY - timedelta(days=1))
    assert seen["events"]["name"].to_list() == ["双十二"]
    assert seen["effects"] is not None and seen["effects"].is_empty()  # no past occurrence


def test_the_m5_demand_import_brings_the_calendar_next_to_it(db, network, tmp_path: Path):
    path = m5_files(tmp_path / "m5")
    (path.parent / "m5_tiny_calendar.csv").write_text(CALENDAR)
    done = demand.import_demand(db.uow(), path, fmt="m5", actor=network, create_missing=True,
                                site_map={"CA_1": "S1"}, sku_map={"HOBBIES_1_002": "SKU-1"})
    assert done["rows"] == 12 and done["calendar_events"] == 4 and _count(db) == 4
    again = demand.import_demand(db.uow(), path, fmt="m5", site_map={"CA_1": "S1", "TX_9": "TX_9"},
                                 sku_map={"HOBBIES_1_002": "SKU-1"})
    assert again["calendar_events"] == 0 and _count(db) == 4
    (path.parent / "m5_tiny_calendar.csv").write_text("date,event_name_1\n2011-01-01,X\n")
    with pytest.raises(ValidationFailed):  # a bad calendar stops the import before it writes
        demand.import_demand(db.uow(), path, fmt="m5", site_map={"CA_1": "S1"},
                             sku_map={"HOBBIES_1_002": "SKU-1"})


def test_the_cli_counts_the_calendar_events_it_imported(cli_db, tmp_path: Path):
    path = tmp_path / "sales.csv"
    path.write_text("date,store_id,item_id,units\n2011-02-06,CA_1,ITEM_1,2\n")
    (tmp_path / "calendar.csv").write_text(CALENDAR)
    done = runner.invoke(app, ["demand", "import", str(path), "--format", "m5",
                               "--map-site", "CA_1=S1", "--map-sku", "ITEM_1=SKU-1"])
    assert done.exit_code == 0, done.output
    assert "imported 1 days in 1 series" in said(done) and "4 new calendar events" in said(done)
    with cli_db.read() as s:
        assert s.scalar(select(func.count()).select_from(CalendarEvent)) == 4
