"""Lead times per route, learned from the ledger's documents: supplier → site from purchase orders
(approved, or created when no approval ran → the last receipt of an order received in full) and
site → site from received transfers (shipped → received).

Each site is planned with the route that supplies it: a central warehouse by purchase
("supplier→WH"); any other site by transfer from the source that sent it the most received
transfers, else a central warehouse of its region, else any central warehouse ("WH→S1"). See
``core.planning.thresholds.route_lead_times`` for the precedence route → site → default.
"""

from collections.abc import Mapping
from datetime import datetime

import polars as pl
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cangliu.core.ledger import Operation
from cangliu.core.locations import LocationKind
from cangliu.core.planning.thresholds import DEFAULT_LEAD_TIMES, RouteDefault, route_lead_times
from cangliu.db.models import ApprovalInstance, Location, PurchaseOrder, StockMove, TransferOrder

SUPPLIER = "supplier"
PURCHASE_DONE = ("received", "closed")
DAY_SECONDS = 86400.0
LEGS = {"route_from": pl.String, "route_to": pl.String, "kind": pl.String, "days": pl.Float64}


def _days(start: datetime, end: datetime) -> float:
    return (end - start).total_seconds() / DAY_SECONDS


def purchase_legs(session: Session) -> pl.DataFrame:
    """One leg per purchase order received in full: ordered (approved) → its last receipt."""
    received = (select(StockMove.document_number, func.max(StockMove.occurred_at).label("at"))
                .where(StockMove.document_type == "purchase_order",
                       StockMove.operation == Operation.RECEIVE.value,
                       StockMove.reversal_of_id.is_(None))
                .group_by(StockMove.document_number).subquery())
    approved = (select(ApprovalInstance.document_number,
                       func.max(ApprovalInstance.finished_at).label("at"))
                .where(ApprovalInstance.document_type == "purchase",
                       ApprovalInstance.state == "approved")
                .group_by(ApprovalInstance.document_number).subquery())
    rows = session.execute(
        select(PurchaseOrder.site_id, PurchaseOrder.created_at, approved.c.at, received.c.at)
        .join(received, received.c.document_number == PurchaseOrder.number)
        .outerjoin(approved, approved.c.document_number == PurchaseOrder.number)
        .where(PurchaseOrder.state.in_(PURCHASE_DONE))).all()
    legs = [(SUPPLIER, str(site), "purchase", _days(ordered_at or created, got))
            for site, created, ordered_at, got in rows]
    # A receipt booked with a date before the order's approval says nothing about lead time.
    return pl.DataFrame(legs, orient="row", schema=LEGS).filter(pl.col("days") >= 0)


def transfer_legs(session: Session) -> pl.DataFrame:
    """One leg per received transfer: shipped → received."""
    rows = session.execute(select(TransferOrder.source_site_id, TransferOrder.dest_site_id,
                                  TransferOrder.shipped_at, TransferOrder.received_at).where(
        TransferOrder.received_at.is_not(None), TransferOrder.shipped_at.is_not(None))).all()
    legs = [(str(source), str(dest), "transfer", _days(sent, got))
            for source, dest, sent, got in rows]
    return pl.DataFrame(legs, orient="row", schema=LEGS)


def supplying_sources(sites: pl.DataFrame, transfers: pl.DataFrame) -> pl.DataFrame:
    """``site, route_from, kind``: who supplies each site. ``sites``: site, code, site_kind,
    region; ``transfers``: transfer legs (route_from, route_to as site ids)."""
    central = sites.filter(pl.col("site_kind") == "central").sort("code")
    busiest = (transfers.select(pl.col("route_from", "route_to").cast(pl.Int64))
               .group_by("route_from", "route_to").agg(n=pl.len())
               .sort("n", "route_from", descending=[True, False])
               .group_by("route_to", maintain_order=True).first()
               .select(site="route_to", busiest="route_from"))
    regional = (sites.select("site", "region").join(
        central.select("region", near="site"), on="region").group_by("site").agg(pl.col("near").first()))
    fallback = central["site"].first() if central.height else None
    return (sites.join(busiest, on="site", how="left").join(regional, on="site", how="left")
            .select("site", kind=pl.when(pl.col("site_kind") == "central").then(pl.lit("purchase"))
                    .otherwise(pl.lit("transfer")),
                    source=pl.coalesce("busiest", "near", pl.lit(fallback, dtype=pl.Int64))))


def sites(session: Session) -> pl.DataFrame:
    """Every site: site (id), code, site_kind, region."""
    rows = session.execute(select(Location.id, Location.code, Location.site_kind, Location.region)
                           .where(Location.kind == LocationKind.SITE.value)).all()
    return pl.DataFrame(rows, orient="row", schema={"site": pl.Int64, "code": pl.String,
                                                    "site_kind": pl.String, "region": pl.String})


def site_lead_times(session: Session, *,
                    defaults: Mapping[str, RouteDefault] = DEFAULT_LEAD_TIMES) -> pl.DataFrame:
    """Per site: ``site, L, sL, lead_time_source, route, lead_basis`` — the lead time of the
    route that supplies it, and where it came from."""
    every = sites(session)
    transfers = transfer_legs(session)
    supplies = supplying_sources(every, transfers)
    codes = dict(zip(every["site"].cast(pl.String).to_list(), every["code"].to_list(), strict=True))
    legs = pl.concat([purchase_legs(session), transfers]).with_columns(
        pl.col("route_from", "route_to").replace(codes))
    routes = supplies.join(every.select("site", "code"), on="site").select(
        route_from=pl.when(pl.col("kind") == "purchase").then(pl.lit(SUPPLIER)).otherwise(
            pl.col("source").cast(pl.String).replace(codes)),
        route_to="code", kind="kind", site="site")
    learned = route_lead_times(legs, routes, defaults=defaults)
    return routes.select("site", "route_to").join(learned, on="route_to").select(
        "site", "L", "sL", "lead_time_source", "route", "lead_basis")
