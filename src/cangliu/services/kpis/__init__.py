"""Network KPIs (issue 8): daily snapshots, and the dashboard's summaries, trends, drill-down,
water levels, bin heatmap, risk lists and before/after comparison.

=================  =================================================  ==============================
code               formula                                            source
=================  =================================================  ==============================
inventory_value    Σ stock value at cost on the period's last day     ledger: Σ move value per site
cogs               cost shipped to customers − cost returned          ledger moves ↔ customer
turnover           COGS ÷ average inventory value                     snapshots (daily stock value)
days_of_inventory  days in period × average inventory value ÷ COGS    snapshots
stockout_rate      orders not fully served ÷ all orders               sales orders by creation day
                   (order lines when a category is chosen)
fill_rate          order lines served in full ÷ all order lines       sales lines by creation day
transfer_count     transfer orders shipped (at the source site)       transfer_order.shipped_at
transfer_value     cost value shipped on transfers                    ledger transfer_ship moves
approval_hours     mean hours, submission → final decision            approval_instance
transit_hours      mean hours, shipment → receipt (destination site)  transfer_order
receipt_accuracy   PO lines received exactly as ordered ÷ PO lines    purchase_line, on the day of
                   received                                           the line's last receipt
=================  =================================================  ==============================

Average inventory value is the mean of the end-of-day values over the period's days. An order
counts on the day it was created; a line is served from stock when its quantity is shipped or
held by a reservation, and short otherwise (closed with its backorder dropped, or backordered
without stock); an order is short when one of its lines is. Snapshots of yesterday are retaken
each day, so a day's figures settle the day after. Snapshots
hold day × site × category (``kpi_snapshot``) and day × site (``kpi_site_snapshot``); readers
take "today" live (``today=``) and earlier days from snapshots.
"""

from cangliu.services.kpis.definitions import BY_CODE, KPIS, Kpi
from cangliu.services.kpis.drill import LEVELS, NEXT, drill
from cangliu.services.kpis.levels import bin_heatmap, risks, water_levels
from cangliu.services.kpis.periods import GRAINS, compare, trend
from cangliu.services.kpis.reading import summary
from cangliu.services.kpis.snapshots import backfill, compute, snapshot

__all__ = ["BY_CODE", "GRAINS", "KPIS", "LEVELS", "NEXT", "Kpi", "backfill", "bin_heatmap",
           "compare", "compute", "drill", "risks", "snapshot", "summary", "trend", "water_levels"]
