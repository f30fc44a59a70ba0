"""What every detector does alike: a rule's parameters over its kind's defaults, the sites it
watches, the condition filter over the findings' values, and numbers shown as text."""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cangliu.core.alerts import KINDS, Check, Finding, Rule
from cangliu.core.rules import evaluate
from cangliu.db.models import Location, Sku
from cangliu.services.events import Event

Pair = tuple[int, int]  # (sku id, site id)
STOCK_EVENT = "stock.changed"


@dataclass(frozen=True)
class Site:
    code: str
    region: str


def settings(rule: Rule) -> dict[str, Any]:
    """The rule's parameters, its kind's defaults for those it leaves out."""
    return {**KINDS[rule.kind].params, **{k: v for k, v in rule.params.items() if v is not None}}


def watched(rule: Rule, site_id: int | None) -> bool:
    return rule.site_ids is None or site_id in rule.site_ids


def kept(rule: Rule, findings: list[Finding], *, by_site: bool = True) -> list[Finding]:
    """The findings in the rule's sites (unless the detector judged the sites itself) that also
    meet its condition (when it has one)."""
    if by_site:
        findings = [f for f in findings if watched(rule, f.site_id)]
    if not rule.condition.strip() or not findings:
        return findings
    keep = evaluate(rule.condition, [f.values for f in findings], KINDS[rule.kind].columns)
    return [f for f, ok in zip(findings, keep, strict=True) if ok]


def checked(rule: Rule, findings: list[Finding], keys: Iterable[str] | None, *,
            by_site: bool = True) -> Check:
    """A Check of the findings kept; ``keys`` None: every key of the rule was examined."""
    return Check(kept(rule, findings, by_site=by_site), None if keys is None else frozenset(keys))


def number(value: Decimal | float | int | None) -> float | None:
    """A value for a condition column of kind number."""
    return None if value is None else float(value)


def shown(value: Decimal | float | int) -> str:
    """A quantity or amount as plain decimal text ("12", "0.5"; never "1E+1")."""
    exact = value if isinstance(value, Decimal) else Decimal(str(round(value, 1)))
    text = f"{exact.normalize():f}"
    return "0" if text in ("-0", "") else text


def sites(session: Session, ids: Iterable[int] | None = None) -> dict[int, Site]:
    """Site code and region by id (every site when ``ids`` is None)."""
    query = select(Location.id, Location.code, Location.region).where(Location.kind == "site")
    if ids is not None:
        query = query.where(Location.id.in_(set(ids)))
    return {i: Site(code, region or "") for i, code, region in session.execute(query)}


def stock_lines(event: Event) -> list[Mapping[str, Any]]:
    """The (SKU, site) lines of a stock.changed event; none for any other event."""
    if event.kind != STOCK_EVENT:
        return []
    return list(event.payload.get("lines") or [])


def touched(session: Session, rule: Rule, event: Event) -> set[Pair]:
    """The (sku id, site id) pairs of a stock.changed event within the rule's sites."""
    lines = [x for x in stock_lines(event) if watched(rule, x.get("site_id"))]
    if not lines:
        return set()
    ids = dict(session.execute(select(Sku.code, Sku.id).where(
        Sku.code.in_({x["sku"] for x in lines}))).tuples().all())
    return {(ids[x["sku"]], int(x["site_id"])) for x in lines if x["sku"] in ids}


def postings(event: Event) -> list[Mapping[str, Any]]:
    """The postings of a stock.changed event; none for any other event."""
    if event.kind != STOCK_EVENT:
        return []
    return [p for p in event.payload.get("postings") or [] if p.get("ref")]
