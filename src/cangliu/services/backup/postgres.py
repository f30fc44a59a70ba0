"""PostgreSQL backups with pg_dump's custom format, summed in the very snapshot pg_dump reads."""

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Connection, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from cangliu.db.engine import normalize_url
from cangliu.services.backup.manifest import (
    BackupError,
    Progress,
    TableDigest,
    schema_revision,
    table_digests,
)

DATA_FILE = "database.dump"
TOOL_DIRS = "/usr/lib/postgresql/*/bin"


def tool(name: str) -> str:
    """pg_dump or pg_restore: from PATH, else the newest server install (Debian's layout)."""
    found = shutil.which(name)
    if found:
        return found
    installed = sorted(Path("/").glob(TOOL_DIRS.lstrip("/") + f"/{name}"),
                       key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0)
    if installed:
        return str(installed[-1])
    raise BackupError("{tool} not found on PATH or in {dirs}: install the PostgreSQL client "
                      "tools (Debian: apt install postgresql-client)", tool=name, dirs=TOOL_DIRS)


def libpq(url: str) -> tuple[str, dict[str, str]]:
    """The URL as libpq reads it, and an environment carrying the password (never on the
    command line, where other users could see it)."""
    parsed = make_url(normalize_url(url))
    env = dict(os.environ)
    if parsed.password is not None:
        env["PGPASSWORD"] = str(parsed.password)
    plain = parsed.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


@contextmanager
def _connected(url: str) -> Iterator[Connection]:
    engine = create_engine(normalize_url(url), poolclass=NullPool)
    try:
        with engine.connect() as conn:
            yield conn
    finally:
        engine.dispose()


def digests(url: str, progress: Progress | None = None
            ) -> tuple[str | None, dict[str, TableDigest]]:
    """The schema revision and the table digests of the database at ``url``."""
    with _connected(url) as conn:
        return schema_revision(conn), table_digests(conn, progress)


def _failed(name: str, result: bytes | str) -> BackupError:
    detail = result.decode(errors="replace") if isinstance(result, bytes) else result
    return BackupError("{tool} failed: {reason}", tool=name,
                       reason=detail.strip()[-2000:] or "no message")


def dump(url: str, folder: Path, progress: Progress | None = None
         ) -> tuple[Path, str | None, dict[str, TableDigest]]:
    """pg_dump reads the snapshot this transaction exports while the manifest is summed in that
    transaction, so counts and checksums describe the dump exactly, whatever commits meanwhile."""
    pg_dump, target = tool("pg_dump"), folder / DATA_FILE
    dsn, env = libpq(url)
    with _connected(url) as conn:
        conn = conn.execution_options(isolation_level="REPEATABLE READ")
        conn.execute(text("SET TRANSACTION READ ONLY"))
        snapshot = conn.execute(text("SELECT pg_export_snapshot()")).scalar_one()
        proc = subprocess.Popen([pg_dump, "--format=custom", f"--snapshot={snapshot}",
                                 f"--file={target}", f"--dbname={dsn}"], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            revision, found = schema_revision(conn), table_digests(conn, progress)
        finally:
            _, err = proc.communicate()  # the snapshot must outlive pg_dump's start
        conn.rollback()
    if proc.returncode:
        raise _failed("pg_dump", err)
    return target, revision, found


def load(data: Path, url: str) -> None:
    """Replace the target's objects with the dump's in one transaction (all or nothing)."""
    dsn, env = libpq(url)
    result = subprocess.run([tool("pg_restore"), "--clean", "--if-exists", "--no-owner",
                             "--no-privileges", "--single-transaction", f"--dbname={dsn}",
                             str(data)], env=env, capture_output=True, check=False)
    if result.returncode:
        raise _failed("pg_restore", result.stderr)
