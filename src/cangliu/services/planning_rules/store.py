"""Transfer rules stored as data (调拨规则): saved as YAML and checked at save (see ``checks``),
versioned for restore, previewed on today's state. The four built-in rules apply until a rule is
stored and are seeded on the first write (or by ``seed_builtins``)."""

import logging
import re
from dataclasses import replace
from datetime import date, datetime
from typing import Any, Final

import yaml
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from cangliu.core.errors import Conflict, FieldChange, NotFound, StaleVersion, ValidationFailed
from cangliu.core.permissions import Actor
from cangliu.core.planning.rule_builtins import BUILTIN_RULES, builtin_rules
from cangliu.core.planning.rules import Rule, rule_from_yaml, rule_to_dict, rules_to_yaml
from cangliu.db.models import TransferRule, TransferRuleVersion
from cangliu.db.uow import UnitOfWork, retrying
from cangliu.services.planning_rules.checks import check_cycles, check_rule

log = logging.getLogger(__name__)
PREVIEW_ROWS: Final = 50


# --- reading -------------------------------------------------------------------------------------

def _rows(session: Session) -> list[TransferRule]:
    return list(session.scalars(select(TransferRule).order_by(TransferRule.priority, TransferRule.name)))


def active_rules(session: Session) -> tuple[Rule, ...]:
    """Every stored rule, enabled or not, by priority; the built-ins while none is stored. A stored
    rule the language no longer accepts is left out (and logged) rather than stopping the run."""
    rows = _rows(session)
    if not rows:
        return builtin_rules()
    out = []
    for row in rows:
        try:
            out.append(rule_from_yaml(row.yaml))
        except ValidationFailed as failed:
            log.warning("transfer rule %s skipped: %s", row.name, failed.errors)
    return tuple(out)


def _fields(rule: Rule) -> dict[str, Any]:
    return rule_to_dict(rule) | {"scope": rule_to_dict(rule).get("scope", {})}


def _listed(name: str, text: str, *, builtin: bool, version: int, updated_by: str | None,
            updated_at: datetime | None) -> dict[str, Any]:
    item: dict[str, Any] = {"name": name, "yaml": text, "builtin": builtin, "version": version,
                            "updated_by": updated_by, "updated_at": updated_at}
    try:
        return item | _fields(rule_from_yaml(text)) | {"error": None}
    except ValidationFailed as failed:
        return item | {"error": "; ".join(f"{e.field}: {e.message}" for e in failed.errors)}


def list_rules(session: Session) -> list[dict[str, Any]]:
    """Each rule by priority with its parsed fields; the built-ins (version 1, saved by nobody)
    while none is stored."""
    rows = _rows(session)
    if not rows:
        return [_listed(name, text, builtin=True, version=1, updated_by=None, updated_at=None)
                for name, text in BUILTIN_RULES.items()]
    return [_listed(r.name, r.yaml, builtin=r.builtin, version=r.version, updated_by=r.updated_by,
                    updated_at=r.updated_at) for r in rows]


def get_rule(session: Session, name: str) -> dict[str, Any]:
    """One rule with its YAML, parsed fields and history (newest first)."""
    found = next((r for r in list_rules(session) if r["name"] == name), None)
    if found is None:
        raise NotFound("No transfer rule {name}", name=name)
    return found | {"history": rule_versions(session, name)}


def rule_versions(session: Session, name: str) -> list[dict[str, Any]]:
    rows = session.execute(select(
        TransferRuleVersion.version, TransferRuleVersion.action, TransferRuleVersion.saved_by,
        TransferRuleVersion.saved_at).where(TransferRuleVersion.rule_name == name)
        .order_by(TransferRuleVersion.version.desc())).all()
    if not rows and name in BUILTIN_RULES:
        return [{"version": 1, "action": "create", "saved_by": None, "saved_at": None}]
    return [dict(r._mapping) for r in rows]


def version_text(session: Session, name: str, version: int) -> str:
    """The YAML of one saved version of a rule."""
    text = session.scalar(select(TransferRuleVersion.yaml).where(
        TransferRuleVersion.rule_name == name, TransferRuleVersion.version == version))
    if text is None and version == 1 and name in BUILTIN_RULES:
        return BUILTIN_RULES[name]
    if text is None:
        raise NotFound("Version {version} of the rule {name} not found", version=version, name=name)
    return text


def preview(session: Session, rule: Rule, today: date) -> dict[str, Any]:
    """What ``rule`` alone would propose now (as if enabled): the first rows and the counts."""
    from cangliu.services.planning import propose

    result = propose(session, today, rules=[replace(rule, enabled=True)])
    transfers, purchases = result.transfers, result.purchases
    return {"rule": rule.name, "transfer_count": transfers.height, "purchase_count": purchases.height,
            "transfers": transfers.head(PREVIEW_ROWS).to_dicts(),
            "purchases": purchases.head(PREVIEW_ROWS).to_dicts()}


