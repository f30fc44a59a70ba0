"""Record history: the full content of every version of master data and documents, one row each.

The audit log keeps only the columns a write changed, and a draft's lines are replaced as delete +
insert in several flushes with nothing tying them to the header's version; so each version is kept
whole here, written at commit by the listeners below (documents) or on request (master data).
"""

import json
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, Integer, String, Text, UniqueConstraint, event, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapped, Session, mapped_column, object_session

from cangliu.db.base import Base, BigId
from cangliu.db.models.documents import (
    PurchaseLine,
    PurchaseOrder,
    SalesLine,
    SalesOrder,
    TransferLine,
    TransferOrder,
)
from cangliu.db.models.masterdata import Barcode


class RecordVersion(Base):
    """Version ``version`` of one record (``entity`` = its table, ``entity_key`` = code or number)."""

    __tablename__ = "record_version"
    __table_args__ = (UniqueConstraint("entity", "entity_key", "version",
                                       name="uq_record_version_entity"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    entity: Mapped[str] = mapped_column(String(40))
    entity_key: Mapped[str] = mapped_column(String(120))
    version: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(10))  # create, update, delete, restore
    at: Mapped[datetime]
    user_id: Mapped[int | None] = mapped_column(BigInteger)
    username: Mapped[str] = mapped_column(String(64))
    # JSON: the row's columns; documents add "lines", SKUs add "barcodes".
    data: Mapped[str] = mapped_column(Text)


PENDING = "history_pending"
# Document header → (line table, its column naming the header).
LINES = {TransferOrder: (TransferLine, "transfer_id"), PurchaseOrder: (PurchaseLine, "purchase_id"),
         SalesOrder: (SalesLine, "sales_id")}
HEADERS = {line: (header, fk) for header, (line, fk) in LINES.items()}
VERSIONS: Any = RecordVersion.__table__


_label: ContextVar[str] = ContextVar("history_label", default="")


@contextmanager
def labelled(action: str) -> Iterator[None]:
    """Versions kept inside the block are labelled ``action`` (e.g. restore) unless named."""
    token = _label.set(action)
    try:
        yield
    finally:
        _label.reset(token)


def keep(session: Session, model: type[Base], row_id: int, action: str = "") -> None:
    """Keep the version ``row_id`` has when the transaction commits (``action`` defaults to
    create for version 1, else update)."""
    pending: dict[tuple[Any, int], str] = session.info.setdefault(PENDING, {})
    pending[(model, row_id)] = action or pending.get((model, row_id), "")


def snapshot(conn: Connection, model: type[Base], row_id: int) -> dict[str, Any] | None:
    """The full content of one record now: its columns, plus its lines or barcodes."""
    table: Any = model.__table__
    row = conn.execute(select(table).where(table.c.id == row_id)).mappings().first()
    if row is None:
        return None
    data = {k: _plain(v) for k, v in row.items()}
    if model in LINES:
        line, fk = LINES[model]
        lt: Any = line.__table__
        data["lines"] = [{k: _plain(v) for k, v in r.items() if k not in ("id", fk)}
                         for r in conn.execute(select(lt).where(lt.c[fk] == row_id)
                                               .order_by(lt.c.line_no)).mappings()]
    if table.name == "sku":
        data["barcodes"] = list(conn.scalars(select(Barcode.code).where(Barcode.sku_id == row_id)
                                             .order_by(Barcode.id)))
    return data


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _write(session: Session) -> None:
    pending: dict[tuple[Any, int], str] = session.info.pop(PENDING, {})
    if not pending:
        return
    from cangliu.db.audit import CLOCK, current  # the audit module imports the models

    session.flush()
    conn = session.connection()
    who = current()
    at = session.info[CLOCK]() if CLOCK in session.info else datetime.now().astimezone()
    for (model, row_id), action in pending.items():
        data = snapshot(conn, model, row_id)
        if data is None:
            continue
        key = str(data.get("code") or data.get("number"))
        action = action or _label.get() or ("create" if data["version"] == 1 else "update")
        values = {"action": action, "at": at, "user_id": who.user_id, "username": who.username[:64],
                  "data": json.dumps(data, sort_keys=True, ensure_ascii=False)}
        where = (VERSIONS.c.entity == model.__tablename__, VERSIONS.c.entity_key == key,
                 VERSIONS.c.version == data["version"])
        # A version written twice (an edit that did not bump it) keeps its last content.
        if conn.scalar(select(VERSIONS.c.id).where(*where)) is None:
            conn.execute(insert(VERSIONS).values(entity=model.__tablename__, entity_key=key,
                                                 version=data["version"], **values))
        else:
            conn.execute(update(VERSIONS).where(*where).values(**values))


def _on_header(_mapper: Any, _conn: Connection, target: Any) -> None:
    session = object_session(target)
    if session is not None:
        keep(session, type(target), target.id)


def _on_line(_mapper: Any, _conn: Connection, target: Any) -> None:
    session = object_session(target)
    if session is not None:
        header, fk = HEADERS[type(target)]
        keep(session, header, getattr(target, fk))


for _header, (_line, _fk) in LINES.items():
    for _name in ("after_insert", "after_update"):
        event.listen(_header, _name, _on_header)
    for _name in ("after_insert", "after_update", "after_delete"):
        event.listen(_line, _name, _on_line)
event.listen(Session, "before_commit", _write)
event.listen(Session, "after_rollback", lambda session: session.info.pop(PENDING, None))
