"""The demo's planning: the built-in transfer rules stored as data, the regional warehouses stocked
for an online promotion five days away, then the daily planning step, so the suggestions page
opens with proposals from all four built-in rules."""

from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import func, select

from cangliu.core.permissions import Actor
from cangliu.db.models import DemandDay, Location, Sku
from cangliu.db.uow import Database
from cangliu.services import demand, planning, planning_rules, promotions, stock
from cangliu.services.postings import Meta
from cangliu.services.stock import Line

ONLINE: Final = "FC-ONLINE"
STOCKED: Final = {"WH-EAST": "80", "WH-SOUTH": "60"}  # units per promoted SKU
PROMOTED: Final = 6  # the online centre's best sellers
UPLIFT: Final = "60"


def _best_sellers(db: Database, since: datetime) -> list[str]:
    with db.read() as s:
        return list(s.scalars(
            select(Sku.code).join(DemandDay, DemandDay.sku_id == Sku.id)
            .join(Location, Location.id == DemandDay.site_id)
            .where(Location.code == ONLINE, DemandDay.day >= since.date())
            .group_by(Sku.code).order_by(func.sum(DemandDay.qty).desc(), Sku.code).limit(PROMOTED)))


def load(db: Database, admin: Actor, now: datetime) -> dict[str, Any]:
    """Needs the demo network and its history; answers the planning run's counts."""
    planning_rules.seed_builtins(db.uow())
    clock = lambda: now  # noqa: E731 — every step of the demo happens "now"
    since = now - timedelta(days=30)
    demand.rebuild_demand(db.uow(clock=clock), since=since.date())
    skus = _best_sellers(db, since)
    meta = Meta(admin, reason="大促备货 / stocking for the online promotion")
    for site, qty in STOCKED.items():
        stock.move(db.uow(clock=clock), meta, from_site="WH-CENTRAL", to_site=site,
                   lines=[Line(sku, qty) for sku in skus])
    promotions.create(db.uow(clock=clock), admin, name="双十二线上大促 / Double-12 online sale",
                      starts_on=now.date() + timedelta(days=5),
                      ends_on=now.date() + timedelta(days=7), uplift_pct=UPLIFT, skus=skus,
                      sites=[ONLINE], note="演示 / demo")
    done: dict[str, Any] = planning.refresh(lambda: db.uow(clock=clock), today=now.date())
    return dict(done["suggestions"])
