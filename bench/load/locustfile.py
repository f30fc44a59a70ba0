"""Locust users for the mixed-role load test: scanning, sales orders, purchases, transfers,
approvals and dashboard viewers, each logged in as one of the demo's people.

Run through ``bench/load/run.py`` (it prepares the database and the server); by hand:

    LOAD_PASSWORD=… locust -f bench/load/locustfile.py --headless -u 50 -r 10 -t 90s \
        --host http://127.0.0.1:8000

Answers are classified by the request's failure message, which ``run.py`` groups by kind:
``refused <status>: <title>`` is a business refusal (4xx: not enough stock, a document another
person already moved on, an approval someone else decided), ``server error <status>`` a 5xx,
anything else (a 401, a dropped connection) is unexpected. With ``LOAD_STEADY_S`` set, the
statistics are reset once everyone has logged in and the load has settled (``LOAD_SETTLE_S``),
and locust stops after the steady state, so what it writes at the end is the steady state.
"""

import contextlib
import os
import random
import time
from typing import Any

import gevent
import scenario as sc
from locust import FastHttpUser, between, events, task
from locust.env import Environment
from locust.runners import LocalRunner, MasterRunner

PASSWORD = os.environ.get("LOAD_PASSWORD", "")
SETTLE_S = float(os.environ.get("LOAD_SETTLE_S", "10"))
STEADY_S = float(os.environ.get("LOAD_STEADY_S", "0"))  # 0: run until --run-time
MARK = os.environ.get("LOAD_MARK", "")  # a file to note when the steady state starts and ends
LOGIN_WAIT_S = 180.0
logged_in = 0  # users of this process whose login has been answered (either way)


def mark(what: str) -> None:
    if MARK:
        with open(MARK, "a") as f:
            f.write(f"{what} {time.time()}\n")


@events.spawning_complete.add_listener
def steady_state(user_count: int, **_: Any) -> None:
    """Once every user has started and (in a single process) logged in, let the load settle,
    reset the statistics, measure for LOAD_STEADY_S seconds and stop: what locust writes at the
    end is the steady state only."""
    runner = locust_env.runner if locust_env else None
    if STEADY_S <= 0 or not isinstance(runner, LocalRunner | MasterRunner):
        return

    def measure() -> None:
        deadline = time.monotonic() + LOGIN_WAIT_S
        while (isinstance(runner, LocalRunner) and logged_in < user_count
               and time.monotonic() < deadline):
            gevent.sleep(0.5)
        gevent.sleep(SETTLE_S)
        runner.stats.reset_all()
        mark("start")
        gevent.sleep(STEADY_S)
        mark("end")
        runner.quit()
    gevent.spawn(measure)


locust_env: Environment | None = None


@events.init.add_listener
def keep_environment(environment: Environment, **_: Any) -> None:
    global locust_env
    locust_env = environment


class Person(FastHttpUser):
    """A person at work: logs in once, then does a task, thinks 1–3 s, does another."""

    abstract = True
    username = ""
    wait_time = between(sc.THINK_MIN_S, sc.THINK_MAX_S)
    # People wait for a slow answer rather than give up after locust's default 60 s; a timeout
    # would leave a login unanswered and the user without a token.
    network_timeout = 300.0
    connection_timeout = 60.0

    def on_start(self) -> None:
        global logged_in
        self.rng = random.Random()
        self.token = ""
        self.log_in()
        logged_in += 1

    def log_in(self) -> None:
        """Log in (a few tries, a pause between them): a user without a token only makes noise."""
        for _ in range(5):
            answer = self.send(sc.login(self.username, PASSWORD), auth=False)
            if answer is not None:
                self.token = str(answer["access_token"])
                return
            gevent.sleep(self.rng.uniform(1, 5))

    def send(self, call: sc.Call, *, auth: bool = True) -> dict[str, Any] | None:
        """Make the call; the JSON answer on 2xx, None otherwise (the failure is recorded)."""
        head = sc.headers(self.token, call) if auth else {"Accept": "application/json"}
        with self.client.request(call.method, call.path, name=call.name, json=call.body,
                                 params=call.params, headers=head, catch_response=True) as r:
            status = r.status_code or 0
            if 200 <= status < 300:
                r.success()
                try:
                    return r.json() if r.content else {}
                except ValueError:
                    return {}
            if status >= 500:
                r.failure(f"server error {status}")
            elif status in (400, 403, 404, 409, 422) and auth:
                title = ""
                with contextlib.suppress(ValueError, AttributeError):
                    title = str(r.json().get("title", ""))
                r.failure(f"refused {status}: {title}")
            elif status == 0:  # no answer: the connection failed or was dropped
                r.failure(f"no answer: {getattr(r, 'error', None)!r}"[:200])
            else:
                r.failure(f"unexpected {status}: {(r.text or '')[:120]}")
        if status == 401 and auth:
            self.log_in()  # the session is gone (expired, revoked): log in again
        return None


# The handoffs live in the process: one salesperson's order is the next clerk's shipment.
HANDOFFS = sc.Handoffs()


class Scanner(Person):
    """The warehouse clerk's handhelds at WH-EAST: offline batches, moves and lookups by scan."""

    weight = 30
    username = "clerk"

    def on_start(self) -> None:
        super().on_start()
        self.device = sc.Device()

    @task(5)
    def offline_batch(self) -> None:
        call = sc.scan_batch(self.rng, self.device)
        with self.client.request("POST", call.path, name=call.name, json=call.body,
                                 headers=sc.headers(self.token, call), catch_response=True) as r:
            if r.status_code != 200:
                status = r.status_code or 0
                r.failure(f"server error {status}" if status >= 500
                          else f"no answer: {getattr(r, 'error', None)!r}"[:200] if status == 0
                          else f"unexpected {status}: {(r.text or '')[:120]}")
                return
            refused = sc.batch_refusals(r.json())
            if refused:
                r.failure(f"refused offline op: {refused[0]}")
            else:
                r.success()

    @task(3)
    def move(self) -> None:
        self.send(sc.scan_move(self.rng))

    @task(3)
    def lookup(self) -> None:
        self.send(sc.scan_lookup(self.rng))


