"""Generating reports: one period now (regenerating replaces it), or every period due on a day —
yesterday's daily, last week's weekly on Mondays, last month's monthly on the 1st, and any of the
last few still missing or generated before their period ended. Complete reports are sent once to
their subscribers: in-app, and by e-mail through the delivery queue."""

from datetime import date, datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cangliu.db.models import StockMove
from cangliu.db.models.reports import REPORT_KINDS, Report
from cangliu.db.uow import UnitOfWork
from cangliu.services.deliveries import enqueue_email
from cangliu.services.notifications import notify
from cangliu.services.reports.archive import site_codes
from cangliu.services.reports.data import build, day_start, dump, for_sites, load
from cangliu.services.reports.files import KIND_LABELS, plain_text, title, to_pdf, to_xlsx
from cangliu.services.reports.labels import DEFAULT_LOCALE
from cangliu.services.reports.periods import check_kind, check_start, end_of, ended
from cangliu.services.reports.subscriptions import recipients

READY = "Inventory report ({kind}) for {period} is ready"


def generate(uow: UnitOfWork, kind: str, period_start: date, *, by: str = "system") -> Report:
    """The report of the ``kind`` period starting ``period_start`` (which must have begun), made
    now: the files in the default language, the figures as JSON. Idempotent: a report of the
    same period is replaced (and a race with another writer is retried once, then replaces)."""
    check_kind(kind)
    for attempt in (1, 2):
        try:
            with uow:
                check_start(kind, period_start, uow.now().date())
                report = _store(uow.session, kind, period_start, uow.now(), by)
                uow.commit()
                uow.session.expunge(report)  # handed out loaded, detached from the session
                return report
        except IntegrityError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _store(session: Session, kind: str, start: date, now: datetime, by: str) -> Report:
    data = build(session, kind, start, end_of(kind, start), now=now)
    report = session.scalar(select(Report).where(Report.kind == kind, Report.period_start == start)
                            .with_for_update())
    if report is None:
        report = Report(kind=kind, period_start=start, sent_at=None)
        session.add(report)
    report.period_end, report.generated_at, report.generated_by = data.period_end, now, by[:64]
    report.xlsx, report.pdf = to_xlsx(data, DEFAULT_LOCALE), to_pdf(data, DEFAULT_LOCALE)
    report.summary = dump(data)
    session.flush()
    return report


def generate_due(uow: UnitOfWork, today: date) -> list[Report]:
    """Generate every due period not yet complete (none before the ledger's first move), then
    send each complete, unsent report of the catch-up window. Safe to run twice or at once."""
    made = []
    for kind, start in _due(uow, today):
        try:
            made.append(generate(uow, kind, start))
        except IntegrityError:  # another scheduler wrote it meanwhile
            continue
    send_due(uow, today)
    return made


def _due(uow: UnitOfWork, today: date) -> list[tuple[str, date]]:
    with uow:
        session = uow.session
        first = session.scalar(select(func.min(StockMove.occurred_at)))
        if first is None:
            return []
        due = []
        for kind in REPORT_KINDS:
            starts = [s for s in ended(kind, today) if end_of(kind, s) >= first.date()]
            made = dict(session.execute(select(Report.period_start, Report.generated_at).where(
                Report.kind == kind, Report.period_start.in_(starts))).tuples().all())
            due += [(kind, s) for s in starts if s not in made or not _complete(made[s], kind, s)]
        return due


def _complete(generated_at: datetime, kind: str, start: date) -> bool:
    """Generated after its period ended (a report made during its period is redone)."""
    return generated_at >= day_start(end_of(kind, start) + timedelta(days=1))


def send_due(uow: UnitOfWork, today: date) -> int:
    """Tell subscribers of every complete report of the catch-up window not yet sent; each report
    is claimed by stamping ``sent_at``, so it goes out once however many schedulers run."""
    oldest = min(ended(kind, today)[0] for kind in REPORT_KINDS)
    with uow:
        candidates = list(uow.session.execute(
            select(Report.id, Report.kind, Report.period_start, Report.generated_at)
            .where(Report.sent_at.is_(None), Report.period_start >= oldest)).tuples())
    sent = 0
    for report_id, kind, start, generated_at in candidates:
        if not _complete(generated_at, kind, start):
            continue  # sent once regenerated after its period
        with uow:
            claimed = uow.session.execute(
                update(Report).where(Report.id == report_id, Report.sent_at.is_(None))
                .values(sent_at=uow.now()).execution_options(synchronize_session=False))
            if getattr(claimed, "rowcount", 0) == 1:
                _send(uow.session, uow.now(), uow.session.get_one(Report, report_id))
                sent += 1
            uow.commit()
    return sent


def _send(session: Session, now: datetime, report: Report) -> None:
    in_app, by_email = recipients(session, report.kind)
    period = str(report.period_start) + (
        "" if report.period_end == report.period_start else f" – {report.period_end}")
    link = f"/reports?kind={report.kind}#report-{report.id}"
    notify(session, now, in_app, kind="report", title=READY,
           params={"kind": KIND_LABELS[report.kind], "period": period}, link=link)
    # One e-mail per language and view: each reader gets the figures of the sites their roles
    # cover, in their language, and the value only if their roles show values.
    views: dict[tuple[str, tuple[str, ...] | None, bool], list[str]] = {}
    for user, actor in by_email:
        codes = site_codes(session, actor.sites("report.view"))
        key = (user.locale or DEFAULT_LOCALE, None if codes is None else tuple(sorted(codes)),
               actor.shows("valuation"))
        views.setdefault(key, []).append(user.email)
    data = load(report.summary)
    for n, ((locale, sites, values), to) in enumerate(sorted(views.items(), key=repr)):
        seen = for_sites(data, None if sites is None else frozenset(sites))
        enqueue_email(session, now, to=to, subject=title(seen, locale),
                      text=plain_text(seen, locale, values=values),
                      dedupe=f"report:{report.id}" + (f":{n}" if n else ""), link=link)
