"""After-sales repair and warranty tickets (维修/保修单) on one serial: the fault, the warranty
it falls under, the actions taken (parts replaced by serial) and the outcome.

A unit under repair is 'in_repair'. One whose stock sits on a shelf (in stock, or returned by a
customer onto quality hold) stays on quality hold meanwhile so it cannot be sold; the outcome
sends the unit back where it came from (a sold unit to its customer, a shelf unit to available
stock) or to scrap, with the ledger moves in the same transaction.
"""

from cangliu.services.repairs.records import (
    FATES,
    KINDS,
    OUTCOMES,
    STATUSES,
    WARRANTIES,
    Filters,
    check_unit,
    get_ticket,
    list_tickets,
    shipped_on,
    ticket_site,
    warranty_of,
)
from cangliu.services.repairs.tickets import add_action, cancel_ticket, close_ticket, open_ticket

__all__ = [
    "FATES", "KINDS", "OUTCOMES", "STATUSES", "WARRANTIES", "Filters", "add_action",
    "cancel_ticket", "check_unit", "close_ticket", "get_ticket", "list_tickets", "open_ticket",
    "shipped_on", "ticket_site", "warranty_of",
]
