"""``cangliu backup`` and ``cangliu restore``: a backup folder (data file + manifest) of the
configured database, and its restore with the manifest's checks before and after."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import click
import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy.exc import DBAPIError

from cangliu.config import get_settings
from cangliu.core.errors import DomainError
from cangliu.db.uow import Database
from cangliu.services import backup as backups
from cangliu.services.audit import verify_chain
from cangliu.services.verify import verify as verify_ledger

console = Console()


@contextmanager
def _clear_errors() -> Iterator[None]:
    """A refused backup or restore, or an unreachable database: a red line and exit 1, never a
    traceback."""
    try:
        yield
    except DomainError as exc:
        console.print(f"[red]{exc.message.format(**exc.params)}[/red]", highlight=False)
        raise typer.Exit(1) from None
    except DBAPIError as exc:
        console.print(f"[red]database error: {str(exc.orig).strip()}[/red]", highlight=False)
        raise typer.Exit(1) from None


@contextmanager
def _progress(label: str) -> Iterator[Callable[[str, int, int], None]]:
    with Progress(TextColumn("{task.description}"), BarColumn(),
                  TextColumn("{task.completed}/{task.total} tables"), TimeElapsedColumn(),
                  console=console, transient=True) as bar:
        task = bar.add_task(label, total=None)

        def show(table: str, done: int, total: int) -> None:
            bar.update(task, completed=done, total=total, description=f"{label} {table}")

        yield show


def backup_command(
    output: Path = typer.Option(Path("."), "--output", "-o", file_okay=False,
                                help="folder to write the backup folder into"),
) -> None:
    """Back up the database (SQLite online copy, PostgreSQL pg_dump) into a folder
    cangliu-backup-<UTC time>/ with a manifest: schema revision, rows and checksums per table."""
    url = get_settings().database_url
    with _clear_errors(), _progress("backup / 备份") as show:
        made = backups.create_backup(url, output, now=datetime.now(UTC), progress=show)
    manifest = made.manifest
    console.print(f"backup written / 备份已写入: {made.folder}", markup=False, highlight=False)
    console.print(f"  {manifest.backend}, schema revision {manifest.schema_revision}, "
                  f"{len(manifest.tables)} tables, {manifest.rows} rows; {manifest.data_file} "
                  f"{manifest.data_bytes:,} bytes, sha256 {manifest.data_sha256}",
                  markup=False, highlight=False)


def _confirm(url: str, backup: backups.Backup, rows: int) -> None:
    """Replacing data that exists needs a yes; an empty target has nothing to lose."""
    console.print(f"[yellow]restore replaces ALL data in {backups.safe_url(url)} ({rows} rows) "
                  f"with the backup of {backup.manifest.created_at} ({backup.manifest.rows} rows). "
                  "Stop `cangliu serve` and `cangliu worker` first.[/yellow]", highlight=False)
    try:
        agreed = typer.confirm("Replace the current data? / 覆盖当前数据?", default=False)
    except (typer.Abort, click.exceptions.Abort):  # no answer (end of input)
        agreed = False
    if not agreed:
        console.print("[red]nothing was restored (answer y, or pass --yes)[/red]")
        raise typer.Exit(1)


def restore_command(
    path: Path = typer.Argument(..., exists=True,
                                help="a backup folder made by `cangliu backup` (or its manifest.json)"),
    yes: bool = typer.Option(False, "--yes", "-y",
                             help="replace the current data without asking"),
) -> None:
    """Restore a backup made by `cangliu backup` into the configured database, replacing its data;
    refuses a corrupted backup, another schema revision or another kind of database."""
    url = get_settings().database_url
    with _clear_errors():
        backup = backups.open_backup(path, url)
        rows = backups.target_rows(url)
        if rows and not yes:
            _confirm(url, backup, rows)
        with _progress("restore / 恢复") as show:
            restored = backups.restore(backup, url, progress=show)
        db = Database(url)
        try:
            report, chain = verify_ledger(db.uow()), verify_chain(db.uow())
        finally:
            db.dispose()
    ledger = f"{report.moves} moves, {report.balances} balances"
    console.print(f"restored / 已恢复: {restored.tables} tables, {restored.rows} rows; checksums "
                  f"match; " + (f"ledger consistent: {ledger}" if report.consistent
                                else f"[red]ledger INCONSISTENT[/red]: {ledger} "
                                     "(run `cangliu verify` for the differences)")
                  + "; " + (f"audit chain intact: {chain.events} events" if chain.intact
                            else f"[red]audit chain BROKEN at event {chain.broken_id}[/red]: "
                                 f"{chain.problem}"),
                  highlight=False)
    if not (report.consistent and chain.intact):
        raise typer.Exit(1)
