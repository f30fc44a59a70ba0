"""What the promotion calendar tells planning: forecast uplift per day, and days until the next
promotion per SKU × site for the pre-stocking rule."""

from datetime import date, timedelta
from typing import Final

import polars as pl
from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from cangliu.db.models import Promotion, PromotionSite, PromotionSku
from cangliu.services.promotions import active

HORIZON_DAYS: Final = 60  # promotions further ahead do not concern pre-stocking yet


def _expanded(session: Session, where: list[ColumnElement[bool]]) -> pl.DataFrame:
    """One row per promotion × SKU × site (null: all) of the promotions matching ``where``."""
    promos = pl.DataFrame(
        [(i, s, e, float(u)) for i, s, e, u in session.execute(
            select(Promotion.id, Promotion.starts_on, Promotion.ends_on, Promotion.uplift_pct)
            .where(*where))],
        orient="row", schema={"id": pl.Int64, "start": pl.Date, "end": pl.Date,
                              "uplift_pct": pl.Float64})
    links = {}
    for name, model, column in (("sku", PromotionSku, PromotionSku.sku_id),
                                ("site", PromotionSite, PromotionSite.site_id)):
        rows = session.execute(select(model.promotion_id, column)
                               .join(Promotion, Promotion.id == model.promotion_id).where(*where))
        links[name] = pl.DataFrame(list(rows), orient="row",
                                   schema={"id": pl.Int64, name: pl.Int64})
    return (promos.join(links["sku"], on="id", how="left")
            .join(links["site"], on="id", how="left")
            .select("id", "start", "end", "sku", "site", "uplift_pct"))


def forecast_frame(session: Session, start: date, end: date) -> pl.DataFrame:
    """The ``promotions`` argument of ``core.planning.forecast.forecast``: start, end, sku, site
    (ids; null = all), uplift_pct, one row per promotion × SKU × site of the promotions that are
    not cancelled and overlap [start, end]."""
    return _expanded(session, active(Promotion.starts_on <= end, Promotion.ends_on >= start)
                     ).drop("id")


def upcoming(session: Session, today: date, pairs: pl.DataFrame) -> pl.DataFrame:
    """``pairs`` (sku, site ids, any other columns) with promo_starts_in_days — 0 while a
    promotion runs, else the days until the next one starts, null when none starts within 60
    days — and that promotion's promo_uplift_pct. Of several, the soonest counts (then the
    largest uplift)."""
    out = pairs.drop("promo_starts_in_days", "promo_uplift_pct", strict=False)
    promos = _expanded(session, active(Promotion.ends_on >= today,
                                        Promotion.starts_on <= today + timedelta(HORIZON_DAYS)))
    if promos.is_empty() or out.is_empty():
        return out.with_columns(promo_starts_in_days=pl.lit(None, pl.Float64),
                                promo_uplift_pct=pl.lit(None, pl.Float64))
    promos = promos.with_columns(
        pl.col("sku").cast(out.schema["sku"]), pl.col("site").cast(out.schema["site"]),
        d=pl.max_horizontal((pl.col("start") - pl.lit(today)).dt.total_days(), pl.lit(0))
        .cast(pl.Float64),
    ).sort(["d", "uplift_pct"], descending=[False, True])
    return (out.with_row_index("__row").join(_soonest(out, promos), on="__row", how="left")
            .sort("__row").drop("__row"))


def _soonest(pairs: pl.DataFrame, promos: pl.DataFrame) -> pl.DataFrame:
    """Per row number of ``pairs``: days and uplift of the best promotion covering it (``promos``
    sorted best first), looked up per kind of promotion: naming SKU and site, SKU, site, neither."""
    rows = pairs.select("sku", "site").with_row_index("__row")
    found = [pl.DataFrame(schema={"__row": pl.UInt32, "d": pl.Float64, "uplift_pct": pl.Float64})]
    for keys in (["sku", "site"], ["sku"], ["site"], []):
        kind = promos.filter(*(pl.col(k).is_not_null() if k in keys else pl.col(k).is_null()
                               for k in ("sku", "site"))).select(*keys, "d", "uplift_pct")
        if keys:
            best = kind.unique(subset=keys, keep="first", maintain_order=True)
            found.append(rows.join(best, on=keys).select("__row", "d", "uplift_pct"))
        elif not kind.is_empty():
            found.append(rows.join(kind.head(1), how="cross").select("__row", "d", "uplift_pct"))
    return (pl.concat(found).sort(["__row", "d", "uplift_pct"], descending=[False, False, True])
            .unique(subset="__row", keep="first")
            .select("__row", promo_starts_in_days="d", promo_uplift_pct="uplift_pct"))
