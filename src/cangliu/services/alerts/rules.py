"""Alert rules stored as data (预警规则): list, read, create, update, enable, disable and delete
them, each save checked (rule_checks) and based on the version read; the default rules, one per
kind; and a stored rule as the detectors see it (``as_rule``)."""

import json
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any, Final

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from cangliu.core.alerts import KINDS, Rule
from cangliu.core.errors import Conflict, NotFound, StaleVersion
from cangliu.core.permissions import Actor
from cangliu.db.models import Alert, AlertRule, AlertSubscription, Location
from cangliu.db.uow import UnitOfWork
from cangliu.services import roles as role_service
from cangliu.services.alerts.rule_checks import check_code, check_fields

LISTS: Final = ("roles", "sites", "channels", "responses")
EDITABLE: Final = ("name", "name_en", "kind", "params", "condition", "severity", *LISTS,
                   "cooldown_minutes", "auto_resolve", "escalate_after_minutes", "escalate_to",
                   "enabled")
# code → (name, English name, kind, params, severity, roles)
DEFAULTS: Final[tuple[tuple[str, str, str, str, dict[str, Any], str, str], ...]] = (
    ("low_stock", "低于安全库存", "Below safety stock", "low_stock", {"level": "safety_stock"},
     "warning", "store_manager clerk"),
    ("stock_out", "缺货", "Stock-out", "stock_out", {}, "critical", "store_manager clerk"),
    ("over_stock", "超储", "Over-stock", "over_stock", {"days_of_cover": None}, "info",
     "regional_manager"),
    ("near_expiry", "临期", "Near expiry", "near_expiry", {"days": 30}, "warning",
     "store_manager clerk"),
    ("expired", "已过期", "Expired", "expired", {}, "critical", "store_manager clerk"),
    ("transfer_overdue", "调拨逾期", "Transfer overdue", "transfer_overdue", {"grace_hours": 24},
     "warning", "regional_manager"),
    ("approval_overdue", "审批超时", "Approval overdue", "approval_overdue", {"hours": 24},
     "warning", "inventory_director"),
    ("bin_over_capacity", "库位超容", "Bin over capacity", "bin_over_capacity",
     {"percent": 100}, "warning", "clerk"),
    ("large_adjustment", "大额调整", "Large adjustment", "large_adjustment", {"value": "1000"},
     "warning", "inventory_director admin"),
    ("frequent_adjustments", "频繁调整", "Frequent adjustments", "frequent_adjustments",
     {"count": 10, "hours": 24}, "warning", "inventory_director admin"),
    ("off_hours", "非工作时间过账", "Posting outside working hours", "off_hours",
     {"start": "08:00", "end": "20:00", "timezone": "Asia/Shanghai"}, "info",
     "inventory_director admin"),
    ("ledger_inconsistency", "账实不一致", "Ledger inconsistency", "ledger_inconsistency", {},
     "critical", "admin"),
)


def out(row: AlertRule) -> dict[str, Any]:
    return {"code": row.code, "name": row.name, "name_en": row.name_en, "kind": row.kind,
            "params": json.loads(row.params or "{}"), "condition": row.condition,
            "severity": row.severity, **{k: getattr(row, k).split() for k in LISTS},
            "cooldown_minutes": row.cooldown_minutes, "auto_resolve": row.auto_resolve,
            "escalate_after_minutes": row.escalate_after_minutes, "escalate_to": row.escalate_to,
            "enabled": row.enabled, "created_at": row.created_at, "updated_at": row.updated_at,
            "version": row.version}


def as_rule(session: Session, row: AlertRule) -> Rule:
    """The rule as a detector sees it: the kind's default parameters under the stored ones."""
    site_ids = None
    if row.sites.split():
        site_ids = frozenset(session.scalars(select(Location.id).where(
            Location.code.in_(row.sites.split()))))
    return Rule(id=row.id, code=row.code, kind=row.kind,
                params={**KINDS[row.kind].params, **json.loads(row.params or "{}")},
                condition=row.condition, site_ids=site_ids)


def enabled_rows(session: Session) -> list[AlertRule]:
    return list(session.scalars(select(AlertRule).where(AlertRule.enabled.is_(True))
                                .order_by(AlertRule.id)))


def list_rules(session: Session) -> list[dict[str, Any]]:
    return [out(r) for r in session.scalars(select(AlertRule).order_by(AlertRule.kind,
                                                                         AlertRule.code))]


def row_of(session: Session, code: str) -> AlertRule:
    row = session.scalar(select(AlertRule).where(AlertRule.code == code))
    if row is None:
        raise NotFound("Alert rule {code} not found", code=code)
    return row


def get_rule(session: Session, code: str) -> dict[str, Any]:
    return out(row_of(session, code))


def _normalized(fields: Mapping[str, Any], base: Mapping[str, Any]) -> dict[str, Any]:
    """The saved form of a rule: ``base`` (defaults or the stored rule) under the given fields,
    lists as lists of words (a text is split on spaces and commas)."""
    merged = {**base, **{k: v for k, v in fields.items() if k in EDITABLE}}
    for name in LISTS:
        value = merged.get(name) or []
        words = value.replace(",", " ").split() if isinstance(value, str) else list(value)
        merged[name] = list(dict.fromkeys(str(w) for w in words))
    merged["condition"] = str(merged.get("condition") or "").strip()
    merged["escalate_to"] = str(merged.get("escalate_to") or "").strip()
    return merged


