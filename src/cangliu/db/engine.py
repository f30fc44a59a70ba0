"""Engines: SQLite in WAL mode with ``BEGIN IMMEDIATE`` writers, or PostgreSQL through psycopg 3."""

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.pool import NullPool


def normalize_url(url: str) -> str:
    """Accept plain ``postgresql://`` URLs and point them at the psycopg 3 driver."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def make_engine(url: str, *, echo: bool = False, writer: bool = True, pool: tuple[int, int] = (20, 20)
                ) -> Engine:
    """``pool``: connections kept open and extra ones opened under load, per process (on
    PostgreSQL, processes × their sum must stay under the server's max_connections)."""
    url = normalize_url(url)
    if not url.startswith("sqlite"):
        # No pre-ping: a dropped connection surfaces as an error once and the pool is invalidated.
        return create_engine(url, echo=echo, pool_size=pool[0], max_overflow=pool[1])
    # Pooled connections (pragmas are set once per connection); WAL lets readers run beside
    # the single writer. An in-memory database is per connection, so it gets no pool.
    pooling = {"poolclass": NullPool} if ":memory:" in url else {"pool_size": 20, "max_overflow": 20}
    engine = create_engine(url, echo=echo, connect_args={"check_same_thread": False, "timeout": 60},
                           **pooling)

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn, _record):  # type: ignore[no-untyped-def]
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA busy_timeout=60000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn):  # type: ignore[no-untyped-def]
        # Writers take the write lock up front, so two read-then-write transactions can never
        # interleave; readers use a deferred BEGIN and run beside the writer.
        conn.exec_driver_sql("BEGIN IMMEDIATE" if writer else "BEGIN")

    return engine
