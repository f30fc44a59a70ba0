"""The load test's people and what they send, as plain functions (no locust here).

The locust user classes in ``locustfile.py`` are thin: each task asks this module for its next
request(s) and hands documents from one role to the next through ``Handoffs`` (a sales order
confirmed by the salesperson is shipped by the warehouse clerk, a purchase order submitted by the
purchaser is received by the clerk, a store replenishment created by the regional manager is
shipped by the clerk and received by the store manager). Keeping the bodies here lets a test
drive the same calls through a TestClient without locust installed.

Everything works on the demo network (``cangliu demo``) plus the opening stock ``opening_stock``
posts, so that business refusals (not enough stock) stay rare but possible.
"""

import random
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

# Neither lot- nor serial-tracked SKUs of the demo catalogue (SKU-n with n % 8 in 0, 1, 4, 7:
# drinks, snacks, household, auto parts), so receipts and shipments need no lots or serials.
SKUS = tuple(f"SKU-{n:04d}" for n in range(1, 301) if n % 8 in (0, 1, 4, 7))[:40]
EAST_BINS = tuple(f"WH-EAST-{zone}{n:02d}" for zone in "AB" for n in range(1, 4))
CUSTOMERS = tuple(f"CUS-{n:03d}" for n in range(1, 11))
SUPPLIERS = tuple(f"SUP-{n:02d}" for n in range(1, 6))
OPENING_QTY = 100_000  # per SKU and place: more than a 12-minute run can take out
# Sites whose stock the scenario draws on (site level) and the clerk's bins.
OPENING_SITES = ("WH-CENTRAL", "WH-EAST", "WH-SOUTH", "ST-SH01")

# Think time between one task and the next of the same person, in seconds (uniform).
THINK_MIN_S, THINK_MAX_S = 1.0, 3.0


@dataclass(frozen=True)
class Call:
    """One HTTP request: method, path, JSON body (None for reads), query, and a name to group
    its statistics under (paths with document numbers would make one entry per document)."""

    method: str
    path: str
    name: str
    body: dict[str, Any] | None = None
    params: dict[str, Any] | None = None

    @property
    def writes(self) -> bool:
        return self.method != "GET"


def headers(token: str, call: Call) -> dict[str, str]:
    """Bearer token on every call; a fresh Idempotency-Key on every write, as a client sends."""
    out = {"Authorization": f"Bearer {token}", "Accept": "application/json", "Accept-Language": "en"}
    if call.writes:
        out["Idempotency-Key"] = uuid.uuid4().hex
    return out


def login(username: str, password: str) -> Call:
    return Call("POST", "/api/v1/auth/login", "auth/login",
                {"username": username, "password": password})


@dataclass
class Handoffs:
    """Documents waiting for the next person, per process (locust's processes each keep their
    own; a person who finds nothing waiting does something else)."""

    sales_to_ship: deque[str] = field(default_factory=lambda: deque(maxlen=500))
    purchases_to_receive: deque[tuple[str, list[tuple[int, str]]]] = field(
        default_factory=lambda: deque(maxlen=500))
    transfers_to_ship: deque[tuple[str, list[int]]] = field(default_factory=lambda: deque(maxlen=500))
    transfers_to_receive: deque[tuple[str, list[int], list[str]]] = field(
        default_factory=lambda: deque(maxlen=500))


def _lines(rng: random.Random, most: int, qty: tuple[int, int]) -> list[dict[str, Any]]:
    return [{"sku": sku, "qty": str(rng.randint(*qty))}
            for sku in rng.sample(SKUS, rng.randint(1, most))]


def _priced(lines: list[dict[str, Any]], rng: random.Random, low: int, high: int
            ) -> list[dict[str, Any]]:
    return [{**ln, "price": f"{rng.randint(low, high)}.50"} for ln in lines]


# --- scanning (warehouse clerk at WH-EAST with a handheld) -------------------------------------

@dataclass
class Device:
    """A handheld's offline queue: its id and the next sequence number (1, 2, 3 …)."""

    id: str = field(default_factory=lambda: f"load-{uuid.uuid4().hex[:12]}")
    seq: int = 1


def scan_batch(rng: random.Random, device: Device) -> Call:
    """A handheld syncing 2–6 scans done offline: putaway moves between bins, the odd receipt."""
    ops = []
    for _ in range(rng.randint(2, 6)):
        if rng.random() < 0.8:
            src, dst = rng.sample(EAST_BINS, 2)
            kind, payload = "stock.move", {"sku": rng.choice(SKUS), "from_site": "WH-EAST",
                                           "to_site": "WH-EAST", "bin": src, "to_bin": dst,
                                           "qty": str(rng.randint(1, 5)), "reason": "putaway scan"}
        else:
            kind, payload = "stock.receive", {"sku": rng.choice(SKUS), "site": "WH-EAST",
                                              "bin": rng.choice(EAST_BINS),
                                              "qty": str(rng.randint(1, 20)), "reason": "scan receipt"}
        ops.append({"id": uuid.uuid4().hex, "seq": device.seq, "kind": kind, "payload": payload})
        device.seq += 1
    return Call("POST", "/api/v1/offline/batch", "offline/batch",
                {"device": device.id, "operations": ops})


def scan_move(rng: random.Random) -> Call:
    """One online scan: move a few units from one bin to another."""
    src, dst = rng.sample(EAST_BINS, 2)
    return Call("POST", "/api/v1/stock/move", "stock/move",
                {"sku": rng.choice(SKUS), "from_site": "WH-EAST", "to_site": "WH-EAST", "bin": src,
                 "to_bin": dst, "qty": str(rng.randint(1, 5)), "reason": "move scan"})