BLANK: Final = {"name_en": "", "params": {}, "condition": "", "severity": "warning",
                "cooldown_minutes": 60, "auto_resolve": True, "escalate_after_minutes": None,
                "escalate_to": "", "enabled": True}


def _whole(value: Any) -> int:
    return int(Decimal(str(value)))  # checked already: a whole number, maybe given as text


def _values(fields: dict[str, Any], now: datetime) -> dict[str, Any]:
    return {"name": fields["name"].strip(), "name_en": str(fields.get("name_en") or "").strip(),
            "kind": fields["kind"], "params": json.dumps(fields["params"], ensure_ascii=False,
                                                         sort_keys=True),
            "condition": fields["condition"], "severity": fields["severity"],
            **{k: " ".join(fields[k]) for k in LISTS},
            "cooldown_minutes": _whole(fields["cooldown_minutes"]),
            "auto_resolve": bool(fields["auto_resolve"]),
            "escalate_after_minutes": (None if fields.get("escalate_after_minutes") is None
                                       else _whole(fields["escalate_after_minutes"])),
            "escalate_to": fields["escalate_to"], "enabled": bool(fields["enabled"]),
            "updated_at": now}


def create_rule(uow: UnitOfWork, actor: Actor, fields: Mapping[str, Any]) -> dict[str, Any]:
    """Save a new rule; refused with every problem by field, or 409 if the code is taken."""
    code = check_code(fields.get("code"))
    role_service.ensure_builtin(uow)
    with uow:
        session, now = uow.session, uow.now()
        values = _normalized(fields, BLANK)
        check_fields(session, values)
        if session.scalar(select(AlertRule.id).where(AlertRule.code == code)):
            raise Conflict("Alert rule {code} already exists", code=code)
        row = AlertRule(code=code, created_at=now, version=1, **_values(values, now))
        session.add(row)
        session.flush()
        uow.commit()
        return out(row)


def _stale(row: AlertRule) -> StaleVersion:
    return StaleVersion(row.version, out(row), saved_at=row.updated_at)


def _write(session: Session, row: AlertRule, version: int | None, values: dict[str, Any]) -> None:
    """Conditional on the version read, so of two concurrent saves only one wins."""
    if version is not None and row.version != version:
        raise _stale(row)
    done = session.execute(update(AlertRule).where(
        AlertRule.id == row.id, AlertRule.version == row.version).values(
        version=row.version + 1, **values).execution_options(synchronize_session=False))
    session.refresh(row)
    if getattr(done, "rowcount", 1) != 1:
        raise _stale(row)


def update_rule(uow: UnitOfWork, actor: Actor, code: str, fields: Mapping[str, Any], *,
                version: int | None) -> dict[str, Any]:
    """Save the given fields over the stored rule (the others kept), based on ``version``."""
    role_service.ensure_builtin(uow)
    with uow:
        session, now = uow.session, uow.now()
        row = row_of(session, code)
        base = out(row)
        if fields.get("kind", row.kind) != row.kind and "params" not in fields:
            base["params"] = {}  # another kind's parameters mean nothing to the new one
        values = _normalized(fields, base)
        check_fields(session, values)
        _write(session, row, version, _values(values, now))
        uow.commit()
        return out(row)


def set_enabled(uow: UnitOfWork, actor: Actor, code: str, enabled: bool, *,
                version: int | None = None) -> dict[str, Any]:
    with uow:
        row = row_of(uow.session, code)
        _write(uow.session, row, version, {"enabled": enabled, "updated_at": uow.now()})
        uow.commit()
        return out(row)


def delete_rule(uow: UnitOfWork, actor: Actor, code: str, *, version: int | None = None) -> None:
    """Delete a rule that never raised an alert (with its subscriptions); one that did keeps its
    history: disable it instead."""
    with uow:
        session = uow.session
        row = row_of(session, code)
        if version is not None and row.version != version:
            raise _stale(row)
        if session.scalar(select(func.count()).select_from(Alert).where(Alert.rule_id == row.id)):
            raise Conflict("Alert rule {code} has raised alerts: disable it instead", code=code)
        session.execute(delete(AlertSubscription).where(AlertSubscription.rule_id == row.id))
        session.delete(row)
        uow.commit()


def ensure_defaults(uow: UnitOfWork) -> int:
    """Create the default rules that are missing (by code); how many were added."""
    role_service.ensure_builtin(uow)
    with uow:
        session, now = uow.session, uow.now()
        have = set(session.scalars(select(AlertRule.code)))
        added = 0
        for code, name, name_en, kind, params, severity, role_codes in DEFAULTS:
            if code in have:
                continue
            values = _normalized({"name": name, "name_en": name_en, "kind": kind,
                                  "params": params, "severity": severity,
                                  "roles": role_codes}, BLANK)
            session.add(AlertRule(code=code, created_at=now, version=1, **_values(values, now)))
            added += 1
        uow.commit()
    return added
