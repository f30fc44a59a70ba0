"""Transfer rules as data: IF a target SKU × site needs stock AND a source may give it THEN
propose a quantity. A rule is refused at save with every reason by its path; ``evaluate`` turns
the enabled rules and the state of every SKU × site into needs and offers, which matching pairs."""

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from functools import lru_cache
from typing import Any, Final, Literal, cast, get_args

import polars as pl
import yaml

from cangliu.core import rules as conditions
from cangliu.core.errors import FieldError, ValidationFailed

Kind = Literal["replenish", "balance", "prestock", "clearance"]
Preference = Literal["same_region", "lead_time", "surplus"]

# What a condition or quantity may read: name → (type, meaning). The planning run provides every
# column; text codes follow core.locations (site_kind: central, regional, store, online).
STATE_COLUMNS: Final[Mapping[str, tuple[str, str]]] = {
    "sku": ("text", "SKU code"),
    "site": ("text", "site code"),
    "category": ("text", "the SKU's category code"),
    "tags": ("text", "the SKU's tag codes, comma-separated (tags LIKE '%promo%')"),
    "region": ("text", "the site's region code"),
    "site_kind": ("text", "central, regional, store or online"),
    "channel": ("text", "the site's sales channel: warehouse, store, online or wholesale"),
    "on_hand": ("number", "units physically at the site"),
    "available": ("number", "on hand less reservations: what may be promised or moved"),
    "in_transit_in": ("number", "units shipped to the site, not yet received"),
    "in_transit_out": ("number", "units shipped from the site, not yet received elsewhere"),
    "on_order": ("number", "units on open purchase orders for the site"),
    "safety_stock": ("number", "safety stock (SS) in units"),
    "reorder_point": ("number", "reorder point (ROP) in units"),
    "max_stock": ("number", "max stock in units"),
    "forecast_daily": ("number", "forecast demand in units per day"),
    "days_of_cover": ("number", "available / forecast_daily, in days"),
    "days_since_last_sale": ("number", "days since the SKU last sold at the site"),
    "sales_30d": ("number", "units sold at the site in the last 30 days"),
    "promo_starts_in_days": ("number", "days until the next promotion starts (empty: none)"),
    "promo_uplift_pct": ("number", "that promotion's expected demand uplift, in %"),
    "lifecycle": ("text", "new, growth, mature or decline"),
    "abc": ("text", "ABC class by value: A, B or C"),
    "xyz": ("text", "XYZ class by variability: X, Y or Z"),
    "pattern": ("text", "demand pattern: smooth, erratic, intermittent or lumpy"),
    "pack_size": ("number", "units per pack; transfers move whole packs"),
    "unit_cost": ("number", "moving-average unit cost in the base currency"),
}
_TYPES: Final = {name: kind for name, (kind, _) in STATE_COLUMNS.items()}
_ROW: Final = "__row"

NEEDS_SCHEMA: Final = pl.Schema({"rule": pl.Utf8, "priority": pl.Int64, "sku": pl.Utf8, "site": pl.Utf8,
                                 "region": pl.Utf8, "qty": pl.Float64, "trigger": pl.Utf8})
OFFERS_SCHEMA: Final = pl.Schema({"rule": pl.Utf8, "sku": pl.Utf8, "site": pl.Utf8, "region": pl.Utf8,
                                  "qty": pl.Float64})


@dataclass(frozen=True)
class Scope:
    """Which rows a rule looks at; empty means all. Categories and tags name the SKUs (both sides);
    sites, regions and channels name where stock is needed (the target side only — the source
    condition says where it may come from, so a regional rule can still draw on the centre)."""

    categories: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    sites: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()


@dataclass(frozen=True)
class Rule:
    """Lower ``priority`` runs first. ``prefer`` orders the sources of one need for matching."""

    name: str
    kind: Kind
    target: str  # condition: which SKU × site rows need stock
    source: str  # condition: which rows may give stock
    quantity: str  # how many units a target needs; below 0 counts as 0
    priority: int = 100
    enabled: bool = True
    scope: Scope = Scope()
    prefer: tuple[Preference, ...] = ("same_region", "lead_time", "surplus")
    approval_policy: str = "transfer"
    cooldown_days: int = 0


# --- reading and writing rules -------------------------------------------------------------

_RULE_KEYS: Final = ("name", "kind", "priority", "enabled", "scope", "target", "source", "quantity",
                     "prefer", "approval_policy", "cooldown_days")
