"""The cangliu command: init, verify (consistent and with a readable diff), migrate."""

import pytest
from sqlalchemy import update
from typer.testing import CliRunner

from cangliu.cli import app
from cangliu.config import get_settings
from cangliu.db.models import StockBalance
from cangliu.db.uow import Database
from cangliu.services import auth, stock
from cangliu.services.alerts import rules as alert_rules
from cangliu.services.postings import Meta
from cangliu.services.stock import Line
from tests.conftest import BACKENDS, fresh_url, seed_network

runner = CliRunner()


@pytest.fixture(params=BACKENDS)
def cli_db(request, tmp_path, monkeypatch):
    url = fresh_url(request.param, request, tmp_path)
    monkeypatch.setenv("CANGLIU_DATABASE_URL", url)
    monkeypatch.setenv("CANGLIU_ADMIN_PASSWORD", "cli-password-123")
    get_settings.cache_clear()
    yield Database(url)
    get_settings.cache_clear()


def test_init_creates_the_admin_once_and_prints_the_login(cli_db):
    first = runner.invoke(app, ["init"])
    assert first.exit_code == 0, first.output
    assert "admin" in first.output and "cli-password-123" in first.output
    again = runner.invoke(app, ["init"])
    assert again.exit_code == 0 and "cli-password-123" not in again.output


def test_the_first_init_adds_the_default_alert_rules_and_later_ones_leave_them_be(cli_db):
    first = runner.invoke(app, ["init"])
    with cli_db.read() as session:
        codes = {r["code"] for r in alert_rules.list_rules(session)}
    assert codes == {d[0] for d in alert_rules.DEFAULTS}
    assert f"default alert rules / 默认预警规则: {len(codes)}" in first.output
    admin = auth.authenticate(cli_db.uow(), username="admin", password="cli-password-123")
    alert_rules.delete_rule(cli_db.uow(), admin, "low_stock")
    assert runner.invoke(app, ["init"]).exit_code == 0
    with cli_db.read() as session:
        assert "low_stock" not in {r["code"] for r in alert_rules.list_rules(session)}


def test_verify_reports_consistency_and_exits_1_with_a_diff_when_a_balance_drifts(cli_db):
    runner.invoke(app, ["init"])
    actor = auth.authenticate(cli_db.uow(), username="admin", password="cli-password-123")
    seed_network(cli_db, actor)
    stock.receive(cli_db.uow(), Meta(actor), site="WH", lines=[Line("SKU-1", "10")])
    stock.issue(cli_db.uow(), Meta(actor), site="WH", lines=[Line("SKU-1", "4")])
    ok = runner.invoke(app, ["verify"])
    assert ok.exit_code == 0
    assert "ledger consistent: 2 moves, 1 balances" in ok.output
    with cli_db.uow() as uow:  # simulate a projection bug: someone edits a balance directly
        uow.session.execute(update(StockBalance).values(qty=7))
        uow.commit()
    bad = runner.invoke(app, ["verify"])
    assert bad.exit_code == 1
    assert "SKU-1 @ WH [available]: ledger 6, balance 7" in bad.output
