"""Document numbers from a series per type (e.g. TO-20261123-0007), handed out atomically."""

from datetime import date

from sqlalchemy.dialects import postgresql, sqlite

from cangliu.core.documents import SERIES
from cangliu.db.models import NumberCounter
from cangliu.db.uow import UnitOfWork


def next_number(uow: UnitOfWork, doc_type: str, day: date) -> str:
    """One upsert-and-return on the counter row: two users never get the same number."""
    series = SERIES[doc_type]
    insert = postgresql.insert if uow.dialect == "postgresql" else sqlite.insert
    stmt = insert(NumberCounter).values(doc_type=doc_type, period=series.period(day), last=1)
    stmt = stmt.on_conflict_do_update(index_elements=["doc_type", "period"],
                                      set_={"last": NumberCounter.last + 1})
    seq = uow.session.execute(stmt.returning(NumberCounter.last)).scalar_one()
    return series.format(day, seq)
