"""The scheduler: each job at its interval with an injected clock, a failing job not stopping the
others, the approval timeouts it runs, and the in-process thread living as long as the app."""

import threading
from datetime import timedelta

from fastapi.testclient import TestClient

from cangliu.cli import server_app
from cangliu.config import get_settings
from cangliu.jobs.scheduler import JOBS, Job, Scheduler
from tests.services.test_approvals import T0, _instance, _transfer, _waiting, people  # noqa: F401


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self):  # type: ignore[no-untyped-def]
        return self.now


def test_each_job_runs_at_once_then_at_its_interval_and_a_failure_spares_the_others(db):
    clock, calls = Clock(), []

    def broken(_db, clock):  # type: ignore[no-untyped-def]
        raise RuntimeError("down")

    jobs = (Job("broken", broken, timedelta(minutes=1)),
            Job("counted", lambda _db, clock: calls.append(clock()) or len(calls),
                timedelta(minutes=5)))
    scheduler = Scheduler(db, jobs, clock=clock)
    assert scheduler.run_due() == {"broken": None, "counted": 1}
    clock.now += timedelta(minutes=4)
    assert scheduler.run_due() == {"broken": None}
    clock.now += timedelta(minutes=1)
    assert scheduler.run_due() == {"broken": None, "counted": 2}
    assert calls == [T0, T0 + timedelta(minutes=5)]


def test_the_scheduler_escalates_a_timed_out_approval_once(db, people):  # noqa: F811
    number = _transfer(db, people["clerk"], "S2")
    clock = Clock()
    clock.now = T0 + timedelta(hours=25)
    first = Scheduler(db, JOBS, clock=clock).run_due()
    assert first["approval_timeouts"]["escalate"] == 1
    # A second scheduler (another process) at the same moment finds nothing left to do.
    assert Scheduler(db, JOBS, clock=clock).run_due()["approval_timeouts"]["escalate"] == 0
    assert _waiting(_instance(db, number)["steps"][0]) == ["sm2", "rm_south"]


def _threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "cangliu-scheduler" and t.is_alive()]


def test_the_app_runs_its_scheduler_unless_told_a_worker_does(db, monkeypatch):
    before = len(_threads())
    monkeypatch.setenv("CANGLIU_DATABASE_URL", db.url)
    monkeypatch.setenv("CANGLIU_SECRET_KEY", "s")
    for setting, running in (("inprocess", 1), ("off", 0)):
        monkeypatch.setenv("CANGLIU_SCHEDULER", setting)
        get_settings.cache_clear()
        with TestClient(server_app()):
            assert len(_threads()) == before + running, setting
        assert len(_threads()) == before
    get_settings.cache_clear()
