"""The ``cangliu`` command: set-up, demo, serving, ledger verification and demand history."""

import os
import secrets
import signal
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from functools import partial
from pathlib import Path

import typer
from fastapi import FastAPI
from rich.console import Console
from rich.progress import Progress

from cangliu import logs
from cangliu.cli_backup import backup_command, restore_command
from cangliu.cli_import import import_command
from cangliu.cli_rules import rules_app
from cangliu.cli_serials import serials_app
from cangliu.cli_simulate import simulate_command
from cangliu.config import Settings, get_settings
from cangliu.core.errors import DomainError
from cangliu.core.permissions import Actor
from cangliu.db.migrate import upgrade
from cangliu.db.uow import Database
from cangliu.jobs.dispatcher import Dispatcher
from cangliu.jobs.scheduler import JOBS, Scheduler
from cangliu.services import (
    auth,
    demand,
    demo,
    demo_aftersales,
    demo_alerts,
    demo_approvals,
    demo_planning,
    demo_serials,
    demo_users,
    kpis,
    planning,
    planning_rules,
    thresholds,
)
from cangliu.services.alerts import rules as alert_rules
from cangliu.services.audit import verify_chain
from cangliu.services.verify import verify as verify_ledger
from cangliu.web.app import create_app

app = typer.Typer(help="Cangliu 仓流 — multi-site inventory. Settings: CANGLIU_* environment variables.",
                  no_args_is_help=True)
console = Console()
ADMIN = "admin"


def _db() -> Database:
    settings = get_settings()
    return Database(settings.database_url, echo=settings.sql_echo,
                    notify_events=settings.events_listen,
                    pool=(settings.db_pool_size, settings.db_max_overflow))


@app.command()
def migrate() -> None:
    """Create or upgrade the database schema to the latest version."""
    upgrade(get_settings().database_url)
    console.print("[green]database is up to date[/green]")


def _init(db: Database) -> tuple[str, str | None]:
    """Migrate and create the administrator on an empty database; returns (user, new password)."""
    upgrade(db.url)
    planning_rules.seed_builtins(db.uow())  # the built-in transfer rules, stored as data
    if auth.has_users(db.uow()):
        return ADMIN, None
    password = get_settings().admin_password or secrets.token_urlsafe(12)
    try:
        auth.create_user(db.uow(), username=ADMIN, password=password, display_name="管理员",
                         is_admin=True)
    except DomainError as exc:
        console.print(f"[red]CANGLIU_ADMIN_PASSWORD: {exc.message.format(**exc.params)}[/red]")
        raise typer.Exit(2) from None
    # A new installation raises alerts from the start; rules deleted later stay deleted.
    added = alert_rules.ensure_defaults(db.uow())
    console.print(f"default alert rules / 默认预警规则: {added}")
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
        traced = demo_serials.load(db, actor, datetime.now(UTC))
        console.print(f"Serials / 序列号: {traced['batches']} batches; follow "
                      f"{traced['journey']} at /serials/{traced['journey']}")
        after = demo_aftersales.load(db, actor, datetime.now(UTC), traced["journey"])
        console.print(f"After-sales / 售后: work orders {', '.join(after['work_orders'])}; "
                      f"repairs {', '.join(after['repairs'])}; recall {after['recall']} found "
                      f"{after['recalled']} units, {after['held']} held at /recalls/"
                      f"{after['recall']}")
        planned = demo_planning.load(db, actor, datetime.now(UTC))
        console.print("Suggestions / 调拨建议: " + ", ".join(
            f"{rule} {n}" for rule, n in planned["by_rule"].items()))
        today = datetime.now(UTC).date()
        kpis.backfill(db.uow(), today - timedelta(days=demo.DAYS + 1), today)
        alerted = demo_alerts.load(db, actor, datetime.now(UTC), get_settings().public_url)
        console.print(f"Alerts / 预警: the scan raised {alerted['scan']['opened']}; a sale of "
                      f"{alerted['sold']} {alerted['sku']} at {demo_alerts.STORE} "
                      f"({alerted['order']}) fell below safety stock: alert #{alerted['alert']} "
                      "for user 'store' at /alerts, sent to the DEMO-HOOK webhook")
    _print_login(user, password)


