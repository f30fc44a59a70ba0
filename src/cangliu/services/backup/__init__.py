"""Backup and restore: one folder per backup, its data file (a SQLite copy or a pg_dump archive)
beside a manifest that names the schema revision and sums every table, so a restore refuses what
this code cannot read and proves it brought the data back unchanged."""

import os
import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import create_engine, func, inspect, select, table, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from cangliu import __version__
from cangliu.db.engine import normalize_url
from cangliu.db.migrate import head_revision
from cangliu.services.backup import postgres, sqlite
from cangliu.services.backup.manifest import (
    MANIFEST,
    REVISION_TABLE,
    BackupError,
    Manifest,
    Progress,
    TableDigest,
    differences,
    file_sha256,
)

__all__ = ["Backup", "BackupError", "Manifest", "Restored", "TableDigest", "backend_of",
           "create_backup", "open_backup", "restore", "safe_url", "target_rows"]

# What `cangliu migrate` itself writes into an empty database: not data a restore would lose.
SEEDED = {REVISION_TABLE: None, "audit_head": None, "location": "code NOT LIKE '@%'"}


@dataclass(frozen=True)
class Backup:
    folder: Path
    manifest: Manifest

    @property
    def data(self) -> Path:
        return self.folder / self.manifest.data_file


@dataclass(frozen=True)
class Restored:
    tables: int
    rows: int


def backend_of(url: str) -> str:
    name = make_url(normalize_url(url)).get_backend_name()
    if name not in ("sqlite", "postgresql"):
        raise BackupError("{url}: backup supports SQLite and PostgreSQL, not {backend}",
                          url=safe_url(url), backend=name)
    return name


def safe_url(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def create_backup(url: str, parent: Path, *, now: datetime, progress: Progress | None = None
                  ) -> Backup:
    """Write ``parent/cangliu-backup-<UTC time>/``; it appears only once complete."""
    backend = backend_of(url)
    if not parent.is_dir():
        raise BackupError("{path}: no such folder", path=parent)
    folder = parent / f"cangliu-backup-{now:%Y%m%dT%H%M%SZ}"
    if folder.exists():
        raise BackupError("{path} exists already", path=folder)
    partial = parent / f".{folder.name}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir()
    try:
        engine = sqlite if backend == "sqlite" else postgres
        data, revision, digested = engine.dump(url, partial, progress)
        manifest = Manifest(created_at=now.isoformat(), cangliu_version=__version__,
                            backend=backend, schema_revision=revision,
                            data_file=data.name, data_sha256=file_sha256(data),
                            data_bytes=data.stat().st_size, tables=digested)
        (partial / MANIFEST).write_text(manifest.to_json(), encoding="utf-8")
        os.replace(partial, folder)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return Backup(folder, manifest)


def open_backup(path: Path, url: str) -> Backup:
    """The backup at ``path`` (its folder or its manifest) if this code may restore it into
    ``url``: intact data file, this code's schema revision, the same kind of database."""
    folder = path.parent if path.is_file() else path
    manifest = Manifest.read(folder / MANIFEST)
    backup = Backup(folder, manifest)
    if not backup.data.is_file():
        raise BackupError("{path}: the data file is missing", path=backup.data)
    if (found := file_sha256(backup.data)) != manifest.data_sha256:
        raise BackupError("{path} is corrupted: its sha256 is {found}, the manifest says "
                          "{expected}; nothing was restored", path=backup.data, found=found,
                          expected=manifest.data_sha256)
    head = head_revision(url)
    if manifest.schema_revision != head:
        raise BackupError(
            "the backup has schema revision {found} (Cangliu {version}), this Cangliu expects "
            "{expected}; nothing was restored. Restore it with Cangliu {version}, then upgrade "
            "Cangliu and run `cangliu migrate`", found=manifest.schema_revision or "none",
            version=manifest.cangliu_version, expected=head)
    if manifest.backend != (target := backend_of(url)):
        raise BackupError("the backup is of a {found} database, the target {url} is {expected}; "
                          "nothing was restored", found=manifest.backend, url=safe_url(url),
                          expected=target)
    return backup


def target_rows(url: str) -> int:
    """Rows the target holds beyond what migrating an empty database writes (0: nothing to lose)."""
    if backend_of(url) == "sqlite" and not sqlite.database_path(url).exists():
        return 0
    engine = create_engine(normalize_url(url), poolclass=NullPool)
    try:
        with engine.connect() as conn:
            rows = 0
            for name in inspect(conn).get_table_names():
                query = select(func.count()).select_from(table(name))
                if name in SEEDED:
                    if SEEDED[name] is None:
                        continue
                    query = query.where(text(str(SEEDED[name])))
                rows += conn.execute(query).scalar_one()
            return rows
    finally:
        engine.dispose()


def restore(backup: Backup, url: str, *, progress: Progress | None = None) -> Restored:
    """Replace the target's data with the backup's, then check every table against the manifest."""
    expected = backup.manifest.tables
    if backup.manifest.backend == "sqlite":
        sqlite.load(backup.data, url, backup.manifest.schema_revision, expected, progress)
        revision, found = sqlite.digests(sqlite.database_path(url), progress)
    else:
        postgres.load(backup.data, url)
        revision, found = postgres.digests(url, progress)
    # Tables the backup does not know (a newer schema's leftovers) are no restored data.
    found = {name: digest for name, digest in found.items() if name in expected}
    wrong = differences(expected, found)
    if revision != backup.manifest.schema_revision:
        wrong.insert(0, f"schema revision {revision}, the manifest says "
                        f"{backup.manifest.schema_revision}")
    if wrong:
        raise BackupError("restored data differs from the backup: {tables}",
                          tables="; ".join(wrong))
    return Restored(len(expected), sum(t.rows for t in expected.values()))

