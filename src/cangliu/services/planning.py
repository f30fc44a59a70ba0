"""The planning run (计划运行): the state of every SKU × site, the transfer rules by priority,
matching of needs to offers, and the suggestions (调拨建议) a user accepts or dismisses.

A run keeps one open suggestion per (kind, rule, SKU, source, destination): proposed again, it is
updated in place (quantity, trigger, days of cover); no longer proposed, it is superseded. So a run
repeated on the same day changes nothing, and a dry run reports exactly what a run would change.
A rule with ``cooldown_days`` does not propose again for a SKU at a site while one of its
suggestions there was accepted or dismissed within that many days.
"""

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Final

import polars as pl
from sqlalchemy import select
from sqlalchemy.orm import Session

from cangliu.core.planning import Plan, Rule, evaluate, expected_days_of_cover, match
from cangliu.db.models import PlanningSuggestion, TransferOrder
from cangliu.db.uow import UnitOfWork, retrying
from cangliu.services import planning_rules, suggestions, thresholds
from cangliu.services.planning_state import build_state

__all__ = ["Proposal", "build_state", "propose", "run"]

Progress = Callable[[str], None]
KEY: Final = ("kind", "rule", "sku_id", "from_site_id", "to_site_id")
DEFAULTS_LISTED: Final = 200  # series named in a run's answer as planned on default inputs


@dataclass(frozen=True)
class Proposal:
    """What the rules propose now. ``transfers``: rule, sku, from_site, to_site, qty, trigger,
    cover_before, cover_after, exception (codes, plus *_id columns); ``purchases``: rule, sku,
    site, qty, trigger (plus ids); ``defaults``: sku, site, note of the series whose thresholds
    fell back to defaults for want of history."""

    transfers: pl.DataFrame
    purchases: pl.DataFrame
    defaults: pl.DataFrame


def _lead_times(session: Session, ids: dict[int, str]) -> pl.DataFrame:
    """Mean days from shipment to receipt per route, from received transfers."""
    rows = session.execute(select(TransferOrder.source_site_id, TransferOrder.dest_site_id,
                                  TransferOrder.shipped_at, TransferOrder.received_at).where(
        TransferOrder.received_at.is_not(None), TransferOrder.shipped_at.is_not(None))).all()
    legs = pl.DataFrame([(ids.get(a), ids.get(b), (got - sent).total_seconds() / 86400)
                         for a, b, sent, got in rows], orient="row",
                        schema={"from_site": pl.String, "to_site": pl.String, "days": pl.Float64})
    return (legs.drop_nulls().group_by("from_site", "to_site").agg(pl.col("days").mean().clip(0))
            .sort("from_site", "to_site"))


def _cooled(session: Session, rules: Sequence[Rule], today: date) -> pl.DataFrame:
    """(rule, sku_id, site_id) pairs a rule must leave alone today: decided within its cooldown."""
    cooling = {r.name: r.cooldown_days for r in rules if r.cooldown_days > 0}
    if not cooling:
        return pl.DataFrame(schema={"rule": pl.String, "sku_id": pl.Int64, "site_id": pl.Int64})
    since = datetime.combine(today - timedelta(days=max(cooling.values())), time(), UTC)
    rows = session.execute(select(PlanningSuggestion.rule, PlanningSuggestion.sku_id,
                                  PlanningSuggestion.to_site_id, PlanningSuggestion.decided_at)
                           .where(PlanningSuggestion.rule.in_(cooling),
                                  PlanningSuggestion.state.in_(("accepted", "dismissed")),
                                  PlanningSuggestion.decided_at >= since)).all()
    return pl.DataFrame([(r, s, t) for r, s, t, at in rows
                         if (today - at.date()).days < cooling[r]], orient="row",
                        schema={"rule": pl.String, "sku_id": pl.Int64, "site_id": pl.Int64}).unique()