class Background:
    """The background work of one process: the job scheduler and the outbox dispatcher, which
    also sends due deliveries (webhooks, robots, e-mail)."""

    def __init__(self, db: Database, settings: Settings) -> None:
        from cangliu.integrations import outbound

        self.parts = (Scheduler(db), Dispatcher(db, then=[partial(outbound.send_due, db, settings)],
                                                listen=settings.events_listen))

    def start(self) -> None:
        for part in self.parts:
            part.start()

    def stop(self) -> None:
        for part in reversed(self.parts):
            part.stop()


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


@app.command()
def worker() -> None:
    """Run the background work (jobs, the outbox dispatcher, deliveries) in this process, for
    apps started with CANGLIU_SCHEDULER=off; stop with Ctrl-C or SIGTERM."""
    settings = get_settings()
    logs.configure(settings.log_format, settings.log_level)
    console.print("worker running: dispatcher; " + ", ".join(
        f"{j.name} every {j.every}" for j in JOBS))
    background = Background(_db(), settings)
    signal.signal(signal.SIGTERM, _interrupt)  # a service manager's stop ends the work cleanly
    background.start()
    try:
        while True:
            time.sleep(1)
    except KeyboardInterrupt:
        console.print("stopping …")
        background.stop()
        console.print("worker stopped")


@app.command()
def serve(host: str = "127.0.0.1", port: int = 8000,
          workers: int = typer.Option(1, min=1, help="Worker processes (production: about one per core)."),
          forwarded_allow_ips: str = typer.Option(
              "127.0.0.1", help="Proxies whose X-Forwarded-For/-Proto are trusted (comma-separated).")
          ) -> None:
    """Serve the web UI and API on an existing database."""
    import uvicorn

    settings = get_settings()
    if workers > 1 or settings.metrics_dir:
        _share_metrics(settings.metrics_dir)
    logs.configure(settings.log_format, settings.log_level)
    console.print(f"serving on http://{host}:{port} with {workers} worker(s)")
    uvicorn.run("cangliu.cli:server_app", factory=True, host=host, port=port, workers=workers,
                forwarded_allow_ips=forwarded_allow_ips, log_config=None, access_log=False,
                server_header=False,
                timeout_worker_healthcheck=60)  # a busy machine may take longer to start one


def _share_metrics(directory: str | None) -> None:
    """Worker processes write their metrics to files in one directory (prometheus_client's
    multiprocess mode), emptied at start so a restart does not add up dead processes' counts."""
    path = Path(directory) if directory else Path(tempfile.mkdtemp(prefix="cangliu-metrics-"))
    path.mkdir(parents=True, exist_ok=True)
    for stale in path.glob("*.db"):
        stale.unlink()
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(path)


def server_app() -> FastAPI:
    """The app ``serve`` runs: with the job scheduler in its process unless CANGLIU_SCHEDULER=off
    (then ``cangliu worker`` runs the jobs)."""
    settings = get_settings()
    logs.configure(settings.log_format, settings.log_level)  # in each worker process
    db = _db()
    return create_app(settings, db, background=Background(db, settings)
                      if settings.scheduler == "inprocess" else None)


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


@app.command()
def plan(day: datetime | None = typer.Option(None, formats=["%Y-%m-%d"],
                                             help="the day to plan for, YYYY-MM-DD (default today)"),
         dry_run: bool = typer.Option(False, "--dry-run",
                                      help="thresholds as usual, but only show what the rules "
                                           "would change in the open suggestions")) -> None:
    """Rebuild the demand history, recompute the stock thresholds of every SKU × site and run the
    transfer rules into suggestions (the scheduler does this daily)."""
    today = day.date() if day else datetime.now(UTC).date()
    db = _db()
    steps = {"thresholds": "demand and thresholds / 需求与阈值", "rules": "transfer rules / 调拨规则",
             "suggestions": "suggestions / 调拨建议"}
    with Progress(console=console, transient=True) as bar:
        task = bar.add_task(steps["thresholds"], total=len(steps))

        def step(name: str) -> None:  # the run names each step as it starts
            bar.update(task, advance=1, description=steps[name])

        done = thresholds.refresh(db.uow(), today=today)
        ran = planning.run(db.uow(), today=today, dry_run=dry_run, progress=step)
    counted = done["thresholds"]
    console.print(f"planned {today}: demand {done['demand']['rows']} days in "
                  f"{done['demand']['series']} series; thresholds for {counted['series']} SKU × site "
                  f"({counted['with_defaults']} with default demand for missing history, "
                  f"{counted['default_lead_time']} with default lead times)")
    console.print(("dry run, nothing saved: " if dry_run else "suggestions: ")
                  + f"{ran['added']} new, {ran['changed']} changed, {ran['superseded']} superseded, "
                  f"{ran['unchanged']} unchanged; by rule: "
                  + (", ".join(f"{r} {n}" for r, n in ran["by_rule"].items()) or "none"))