_SCOPE_KEYS: Final = tuple(f.name for f in fields(Scope))


def _at(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


class _Problems:
    """Every error found, each named by its path."""

    def __init__(self) -> None:
        self.errors: list[FieldError] = []

    def add(self, path: str, message: str, **params: object) -> None:
        self.errors.append(FieldError(path, message, {k: str(v) for k, v in params.items()}))

    def mapping(self, data: object, path: str, allowed: Sequence[str]) -> Mapping[str, Any] | None:
        if not isinstance(data, Mapping):
            self.add(path or "yaml", "must be a mapping")
            return None
        for key in data:
            if key not in allowed:
                self.add(_at(path, str(key)), "unknown key {key}", key=key)
        return data

    def text(self, value: object, path: str) -> str:
        if not isinstance(value, str) or not value.strip():
            self.add(path, "must not be empty")
            return ""
        return value

    def whole(self, value: object, path: str, minimum: int | None) -> int:
        if not isinstance(value, int) or isinstance(value, bool):
            self.add(path, "must be a whole number")
        elif minimum is not None and value < minimum:
            self.add(path, "must be a whole number of at least {n}", n=minimum)
        else:
            return value
        return 0

    def codes(self, value: object, path: str, choices: tuple[str, ...] | None = None) -> tuple[str, ...]:
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            self.add(path, "must be a list of codes")
            return ()
        for i, item in enumerate(value):
            if choices is not None and item not in choices:
                self.add(f"{path}[{i}]", "must be one of: {expected}", expected=", ".join(choices))
            elif item in value[:i]:
                self.add(f"{path}[{i}]", "listed twice: {code}", code=item)
        return tuple(value)

    def condition(self, value: object, path: str) -> str:
        text = self.text(value, path)
        if text and not self.checked(lambda: conditions.check_expression(text, _TYPES, field=path)):
            return ""
        return text

    def checked(self, check: Any) -> bool:
        try:
            check()
        except ValidationFailed as failed:
            self.errors.extend(failed.errors)
            return False
        return True


def parse_rule(data: object, *, taken: Collection[str] = (), path: str = "") -> Rule:
    """The rule ``data`` describes, or ValidationFailed listing every problem by its path;
    ``taken`` holds the names of the other rules (a name is unique)."""
    problems = _Problems()
    rule = _rule(problems, data, path, taken)
    if problems.errors:
        raise ValidationFailed(problems.errors)
    return rule


def parse_rules(data: object) -> tuple[Rule, ...]:
    """A list of rules (paths ``rules[i].…``), every problem of every rule reported at once."""
    problems = _Problems()
    if not isinstance(data, list):
        problems.add("rules", "must be a list")
        data = []
    parsed: list[Rule] = []
    for i, item in enumerate(data):
        parsed.append(_rule(problems, item, f"rules[{i}]", [r.name for r in parsed]))
    if problems.errors:
        raise ValidationFailed(problems.errors)
    return tuple(parsed)


def _rule(problems: _Problems, raw: object, path: str, taken: Collection[str]) -> Rule:
    data = problems.mapping(raw, path, _RULE_KEYS)
    if data is None:
        return Rule("", "replenish", "", "", "")
    name = problems.text(data.get("name"), _at(path, "name"))
    if name and name in taken:
        problems.add(_at(path, "name"), "duplicate rule name {name}", name=name)
    kind = cast(Kind, data.get("kind"))
    if kind not in get_args(Kind):
        problems.add(_at(path, "kind"), "must be one of: {expected}", expected=", ".join(get_args(Kind)))
    target, source = _conditions(problems, data, path)
    enabled = data.get("enabled", True)
    if not isinstance(enabled, bool):
        problems.add(_at(path, "enabled"), "must be true or false")
    scope = problems.mapping(data.get("scope", {}), _at(path, "scope"), _SCOPE_KEYS) or {}
    return Rule(
        name=name, kind=kind, target=target, source=source,
        quantity=_quantity(problems, data.get("quantity"), _at(path, "quantity")),
        priority=problems.whole(data.get("priority", 100), _at(path, "priority"), None),
        enabled=enabled is not False,
        scope=Scope(**{key: problems.codes(scope.get(key, []), _at(_at(path, "scope"), key))
                       for key in _SCOPE_KEYS}),
        prefer=cast(tuple[Preference, ...], problems.codes(
            data.get("prefer", list(Rule.prefer)), _at(path, "prefer"), get_args(Preference))),
        approval_policy=problems.text(data.get("approval_policy", Rule.approval_policy),
                                      _at(path, "approval_policy")),
        cooldown_days=problems.whole(data.get("cooldown_days", 0), _at(path, "cooldown_days"), 0))


def _conditions(problems: _Problems, data: Mapping[str, Any], path: str) -> tuple[str, str]:
    target = problems.condition(data.get("target"), _at(path, "target"))
    source = problems.condition(data.get("source"), _at(path, "source"))
    if target and source and _expression(target).meta.eq(_expression(source)):
        # Both would hold for the same rows: every such site would be its own source. Conditions
        # that merely overlap are allowed; evaluation never offers a target to itself.
        problems.add(_at(path, "source"), "must differ from the target condition, "
                     "or a site would be its own source")
    return target, source


def _quantity(problems: _Problems, value: object, path: str) -> str:
    text = problems.text(value, path)
    # Checked as a comparison so the condition language's guards (columns, functions, no query)
    # apply to it unchanged; then parsed alone, so text that only balances inside the comparison
    # ("1) OR (1") is refused too.
    if not text or not problems.checked(
            lambda: conditions.check_expression(f"({text}) >= 0", _TYPES, field=path)):
        return ""
    try:
        value = _sample().select(_expression(text).alias("q")).to_series()
    except Exception as error:  # the parser's own message is the reason shown
        problems.add(path, "is not a valid expression: {reason}", reason=str(error).splitlines()[0])
        return ""
    if not value.dtype.is_numeric():
        problems.add(path, "must be a number, not {kind}", kind=str(value.dtype))
    elif not _expression(text).meta.root_names() and (value[0] is None or value[0] < 0):
        problems.add(path, "must not be negative")
    else:
        return text
    return ""


@lru_cache(maxsize=1)
def _sample() -> pl.DataFrame:
    samples = {"number": 1.0, "text": "x", "bool": True}
    return pl.DataFrame({name: [samples[kind]] for name, kind in _TYPES.items()},
                        schema={name: conditions.KINDS[kind] for name, kind in _TYPES.items()})


@lru_cache(maxsize=512)
def _expression(text: str) -> pl.Expr:
    return pl.sql_expr(text)


def rule_from_yaml(text: str, *, taken: Collection[str] = ()) -> Rule:
    return parse_rule(_load(text), taken=taken)


def rules_from_yaml(text: str) -> tuple[Rule, ...]:
    """A YAML list of rules."""
    return parse_rules(_load(text))


def _load(text: str) -> object:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise ValidationFailed.single("yaml", "is not valid YAML: {reason}",
                                      reason=str(error).splitlines()[0]) from None


def rule_to_dict(rule: Rule) -> dict[str, Any]:
    """The plain form ``parse_rule`` reads; an empty scope is omitted."""
    out: dict[str, Any] = {key: getattr(rule, key) for key in _RULE_KEYS if key != "scope"}
    out["prefer"] = list(rule.prefer)
    scope = {key: list(getattr(rule.scope, key)) for key in _SCOPE_KEYS if getattr(rule.scope, key)}
    return {**out, "scope": scope} if scope else out


def rule_to_yaml(rule: Rule) -> str:
    return str(yaml.safe_dump(rule_to_dict(rule), allow_unicode=True, sort_keys=False, width=1000))


def rules_to_yaml(rules: Iterable[Rule]) -> str:
    return str(yaml.safe_dump([rule_to_dict(r) for r in rules], allow_unicode=True, sort_keys=False,
                              width=1000))


# --- evaluation ----------------------------------------------------------------------------

def evaluate(rules: Sequence[Rule], state: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Needs and offers of every enabled rule over every SKU × site at once, by priority (then
    list order). ``state`` has one row per SKU × site and the columns of STATE_COLUMNS (a missing
    one raises polars' ColumnNotFoundError). Rules are checked again (ValidationFailed), so
    nothing unchecked runs.

    needs  (NEEDS_SCHEMA): rule, priority, sku, site, region, qty > 0, trigger — a JSON object of
           the values the target condition and the quantity read, to explain the proposal.
    offers (OFFERS_SCHEMA): rule, sku, site, region, qty > 0 — what the source may give without
           going below its own safety stock, by kind (see ``_offered``).

    Each condition judges its row alone, as in approvals. A row meeting both conditions of a rule
    is only a target of it, so no site is ever offered as its own source.
    """
    checked = _checked(tuple(rules))
    frame = state.with_row_index(_ROW)
    needs, offers = [], []
    for rule in sorted((r for r in checked if r.enabled), key=lambda r: r.priority):
        rule_needs, rule_offers = _rule_frames(rule, frame)
        needs.append(rule_needs)
        offers.append(rule_offers)
    return (pl.concat([pl.DataFrame(schema=NEEDS_SCHEMA), *needs]),
            pl.concat([pl.DataFrame(schema=OFFERS_SCHEMA), *offers]))


@lru_cache(maxsize=32)
def _checked(rules: tuple[Rule, ...]) -> tuple[Rule, ...]:
    """``rules`` checked as at save (rules are frozen: a daily loop checks them once)."""
    return parse_rules([rule_to_dict(r) for r in rules])


def _rule_frames(rule: Rule, frame: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    scope = rule.scope
    marked = frame.filter(_within(scope.categories, "category"), _tagged(scope.tags)).with_columns(
        (_row_wise(rule.target).fill_null(False) & _within(scope.sites, "site")
         & _within(scope.regions, "region") & _within(scope.channels, "channel")).alias("__target"),
        _row_wise(rule.source).fill_null(False).alias("__source"))
    # A need the stock already covers (the quantity came out at or below 0) is no need.
    qty = _row_wise(rule.quantity).cast(pl.Float64).fill_nan(None).clip(lower_bound=0.0)
    targets = marked.filter("__target").with_columns(qty.alias("__qty")).filter(
        pl.col("__qty").is_finite() & (pl.col("__qty") > 0))
    read = list(dict.fromkeys([*_expression(rule.target).meta.root_names(),
                               *_expression(rule.quantity).meta.root_names()]))
    trigger = pl.struct(read).struct.json_encode() if read else pl.lit("{}")
    needs = targets.select(pl.lit(rule.name).alias("rule"), pl.lit(rule.priority, pl.Int64).alias("priority"),
                           *_KEYS, pl.col("__qty").alias("qty"), trigger.alias("trigger"))
    sources = marked.filter(pl.col("__source") & ~pl.col("__target"))
    if rule.kind == "prestock":
        uplift = targets.group_by("sku").agg(pl.col("promo_uplift_pct").max().alias("__uplift"))
        sources = sources.join(uplift, on="sku", how="inner")
    offered = _offered(rule.kind).cast(pl.Float64).fill_nan(None)
    offers = sources.select(pl.lit(rule.name).alias("rule"), *_KEYS, offered.alias("qty")).filter(
        pl.col("qty").is_finite() & (pl.col("qty") > 0))
    return needs.cast(NEEDS_SCHEMA), offers.cast(OFFERS_SCHEMA)


_KEYS: Final = (pl.col("sku"), pl.col("site"), pl.col("region"))


def _offered(kind: str) -> pl.Expr:
    """What a source offers, never more than available − safety stock (an unknown value offers
    nothing): replenish and clearance give everything above safety stock; balance only what is
    above max stock (and above safety stock, should an override put max below it); prestock X % of
    its available, X the largest promo_uplift_pct among the rule's targets of the same SKU."""
    surplus = pl.col("available") - pl.col("safety_stock")
    if kind == "balance":
        return _least(pl.col("available") - pl.col("max_stock"), surplus)
    if kind == "prestock":
        return _least(pl.col("available") * pl.col("__uplift") / 100, surplus)
    return surplus


def _least(a: pl.Expr, b: pl.Expr) -> pl.Expr:
    """The smaller of two values, unknown when either is (min_horizontal would skip a null)."""
    return pl.when(a.is_null() | b.is_null()).then(None).when(a < b).then(a).otherwise(b)


def _row_wise(text: str) -> pl.Expr:
    # Every row is its own window, so an aggregate (SUM(available)) judges the row alone.
    return _expression(text).over(_ROW)


def _within(codes: tuple[str, ...], column: str) -> pl.Expr:
    return pl.col(column).is_in(codes) if codes else pl.lit(True)


def _tagged(tags: tuple[str, ...]) -> pl.Expr:
    if not tags:
        return pl.lit(True)
    return pl.col("tags").str.split(",").list.eval(pl.element().str.strip_chars().is_in(tags)).list.any()
