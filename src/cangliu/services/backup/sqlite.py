"""SQLite backups with the online backup API: a consistent copy while the app keeps writing."""

import shutil
import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Connection, create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from cangliu.services.backup.manifest import (
    BackupError,
    Progress,
    TableDigest,
    differences,
    schema_revision,
    table_digests,
)

DATA_FILE = "database.sqlite3"


def database_path(url: str) -> Path:
    """The file a ``sqlite:///`` URL names (relative paths as SQLAlchemy reads them)."""
    name = make_url(url).database
    if not name or name == ":memory:" or name.startswith("file:"):
        raise BackupError("{url}: only a SQLite database file can be backed up or restored", url=url)
    return Path(name)


@contextmanager
def _connected(path: Path) -> Iterator[Connection]:
    engine = create_engine(f"sqlite:///{path}", poolclass=NullPool)
    try:
        with engine.connect() as conn:
            yield conn
    finally:
        engine.dispose()


def digests(path: Path, progress: Progress | None = None
            ) -> tuple[str | None, dict[str, TableDigest]]:
    """The schema revision and the table digests of one database file."""
    with _connected(path) as conn:
        return schema_revision(conn), table_digests(conn, progress)


def _copy(source: Path, target: Path) -> None:
    """One step of the backup API: SQLite holds a read transaction on the source throughout, so
    the copy is one committed state even while other connections write (WAL lets them)."""
    src = sqlite3.connect(source, timeout=60)
    dst = sqlite3.connect(target, timeout=60)
    try:
        src.backup(dst)
        dst.execute("PRAGMA journal_mode=DELETE")  # the backup is one self-contained file
    except sqlite3.Error as exc:
        raise BackupError("SQLite backup failed: {reason}", reason=exc) from None
    finally:
        dst.close()
        src.close()


def dump(url: str, folder: Path, progress: Progress | None = None
         ) -> tuple[Path, str | None, dict[str, TableDigest]]:
    """Copy the database into ``folder`` and sum the copy, so the manifest matches it exactly."""
    source = database_path(url)
    if not source.is_file():
        raise BackupError("{path}: no such SQLite database", path=source)
    target = folder / DATA_FILE
    _copy(source, target)
    return target, *digests(target, progress)


def load(data: Path, url: str, revision: str | None, expected: dict[str, TableDigest],
         progress: Progress | None = None) -> None:
    """Check a scratch copy of the backup against the manifest, then copy it into the target
    with the backup API: one write transaction, so open connections and the target's WAL stay
    valid and a failure leaves the old data in place (replacing the file under a live WAL
    would let SQLite replay the old WAL onto the new file)."""
    target = database_path(url)
    if not target.parent.is_dir():
        raise BackupError("{path}: no such folder", path=target.parent)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".cangliu-restore-") as scratch:
        staged = Path(scratch) / DATA_FILE
        shutil.copyfile(data, staged)
        found_revision, found = digests(staged, progress)
        if found_revision != revision:
            raise BackupError("the backup's data is at schema revision {found}, its manifest says "
                              "{expected}", found=found_revision, expected=revision)
        if wrong := differences(expected, found):
            raise BackupError("the backup's data does not match its manifest: {tables}",
                              tables="; ".join(wrong))
        src = sqlite3.connect(staged, timeout=60)
        dst = sqlite3.connect(target, timeout=60)
        try:
            src.backup(dst)
        except sqlite3.Error as exc:
            raise BackupError("SQLite restore into {path} failed: {reason}", path=target,
                              reason=exc) from None
        finally:
            dst.close()
            src.close()
