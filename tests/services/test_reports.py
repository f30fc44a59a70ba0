"""Scheduled reports: figures over a small seeded period checked by hand, the XLSX and PDF files,
catching up missed periods idempotently, and subscribers told once."""

import json
import shutil
import subprocess
from datetime import UTC, date, datetime
from decimal import Decimal
from io import BytesIO

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from openpyxl import load_workbook
from sqlalchemy import func, select, update

from cangliu.db.base import Base
from cangliu.db.models import Alert, AlertRule, AppUser, Delivery, Notification
from cangliu.db.models.reports import Report
from cangliu.services import auth, reports, roles, stock
from cangliu.services.postings import Meta
from cangliu.services.reports.data import for_sites, load
from cangliu.services.stock import Line
from tests.conftest import PASSWORD

D = Decimal


def at(day: int, hour: int = 9) -> datetime:
    return datetime(2026, 11, day, hour, tzinfo=UTC)


def clock(day: int, hour: int = 9):  # type: ignore[no-untyped-def]
    return lambda: at(day, hour)


@pytest.fixture
def seeded(db, network):
    """Monday 2 November: 10 in at WH and 5 at S1 at cost 2, 4 out of WH; 1 more in on the 3rd."""
    on = Meta(network, reason="test", occurred_at=at(2))
    stock.receive(db.uow(), on, site="WH", lines=[Line("SKU-1", "10", unit_cost="2")])
    stock.receive(db.uow(), on, site="S1", lines=[Line("SKU-1", "5", unit_cost="2")])
    stock.issue(db.uow(), on, site="WH", lines=[Line("SKU-1", "4")])
    later = Meta(network, reason="test", occurred_at=at(3))
    stock.receive(db.uow(), later, site="WH", lines=[Line("SKU-1", "1", unit_cost="2")])
    return network


def _alerts(db) -> None:
    with db.uow(clock=clock(2)) as uow:
        rule = AlertRule(code="LOW", name="低库存", kind="low_stock", severity="warning",
                         created_at=at(1), updated_at=at(1))
        uow.session.add(rule)
        uow.session.flush()
        uow.session.add_all([
            Alert(rule_id=rule.id, key="a", severity="warning", title="t", opened_at=at(2, 1),
                  last_seen_at=at(2), acknowledged_at=at(2, 3), state="resolved",
                  resolved_at=at(3, 1)),
            Alert(rule_id=rule.id, key="b", severity="critical", title="t", opened_at=at(1),
                  last_seen_at=at(2), state="resolved", resolved_at=at(2, 5)),
            Alert(rule_id=rule.id, key="c", severity="warning", title="t", opened_at=at(3),
                  last_seen_at=at(3), state="open")])
        uow.commit()


def test_a_daily_report_totals_the_days_movements_values_and_alerts(db, seeded):
    _alerts(db)
    with db.read() as s:
        data = reports.build(s, "daily", date(2026, 11, 2), date(2026, 11, 2), now=at(4))
    moves = {(m.operation, m.site): (m.postings, m.qty, m.value) for m in data.movements}
    assert moves == {("receive", "WH"): (1, D(10), D("20.00")),
                     ("receive", "S1"): (1, D(5), D("10.00")),
                     ("issue", "WH"): (1, D(4), D("8.00"))}
    assert [(h.site, h.category, h.value) for h in data.inventory] == [
        ("S1", "FOOD", D("10.00")), ("WH", "FOOD", D("12.00"))]
    assert [(a.rule, a.severity, a.opened, a.acknowledged, a.resolved) for a in data.alerts] == [
        ("LOW", "critical", 0, 0, 1), ("LOW", "warning", 1, 1, 0)]
    assert data.complete and "turnover" in data.kpis


def test_a_weekly_report_spans_monday_to_sunday_and_a_scoped_reader_sees_their_sites(db, seeded):
    with db.read() as s:
        data = reports.build(s, "weekly", date(2026, 11, 2), date(2026, 11, 8), now=at(4))
    receive_wh = [m for m in data.movements if (m.operation, m.site) == ("receive", "WH")]
    assert [(m.postings, m.qty, m.value) for m in receive_wh] == [(2, D(11), D("22.00"))]
    assert not data.complete
    mine = for_sites(data, frozenset({"S1"}))
    assert {m.site for m in mine.movements} == {"S1"} and mine.kpis is None
    assert load(reports.data.dump(data)) == data


def test_the_files_open_and_carry_the_title_in_the_readers_language(db, seeded):
    with db.read() as s:
        data = reports.build(s, "daily", date(2026, 11, 2), date(2026, 11, 2), now=at(4))
    book = load_workbook(BytesIO(reports.to_xlsx(data, "en")))
    assert book.sheetnames == ["Movements", "Inventory value", "KPIs", "Alerts handled"]
    assert book["Movements"]["A1"].value == "Daily Inventory report 2026-11-02"
    assert load_workbook(BytesIO(reports.to_xlsx(data, "zh_CN"))).sheetnames[0] == "出入库"
    pdf = reports.to_pdf(data, "zh_CN")
    assert pdf.startswith(b"%PDF")
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    text = subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True,
                          check=True).stdout.decode()
    assert "日报 库存报表 2026-11-02" in text and "20.00" in text


def _periods(db) -> list[tuple[str, date, datetime]]:
    with db.read() as s:
        return list(s.execute(select(Report.kind, Report.period_start, Report.generated_at)
                              .order_by(Report.kind, Report.period_start)).tuples())