def propose(session: Session, today: date, rules: Sequence[Rule] | None = None, *,
            state: pl.DataFrame | None = None) -> Proposal:
    """Evaluate ``rules`` (default: the stored ones) on the state as of ``today`` and match."""
    rules = planning_rules.active_rules(session) if rules is None else rules
    state = build_state(session, today) if state is None else state
    needs, offers = evaluate(rules, state)
    ids = state.select("sku", "site", "sku_id", "site_id")
    cooled = _cooled(session, rules, today)
    if cooled.height:
        blocked = cooled.join(ids, on=["sku_id", "site_id"]).select("rule", "sku", "site")
        needs = needs.join(blocked, on=["rule", "sku", "site"], how="anti")
    sites = dict(zip(state["site_id"], state["site"], strict=True))
    plan = match(needs, offers, _lead_times(session, sites),
                 state.select("sku", "pack_size").unique("sku"),
                 preference_by_rule={r.name: r.prefer for r in rules})
    # Only a replenishment rule buys: its sources offer everything above their safety stock, so
    # what it cannot cover the network does not have. Balancing, pre-stocking and clearance offer
    # only part of a source's stock; what they leave unmet is no reason to buy.
    buying = [r.name for r in rules if r.kind == "replenish"]
    return Proposal(transfers=_with_source_values(_transfers(plan, state), state, rules),
                    purchases=_purchases(plan, state).filter(pl.col("rule").is_in(buying)),
                    defaults=state.filter(pl.col("note").str.contains("demand history"))
                    .select("sku", "site", "note"))


def _transfers(plan: Plan, state: pl.DataFrame) -> pl.DataFrame:
    cover = expected_days_of_cover(state, plan).select(
        "sku", to_site="site", cover_before="before", cover_after="after")
    speed = state.select("sku", "site", "forecast_daily", "sku_id", "site_id")
    return (plan.transfers.join(cover, on=["sku", "to_site"], how="left")
            .join(speed.rename({"site": "from_site", "forecast_daily": "from_speed",
                                "site_id": "from_site_id"}), on=["sku", "from_site"])
            .join(speed.drop("sku_id").rename({"site": "to_site", "forecast_daily": "to_speed",
                                               "site_id": "to_site_id"}), on=["sku", "to_site"])
            # Moving stock from where it sells faster to where it sells slower is an exception.
            .with_columns(exception=pl.col("from_speed") > pl.col("to_speed"))
            .drop("from_speed", "to_speed"))


def _with_source_values(transfers: pl.DataFrame, state: pl.DataFrame, rules: Sequence[Rule]
                        ) -> pl.DataFrame:
    """The trigger of each transfer with the source's values its rule's source condition read,
    as ``source.<column>``: why that site may give (e.g. no sale for 75 days)."""
    if transfers.is_empty():
        return transfers
    read = {r.name: [c for c in pl.sql_expr(r.source).meta.root_names() if c in state.columns]
            for r in rules}
    sources = state.rename({"site": "from_site"})
    values = {(row["rule"], row["sku"], row["from_site"]): {
        f"source.{c}": row[c] for c in read.get(row["rule"], [])}
        for row in transfers.select("rule", "sku", "from_site")
        .join(sources, on=["sku", "from_site"], how="left").iter_rows(named=True)}
    merged = [json.dumps({**json.loads(t), **values.get((r, k, f), {})}, ensure_ascii=False)
              for r, k, f, t in transfers.select("rule", "sku", "from_site", "trigger").iter_rows()]
    return transfers.with_columns(trigger=pl.Series(merged, dtype=pl.String))


def _purchases(plan: Plan, state: pl.DataFrame) -> pl.DataFrame:
    return plan.purchases.join(state.select("sku", "site", "sku_id", "site_id"),
                               on=["sku", "site"])


# --- storing a run -----------------------------------------------------------------------------

