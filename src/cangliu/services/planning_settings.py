"""Planning settings (计划参数): the cycle service level per ABC class, the review period and the
default lead times the daily thresholds use. One versioned JSON value in the ``setting`` table;
the audit log records every change like any other row's."""

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Final

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cangliu.core.errors import FieldError, StaleVersion, ValidationFailed
from cangliu.core.permissions import Actor
from cangliu.core.planning.thresholds import DEFAULT_LEAD_TIMES, RouteDefault, ServiceLevels
from cangliu.db.models import Setting
from cangliu.db.uow import UnitOfWork, retrying

KEY: Final = "planning"
CLASSES: Final = ("a", "b", "c")
# Form and API field names, in the order a page shows them. Service levels are in per cent.
FIELDS: Final = ("service_level_a", "service_level_b", "service_level_c", "review_days",
                 "purchase_lead_days", "purchase_lead_sd", "transfer_lead_days", "transfer_lead_sd")
LEVEL_MIN, LEVEL_MAX = Decimal(50), Decimal("99.99")  # below 50 % z turns negative: no safety
REVIEW_MAX = 90
LEAD_MAX = Decimal(365)
_PURCHASE, _TRANSFER = DEFAULT_LEAD_TIMES["purchase"], DEFAULT_LEAD_TIMES["transfer"]


@dataclass(frozen=True)
class PlanningSettings:
    """What the daily thresholds are computed with: service level (fraction) per ABC class,
    review period in days, and the lead time (mean, σ in days) of a route without enough
    completed deliveries to learn from."""

    service_levels: ServiceLevels
    review_days: int = 7
    purchase_lead_days: float = _PURCHASE.mean_days
    purchase_lead_sd: float = _PURCHASE.sd_days
    transfer_lead_days: float = _TRANSFER.mean_days
    transfer_lead_sd: float = _TRANSFER.sd_days


DEFAULTS: Final = PlanningSettings(ServiceLevels())


@dataclass(frozen=True)
class Stored:
    """The settings with their version (0: nothing saved yet, the defaults apply) and who saved
    them last, when."""

    settings: PlanningSettings
    version: int = 0
    saved_by: str = ""
    saved_at: datetime | None = None


def route_defaults(settings: PlanningSettings) -> dict[str, RouteDefault]:
    """The lead times assumed per route kind (``lead_times(defaults=...)``)."""
    return {"purchase": RouteDefault(settings.purchase_lead_days, settings.purchase_lead_sd),
            "transfer": RouteDefault(settings.transfer_lead_days, settings.transfer_lead_sd)}


def percent(level: float) -> str:
    """A service level as the per cent a user types: 0.98 → "98", 0.975 → "97.5"."""
    text = f"{Decimal(str(level)) * 100:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def as_fields(settings: PlanningSettings) -> dict[str, str]:
    """The settings as form / API values (service levels in per cent)."""
    levels = settings.service_levels
    return {"service_level_a": percent(levels.a), "service_level_b": percent(levels.b),
            "service_level_c": percent(levels.c), "review_days": str(settings.review_days),
            **{name: _plain(getattr(settings, name)) for name in FIELDS[4:]}}


def _plain(value: float) -> str:
    text = f"{Decimal(str(value)):f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _from_json(data: Mapping[str, Any]) -> PlanningSettings:
    levels = data.get("service_levels") or {}
    base = DEFAULTS
    return PlanningSettings(
        ServiceLevels(**{c: float(levels.get(c, getattr(base.service_levels, c)))
                         for c in CLASSES}),
        review_days=int(data.get("review_days", base.review_days)),
        **{name: float(data.get(name, getattr(base, name))) for name in FIELDS[4:]})


def _to_json(settings: PlanningSettings, version: int, actor: Actor, at: datetime) -> str:
    levels = settings.service_levels
    return json.dumps({"version": version, "saved_by": actor.username, "saved_at": at.isoformat(),
                       "service_levels": {c: getattr(levels, c) for c in CLASSES},
                       "review_days": settings.review_days,
                       **{name: getattr(settings, name) for name in FIELDS[4:]}},
                      ensure_ascii=False, sort_keys=True)


def _stored(row: Setting | None) -> Stored:
    if row is None:
        return Stored(DEFAULTS)
    data = json.loads(row.value)
    at = data.get("saved_at")
    return Stored(_from_json(data), int(data.get("version", 1)), str(data.get("saved_by", "")),
                  datetime.fromisoformat(at) if at else None)


