"""The backup manifest: what a backup holds (schema revision, rows and a checksum per table), so a
restore can prove it brought back exactly the data that was saved."""

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Column, Connection, MetaData, String, Table, inspect, select, text

from cangliu.core.errors import DomainError

FORMAT = "cangliu-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
REVISION_TABLE = "alembic_version"
Progress = Callable[[str, int, int], None]  # (table, tables done, tables in all)


class BackupError(DomainError):
    """A backup that cannot be written, or one that a restore refuses (nothing was changed)."""


@dataclass(frozen=True)
class TableDigest:
    rows: int
    sha256: str


@dataclass(frozen=True)
class Manifest:
    created_at: str
    cangliu_version: str
    backend: str  # "sqlite" or "postgresql"
    schema_revision: str | None
    data_file: str
    data_sha256: str
    data_bytes: int
    tables: dict[str, TableDigest]

    @property
    def rows(self) -> int:
        return sum(t.rows for t in self.tables.values())

    def to_json(self) -> str:
        return json.dumps({
            "format": FORMAT, "format_version": FORMAT_VERSION, "created_at": self.created_at,
            "cangliu_version": self.cangliu_version, "backend": self.backend,
            "schema_revision": self.schema_revision, "data_file": self.data_file,
            "data_sha256": self.data_sha256, "data_bytes": self.data_bytes,
            "totals": {"tables": len(self.tables), "rows": self.rows},
            "tables": {name: {"rows": t.rows, "sha256": t.sha256}
                       for name, t in sorted(self.tables.items())},
        }, indent=2, ensure_ascii=False) + "\n"

    @classmethod
    def read(cls, path: Path) -> "Manifest":
        """The manifest at ``path``; a clear error when it is missing or not one of ours."""
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise BackupError("{path}: not a Cangliu backup (no manifest.json)", path=path) from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise BackupError("{path}: unreadable manifest: {reason}", path=path,
                              reason=exc) from None
        if not isinstance(raw, dict) or raw.get("format") != FORMAT:
            raise BackupError("{path}: not a Cangliu backup manifest", path=path)
        if raw.get("format_version") != FORMAT_VERSION:
            raise BackupError("{path}: backup format version {found}, this Cangliu reads version "
                              "{expected}", path=path, found=raw.get("format_version"),
                              expected=FORMAT_VERSION)
        try:
            return cls(created_at=str(raw["created_at"]), cangliu_version=str(raw["cangliu_version"]),
                       backend=str(raw["backend"]), schema_revision=raw["schema_revision"],
                       data_file=Path(str(raw["data_file"])).name,
                       data_sha256=str(raw["data_sha256"]), data_bytes=int(raw["data_bytes"]),
                       tables={name: TableDigest(int(t["rows"]), str(t["sha256"]))
                               for name, t in raw["tables"].items()})
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise BackupError("{path}: manifest field missing or malformed: {field}", path=path,
                              field=exc) from None


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _plain(value: Any) -> Any:
    """One value in a form both databases give alike: SQLite hands back naive datetimes, 0/1 and
    JSON text where PostgreSQL has aware datetimes, booleans and JSONB (its own key order)."""
    if isinstance(value, datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        return aware.astimezone(UTC).isoformat()
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return "d:" + format(value.normalize(), "f")
    if isinstance(value, bytes | memoryview | bytearray):
        return "sha256:" + hashlib.sha256(bytes(value)).hexdigest()
    raise TypeError(f"cannot checksum a {type(value).__name__}")


def canonical_row(values: list[Any]) -> bytes:
    """One row as canonical JSON: sorted keys, no spaces, normalised values."""
    return json.dumps(values, default=_plain, ensure_ascii=False, sort_keys=True,
                      separators=(",", ":")).encode() + b"\n"


def _order(table: Table, dialect: str) -> list[Any]:
    """Primary key order; text keys in byte order on PostgreSQL too (SQLite's BINARY collation)."""
    keys = list(table.primary_key.columns) or list(table.columns)
    return [c.collate("C") if dialect == "postgresql" and isinstance(c.type, String) else c
            for c in keys]


def _reflected(conn: Connection) -> list[Table]:
    """Every table with its columns and primary key (one bulk query per kind on PostgreSQL;
    a full ``MetaData.reflect`` of indexes and foreign keys costs far more and is not needed)."""
    found = inspect(conn)
    keys = found.get_multi_pk_constraint()
    meta = MetaData()
    return sorted((Table(name, meta, *(
        Column(c["name"], c["type"], primary_key=c["name"] in keys[(schema, name)]
               ["constrained_columns"]) for c in columns))
        for (schema, name), columns in found.get_multi_columns().items()), key=lambda t: t.name)


def table_digests(conn: Connection, progress: Progress | None = None) -> dict[str, TableDigest]:
    """Rows and a sha256 of every table, rows in primary-key order, one canonical JSON line each.

    Tables are reflected from the database itself, so a backup of an older schema is summed too.
    """
    tables = _reflected(conn)
    digests: dict[str, TableDigest] = {}
    for done, table in enumerate(tables):
        if progress:
            progress(table.name, done, len(tables))
        digest, rows = hashlib.sha256(), 0
        query = select(*table.columns).order_by(*_order(table, conn.dialect.name))
        for row in conn.execute(query.execution_options(yield_per=5000)):
            digest.update(canonical_row(list(row)))
            rows += 1
        digests[table.name] = TableDigest(rows, digest.hexdigest())
    if progress:
        progress("", len(tables), len(tables))
    return digests


def schema_revision(conn: Connection) -> str | None:
    """The alembic revision the database is at (None: never migrated)."""
    if not inspect(conn).has_table(REVISION_TABLE):
        return None
    return conn.execute(text(f"SELECT version_num FROM {REVISION_TABLE}")).scalar()


def differences(expected: dict[str, TableDigest], found: dict[str, TableDigest]) -> list[str]:
    """One readable line per table whose rows or checksum differ (or that is missing)."""
    lines = []
    for name in sorted(expected.keys() | found.keys()):
        want, got = expected.get(name), found.get(name)
        if want == got:
            continue
        if want is None or got is None:
            lines.append(f"{name}: {'missing after restore' if got is None else 'not in the backup'}")
        elif want.rows != got.rows:
            lines.append(f"{name}: {want.rows} rows in the backup, {got.rows} restored")
        else:
            lines.append(f"{name}: {want.rows} rows, checksum differs")
    return lines