def scan_lookup(rng: random.Random) -> Call:
    """Scan an item to see where it is: the single view of one SKU."""
    return Call("GET", f"/api/v1/stock/{rng.choice(SKUS)}", "stock/{sku}")


def batch_refusals(answer: dict[str, Any]) -> list[str]:
    """The offline operations the server answered as refused (HTTP 200 with ``failed``)."""
    return [str((r.get("error") or {}).get("title", "failed")) for r in answer.get("results", [])
            if r.get("status") not in ("applied", "waiting")]


# --- sales ------------------------------------------------------------------------------------

def sale_create(rng: random.Random, site: str) -> Call:
    return Call("POST", "/api/v1/sales-orders", "sales-orders",
                {"customer": rng.choice(CUSTOMERS), "site": site,
                 "lines": _priced(_lines(rng, 3, (1, 5)), rng, 10, 80)})


def sale_action(number: str, action: str) -> Call:
    """confirm (reserves), or ship (everything, from the pick list)."""
    body: dict[str, Any] = {}
    return Call("POST", f"/api/v1/sales-orders/{number}/{action}", f"sales-orders/{{n}}/{action}",
                body)


def sales_list(site: str) -> Call:
    return Call("GET", "/api/v1/sales-orders", "sales-orders (list)",
                params={"site": site, "limit": 20})


# --- purchasing -------------------------------------------------------------------------------

def purchase_create(rng: random.Random, *, large: bool) -> Call:
    """A purchase at the central warehouse; a large one (over 100,000) needs two approvals."""
    lines = _lines(rng, 4, (2000, 3000) if large else (10, 200))
    return Call("POST", "/api/v1/purchase-orders", "purchase-orders",
                {"supplier": rng.choice(SUPPLIERS), "site": "WH-CENTRAL",
                 "lines": _priced(lines, rng, 30, 60) if large else _priced(lines, rng, 2, 20)})


def purchase_action(number: str, action: str) -> Call:
    return Call("POST", f"/api/v1/purchase-orders/{number}/{action}",
                f"purchase-orders/{{n}}/{action}", {})


def purchase_receive(number: str, lines: list[tuple[int, str]]) -> Call:
    return Call("POST", f"/api/v1/purchase-orders/{number}/receive", "purchase-orders/{n}/receive",
                {"lines": [{"line_no": no, "qty": qty} for no, qty in lines]})


def purchase_list() -> Call:
    return Call("GET", "/api/v1/purchase-orders", "purchase-orders (list)",
                params={"state": "approved", "limit": 20})


# --- transfers --------------------------------------------------------------------------------

def transfer_create(rng: random.Random, *, cross_region: bool) -> Call:
    """Store replenishment WH-EAST → ST-SH01 (approved by policy at once), or from the south's
    warehouse (cross-region: store manager, regional manager, director)."""
    return Call("POST", "/api/v1/transfers", "transfers",
                {"source": "WH-SOUTH" if cross_region else "WH-EAST", "dest": "ST-SH01",
                 "lines": _lines(rng, 3, (1, 10))})


def transfer_action(number: str, action: str) -> Call:
    return Call("POST", f"/api/v1/transfers/{number}/{action}", f"transfers/{{n}}/{action}", {})


def transfer_receive(number: str, line_nos: list[int], qtys: list[str]) -> Call:
    return Call("POST", f"/api/v1/transfers/{number}/receive", "transfers/{n}/receive",
                {"lines": [{"line_no": no, "received": q} for no, q in zip(line_nos, qtys, strict=True)]})


def transfers_list(site: str) -> Call:
    return Call("GET", "/api/v1/transfers", "transfers (list)", params={"site": site, "limit": 20})


# --- approvals --------------------------------------------------------------------------------

def approvals_pending() -> Call:
    return Call("GET", "/api/v1/approvals", "approvals (pending)", params={"box": "pending",
                                                                             "limit": 20})


def approval_get(instance: int) -> Call:
    return Call("GET", f"/api/v1/approvals/{instance}", "approvals/{id}")


def approval_decide(instance: int) -> Call:
    return Call("POST", f"/api/v1/approvals/{instance}/decision", "approvals/{id}/decision",
                {"decision": "approve", "comment": "load test"})


# --- dashboards -------------------------------------------------------------------------------

def dashboard_read(rng: random.Random) -> Call:
    """One of the dashboard's panels, or the network stock list, as a viewer clicks around."""
    pick: list[Callable[[], Call]] = [
        lambda: Call("GET", "/api/v1/kpis/summary", "kpis/summary"),
        lambda: Call("GET", "/api/v1/kpis/trend", "kpis/trend",
                     params={"kpi": rng.choice(("inventory_value", "days_of_inventory", "fill_rate"))}),
        lambda: Call("GET", "/api/v1/kpis/drill", "kpis/drill", params={"level": "region"}),
        lambda: Call("GET", "/api/v1/kpis/water-levels", "kpis/water-levels"),
        lambda: Call("GET", "/api/v1/kpis/risks", "kpis/risks"),
        lambda: Call("GET", "/api/v1/stock", "stock (network)", params={"limit": 100}),
        lambda: Call("GET", f"/api/v1/stock/{rng.choice(SKUS)}", "stock/{sku}"),
    ]
    return rng.choice(pick)()