# --- writing ------------------------------------------------------------------------------------

def _record(session: Session, row: TransferRule, action: str) -> None:
    session.add(TransferRuleVersion(rule_name=row.name, version=row.version, action=action,
                                    yaml=row.yaml, saved_by=row.updated_by, saved_at=row.updated_at))


def _seed(session: Session, now: datetime) -> int:
    have = set(session.scalars(select(TransferRule.name)))
    added = 0
    for rule, text in zip(builtin_rules(), BUILTIN_RULES.values(), strict=True):
        if rule.name not in have:
            row = TransferRule(name=rule.name, yaml=text, kind=rule.kind, priority=rule.priority,
                               enabled=rule.enabled, builtin=True, version=1, updated_by="system",
                               updated_at=now)
            session.add(row)
            _record(session, row, "create")
            added += 1
    session.flush()
    return added


def seed_builtins(uow: UnitOfWork) -> int:
    """Store the built-in rules that are missing (by name); how many were added."""
    with uow:
        added = _seed(uow.session, uow.now())
        uow.commit()
    return added


def _row(session: Session, name: str) -> TransferRule:
    row = session.scalar(select(TransferRule).where(TransferRule.name == name))
    if row is None:
        raise NotFound("No transfer rule {name}", name=name)
    return row


def _stale(session: Session, row: TransferRule, version: int) -> StaleVersion:
    before = session.scalar(select(TransferRuleVersion.yaml).where(
        TransferRuleVersion.rule_name == row.name, TransferRuleVersion.version == version))
    return StaleVersion(row.version, {"name": row.name, "yaml": row.yaml, "version": row.version},
                        saved_by=row.updated_by, saved_at=row.updated_at,
                        changes=(FieldChange("yaml", before, row.yaml),))


def _save(uow: UnitOfWork, actor: Actor, text: str, *, action: str, name: str | None = None,
          version: int | None = None) -> dict[str, Any]:
    """Check and store ``text`` as a new rule (``name`` None) or the next version of ``name``
    (when ``version`` is given, only if that is still the version in force)."""
    with uow:
        _seed(uow.session, uow.now())
        row = _store(uow.session, uow.now(), actor, text, action=action, name=name, version=version)
        uow.commit()
    return _listed(row.name, row.yaml, builtin=row.builtin, version=row.version,
                   updated_by=row.updated_by, updated_at=row.updated_at)


def _store(s: Session, now: datetime, actor: Actor, text: str, *, action: str,
           name: str | None, version: int | None) -> TransferRule:
    row = _row(s, name) if name is not None else None
    if row is not None and version is not None and row.version != version:
        raise _stale(s, row, version)
    others = [r for r in _rows(s) if r.name != name]
    rule = check_rule(text, taken={r.name for r in others})
    if name is not None and rule.name != name:
        raise ValidationFailed.single("name", "must stay {name}: save a new rule to rename it",
                                      name=name)
    check_cycles(s, rule, list(active_of(others)), now.date())
    values = {"yaml": text, "kind": rule.kind, "priority": rule.priority,
              "enabled": rule.enabled, "updated_by": actor.username, "updated_at": now}
    if row is None:
        # A name used before keeps its history: the new rule continues its version numbers.
        last = s.scalar(select(func.max(TransferRuleVersion.version)).where(
            TransferRuleVersion.rule_name == rule.name))
        row = TransferRule(name=rule.name, builtin=False, version=(last or 0) + 1, **values)
        s.add(row)
    else:
        # Conditional on the version read, so of two concurrent saves only one wins.
        done = s.execute(update(TransferRule).where(
            TransferRule.id == row.id, TransferRule.version == row.version).values(
            version=row.version + 1, **values).execution_options(synchronize_session=False))
        if getattr(done, "rowcount", 1) != 1:
            s.refresh(row)
            raise _stale(s, row, row.version - 1)
        s.refresh(row)
    s.flush()
    _record(s, row, action)
    return row


@retrying
def import_rules(uow: UnitOfWork, actor: Actor, text: str) -> dict[str, list[str]]:
    """Store every rule of a YAML list (as ``cangliu rules export`` writes it), all or nothing:
    a rule of that name gets a new version unless it reads the same, any other is created. A bad
    rule refuses the file with the reason, its path prefixed by its position (``[2].quantity``)."""
    texts = _documents(text)
    with uow:
        s, now = uow.session, uow.now()
        _seed(s, now)
        done: dict[str, list[str]] = {"created": [], "updated": [], "unchanged": []}
        for i, one in enumerate(texts):
            name = _name_of(one)
            stored = s.scalar(select(TransferRule.yaml).where(TransferRule.name == name))
            known = stored is not None
            if stored is not None and rule_from_yaml(stored) == rule_from_yaml(one):
                done["unchanged"].append(str(name))
                continue
            try:
                row = _store(s, now, actor, one, action="update" if known else "create",
                             name=name if known else None, version=None)
            except ValidationFailed as failed:
                raise ValidationFailed([replace(e, field=f"[{i}].{e.field}")
                                        for e in failed.errors]) from None
            done["updated" if known else "created"].append(row.name)
        uow.commit()
    return done


