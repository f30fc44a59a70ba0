"""Checks of an alert rule at save: every field's type and range, the kind's parameters, the
condition over the kind's columns, and that the roles, sites and channels it names exist. Each
problem is refused with the field it concerns and the reason."""

import re
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.orm import Session

from cangliu.core.alerts import KINDS, RESPONSES, SEVERITIES
from cangliu.core.errors import FieldError, ValidationFailed
from cangliu.core.locations import LocationKind
from cangliu.core.rules import check_expression
from cangliu.db.models import Channel, Location, Role

CODE: Final = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,39}$")
RESERVED: Final = frozenset({"new"})  # a path segment of the pages
_TIME: Final = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
# Which automatic responses mean something for which kinds (escalation fits every kind).
RESPONSE_KINDS: Final[Mapping[str, frozenset[str]]] = {
    "suggest": frozenset({"low_stock", "stock_out", "over_stock"}),
    "draft_transfer": frozenset({"low_stock", "stock_out"}),
    "clearance": frozenset({"near_expiry", "expired"}),
    "escalate": frozenset(KINDS),
}
Problem = tuple[str, dict[str, str]] | None


def _number(low: str, high: str, *, whole: bool = False,
            empty: bool = False) -> Callable[[Any], Problem]:
    def check(value: Any) -> Problem:
        if value is None and empty:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float, str, Decimal)):
            return ("must be a number", {})
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            return ("must be a number", {})
        if not number.is_finite() or (whole and number != number.to_integral_value()):
            return ("must be a whole number" if whole else "must be a number", {})
        if not Decimal(low) <= number <= Decimal(high):
            return ("must be between {low} and {high}", {"low": low, "high": high})
        return None
    return check


def _choice(*allowed: str) -> Callable[[Any], Problem]:
    def check(value: Any) -> Problem:
        return None if value in allowed else ("must be one of: {names}", {"names": ", ".join(allowed)})
    return check


def _time(value: Any) -> Problem:
    return None if isinstance(value, str) and _TIME.match(value) else ("must be a time HH:MM", {})


def _zone(value: Any) -> Problem:
    try:
        ZoneInfo(str(value))
    except (ZoneInfoNotFoundError, ValueError):
        return ("unknown time zone {name}", {"name": str(value)})
    return None


# Each parameter's check (the same name means the same kind of value in every kind that has it).
PARAM_CHECKS: Final[Mapping[str, Callable[[Any], Problem]]] = {
    "level": _choice("safety_stock", "reorder_point"),
    "days_of_cover": _number("1", "3650", empty=True),
    "days": _number("1", "3650", whole=True),
    "grace_hours": _number("0", "8760"),
    "hours": _number("1", "8760", whole=True),
    "percent": _number("1", "1000"),
    "value": _number("0.01", "1000000000000"),
    "count": _number("2", "100000", whole=True),
    "start": _time,
    "end": _time,
    "timezone": _zone,
}


def params_problems(kind: str, params: Any) -> list[FieldError]:
    """The kind's parameters: an object naming only the kind's parameters, each valid."""
    if not isinstance(params, dict):
        return [FieldError("params", "must be an object")]
    known = KINDS[kind].params
    out = [FieldError(f"params.{name}", "is not a parameter of {kind}", {"kind": kind})
           for name in params if name not in known]
    for name, value in params.items():
        problem = PARAM_CHECKS[name](value) if name in known else None
        if problem is not None:
            out.append(FieldError(f"params.{name}", problem[0], problem[1]))
    return out


def _words(session: Session, model: Any, field: str, names: list[str], msgid: str
           ) -> list[FieldError]:
    if not names:
        return []
    query = select(model.code).where(model.code.in_(names))
    if model is Location:
        query = query.where(Location.kind == LocationKind.SITE.value)
    known = set(session.scalars(query))
    return [FieldError(field, msgid, {"code": n}) for n in names if n not in known]


def _field_problems(fields: Mapping[str, Any]) -> list[FieldError]:
    out = []
    name = fields.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 120:
        out.append(FieldError("name", "is required (at most {n} characters)", {"n": "120"}))
    if fields.get("severity") not in SEVERITIES:
        out.append(FieldError("severity", "must be one of: {names}", {"names": ", ".join(SEVERITIES)}))
    cooldown = _number("0", "525600", whole=True)(fields.get("cooldown_minutes"))
    if cooldown:
        out.append(FieldError("cooldown_minutes", cooldown[0], cooldown[1]))
    after = _number("1", "525600", whole=True, empty=True)(fields.get("escalate_after_minutes"))
    if after:
        out.append(FieldError("escalate_after_minutes", after[0], after[1]))
    return out


def _response_problems(kind: str, fields: Mapping[str, Any]) -> list[FieldError]:
    out = []
    for name in fields.get("responses", []):
        if name not in RESPONSES:
            out.append(FieldError("responses", "unknown response {code}", {"code": name}))
        elif kind not in RESPONSE_KINDS[name]:
            out.append(FieldError("responses", "{code} does nothing for {kind}",
                                  {"code": name, "kind": kind}))
    escalating = "escalate" in fields.get("responses", []) or fields.get("escalate_after_minutes")
    if escalating and not fields.get("escalate_to"):
        out.append(FieldError("escalate_to", "is required to escalate"))
    if "escalate" in fields.get("responses", []) and not fields.get("escalate_after_minutes"):
        out.append(FieldError("escalate_after_minutes", "is required to escalate"))
    return out


def check_fields(session: Session, fields: Mapping[str, Any]) -> None:
    """Refuse ``fields`` (a rule as saved, lists already split) with every problem found."""
    kind = str(fields.get("kind"))
    if kind not in KINDS:
        raise ValidationFailed.single("kind", "must be one of: {names}", names=", ".join(KINDS))
    problems = [*_field_problems(fields), *params_problems(kind, fields.get("params")),
                *_response_problems(kind, fields)]
    problems += _words(session, Role, "roles", fields["roles"], "unknown role {code}")
    escalate_to = [fields["escalate_to"]] if fields.get("escalate_to") else []
    problems += _words(session, Role, "escalate_to", escalate_to, "unknown role {code}")
    problems += _words(session, Location, "sites", fields["sites"], "unknown site {code}")
    problems += _words(session, Channel, "channels", fields["channels"], "unknown channel {code}")
    if fields.get("condition"):
        try:
            check_expression(fields["condition"], KINDS[kind].columns, field="condition")
        except ValidationFailed as failed:
            problems += failed.errors
    if problems:
        raise ValidationFailed(problems)


def check_code(code: Any) -> str:
    if not isinstance(code, str) or not CODE.match(code):
        raise ValidationFailed.single(
            "code", "must be 1 to 40 lower-case letters, digits, '_', '.' or '-'")
    if code in RESERVED:
        raise ValidationFailed.single("code", "is reserved: {name}", name=code)
    return code