class Clerk(Person):
    """The clerk at the dock: ships confirmed sales orders and store replenishments, receives
    purchase orders at the central warehouse."""

    weight = 10
    username = "clerk"

    @task(3)
    def ship_sale(self) -> None:
        if HANDOFFS.sales_to_ship:
            self.send(sc.sale_action(HANDOFFS.sales_to_ship.popleft(), "ship"))
        else:
            self.send(sc.sales_list("WH-EAST"))

    @task(2)
    def receive_purchase(self) -> None:
        if HANDOFFS.purchases_to_receive:
            number, lines = HANDOFFS.purchases_to_receive.popleft()
            self.send(sc.purchase_receive(number, lines))
        else:
            self.send(sc.purchase_list())

    @task(2)
    def ship_transfer(self) -> None:
        if not HANDOFFS.transfers_to_ship:
            self.send(sc.transfers_list("WH-EAST"))
            return
        number, line_nos = HANDOFFS.transfers_to_ship.popleft()
        shipped = self.send(sc.transfer_action(number, "ship"))
        if shipped is not None:
            qtys = [str(ln["qty"]) for ln in shipped.get("lines", [])] or ["1"] * len(line_nos)
            HANDOFFS.transfers_to_receive.append((number, line_nos, qtys))


class Sales(Person):
    """A salesperson in the east: creates and confirms orders shipped from WH-EAST."""

    weight = 15
    username = "sales"

    @task(4)
    def order(self) -> None:
        made = self.send(sc.sale_create(self.rng, "WH-EAST"))
        if made is None:
            return
        number = str(made["number"])
        if self.send(sc.sale_action(number, "confirm")) is not None:
            HANDOFFS.sales_to_ship.append(number)

    @task(1)
    def browse(self) -> None:
        self.send(sc.sales_list("WH-EAST"))


class Store(Person):
    """The store manager at ST-SH01: counter sales shipped at once, receiving replenishments,
    approving cross-region transfers to the store."""

    weight = 10
    username = "store"

    @task(3)
    def counter_sale(self) -> None:
        made = self.send(sc.sale_create(self.rng, "ST-SH01"))
        if made is None:
            return
        number = str(made["number"])
        if self.send(sc.sale_action(number, "confirm")) is not None:
            self.send(sc.sale_action(number, "ship"))

    @task(2)
    def receive_transfer(self) -> None:
        if HANDOFFS.transfers_to_receive:
            self.send(sc.transfer_receive(*HANDOFFS.transfers_to_receive.popleft()))
        else:
            self.send(sc.transfers_list("ST-SH01"))

    @task(1)
    def approve(self) -> None:
        approve_one(self)


class Purchaser(Person):
    """Buys for the central warehouse: creates and submits purchase orders; one in ten is large
    enough (over 100,000) to need the purchasing manager and finance."""

    weight = 10
    username = "purchaser"

    @task
    def purchase(self) -> None:
        large = self.rng.random() < 0.1
        made = self.send(sc.purchase_create(self.rng, large=large))
        if made is None:
            return
        number = str(made["number"])
        submitted = self.send(sc.purchase_action(number, "submit"))
        if submitted is not None and submitted.get("state") == "approved":
            HANDOFFS.purchases_to_receive.append(
                (number, [(int(ln["line_no"]), str(ln["qty"])) for ln in made.get("lines", [])]))


class Planner(Person):
    """The east's regional manager: store replenishments (approved by policy at once) and the
    odd cross-region transfer from the south, which goes through three approvals."""

    weight = 10
    username = "regional_east"

    @task
    def replenish(self) -> None:
        cross = self.rng.random() < 0.2
        made = self.send(sc.transfer_create(self.rng, cross_region=cross))
        if made is None:
            return
        number = str(made["number"])
        submitted = self.send(sc.transfer_action(number, "submit"))
        if submitted is not None and not cross and submitted.get("state") == "approved":
            HANDOFFS.transfers_to_ship.append(
                (number, [int(ln["line_no"]) for ln in made.get("lines", [])]))


def approve_one(person: Person) -> None:
    """Open the inbox, look at one waiting approval and approve it (at random among the 20
    newest, so that two people logged in as the same approver seldom race for one)."""
    inbox = person.send(sc.approvals_pending())
    items = (inbox or {}).get("items") or []
    if not items:
        return
    instance = int(person.rng.choice(items)["id"])
    if person.send(sc.approval_get(instance)) is not None:
        person.send(sc.approval_decide(instance))


class Approver(Person):
    """Approvers: the purchasing manager and finance (large purchases), the south's regional
    manager and the director (cross-region transfers)."""

    abstract = True
    weight = 2

    @task
    def approve(self) -> None:
        approve_one(self)


class BuyerLead(Approver):
    username = "buyer_lead"


class FinanceApprover(Approver):
    username = "finance"


class RegionalApprover(Approver):
    username = "regional"


class DirectorApprover(Approver):
    username = "director"


class Viewer(Person):
    """Dashboard viewers: KPI panels, the network stock list, one SKU's single view."""

    abstract = True
    weight = 4

    @task
    def look(self) -> None:
        self.send(sc.dashboard_read(self.rng))


class DirectorViewer(Viewer):
    username = "director"


class RegionalViewer(Viewer):
    username = "regional"


class EastViewer(Viewer):
    username = "regional_east"


class FinanceViewer(Viewer):
    username = "finance"
