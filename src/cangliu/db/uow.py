"""Unit of work: one database transaction per user action, committed once by the service."""

import random
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from functools import wraps
from typing import ParamSpec, TypeVar

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session

from cangliu.db.audit import CLOCK, AuditedSession
from cangliu.db.engine import make_engine
from cangliu.db.outbox import NOTIFY

P = ParamSpec("P")
T = TypeVar("T")

# PostgreSQL serialization failure and deadlock; SQLite's "database is locked".
RETRYABLE_SQLSTATES = {"40001", "40P01"}
MAX_ATTEMPTS = 6


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_ref() -> str:
    return uuid.uuid4().hex[:20]


class Database:
    """The engines for one database URL; hands out units of work."""

    def __init__(self, url: str, *, echo: bool = False, notify_events: bool = True,
                 pool: tuple[int, int] = (20, 20)) -> None:
        self.url = url
        self.notify_events = notify_events  # NOTIFY other processes of committed events
        self.writer: Engine = make_engine(url, echo=echo, writer=True, pool=pool)
        is_sqlite = self.writer.dialect.name == "sqlite"
        self.reader: Engine = make_engine(url, echo=echo, writer=False) if is_sqlite else self.writer

    @property
    def dialect(self) -> str:
        return self.writer.dialect.name

    def uow(self, *, clock: Callable[[], datetime] = utcnow,
            ids: Callable[[], str] = new_ref) -> "UnitOfWork":
        return UnitOfWork(self, clock=clock, ids=ids)

    def read(self) -> Session:
        """A session for read models (lists, dashboards); never used to write."""
        return Session(self.reader, expire_on_commit=False)

    def dispose(self) -> None:
        self.writer.dispose()
        if self.reader is not self.writer:
            self.reader.dispose()


class UnitOfWork:
    """``with uow: ... uow.commit()``; leaving the block without commit rolls back."""

    session: Session

    def __init__(self, db: Database, *, clock: Callable[[], datetime] = utcnow,
                 ids: Callable[[], str] = new_ref) -> None:
        self.db = db
        self.clock = clock
        self.ids = ids

    @property
    def dialect(self) -> str:
        return self.db.dialect

    def __enter__(self) -> "UnitOfWork":
        self.session = AuditedSession(self.db.writer, expire_on_commit=False, autoflush=False,
                                      info={CLOCK: self.clock, NOTIFY: self.db.notify_events})
        return self

    def __exit__(self, *exc: object) -> None:
        self.session.rollback()
        self.session.close()

    def commit(self) -> None:
        self.session.commit()

    def now(self) -> datetime:
        return self.clock()

    def new_ref(self) -> str:
        return self.ids()


def is_retryable(exc: BaseException) -> bool:
    if isinstance(exc, DBAPIError):
        sqlstate = getattr(exc.orig, "sqlstate", None)
        if sqlstate in RETRYABLE_SQLSTATES:
            return True
        if isinstance(exc, OperationalError) and "database is locked" in str(exc.orig):
            return True
    return False


def retrying(fn: Callable[P, T]) -> Callable[P, T]:
    """Rerun a whole service call after a serialization failure or deadlock, with jittered backoff."""

    @wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                return fn(*args, **kwargs)
            except DBAPIError as exc:
                if attempt == MAX_ATTEMPTS or not is_retryable(exc):
                    raise
                time.sleep(random.uniform(0, 0.01 * 2**attempt))
        raise AssertionError("unreachable")

    return wrapper
