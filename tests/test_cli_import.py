"""cangliu import ENTITY FILE [--apply] [--update]: a file with errors prints its report (first
rows and a count) and exits 1 writing nothing; a good file is applied; --update updates."""

import typer
from sqlalchemy import func, select

from cangliu.cli_import import import_command
from cangliu.db.models import Sku
from cangliu.services import masterdata
from tests.test_cli_demand import cli_db, runner, said  # noqa: F401 — a fixture

# The lead registers the command in cli.py; the test runs it on an app of its own.
app = typer.Typer()
app.command("import")(import_command)
app.callback()(lambda: None)


def _skus(db) -> int:  # type: ignore[no-untyped-def]
    with db.read() as s:
        return s.scalar(select(func.count()).select_from(Sku))


def test_a_bad_file_prints_its_errors_and_exits_1_writing_nothing(cli_db, tmp_path):  # noqa: F811
    path = tmp_path / "skus.csv"
    rows = "\n".join(f"B-{i}," for i in range(25))
    path.write_text(f"code,name\n{rows}\n", encoding="utf-8")
    before = _skus(cli_db)
    done = runner.invoke(app, ["import", "sku", str(path), "--apply", "--lang", "en"])
    assert done.exit_code == 1
    text = said(done)
    assert "row 2 · name: is required" in text and "… 5 more errors" in text
    assert "failed, 25 rows" in text and "25 errors" in text
    assert _skus(cli_db) == before


def test_a_good_file_is_applied_and_update_mode_edits(cli_db, tmp_path):  # noqa: F811
    path = tmp_path / "skus.csv"
    path.write_text("编码,名称\nC-1,一\nC-2,二\n", encoding="utf-8")
    checked = runner.invoke(app, ["import", "sku", str(path)])
    assert checked.exit_code == 0 and "已检查，2 行，新建 2" in said(checked)
    assert runner.invoke(app, ["import", "sku", str(path), "--apply"]).exit_code == 0
    assert masterdata.get(cli_db.uow(), "sku", "C-2")["name"] == "二"
    again = runner.invoke(app, ["import", "sku", str(path), "--apply"])
    assert again.exit_code == 1  # the codes exist now
    path.write_text("编码,名称\nC-2,二号\n", encoding="utf-8")
    updated = runner.invoke(app, ["import", "sku", str(path), "--apply", "--update"])
    assert updated.exit_code == 0 and "更新 1" in said(updated)
    assert masterdata.get(cli_db.uow(), "sku", "C-2")["name"] == "二号"