app.command("simulate")(simulate_command)
app.command("import")(import_command)
app.command("backup")(backup_command)
app.command("restore")(restore_command)
app.add_typer(rules_app, name="rules")
app.add_typer(serials_app, name="serials")

demand_app = typer.Typer(help="Demand history per SKU × site × day, the input of planning.",
                         no_args_is_help=True)
app.add_typer(demand_app, name="demand")
DAY = typer.Option(None, formats=["%Y-%m-%d"], help="YYYY-MM-DD")
MAX_LISTED = 200


class DemandFormat(StrEnum):
    GENERIC = "generic"
    M5 = "m5"


@demand_app.command("rebuild")
def demand_rebuild(since: datetime | None = DAY, until: datetime | None = DAY) -> None:
    """Recompute the demand days from the ledger's shipments and returns (imported days are kept)."""
    try:
        done = demand.rebuild_demand(_db().uow(), since=since.date() if since else None,
                                     until=until.date() if until else None)
    except DomainError as exc:
        _print_errors(exc)
        raise typer.Exit(1) from None
    console.print(f"demand rebuilt {done['since'] or 'from the start'} .. {done['until']}: "
                  f"{done['rows']} days in {done['series']} series "
                  f"({done['demand_days']} with demand, {done['stockout_days']} out of stock, "
                  f"{done['kept_imported']} kept as imported)")


@demand_app.command("import")
def demand_import(
    file: Path,
    fmt: DemandFormat = typer.Option(DemandFormat.GENERIC, "--format",
                                     help="generic: date,site,sku,qty[,stockout,lost_qty]; "
                                          "m5: date,store_id,item_id,units"),
    create_missing: bool = typer.Option(False, "--create-missing",
                                        help="m5: create the stores and items that do not exist"),
    map_site: list[str] = typer.Option([], "--map-site", help="m5: STORE_ID=SITE_CODE (repeatable)"),
    map_sku: list[str] = typer.Option([], "--map-sku", help="m5: ITEM_ID=SKU_CODE (repeatable)"),
) -> None:
    """Load demand days from a CSV file (.csv or .csv.gz), all or nothing."""
    started = time.perf_counter()
    try:
        done = demand.import_demand(
            _db().uow(), file, fmt="m5" if fmt is DemandFormat.M5 else "generic",
            actor=Actor(0, "cli", is_admin=True), create_missing=create_missing,
            site_map=_pairs(map_site, "--map-site"), sku_map=_pairs(map_sku, "--map-sku"))
    except DomainError as exc:
        _print_errors(exc)
        raise typer.Exit(1) from None
    for kind in ("sites", "skus"):
        if done[f"created_{kind}"]:
            console.print(f"created {len(done[f'created_{kind}'])} {kind}: "
                          + ", ".join(done[f"created_{kind}"]), markup=False)
    console.print(f"imported {done['rows']} days in {done['series']} series, "
                  f"{done['first_day']} .. {done['last_day']}, total qty {done['qty']}"
                  + (f", {done['calendar_events']} new calendar events"
                     if done.get("calendar_events") else "")
                  + f" ({time.perf_counter() - started:.1f} s)")


def _pairs(given: list[str], option: str) -> dict[str, str]:
    pairs = dict(p.split("=", 1) for p in given if "=" in p)
    if len(pairs) != len(given):
        console.print(f"[red]{option} takes FROM=TO[/red]")
        raise typer.Exit(2)
    return pairs


def _print_errors(exc: DomainError) -> None:
    """The error, then one line per bad field (row), at most MAX_LISTED of them."""
    console.print(f"[red]{exc.message.format(**exc.params)}[/red]")
    errors = getattr(exc, "errors", [])
    for error in errors[:MAX_LISTED]:
        console.print(f"  {error.field}: {error.message.format(**error.params)}", markup=False)
    if len(errors) > MAX_LISTED:
        console.print(f"  … and {len(errors) - MAX_LISTED} more errors")