def test_generate_due_catches_up_missed_periods_once_and_redoes_incomplete_ones(db, seeded):
    reports.generate(db.uow(clock=clock(10, 12)), "daily", date(2026, 11, 10), by="admin")
    made = reports.generate_due(db.uow(clock=clock(10)), date(2026, 11, 10))
    assert sorted((r.kind, r.period_start.day) for r in made) == [
        ("daily", d) for d in range(3, 10)] + [("weekly", 2)]
    assert reports.generate_due(db.uow(clock=clock(10)), date(2026, 11, 10)) == []
    again = reports.generate_due(db.uow(clock=clock(11)), date(2026, 11, 11))
    assert [(r.kind, r.period_start.day) for r in again] == [("daily", 10)]  # was incomplete
    assert len(_periods(db)) == 9  # regenerating replaced, never duplicated


def test_subscribers_are_told_once_of_each_complete_report(db, seeded):
    with db.uow() as uow:
        uow.session.execute(update(AppUser).values(email="boss@example.com"))
        uow.commit()
    reports.subscribe(db.uow(), seeded, kind="weekly", channel="email")
    reports.subscribe(db.uow(), seeded, kind="weekly", channel="in_app")
    reports.subscribe(db.uow(), seeded, kind="weekly", channel="in_app")  # changes nothing
    auth.create_user(db.uow(), username="fin", password=PASSWORD)
    roles.set_assignments(db.uow(), seeded, "fin", [{"role": "finance", "scope": "all"}])
    reports.subscribe(db.uow(), seeded, kind="weekly", role="finance")
    reports.generate_due(db.uow(clock=clock(10)), date(2026, 11, 10))
    reports.generate_due(db.uow(clock=clock(10, 10)), date(2026, 11, 10))
    with db.read() as s:
        told = list(s.execute(select(Notification.user_id, Notification.params)
                              .where(Notification.kind == "report")).tuples())
        assert s.scalar(select(func.count()).select_from(Report).where(
            Report.sent_at.is_(None), Report.kind == "weekly")) == 0
    assert sorted(u for u, _ in told) == [seeded.user_id, seeded.user_id + 1]
    assert json.loads(told[0][1]) == {"kind": "Weekly", "period": "2026-11-02 – 2026-11-08"}
    with db.read() as s:
        mails = [json.loads(p) for p in s.scalars(select(Delivery.payload).where(
            Delivery.kind == "email"))]
    assert [(m["to"], m["subject"]) for m in mails] == [
        (["boss@example.com"], "周报 库存报表 2026-11-02 – 2026-11-08")]


def test_each_e_mail_reader_gets_the_sites_values_and_language_their_roles_and_choice_give(
        db, seeded):
    def user(name: str, assignment: dict, locale: str | None = None) -> None:
        made = auth.create_user(db.uow(), username=name, password=PASSWORD)
        roles.set_assignments(db.uow(), seeded, name, [assignment])
        if locale:
            auth.set_locale(db.uow(), made.user_id, locale)

    roles.save_role(db.uow(), seeded, "peek", name="只看报表", permissions=["report.view"],
                    hidden_fields=["valuation"])
    user("s1", {"role": "store_manager", "scope": "sites", "sites": ["S1"]}, locale="en")
    user("peeker", {"role": "peek", "scope": "all"})
    user("gone", {"role": "clerk", "scope": "all"})  # no report.view: told nothing
    with db.uow() as uow:
        uow.session.execute(update(AppUser).values(
            email=func.coalesce(func.nullif(AppUser.username, "admin"), "boss") + "@example.com"))
        uow.commit()
    reports.subscribe(db.uow(), seeded, kind="weekly", channel="email")
    for role in ("store_manager", "peek", "clerk"):
        reports.subscribe(db.uow(), seeded, kind="weekly", channel="email", role=role)
    reports.subscribe(db.uow(), seeded, kind="weekly", role="clerk")  # in-app
    reports.generate_due(db.uow(clock=clock(10)), date(2026, 11, 10))
    with db.read() as s:
        mails = [json.loads(p) for p in s.scalars(select(Delivery.payload).where(
            Delivery.kind == "email"))]
        told = s.scalars(select(Notification.id).where(Notification.kind == "report")).all()
    assert told == []
    by_reader = {tuple(m["to"]): (m["subject"], m["text"].splitlines()[1:]) for m in mails}
    week = "2026-11-02 – 2026-11-08"
    assert by_reader == {
        # everything: 4 postings; 7 left at WH and 5 at S1, at 2 each
        ("boss@example.com",): (f"周报 库存报表 {week}", ["过账数: 4", "库存价值: 24.00"]),
        ("s1@example.com",): (f"Weekly Inventory report {week}",
                              ["Postings: 1", "Inventory value: 10.00"]),
        ("peeker@example.com",): (f"周报 库存报表 {week}", ["过账数: 4"]),
    }


def test_the_language_a_user_logs_in_with_or_chooses_is_remembered(db, admin):
    auth.start_session(db.uow(), admin, client=auth.Client(), locale="en")
    auth.set_locale(db.uow(), admin.user_id, "en")  # unchanged: nothing written
    with db.read() as s:
        assert s.scalar(select(AppUser.locale).where(AppUser.id == admin.user_id)) == "en"
    auth.set_locale(db.uow(), admin.user_id, "zh_CN")
    with db.read() as s:
        assert s.scalar(select(AppUser.locale).where(AppUser.id == admin.user_id)) == "zh_CN"


def test_only_an_administrator_subscribes_a_role(db, seeded):
    clerk = auth.create_user(db.uow(), username="c", password=PASSWORD)
    with pytest.raises(reports.subscriptions.RoleSubscriptionDenied):
        reports.subscribe(db.uow(), clerk, kind="daily", role="finance")


def test_the_model_and_the_migration_agree_on_the_report_tables(db):
    with db.writer.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    mine = [d for d in diff if "report" in repr(d)]
    assert mine == []
