"""Water levels follow the computed thresholds: the SKU page shows them with their explanation,
the overview colours available stock by them."""

import re
from datetime import UTC, datetime

from cangliu.services import thresholds
from cangliu.services.postings import Meta
from cangliu.services.stock import Line, receive
from tests.services.test_thresholds import _history


def test_levels_come_from_the_thresholds_with_their_explanation(browser, db, network):
    receive(db.uow(), Meta(network), site="S1", lines=[Line("SKU-1", "12")])
    _history(db)  # about 6 a day: a reorder point well above 12
    thresholds.recompute(db.uow(), today=datetime.now(UTC).date())
    page = browser.get("/stock/SKU-1").text
    overview = browser.get("/stock", params={"site": "S1"}).text
    assert re.search(r"SS \d+ = [\d.]+ × √", page)
    assert re.search(r'class="lvl low" title="SS \d+ = ', overview)
