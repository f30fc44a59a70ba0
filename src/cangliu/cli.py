"""The ``cangliu`` command: set-up, demo, serving and ledger verification."""

import secrets
import sys
from datetime import UTC, datetime

import typer
from fastapi import FastAPI
from rich.console import Console
from rich.progress import Progress

from cangliu.config import get_settings
from cangliu.core.errors import DomainError
from cangliu.db.migrate import upgrade
from cangliu.db.uow import Database
from cangliu.jobs.scheduler import JOBS, Scheduler
from cangliu.services import auth, demo, demo_approvals, demo_users
from cangliu.services.audit import verify_chain
from cangliu.services.verify import verify as verify_ledger
from cangliu.web.app import create_app

app = typer.Typer(help="Cangliu 仓流 — multi-site inventory. Settings: CANGLIU_* environment variables.",
                  no_args_is_help=True)
console = Console()
ADMIN = "admin"


def _db() -> Database:
    return Database(get_settings().database_url)


@app.command()
def migrate() -> None:
    """Create or upgrade the database schema to the latest version."""
    upgrade(get_settings().database_url)
    console.print("[green]database is up to date[/green]")


def _init(db: Database) -> tuple[str, str | None]:
    """Migrate and create the administrator on an empty database; returns (user, new password)."""
    upgrade(db.url)
    if auth.has_users(db.uow()):
        return ADMIN, None
    password = get_settings().admin_password or secrets.token_urlsafe(12)
    try:
        auth.create_user(db.uow(), username=ADMIN, password=password, display_name="管理员",
                         is_admin=True)
    except DomainError as exc:
        console.print(f"[red]CANGLIU_ADMIN_PASSWORD: {exc.message.format(**exc.params)}[/red]")
        raise typer.Exit(2) from None
    return ADMIN, password


def _print_login(user: str, password: str | None) -> None:
    if password is not None:
        console.print(f"[bold]Login / 登录:[/bold] user [cyan]{user}[/cyan]  "
                      f"password [cyan]{password}[/cyan]")
    else:
        console.print(f"[bold]Login / 登录:[/bold] user [cyan]{user}[/cyan] with the password "
                      "printed when this database was created (or CANGLIU_ADMIN_PASSWORD).")


@app.command()
def init() -> None:
    """Migrate the database and create the administrator account if there is none."""
    _print_login(*_init(_db()))


@app.command("demo")
def load_demo() -> None:
    """Initialise the database and load the demo network and its history (first run only)."""
    db = _db()
    user, password = _init(db)
    if demo.is_loaded(db):
        console.print("demo already loaded")
    else:
        actor = auth.authenticate(db.uow(), username=user, password=password) if password else None
        if actor is None or password is None:
            console.print("[red]the demo loads into a fresh database only[/red]")
            raise typer.Exit(1)
        with Progress(console=console, transient=True) as bar:
            task = bar.add_task("loading demo / 加载演示数据", total=demo.DAYS)
            counts = demo.load(db, actor, now=datetime.now(UTC),
                               progress=lambda _s, done, total: bar.update(task, completed=done))
        console.print(f"demo loaded: {counts['sites']} sites, {counts['skus']} SKUs, "
                      f"{counts['postings']} postings, {counts['documents']} documents")
        people = demo_users.create(db, actor, password)
        journey = demo_approvals.load(db, actor, datetime.now(UTC))
        console.print("Demo users / 演示用户 (same password as admin / 密码同管理员):")
        for person in people:
            console.print(f"  [cyan]{person.username:<10}[/cyan] {person.display_name}  "
                          f"role {person.role}, scope {person.scope_label}")
        console.print(f"Approvals / 审批: {journey['routine']} approved at once / 自动通过, "
                      f"{journey['walked']} signed at three levels / 三级审批, "
                      f"{journey['escalated']} escalated after a timeout / 超时升级")
    _print_login(user, password)


@app.command()
def worker(tick: float = 30.0) -> None:
    """Run the background jobs (approval timeouts …) in this process, for apps started with
    CANGLIU_SCHEDULER=off; stop with Ctrl-C."""
    console.print("worker running: " + ", ".join(f"{j.name} every {j.every}" for j in JOBS))
    try:
        Scheduler(_db()).loop(tick)
    except KeyboardInterrupt:
        console.print("worker stopped")


@app.command()
def serve(host: str = "127.0.0.1", port: int = 8000, workers: int = 1) -> None:
    """Serve the web UI and API on an existing database."""
    import uvicorn

    console.print(f"serving on http://{host}:{port}")
    uvicorn.run("cangliu.cli:server_app", factory=True, host=host, port=port, workers=workers)


def server_app() -> FastAPI:
    """The app ``serve`` runs: with the job scheduler in its process unless CANGLIU_SCHEDULER=off
    (then ``cangliu worker`` runs the jobs)."""
    settings = get_settings()
    db = Database(settings.database_url, echo=settings.sql_echo)
    return create_app(settings, db,
                      background=Scheduler(db) if settings.scheduler == "inprocess" else None)


@app.command()
def verify(audit: bool = typer.Option(False, "--audit", help="Check the audit log's hash chain instead.")
           ) -> None:
    """Replay the ledger and compare it with the balances; exit 1 with a diff when they differ."""
    if audit:
        _verify_audit()
        return
    report = verify_ledger(_db().uow())
    if report.consistent:
        console.print(f"ledger consistent: {report.moves} moves, {report.balances} balances")
        return
    console.print(f"[red]ledger INCONSISTENT[/red]: {report.moves} moves, {report.balances} balances")
    for diff in report.differences:
        console.print("  balance   " + report.describe(diff), markup=False)
    for diff in report.reservation_differences:
        console.print("  reserved  " + report.describe(diff).replace("ledger", "reservations"),
                      markup=False)
    sys.exit(1)


def _verify_audit() -> None:
    """Walk the audit chain; exit 1 naming the first event that breaks it."""
    chain = verify_chain(_db().uow())
    if chain.intact:
        console.print(f"audit chain intact: {chain.events} events")
        return
    console.print(f"[red]audit chain BROKEN[/red] at event {chain.broken_id}: {chain.problem} "
                  f"({chain.events} events intact before it)", markup=True)
    sys.exit(1)