def state(session: Session) -> Stored:
    """The settings in force with their version."""
    return _stored(session.get(Setting, KEY))


def load(session: Session) -> PlanningSettings:
    """The settings in force: the saved ones, or the defaults when nothing is saved."""
    return state(session).settings


# ---- validation ------------------------------------------------------------------------------


def _number(raw: str, name: str, errors: list[FieldError]) -> Decimal | None:
    try:
        value = Decimal(str(raw).strip())
    except InvalidOperation:
        value = None
    if value is None or not value.is_finite():
        errors.append(FieldError(name, "must be a number"))
        return None
    return value


def _checked(raw: str, name: str, errors: list[FieldError],
             check: Callable[[Decimal], FieldError | None]) -> Decimal | None:
    value = _number(raw, name, errors)
    problem = None if value is None else check(value)
    if problem is not None:
        errors.append(problem)
        return None
    return value


def _level(name: str) -> Callable[[Decimal], FieldError | None]:
    return lambda v: None if LEVEL_MIN < v <= LEVEL_MAX else FieldError(
        name, "must be above {min} % and at most {max} %", {"min": str(LEVEL_MIN),
                                                             "max": str(LEVEL_MAX)})


def _review(v: Decimal) -> FieldError | None:
    if v != v.to_integral_value():
        return FieldError("review_days", "must be a whole number")
    return None if 1 <= v <= REVIEW_MAX else FieldError(
        "review_days", "must be between 1 and {n}", {"n": str(REVIEW_MAX)})


def _lead(name: str) -> Callable[[Decimal], FieldError | None]:
    def check(v: Decimal) -> FieldError | None:
        if name.endswith("_days") and v <= 0:
            return FieldError(name, "must be greater than 0")
        if v < 0:
            return FieldError(name, "must be 0 or more")
        return None if v <= LEAD_MAX else FieldError(name, "must be at most {n} days",
                                                     {"n": str(LEAD_MAX)})
    return check


def _order(levels: dict[str, Decimal | None], errors: list[FieldError]) -> None:
    """A more valuable class is never served worse than a less valuable one."""
    for higher, lower in (("a", "b"), ("b", "c")):
        top, bottom = levels[higher], levels[lower]
        if top is not None and bottom is not None and bottom > top:
            errors.append(FieldError(f"service_level_{lower}",
                                     "must not be above the service level of class {cls}",
                                     {"cls": higher.upper()}))


def parse(values: Mapping[str, str], base: PlanningSettings) -> PlanningSettings:
    """``values`` (form or API strings) over ``base``: a field left out keeps its value. Raises
    ValidationFailed naming every bad field."""
    unknown = sorted(set(values) - set(FIELDS))
    errors = [FieldError(name, "is not a planning setting") for name in unknown]
    merged = {**as_fields(base), **{k: v for k, v in values.items() if k in FIELDS}}
    levels = {c: _checked(merged[f"service_level_{c}"], f"service_level_{c}", errors,
                          _level(f"service_level_{c}")) for c in CLASSES}
    review = _checked(merged["review_days"], "review_days", errors, _review)
    leads = {name: _checked(merged[name], name, errors, _lead(name)) for name in FIELDS[4:]}
    _order(levels, errors)
    if errors:
        raise ValidationFailed(errors)
    return PlanningSettings(
        ServiceLevels(**{c: float(v / 100) for c, v in levels.items() if v is not None}),
        review_days=int(review or 0), **{k: float(v or 0) for k, v in leads.items()})


# ---- saving ----------------------------------------------------------------------------------


@retrying
def save(uow: UnitOfWork, actor: Actor, values: Mapping[str, str], *, version: int | None
         ) -> PlanningSettings:
    """Change the settings; ``version`` is the one the edit is based on (0: the defaults, None:
    whatever is stored). A stale version changes nothing and raises StaleVersion."""
    with uow:
        s = uow.session
        row = s.get(Setting, KEY, with_for_update=True)
        now = _stored(row)
        if version is not None and version != now.version:
            raise _stale(now)
        settings = parse(values, now.settings)
        text = _to_json(settings, now.version + 1, actor, uow.now())
        if row is None:
            s.add(Setting(key=KEY, value=text))
        else:
            row.value = text
        try:
            uow.commit()
        except IntegrityError:  # someone saved the first version at the same moment
            raise _stale(Stored(DEFAULTS, 1)) from None
    return settings


def _stale(now: Stored) -> StaleVersion:
    return StaleVersion(now.version, dict(as_fields(now.settings)), saved_by=now.saved_by,
                        saved_at=now.saved_at)
