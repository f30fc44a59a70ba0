"""Batch generation (批量生成): N serials (or lot codes) for one SKU in one transaction.

The rule's counter advances once by N under a row lock (an upsert that returns the new value,
so concurrent batches queue on the counter row and never hand out the same number); the codes
are rendered in memory and written with bulk inserts, one 'generated' event per serial copied
server-side. The database's unique index is the final word on uniqueness: a code already used
stops the batch, naming it, and nothing is written.
"""

from datetime import date, timedelta
from typing import Any

from sqlalchemy import Table, bindparam, insert, literal, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from cangliu.core.errors import Conflict, ValidationFailed
from cangliu.core.permissions import Actor
from cangliu.core.serials import templates
from cangliu.db.models import Lot, Serial, SerialBatch, SerialCounter, SerialEvent, SerialRule, Setting, Sku
from cangliu.db.uow import UnitOfWork, retrying
from cangliu.services import custom_fields
from cangliu.services.idempotency import Result, once
from cangliu.services.numbering import next_number
from cangliu.services.serials import rules

MAX_BATCH = 100_000
CHUNK = 10_000
SHOWN_CODES = 1_000  # answers list the codes of batches up to this size
UNIQUENESS = "serial_uniqueness"  # setting: "global" (default) or "per_sku"
SERIAL: Table = Serial.__table__  # type: ignore[assignment]
EVENT: Table = SerialEvent.__table__  # type: ignore[assignment]
LOT: Table = Lot.__table__  # type: ignore[assignment]
COUNTER: Table = SerialCounter.__table__  # type: ignore[assignment]


class SerialExists(Conflict):
    def __init__(self, code: str) -> None:
        super().__init__("Serial {code} is already used", code=code)
        self.code = code


def uniqueness(uow: UnitOfWork) -> str:
    """Whether a code is unique across the network ("global") or only within its SKU."""
    value = uow.session.scalar(select(Setting.value).where(Setting.key == UNIQUENESS))
    return "per_sku" if value == "per_sku" else "global"


def unique_key(scope: str, sku_id: int, code: str) -> str:
    return f"{sku_id}:{code}" if scope == "per_sku" else code


@retrying
def generate(uow: UnitOfWork, actor: Actor, *, sku: str, count: int, site: str | None = None,
             line: str | None = None, rule: str | None = None, idempotency_key: str | None = None,
             today: date | None = None) -> Result:
    """``count`` new serials of ``sku`` (status 'generated', 待使用) — or lot codes for a
    lot-tracked SKU — from ``rule`` (else the SKU's rule), as one batch."""
    request = {"sku": sku, "count": count, "site": site, "line": line, "rule": rule}
    with uow:
        result = once(uow, key=idempotency_key, scope=str(actor.user_id), action="serials.generate",
                      request=request, work=lambda: generate_in(uow, actor, request, today))
        uow.commit()
    return result


def generate_in(uow: UnitOfWork, actor: Actor, request: dict[str, Any], today: date | None) -> Result:
    """One batch inside the caller's transaction (a work order making its serials): ``request``
    as :func:`generate` takes it (sku, count, site, line, rule)."""
    session = uow.session
    count = request["count"]
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_BATCH:
        raise ValidationFailed.single("count", "must be between {low} and {high}", low=1,
                                      high=MAX_BATCH)
    sku = rules.sku_named(session, request["sku"])
    kind = {"serial": "serial", "lot": "lot"}.get(sku.tracking)
    if kind is None:
        raise ValidationFailed.single("sku", "SKU {sku} is not serial- or lot-tracked", sku=sku.code)
    rule = _rule(uow, actor, sku, kind, request["rule"])
    place = rules.site_of(session, request["site"])
    day = today or uow.now().date()
    template = templates.parse_template(rule.template)
    context = templates.Context(cat=rules.category_code(session, sku), sku=sku.code,
                                site=place.code if place else "",
                                line=request["line"] or rule.line, day=day)
    first = advance(uow, rule.id, templates.seq_period(template, day), count) \
        if template.has_seq else 1
    codes = templates.render_batch(template, context, first, count)
    batch = SerialBatch(number=next_number(uow, "serial_batch", day), rule_id=rule.id,
                        sku_id=sku.id, count=count, first_code=codes[0], last_code=codes[-1],
                        site_id=place.id if place else None, line=context.line,
                        created_by=actor.username, created_at=uow.now())
    session.add(batch)
    session.flush()
    if kind == "lot":
        insert_lots(uow, sku, codes, day)
    else:
        _insert_serials(uow, actor, batch, codes, uniqueness(uow))
    return {"batch": batch.number, "kind": kind, "sku": sku.code, "rule": rule.code,
            "count": count, "first_code": codes[0], "last_code": codes[-1],
            "site": place.code if place else None, "line": context.line, "status": "generated",
            "codes": codes if count <= SHOWN_CODES else None,
            "created_at": batch.created_at.isoformat()}


