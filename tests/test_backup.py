"""cangliu backup / restore: a round trip brings back identical data on both databases, and a
restore refuses (changing nothing) a corrupted backup, another schema revision or backend."""

import json
import shutil
import threading
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import create_engine, update
from sqlalchemy.pool import NullPool
from typer.testing import CliRunner

from cangliu.cli import app
from cangliu.config import get_settings
from cangliu.core.permissions import Actor
from cangliu.db.engine import normalize_url
from cangliu.db.migrate import head_revision
from cangliu.db.models import Sku, StockMove
from cangliu.db.uow import Database
from cangliu.services import auth, stock
from cangliu.services import backup as backups
from cangliu.services.audit import verify_chain
from cangliu.services.backup import postgres
from cangliu.services.backup.manifest import (
    MANIFEST,
    Manifest,
    TableDigest,
    canonical_row,
    table_digests,
)
from cangliu.services.postings import Meta
from cangliu.services.stock import Line
from cangliu.services.verify import verify
from tests.conftest import BACKENDS, PASSWORD, fresh_url, seed_network

runner = CliRunner()
NOW = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)


@pytest.fixture(params=BACKENDS)
def url(request, tmp_path, monkeypatch):
    """A migrated database with a small network and a few postings, configured for the CLI."""
    database_url = fresh_url(request.param, request, tmp_path)
    monkeypatch.setenv("CANGLIU_DATABASE_URL", database_url)
    get_settings.cache_clear()
    db = Database(database_url)
    actor = auth.create_user(db.uow(), username="admin", password=PASSWORD, is_admin=True)
    seed_network(db, actor)
    stock.receive(db.uow(), Meta(actor), site="WH", lines=[Line("SKU-1", "10", unit_cost="2.5")])
    stock.receive(db.uow(), Meta(actor), site="WH",
                  lines=[Line("SKU-LOT", "6", lot="L1"), Line("SKU-KG", "1.25")])
    stock.issue(db.uow(), Meta(actor), site="WH", lines=[Line("SKU-1", "4")])
    db.dispose()
    yield database_url
    get_settings.cache_clear()


def _actor(db: Database) -> Actor:
    actor = auth.authenticate(db.uow(), username="admin", password=PASSWORD)
    assert actor is not None
    return actor


def digests(url: str) -> dict[str, TableDigest]:
    engine = create_engine(normalize_url(url), poolclass=NullPool)
    with engine.connect() as conn:
        found = table_digests(conn)
    engine.dispose()
    return found


def _backup(tmp_path: Path) -> Path:
    done = runner.invoke(app, ["backup", "-o", str(tmp_path)])
    assert done.exit_code == 0, done.output
    assert "backup written" in done.output
    (folder,) = tmp_path.glob("cangliu-backup-*")
    return folder


def _edit_manifest(folder: Path, **changes: object) -> None:
    raw = json.loads((folder / MANIFEST).read_text())
    raw.update(changes)
    (folder / MANIFEST).write_text(json.dumps(raw))


def test_restore_brings_back_exactly_the_backed_up_data(url, tmp_path):
    folder = _backup(tmp_path)
    manifest = Manifest.read(folder / MANIFEST)
    assert manifest.schema_revision == head_revision(url)
    assert manifest.tables["stock_move"].rows == 4 and manifest.tables["sku"].rows == 3
    db = Database(url)
    actor = _actor(db)
    stock.receive(db.uow(), Meta(actor), site="S1", lines=[Line("SKU-1", "99")])
    with db.uow() as uow:
        uow.session.execute(update(Sku).values(name="renamed"))
        uow.commit()
    db.dispose()
    assert digests(url) != manifest.tables

    done = runner.invoke(app, ["restore", str(folder)], input="y\n")

    assert done.exit_code == 0, done.output
    assert "replaces ALL data" in done.output
    assert (f"restored / 已恢复: {len(manifest.tables)} tables, {manifest.rows} rows; checksums "
            "match; ledger consistent: 4 moves") in " ".join(done.output.split())
    assert digests(url) == manifest.tables
    db = Database(url)  # the restored database takes new postings (sequences came back too)
    events = verify_chain(db.uow()).events
    assert events > 0 and f"audit chain intact: {events} events" in " ".join(done.output.split())
    stock.receive(db.uow(), Meta(_actor(db)), site="S1", lines=[Line("SKU-1", "1")])
    assert verify(db.uow()).moves == 5
    db.dispose()


@pytest.mark.parametrize("url", ["sqlite"], indirect=True)
def test_restore_into_an_empty_database_needs_no_confirmation(url, tmp_path, monkeypatch):
    folder = _backup(tmp_path)
    target = f"sqlite:///{tmp_path / 'new.db'}"
    monkeypatch.setenv("CANGLIU_DATABASE_URL", target)
    get_settings.cache_clear()

    done = runner.invoke(app, ["restore", str(folder / MANIFEST)])

    assert done.exit_code == 0, done.output
    assert "checksums match; ledger consistent: 4 moves" in " ".join(done.output.split())
    assert digests(target) == digests(url)


