"""cangliu demand: import a file (all or nothing, bad rows listed, exit 1) and rebuild from the ledger."""

from datetime import UTC, datetime

import pytest
from click.testing import Result
from typer.testing import CliRunner

from cangliu.cli import app
from cangliu.config import get_settings
from cangliu.db.uow import Database
from cangliu.services import auth, stock
from cangliu.services.postings import Meta
from cangliu.services.stock import Line
from tests.conftest import BACKENDS, fresh_url, seed_network

runner = CliRunner()
PASSWORD = "cli-password-123"


def said(result: Result) -> str:
    """The output with Rich's line wrapping undone."""
    return " ".join(result.output.split())


@pytest.fixture(params=BACKENDS)
def cli_db(request, tmp_path, monkeypatch):
    url = fresh_url(request.param, request, tmp_path)
    monkeypatch.setenv("CANGLIU_DATABASE_URL", url)
    monkeypatch.setenv("CANGLIU_ADMIN_PASSWORD", PASSWORD)
    get_settings.cache_clear()
    database = Database(url)
    assert runner.invoke(app, ["init"]).exit_code == 0
    seed_network(database, auth.authenticate(database.uow(), username="admin", password=PASSWORD))
    yield database
    database.dispose()
    get_settings.cache_clear()


def test_import_lists_every_bad_row_and_exits_1_then_imports_a_good_file(cli_db, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("date,site,sku,qty\n2026-03-01,S1,SKU-1,3\n2026-02-30,S1,SKU-1,1\n"
                   "2026-03-02,S9,SKU-1,x\n")
    failed = runner.invoke(app, ["demand", "import", str(bad)])
    assert failed.exit_code == 1
    assert "Invalid input" in said(failed)
    assert "rows[3].date: must be a date (YYYY-MM-DD)" in said(failed)
    assert "rows[4].site: unknown site S9" in said(failed)
    assert "rows[4].qty: must be a number" in said(failed)
    good = tmp_path / "good.csv"
    good.write_text("date,site,sku,qty,stockout\n2026-03-01,S1,SKU-1,3,0\n2026-03-02,S1,SKU-1,0,1\n")
    done = runner.invoke(app, ["demand", "import", str(good), "--format", "generic"])
    assert done.exit_code == 0, done.output
    assert "imported 2 days in 1 series, 2026-03-01 .. 2026-03-02, total qty 3" in said(done)


def test_import_m5_creates_missing_stores_and_maps_the_others(cli_db, tmp_path):
    path = tmp_path / "sales.csv"
    path.write_text("date,store_id,item_id,units\n2015-01-01,CA_1,ITEM_1,2\n2015-01-01,TX_1,ITEM_1,0\n")
    unknown = runner.invoke(app, ["demand", "import", str(path), "--format", "m5"])
    assert unknown.exit_code == 1 and "rows[2].store_id: unknown site CA_1" in said(unknown)
    done = runner.invoke(app, ["demand", "import", str(path), "--format", "m5", "--create-missing",
                               "--map-site", "CA_1=S1", "--map-sku", "ITEM_1=SKU-1"])
    assert done.exit_code == 0, done.output
    assert "created 1 sites: TX_1" in said(done) and "imported 2 days in 2 series" in said(done)


def test_rebuild_summarises_the_demand_it_found(cli_db):
    actor = auth.authenticate(cli_db.uow(), username="admin", password=PASSWORD)
    meta = Meta(actor, occurred_at=datetime(2026, 3, 2, 10, tzinfo=UTC))
    stock.receive(cli_db.uow(), meta, site="WH", lines=[Line("SKU-1", "5")])
    stock.issue(cli_db.uow(), meta, site="WH", lines=[Line("SKU-1", "5")])
    done = runner.invoke(app, ["demand", "rebuild", "--since", "2026-03-01", "--until", "2026-03-03"])
    assert done.exit_code == 0, done.output
    assert ("demand rebuilt 2026-03-01 .. 2026-03-03: 2 days in 1 series (1 with demand, "
            "2 out of stock, 0 kept as imported)") in said(done)
    wrong = runner.invoke(app, ["demand", "rebuild", "--since", "2026-03-05", "--until", "2026-03-03"])
    assert wrong.exit_code == 1 and "since: must not be after 2026-03-03" in said(wrong)


def test_plan_imports_then_computes_thresholds_with_defaults_named(cli_db, tmp_path):
    path = tmp_path / "demand.csv"
    path.write_text("date,site,sku,qty\n" + "".join(
        f"2026-03-{d:02d},S1,SKU-1,{d % 3 + 1}\n" for d in range(1, 29)))
    assert runner.invoke(app, ["demand", "import", str(path)]).exit_code == 0
    done = runner.invoke(app, ["plan", "--day", "2026-03-29"])
    assert done.exit_code == 0, done.output
    assert "planned 2026-03-29" in said(done) and "thresholds for 1 SKU × site" in said(done)


def test_plan_dry_run_says_what_the_rules_would_change_and_saves_nothing(cli_db):
    done = runner.invoke(app, ["plan", "--dry-run", "--day", "2026-03-29"])
    assert done.exit_code == 0, done.output
    assert "dry run, nothing saved: 0 new" in said(done)