def _documents(text: str) -> list[str]:
    """Each rule of a YAML list as its own YAML text (the form a rule is stored in)."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ValidationFailed.single("yaml", "is not valid YAML: {reason}",
                                      reason=str(exc).splitlines()[0]) from None
    if not isinstance(data, list) or not data:
        raise ValidationFailed.single("yaml", "must be a list of rules")
    return [yaml.safe_dump(item, allow_unicode=True, sort_keys=False, width=1000)
            for item in data]


def _name_of(text: str) -> str | None:
    data = yaml.safe_load(text)
    return str(data["name"]) if isinstance(data, dict) and data.get("name") else None


def export_rules(session: Session) -> str:
    """Every stored rule (the built-ins while none is) as one YAML list, each as saved."""
    rows = _rows(session)
    if not rows:
        return rules_to_yaml(builtin_rules())
    return "".join("- " + "\n  ".join(row.yaml.rstrip("\n").splitlines()) + "\n" for row in rows)


def active_of(rows: list[TransferRule]) -> tuple[Rule, ...]:
    out = []
    for row in rows:
        try:
            out.append(rule_from_yaml(row.yaml))
        except ValidationFailed:
            continue  # a rule that no longer parses does not run (see active_rules)
    return tuple(out)


def create_rule(uow: UnitOfWork, actor: Actor, text: str) -> dict[str, Any]:
    return _save(uow, actor, text, action="create")


def update_rule(uow: UnitOfWork, actor: Actor, name: str, text: str, *, version: int) -> dict[str, Any]:
    """Save ``text`` as the next version of ``name``, if ``version`` is still the one in force."""
    return _save(uow, actor, text, action="update", name=name, version=version)


_ENABLED_LINE: Final = re.compile(r"^enabled:[^\n#]*", re.MULTILINE)


def _with_enabled(text: str, enabled: bool) -> str:
    """The YAML with ``enabled`` switched, the rest (comments too) as written."""
    flag = f"enabled: {'true' if enabled else 'false'}"
    changed = (_ENABLED_LINE.sub(flag, text, count=1) if _ENABLED_LINE.search(text) else
               text.rstrip("\n") + "\n" + flag + "\n")
    try:
        if rule_from_yaml(changed).enabled == enabled:
            return changed
    except ValidationFailed:
        pass
    return text  # written in a form the line edit cannot follow: checked (and refused) as is


def set_enabled(uow: UnitOfWork, actor: Actor, name: str, enabled: bool, *,
                version: int | None = None) -> dict[str, Any]:
    """Enable (checked for cycles again, as the state may have changed) or disable a rule."""
    with uow:
        _seed(uow.session, uow.now())
        row = _row(uow.session, name)
        text = _with_enabled(row.yaml, enabled)
        current = row.version
    return _save(uow, actor, text, action="enable" if enabled else "disable", name=name,
                 version=current if version is None else version)


def restore_rule(uow: UnitOfWork, actor: Actor, name: str, restored: int, *,
                 version: int | None = None) -> dict[str, Any]:
    """An earlier version saved again as the newest one (checked like any save)."""
    with uow:
        text = version_text(uow.session, name, restored)
    return _save(uow, actor, text, action="restore", name=name, version=version)


def reset_builtin(uow: UnitOfWork, actor: Actor, name: str, *, version: int | None = None
                  ) -> dict[str, Any]:
    """A built-in rule back to the text shipped with Cangliu (enabled)."""
    if name not in BUILTIN_RULES:
        raise Conflict("Only a built-in rule can be reset: {name} is not one", name=name)
    return _save(uow, actor, BUILTIN_RULES[name], action="reset", name=name, version=version)


def delete_rule(uow: UnitOfWork, actor: Actor, name: str, *, version: int | None = None) -> None:
    """Delete a rule of one's own; a built-in one can only be disabled. Its history stays."""
    with uow:
        s, now = uow.session, uow.now()
        _seed(s, now)
        row = _row(s, name)
        if row.builtin:
            raise Conflict("A built-in rule cannot be deleted, only disabled: {name}", name=name)
        if version is not None and row.version != version:
            raise _stale(s, row, version)
        s.add(TransferRuleVersion(rule_name=name, version=row.version + 1, action="delete",
                                  yaml=row.yaml, saved_by=actor.username, saved_at=now))
        s.execute(delete(TransferRule).where(TransferRule.id == row.id)
                  .execution_options(synchronize_session=False))
        uow.commit()
