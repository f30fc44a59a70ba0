"""Closed periods: nothing can be posted on or before the close date."""

from datetime import UTC, date, datetime

import pytest

from cangliu.core.errors import ValidationFailed
from cangliu.services import periods, stock
from cangliu.services.postings import Meta
from cangliu.services.stock import Line
from cangliu.services.verify import verify


def test_postings_into_a_closed_period_are_refused_and_write_nothing(db, meta, network):
    periods.close_period(db.uow(), network, through=date(2026, 10, 31))
    late = Meta(meta.actor, occurred_at=datetime(2026, 10, 31, 23, tzinfo=UTC))
    with pytest.raises(ValidationFailed) as err:
        stock.receive(db.uow(), late, site="WH", lines=[Line("SKU-1", "1")])
    assert err.value.errors[0].field == "occurred_at"
    assert verify(db.uow()).moves == 0
    ok = Meta(meta.actor, occurred_at=datetime(2026, 11, 1, tzinfo=UTC))
    stock.receive(db.uow(), ok, site="WH", lines=[Line("SKU-1", "1")])
    with pytest.raises(ValidationFailed):
        periods.close_period(db.uow(), network, through=date(2026, 9, 30))
