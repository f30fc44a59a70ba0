"""Document numbers from a series per type (e.g. TO-20261123-0007), handed out atomically.

On PostgreSQL a document's counter is bumped in a short transaction of its own, so documents of
one type are created side by side rather than one after another behind the counter row's lock
(held until the creating transaction commits, it was the longest queue under load). A creation
that then fails leaves a gap in the numbers. Receipts and payments of money stay gapless: their
counter is bumped inside the creating transaction. SQLite writes one transaction at a time
anyway, so there every number is taken inside it.
"""

from datetime import date
from typing import Final

from sqlalchemy.dialects import postgresql, sqlite

from cangliu.core.documents import SERIES
from cangliu.db.models import NumberCounter
from cangliu.db.uow import UnitOfWork

GAPLESS: Final = frozenset({"receipt", "payment"})


def next_number(uow: UnitOfWork, doc_type: str, day: date) -> str:
    """One upsert-and-return on the counter row: two users never get the same number."""
    series = SERIES[doc_type]
    insert = postgresql.insert if uow.dialect == "postgresql" else sqlite.insert
    stmt = insert(NumberCounter).values(doc_type=doc_type, period=series.period(day), last=1)
    bump = stmt.on_conflict_do_update(index_elements=["doc_type", "period"],
                                      set_={"last": NumberCounter.last + 1}
                                      ).returning(NumberCounter.last)
    if uow.db.numbers is not None and doc_type not in GAPLESS:
        with uow.db.numbers.connect() as conn:  # autocommit: the row is locked for one statement
            seq = conn.execute(bump).scalar_one()
    else:
        seq = uow.session.execute(bump).scalar_one()
    return series.format(day, seq)
