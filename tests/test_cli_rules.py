"""cangliu rules: export the stored transfer rules as one YAML list and import a file back, all or
nothing — a bad rule names its position and field, exits 1 and changes nothing."""

from sqlalchemy import select

from cangliu.cli import app
from cangliu.db.models import TransferRule
from tests.test_cli_demand import cli_db, runner, said  # noqa: F401 — a fixture


def _rules(db) -> dict[str, int]:
    with db.read() as s:
        return dict(s.execute(select(TransferRule.name, TransferRule.version)).tuples().all())


def test_export_then_import_a_changed_and_a_new_rule(cli_db, tmp_path):  # noqa: F811
    out = tmp_path / "rules.yaml"
    assert runner.invoke(app, ["rules", "export", "--output", str(out)]).exit_code == 0
    text = out.read_text(encoding="utf-8")
    assert text.count("- name: ") == 4 and "cooldown_days: 14" in text
    before = _rules(cli_db)
    changed = text.replace("cooldown_days: 14", "cooldown_days: 21") + (
        "- name: online_topup\n  kind: replenish\n  priority: 50\n"
        "  target: \"site_kind = 'online' AND available < safety_stock\"\n"
        "  source: \"site_kind = 'regional'\"\n  quantity: \"max_stock - available\"\n")
    out.write_text(changed, encoding="utf-8")
    done = runner.invoke(app, ["rules", "import", str(out)])
    assert done.exit_code == 0, done.output
    assert "1 created (online_topup), 1 updated (slow_mover_clearance), 3 unchanged" in said(done)
    after = _rules(cli_db)
    assert after["slow_mover_clearance"] == before["slow_mover_clearance"] + 1
    assert after["store_replenishment"] == before["store_replenishment"]


def test_a_bad_rule_refuses_the_whole_file(cli_db, tmp_path):  # noqa: F811
    path = tmp_path / "bad.yaml"
    path.write_text("- name: fine_rule\n  kind: replenish\n  target: \"available < 1\"\n"
                    "  source: \"site_kind = 'central'\"\n  quantity: \"5\"\n"
                    "- name: broken\n  kind: replenish\n  target: \"shelf_colour = 'red'\"\n"
                    "  source: \"site_kind = 'central'\"\n  quantity: \"5\"\n", encoding="utf-8")
    before = _rules(cli_db)
    failed = runner.invoke(app, ["rules", "import", str(path)])
    assert failed.exit_code == 1 and "[1].target" in said(failed) and "shelf_colour" in said(failed)
    assert _rules(cli_db) == before