def _rows(proposal: Proposal) -> list[dict[str, Any]]:
    """One suggestion row per proposed transfer and purchase, keyed by KEY."""
    rows = [{"kind": "transfer", "rule": t["rule"], "sku_id": t["sku_id"],
             "from_site_id": t["from_site_id"], "to_site_id": t["to_site_id"], "qty": t["qty"],
             "trigger": t["trigger"], "cover_before": t["cover_before"],
             "cover_after": t["cover_after"], "exception": bool(t["exception"])}
            for t in proposal.transfers.iter_rows(named=True)]
    rows += [{"kind": "purchase", "rule": p["rule"], "sku_id": p["sku_id"], "from_site_id": None,
              "to_site_id": p["site_id"], "qty": p["qty"], "trigger": p["trigger"],
              "cover_before": None, "cover_after": None, "exception": False}
             for p in proposal.purchases.iter_rows(named=True)]
    for row in rows:
        row["qty"] = Decimal(str(round(row["qty"], 6))).normalize()
        row["trigger"] = json.dumps(json.loads(row["trigger"]), ensure_ascii=False, sort_keys=True)
    return rows


def _key(row: Any) -> tuple[Any, ...]:
    return tuple(row[k] if isinstance(row, dict) else getattr(row, k) for k in KEY)


def _changes(session: Session, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """How ``rows`` differ from the open suggestions: new, changed (quantity or trigger), gone."""
    open_ = {_key(s): s for s in session.scalars(select(PlanningSuggestion).where(
        PlanningSuggestion.state == "open").with_for_update())}
    new = {_key(r): r for r in rows}
    changed = [(open_[k], r) for k, r in new.items()
               if k in open_ and (open_[k].qty != r["qty"] or open_[k].trigger != r["trigger"])]
    return {"added": [r for k, r in new.items() if k not in open_], "changed": changed,
            "gone": [s for k, s in open_.items() if k not in new],
            "same": sum(1 for k in new if k in open_) - len(changed)}


def _counted(diff: dict[str, Any]) -> dict[str, int]:
    return {"added": len(diff["added"]), "changed": len(diff["changed"]),
            "superseded": len(diff["gone"]), "unchanged": diff["same"]}


@retrying
def run(uow: UnitOfWork, *, today: date | None = None, dry_run: bool = False,
        progress: Progress | None = None) -> dict[str, Any]:
    """Propose and store (or, dry, only count) today's suggestions; see the module docstring."""
    say = progress or (lambda _step: None)
    with uow:
        s = uow.session
        day = today or uow.now().date()
        say("rules")
        proposal = propose(s, day)
        say("suggestions")
        diff = _changes(s, _rows(proposal))
        answer = {"day": day.isoformat(), "dry_run": dry_run, **_counted(diff),
                  "transfers": proposal.transfers.height, "purchases": proposal.purchases.height,
                  "by_rule": _by_rule(proposal),
                  "defaults": proposal.defaults.head(DEFAULTS_LISTED).to_dicts(),
                  "defaults_total": proposal.defaults.height}
        if dry_run:
            answer["preview"] = _preview(s, diff)
            return answer
        now = uow.now()
        for row in diff["added"]:
            s.add(PlanningSuggestion(**row, state="open", run_on=day, created_at=now))
        for old, row in diff["changed"]:
            for name in ("qty", "trigger", "cover_before", "cover_after", "exception"):
                setattr(old, name, row[name])
            old.run_on = day
        for old in diff["gone"]:
            old.state, old.decided_at, old.reason = "superseded", now, "no longer proposed"
        uow.commit()
    return answer


def _by_rule(proposal: Proposal) -> dict[str, int]:
    rules = pl.concat([proposal.transfers.select("rule"), proposal.purchases.select("rule")])
    return dict(sorted(rules.group_by("rule").len().iter_rows()))


def _preview(session: Session, diff: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """The first changes of a dry run, by codes, for people to read."""
    codes = suggestions.Codes(session)
    return {"added": [codes.row(r) for r in diff["added"][:50]],
            "changed": [{**codes.row(r), "old_qty": str(old.qty)} for old, r in diff["changed"][:50]],
            "superseded": [codes.row(s) for s in diff["gone"][:50]]}


def refresh(uow_factory: Callable[[], UnitOfWork], *, today: date,
            progress: Progress | None = None) -> dict[str, Any]:
    """The daily planning job: demand history and thresholds, then the suggestions."""
    say = progress or (lambda _step: None)
    say("thresholds")
    done = thresholds.refresh(uow_factory(), today=today)
    return {**done, "suggestions": run(uow_factory(), today=today, progress=say)}