def test_restore_refuses_what_it_cannot_trust_and_changes_nothing(url, tmp_path, monkeypatch):
    folder = _backup(tmp_path)
    db = Database(url)
    stock.receive(db.uow(), Meta(_actor(db)), site="S1", lines=[Line("SKU-1", "99")])
    db.dispose()
    before = digests(url)

    def refused(folder: Path, *args: str, reply: str = "") -> str:
        done = runner.invoke(app, ["restore", str(folder), *args], input=reply)
        assert done.exit_code == 1, done.output
        assert "Traceback" not in done.output
        return " ".join(done.output.split())

    # The target holds data: a "no" (or no answer) keeps it.
    assert "nothing was restored" in refused(folder, reply="n\n")
    assert "nothing was restored" in refused(folder)

    other_schema = Path(shutil.copytree(folder, tmp_path / "older-schema"))
    _edit_manifest(other_schema, schema_revision="0035")
    assert (f"the backup has schema revision 0035 (Cangliu 0.1.0), this Cangliu expects "
            f"{head_revision(url)}; nothing was restored") in refused(other_schema, "--yes")

    corrupted = Path(shutil.copytree(folder, tmp_path / "corrupted"))
    data = corrupted / Manifest.read(corrupted / MANIFEST).data_file
    raw = bytearray(data.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    data.write_bytes(bytes(raw))
    assert "is corrupted: its sha256 is" in refused(corrupted, "--yes")

    assert "not a Cangliu backup (no manifest.json)" in refused(tmp_path, "--yes")
    assert digests(url) == before

    other = ("postgresql://nobody@127.0.0.1:1/none" if url.startswith("sqlite")
             else f"sqlite:///{tmp_path / 'other.db'}")
    monkeypatch.setenv("CANGLIU_DATABASE_URL", other)
    get_settings.cache_clear()
    assert "the backup is of a" in refused(folder, "--yes")
    assert not (tmp_path / "other.db").exists()


@pytest.mark.parametrize("url", ["sqlite"], indirect=True)
def test_the_checksum_of_a_table_changes_when_one_of_its_rows_changes(url, tmp_path):
    first = backups.create_backup(url, tmp_path, now=NOW).manifest
    engine = create_engine(normalize_url(url), poolclass=NullPool)
    with engine.begin() as conn:  # beside the app, which would audit the change in more tables
        conn.execute(update(Sku).where(Sku.code == "SKU-KG").values(name="糙米"))
    engine.dispose()

    second = backups.create_backup(url, tmp_path, now=NOW + timedelta(seconds=1)).manifest

    changed = {name for name in first.tables if first.tables[name] != second.tables[name]}
    assert changed == {"sku"}
    assert first.tables["sku"].rows == second.tables["sku"].rows == 3


def test_a_backup_taken_while_another_thread_posts_is_one_consistent_state(url, tmp_path):
    db = Database(url)
    actor, stop, ready, posted = _actor(db), threading.Event(), threading.Event(), []

    def post() -> None:
        while not stop.is_set():
            stock.receive(db.uow(), Meta(actor), site="WH", lines=[Line("SKU-1", "1")])
            posted.append(1)
            if len(posted) == 3:
                ready.set()

    writer = threading.Thread(target=post)
    writer.start()
    try:
        assert ready.wait(30)
        at_start = 4 + len(posted)
        made = backups.create_backup(url, tmp_path, now=NOW)
        at_end = 4 + len(posted) + 1  # the posting in flight may have committed
    finally:
        stop.set()
        writer.join()
    db.dispose()
    moves = made.manifest.tables["stock_move"].rows
    assert at_start <= moves <= at_end
    # The restore checks every table against the manifest: counts taken in the dump's snapshot.
    restored = backups.restore(backups.open_backup(made.folder, url), url)
    assert restored.rows == made.manifest.rows
    db = Database(url)
    report = verify(db.uow())
    with db.uow() as uow:
        stored = uow.session.query(StockMove).count()
    db.dispose()
    assert report.consistent and report.moves == stored == moves


def test_a_missing_pg_dump_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(postgres, "TOOL_DIRS", str(tmp_path / "none" / "*" / "bin"))
    with pytest.raises(backups.BackupError, match="pg_dump not found on PATH"):
        postgres.tool("pg_dump")


def test_checksums_read_values_alike_whichever_database_returns_them():
    sqlite_row = [datetime(2026, 1, 2, 3, 4, 5), 1.5, True, {"b": 1, "a": [2]}, Decimal("2.50")]
    postgresql_row = [datetime(2026, 1, 2, 11, 4, 5, tzinfo=timezone(timedelta(hours=8))), 1.5,
                      True, {"a": [2], "b": 1}, Decimal("2.5")]
    assert canonical_row(sqlite_row) == canonical_row(postgresql_row)
    assert canonical_row([Decimal("2.5")]) != canonical_row([Decimal("2.51")])
