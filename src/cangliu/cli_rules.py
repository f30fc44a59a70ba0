"""``cangliu rules``: the transfer rules as a YAML file — export what is stored, import a file
(every rule checked as on the settings page; all or nothing)."""

from pathlib import Path

import typer
from rich.console import Console

from cangliu.config import get_settings
from cangliu.core.errors import DomainError, ValidationFailed
from cangliu.core.permissions import Actor
from cangliu.db.uow import Database
from cangliu.services import planning_rules

console = Console()
rules_app = typer.Typer(help="Transfer rules (调拨规则) as a YAML file.", no_args_is_help=True)
CLI = Actor(0, "cli", is_admin=True)


def _db() -> Database:
    return Database(get_settings().database_url)


@rules_app.command("export")
def export(output: Path | None = typer.Option(None, "--output", "-o",
                                             help="write to this file (default: print)")) -> None:
    """Write every stored rule, enabled or not, as one YAML list."""
    with _db().read() as session:
        text = planning_rules.export_rules(session)
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        console.print(f"rules written to {output}")


@rules_app.command("import")
def import_(path: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True)) -> None:
    """Create or update every rule of a YAML list; a bad rule refuses the whole file."""
    try:
        done = planning_rules.import_rules(_db().uow(), CLI, path.read_text(encoding="utf-8"))
    except ValidationFailed as failed:
        for e in failed.errors:
            console.print(f"[red]{e.field}: {e.message.format(**e.params)}[/red]")
        raise typer.Exit(1) from None
    except DomainError as exc:
        console.print(f"[red]{exc.message.format(**exc.params)}[/red]")
        raise typer.Exit(1) from None
    console.print(f"rules imported: {len(done['created'])} created "
                  f"({', '.join(done['created']) or '-'}), {len(done['updated'])} updated "
                  f"({', '.join(done['updated']) or '-'}), {len(done['unchanged'])} unchanged")