def _rule(uow: UnitOfWork, actor: Actor, sku: Sku, kind: str, code: str | None) -> SerialRule:
    """The named rule (active, of the SKU's kind) or the SKU's own; a built-in default rule is
    saved on first use so its counter has a home."""
    session = uow.session
    if code:
        row = session.scalar(select(SerialRule).where(SerialRule.code == code))
        if row is None or not row.active:
            raise ValidationFailed.single("rule", "unknown serial rule {code}", code=code)
        if row.kind != kind:
            raise ValidationFailed.single("rule", "rule {code} makes {kind} codes; SKU {sku} "
                                          "needs {needed}", code=code, kind=row.kind,
                                          sku=sku.code, needed=kind)
        return row
    row = rules.rule_for(session, sku, kind)
    if row.id is None:
        row.updated_by, row.updated_at = actor.username, uow.now()
        session.add(row)
        session.flush()
    return row


def advance(uow: UnitOfWork, rule_id: int, period: str, count: int) -> int:
    """Take ``count`` counter values at once; the first of them."""
    make = postgresql.insert if uow.dialect == "postgresql" else sqlite.insert
    stmt = (make(COUNTER).values(rule_id=rule_id, period=period, last=count)
            .on_conflict_do_update(index_elements=["rule_id", "period"],
                                   set_={"last": COUNTER.c.last + count})
            .returning(COUNTER.c.last))
    last: int = _conn(uow).execute(stmt).scalar_one()
    return last - count + 1


def _conn(uow: UnitOfWork) -> Connection:
    """Serials keep their own event history: they bypass the row-by-row audit log."""
    return uow.session.connection()


def _insert_serials(uow: UnitOfWork, actor: Actor, batch: SerialBatch, codes: list[str],
                    scope: str) -> None:
    conn, now = _conn(uow), batch.created_at
    base = {"sku_id": batch.sku_id, "status": "generated", "rule_id": batch.rule_id,
            "batch_id": batch.id, "site_id": batch.site_id, "location_id": None, "lot": "",
            "parent_id": None, "customer_id": None, "sales_order": None, "purchase_order": None,
            "created_at": now}
    keys = [unique_key(scope, batch.sku_id, c) for c in codes]
    try:
        with conn.begin_nested():
            for start in range(0, len(codes), CHUNK):
                _bulk_insert(conn, SERIAL, [
                    {**base, "code": code, "unique_key": key}
                    for code, key in zip(codes[start:start + CHUNK], keys[start:start + CHUNK],
                                         strict=True)])
    except (IntegrityError, conn.dialect.loaded_dbapi.IntegrityError):
        raise SerialExists(_first_taken(uow, keys, codes)) from None
    defaults = custom_fields.stored(uow.session, "serial", None)
    if defaults:  # the custom fields' defaults, set once for the whole batch
        conn.execute(update(SERIAL).where(SERIAL.c.batch_id == batch.id).values(custom=defaults))
    event = select(SERIAL.c.id, bindparam("at", now, type_=EVENT.c.at.type),
                   literal("generated"), literal("generated"), literal(actor.username),
                   literal(actor.device), literal("serial_batch"), literal(batch.number),
                   SERIAL.c.site_id, literal("{}")).where(SERIAL.c.batch_id == batch.id)
    conn.execute(insert(EVENT).from_select(
        ["serial_id", "at", "kind", "status", "operator", "device", "document_type",
         "document_number", "site_id", "detail"], event))


def _bulk_insert(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """Rows of one shape: COPY on PostgreSQL (several times faster than a pipelined
    executemany for 100,000 rows), executemany elsewhere."""
    if conn.dialect.name != "postgresql":
        conn.execute(insert(table), rows)
        return
    columns = list(rows[0])
    raw: Any = conn.connection.driver_connection
    with raw.cursor() as cursor, cursor.copy(
            f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([row[c] for c in columns])


def _first_taken(uow: UnitOfWork, keys: list[str], codes: list[str]) -> str:
    """The first code of the batch whose key is already in the table."""
    conn = _conn(uow)
    for start in range(0, len(keys), 1_000):
        chunk = keys[start:start + 1_000]
        taken = set(conn.scalars(select(SERIAL.c.unique_key).where(SERIAL.c.unique_key.in_(chunk))))
        for key, code in zip(chunk, codes[start:start + 1_000], strict=True):
            if key in taken:
                return code
    return codes[0]  # a twin batch inserting the same codes at this moment


def insert_lots(uow: UnitOfWork, sku: Sku, codes: list[str], day: date) -> None:
    """Lot codes become lots of the SKU, produced today, expiring after its shelf life."""
    expiry = day + timedelta(days=sku.shelf_life_days) if sku.shelf_life_days else None
    conn = _conn(uow)
    try:
        with conn.begin_nested():
            conn.execute(insert(LOT), [{"sku_id": sku.id, "code": c, "production_date": day,
                                        "expiry_date": expiry} for c in codes])
    except IntegrityError:
        taken = set(conn.scalars(select(LOT.c.code).where(LOT.c.sku_id == sku.id,
                                                          LOT.c.code.in_(codes[:1_000]))))
        raise SerialExists(next((c for c in codes if c in taken), codes[0])) from None
