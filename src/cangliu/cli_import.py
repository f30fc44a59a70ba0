"""``cangliu import ENTITY FILE [--apply] [--update]``: check a spreadsheet (and with --apply
write it, all or nothing) as the import page does, with a progress bar; the error report's
first rows are printed and any error exits with status 1."""

from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from cangliu.config import get_settings
from cangliu.core.permissions import Actor
from cangliu.db.uow import Database
from cangliu.i18n import LOCALES, translate
from cangliu.services.imports import ENTITIES, files, jobs

console = Console()
CLI = Actor(0, "cli", is_admin=True)
SHOWN = 20


def import_command(
    entity: str = typer.Argument(..., help="one of: " + ", ".join(ENTITIES)),
    file: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True,
                                help="an XLSX or CSV file (see the templates on /import)"),
    apply: bool = typer.Option(False, "--apply", help="write the file if every row is valid"),
    update: bool = typer.Option(False, "--update",
                                help="master data: update existing codes instead of refusing them"),
    lang: str = typer.Option("zh_CN", "--lang", help="language of the messages: zh_CN or en"),
) -> None:
    """Import master data, opening stock, prices or demand history from a spreadsheet."""
    if entity not in ENTITIES:
        console.print(f"[red]unknown entity {entity}: one of {', '.join(ENTITIES)}[/red]")
        raise typer.Exit(2)
    locale = lang if lang in LOCALES else "zh_CN"
    db = Database(get_settings().database_url)
    ref = jobs.create(db, CLI, entity, file.name, file.read_bytes(),
                      "upsert" if update else "create")
    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/"
                  "{task.total} rows"), TimeElapsedColumn(), console=console) as bar:
        task = bar.add_task(file.name, total=None)

        def show(done: int, total: int, phase: str) -> None:
            bar.update(task, completed=done, total=total or None,
                       description=f"{file.name}: {translate(locale, phase)}")

        job = jobs.run(db, CLI, ref, apply=apply, progress=show)
    _report(db, job, locale)


def _report(db: Database, job: dict[str, object], locale: str) -> None:
    counts: dict[str, int] = job["counts"]  # type: ignore[assignment]
    found = jobs.errors(db, str(job["id"]))
    message = job.get("message")
    if isinstance(message, dict):
        console.print(f"[red]{translate(locale, message['message'], **message['params'])}[/red]",
                      markup=True)
    for row, column, reason in files.report_rows(found[:SHOWN], locale):
        console.print(translate(locale, "row {row} · {column}: {reason}", row=row, column=column,
                                reason=reason), markup=False, style="red")
    if len(found) > SHOWN:
        console.print(translate(locale, "… {count} more errors (the page /import/{job} has the "
                                "full report)", count=len(found) - SHOWN, job=job["id"]),
                      markup=False)
    console.print(translate(
        locale, "import {job}: {status}, {rows} rows, {create} to create, {update} to update, "
        "{errors} errors", job=job["id"], status=translate(locale, str(job["status"])),
        rows=counts["rows"], create=counts["create"], update=counts["update"],
        errors=counts["errors"]), markup=False)
    if found or job["status"] == "failed":
        raise typer.Exit(1)
