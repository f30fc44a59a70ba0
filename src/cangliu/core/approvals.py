"""Approval policies as data: per document type, ordered branches with a condition over the
document's fields, each leading to a chain of steps; which branch applies and how a step ends."""

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any, Final, Literal, get_args

import yaml

from cangliu.core import rules
from cangliu.core.errors import FieldError, ValidationFailed

Kind = Literal["role", "user", "manager"]
Scope = Literal["all", "source_region", "dest_region", "site"]
Mode = Literal["any", "all", "n_of_m"]
TimeoutAction = Literal["remind", "escalate", "auto_approve", "auto_reject"]
Decision = Literal["approve", "reject"]
Outcome = Literal["pending", "approved", "rejected"]


@dataclass(frozen=True)
class Approvers:
    """Who decides: holders of a role within a scope (``site`` is the document's site, a transfer's
    destination), one named user, or the submitter's manager."""

    kind: Kind
    role: str | None = None
    scope: Scope = "all"
    user: str | None = None


@dataclass(frozen=True)
class Step:
    name: str
    approvers: Approvers
    mode: Mode = "any"
    n: int | None = None
    timeout_hours: float | None = None
    timeout_action: TimeoutAction | None = None
    escalate_to: str | None = None  # a role code
    cc: tuple[str, ...] = ()  # role codes


@dataclass(frozen=True)
class Branch:
    name: str
    condition: str | None  # None: the default branch, always last
    steps: tuple[Step, ...]  # none: approved at once


@dataclass(frozen=True)
class Policy:
    """``self_approve``: a submitter who is also an approver of a step has signed it by
    submitting (发起人自动审批); off by default, so every step is someone's explicit decision."""

    document_type: str
    branches: tuple[Branch, ...]
    version: int = 1
    self_approve: bool = False


_SITE: Final = {"site": "text", "region": "text"}
DOCUMENT_FIELDS: Final[Mapping[str, Mapping[str, str]]] = {  # amounts in the base currency
    "transfer": {
        "amount": "number", "lines": "number", "source_site": "text", "dest_site": "text",
        "source_region": "text", "dest_region": "text", "cross_region": "bool",
        "source_kind": "text", "dest_kind": "text",
        "generated_by_rule": "text",  # the planning rule's code; '' when entered by hand
        "exception": "bool", "category": "text"},
    "purchase": {"amount": "number", "lines": "number", "supplier": "text", **_SITE, "currency": "text"},
    # variance_*: net (gains positive); gross_value: the sum of every line's variance value
    "count": {"variance_value": "number", "gross_value": "number", "variance_qty": "number",
              "lines": "number", **_SITE},
    "scrap": {"amount": "number", "lines": "number", **_SITE, "reason_code": "text"},
    "sales_return": {"amount": "number", "lines": "number", **_SITE, "customer": "text",
                     "sales_order": "text"},
}
_TRANSFER_SCOPES: Final = frozenset({"source_region", "dest_region"})


def choose_branch(policy: Policy, fields: Mapping[str, Any]) -> Branch:
    """The first branch whose condition holds for the document; the default one otherwise."""
    columns = DOCUMENT_FIELDS[policy.document_type]
    for branch in policy.branches:
        if branch.condition is None or rules.evaluate(branch.condition, [fields], columns)[0]:
            return branch
    raise ValueError(f"policy for {policy.document_type} has no default branch")


def step_outcome(step: Step, approvers: Sequence[str],
                 decisions: Mapping[str, Decision]) -> Outcome:
    """How a step stands. any (或签): one approval or one rejection decides; all (会签): everyone
    must approve and one rejection rejects; n_of_m: n approvals, rejected once n is out of reach.
    Decisions of people who are not approvers do not count; with no approvers the step waits
    (its timeout acts) rather than passing by default."""
    people = list(dict.fromkeys(approvers))
    if not people:
        return "pending"
    votes = [decisions[p] for p in people if p in decisions]
    approved, rejected = votes.count("approve"), votes.count("reject")
    # When fewer people hold the role than n, all of them must approve.
    needed = {"any": 1, "all": len(people), "n_of_m": min(step.n or 1, len(people))}[step.mode]
    if approved >= needed:
        return "approved"
    if (rejected and step.mode == "any") or len(people) - rejected < needed:
        return "rejected"
    return "pending"


# --- reading and writing policies -------------------------------------------------------------

_POLICY_KEYS: Final = ("document_type", "version", "self_approve", "branches")
_BRANCH_KEYS: Final = ("name", "condition", "steps")
_STEP_KEYS: Final = tuple(f.name for f in fields(Step))
_APPROVER_KEYS: Final = tuple(f.name for f in fields(Approvers))


class _Problems:
    """Every error found in one policy, each named by its path."""

    def __init__(self, roles: Collection[str], users: Collection[str]) -> None:
        self.roles, self.users = roles, users
        self.errors: list[FieldError] = []

    def add(self, path: str, message: str, **params: object) -> None:
        self.errors.append(FieldError(path, message, {k: str(v) for k, v in params.items()}))

    def keys(self, data: object, path: str, allowed: Sequence[str]) -> Mapping[str, Any] | None:
        """``data`` when it is a mapping (its unknown keys noted), else None."""
        if not isinstance(data, Mapping):
            self.add(path, "must be a mapping")
            return None
        for key in data:
            if key not in allowed:
                self.add(f"{path}.{key}" if path else str(key), "unknown key {key}", key=key)
        return data

    def text(self, data: Mapping[str, Any], path: str, key: str) -> str | None:
        value = data.get(key)
        if not isinstance(value, str) or not value.strip():
            self.add(path, "must not be empty")
            return None
        return value

    def choice(self, value: object, path: str, choices: tuple[str, ...]) -> Any:
        if value not in choices:
            self.add(path, "must be one of: {expected}", expected=", ".join(choices))
        return value

    def role(self, value: object, path: str) -> str | None:
        return self.known(value, path, self.roles, "unknown role {code}")

    def known(self, value: object, path: str, names: Collection[str], message: str) -> str | None:
        if value is None or value == "":
            self.add(path, "must not be empty")
        elif not isinstance(value, str) or value not in names:
            self.add(path, message, code=value)
        else:
            return value
        return None


def parse_policy(data: Mapping[str, Any], *, roles: Collection[str], users: Collection[str]) -> Policy:
    """The policy ``data`` describes, or ValidationFailed listing every problem by its path."""
    problems = _Problems(roles, users)
    data = problems.keys(data, "", _POLICY_KEYS) or {}
    document_type = data.get("document_type")
    if document_type not in DOCUMENT_FIELDS:
        problems.add("document_type", "unknown document type {name}", name=document_type)
    version = data.get("version", 1)
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        problems.add("version", "must be a whole number of at least 1")
    self_approve = data.get("self_approve", False)
    if not isinstance(self_approve, bool):
        problems.add("self_approve", "must be true or false")
    raw = data.get("branches")
    if not isinstance(raw, list) or not raw:
        problems.add("branches", "a default branch (without a condition) is required")
        raw = []
    columns = DOCUMENT_FIELDS.get(str(document_type), {})
    scopes = _scopes(str(document_type))
    branches = tuple(_branch(problems, item, f"branches[{i}]", columns, scopes)
                     for i, item in enumerate(raw))
    _check_branch_order(problems, branches)
    if problems.errors:
        raise ValidationFailed(problems.errors)
    return Policy(str(document_type), branches, version, self_approve)


def _scopes(document_type: str) -> tuple[str, ...]:
    every: tuple[str, ...] = get_args(Scope)
    return every if document_type == "transfer" else tuple(s for s in every if s not in _TRANSFER_SCOPES)


def _branch(problems: _Problems, raw: object, path: str, columns: Mapping[str, str],
            scopes: tuple[str, ...]) -> Branch:
    data = problems.keys(raw, path, _BRANCH_KEYS)
    if data is None:
        return Branch("", "", ())
    name = problems.text(data, f"{path}.name", "name") or ""
    condition = data.get("condition")
    if condition is not None:
        condition = str(condition)
        if columns:  # with an unknown document type its fields are unknown too
            try:
                rules.check_expression(condition, columns, field=f"{path}.condition")
            except ValidationFailed as failed:
                problems.errors.extend(failed.errors)
    steps_raw = data.get("steps", [])
    if not isinstance(steps_raw, list):
        problems.add(f"{path}.steps", "must be a list")
        steps_raw = []
    steps = tuple(_step(problems, item, f"{path}.steps[{k}]", scopes) for k, item in enumerate(steps_raw))
    _check_unique(problems, [s.name for s in steps], f"{path}.steps", "name", "duplicate step name {name}")
    return Branch(name, condition, steps)


def _check_branch_order(problems: _Problems, branches: Sequence[Branch]) -> None:
    defaults = [i for i, b in enumerate(branches) if b.condition is None]
    for i in defaults:
        if i != len(branches) - 1:
            problems.add(f"branches[{i}].condition",
                         "only the last branch may be the default (without a condition)")
    if branches and not defaults:
        problems.add("branches", "a default branch (without a condition) is required")
    _check_unique(problems, [b.name for b in branches], "branches", "name", "duplicate branch name {name}")


def _check_unique(problems: _Problems, names: Sequence[str], path: str, key: str, message: str) -> None:
    for i, name in enumerate(names):
        if name and name in names[:i]:
            problems.add(f"{path}[{i}].{key}", message, name=name)


def _step(problems: _Problems, raw: object, path: str, scopes: tuple[str, ...]) -> Step:
    data = problems.keys(raw, path, _STEP_KEYS)
    if data is None:
        return Step("", Approvers("manager"))
    mode = problems.choice(data.get("mode", "any"), f"{path}.mode", get_args(Mode))
    n = data.get("n")
    if mode == "n_of_m" and (not isinstance(n, int) or isinstance(n, bool) or n < 1):
        problems.add(f"{path}.n", "N of M needs n, a whole number of at least 1")
    elif mode != "n_of_m" and n is not None:
        problems.add(f"{path}.n", "applies only to the n_of_m mode")
    hours, action, escalate_to = _timeout(problems, data, path)
    cc = data.get("cc", [])
    if not isinstance(cc, list):
        problems.add(f"{path}.cc", "must be a list")
        cc = []
    for j, code in enumerate(cc):
        problems.role(code, f"{path}.cc[{j}]")
    return Step(name=problems.text(data, f"{path}.name", "name") or "",
                approvers=_approvers(problems, data.get("approvers"), f"{path}.approvers", scopes),
                mode=mode, n=n, timeout_hours=hours, timeout_action=action,
                escalate_to=escalate_to, cc=tuple(str(c) for c in cc))


def _timeout(problems: _Problems, data: Mapping[str, Any],
             path: str) -> tuple[float | None, TimeoutAction | None, str | None]:
    hours, action = data.get("timeout_hours"), data.get("timeout_action")
    escalate_to = data.get("escalate_to")
    if hours is not None and (not isinstance(hours, int | float) or isinstance(hours, bool) or hours <= 0):
        problems.add(f"{path}.timeout_hours", "must be greater than 0")
    if action is not None:
        action = problems.choice(action, f"{path}.timeout_action", get_args(TimeoutAction))
    if (hours is None) != (action is None):
        problems.add(f"{path}.timeout_action" if action is None else f"{path}.timeout_hours",
                     "a timeout needs both timeout_hours and timeout_action")
    if action == "escalate" and escalate_to is None:
        problems.add(f"{path}.escalate_to", "escalation needs the role to escalate to")
    elif action != "escalate" and escalate_to is not None:
        problems.add(f"{path}.escalate_to", "applies only when the timeout action is escalate")
    elif escalate_to is not None:
        problems.role(escalate_to, f"{path}.escalate_to")
    return (None if hours is None else float(hours)), action, escalate_to


def _approvers(problems: _Problems, raw: object, path: str, scopes: tuple[str, ...]) -> Approvers:
    data = problems.keys(raw, path, _APPROVER_KEYS)
    if data is None:
        return Approvers("manager")
    kind = problems.choice(data.get("kind"), f"{path}.kind", get_args(Kind))
    scope = data.get("scope", "all")
    if kind == "role":
        problems.role(data.get("role"), f"{path}.role")
        scope = problems.choice(scope, f"{path}.scope", scopes)
    elif kind == "user":
        problems.known(data.get("user"), f"{path}.user", problems.users, "unknown user {code}")
    if kind != "role" and data.get("role") is not None:
        problems.add(f"{path}.role", "applies only to role approvers")
    if kind != "role" and scope != "all":
        problems.add(f"{path}.scope", "applies only to role approvers")
    if kind != "user" and data.get("user") is not None:
        problems.add(f"{path}.user", "applies only to user approvers")
    return Approvers(kind, data.get("role"), scope, data.get("user"))


def policy_from_yaml(text: str, *, roles: Collection[str], users: Collection[str]) -> Policy:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise ValidationFailed.single("yaml", "is not valid YAML: {reason}",
                                      reason=str(error).splitlines()[0]) from None
    if not isinstance(data, Mapping):
        raise ValidationFailed.single("yaml", "must be a mapping")
    return parse_policy(data, roles=roles, users=users)


def policy_to_dict(policy: Policy) -> dict[str, Any]:
    """The plain form ``parse_policy`` reads; values left at their default are omitted."""
    out: dict[str, Any] = {"document_type": policy.document_type, "version": policy.version}
    if policy.self_approve:
        out["self_approve"] = True
    return {**out, "branches": [_branch_to_dict(b) for b in policy.branches]}


def _branch_to_dict(branch: Branch) -> dict[str, Any]:
    out: dict[str, Any] = {"name": branch.name}
    if branch.condition is not None:
        out["condition"] = branch.condition
    out["steps"] = [_without_defaults(s, Step) for s in branch.steps]
    return out


def _without_defaults(value: Step | Approvers, cls: type[Step] | type[Approvers]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in fields(cls):
        item = getattr(value, f.name)
        if isinstance(item, Approvers):
            out[f.name] = _without_defaults(item, Approvers)
        elif f.name in ("name", "kind") or item not in (f.default, ()):
            out[f.name] = list(item) if isinstance(item, tuple) else item
    return out


def policy_to_yaml(policy: Policy) -> str:
    return str(yaml.safe_dump(policy_to_dict(policy), allow_unicode=True, sort_keys=False, width=1000))


# --- built-in defaults (the seed scenarios) ---------------------------------------------------

def _role(role: str, scope: Scope = "all", *, escalate_to: str | None = None) -> Step:
    """One approver role; a step escalates after a day when told where to, else reminds after two."""
    if escalate_to:
        return Step(role, Approvers("role", role, scope), timeout_hours=24.0, timeout_action="escalate",
                    escalate_to=escalate_to)
    return Step(role, Approvers("role", role, scope), timeout_hours=48.0, timeout_action="remind")


def _auto(document_type: str, *branches: Branch) -> Policy:
    return Policy(document_type, (*branches, Branch("default", None, ())))


DEFAULT_POLICIES: Final[Mapping[str, Policy]] = {
    "transfer": Policy("transfer", (
        # Routine moves approve themselves unless flagged as an exception (fast-selling site to a
        # slow one), which always goes to the inventory director.
        Branch("rule_balancing", "generated_by_rule <> '' AND NOT cross_region AND NOT exception", ()),
        Branch("store_replenishment",
               "dest_kind = 'store' AND NOT cross_region AND NOT exception AND amount < 20000", ()),
        Branch("exception", "exception", (_role("inventory_director"),)),
        Branch("cross_region_or_large", "cross_region OR amount >= 50000", (
            _role("store_manager", "site", escalate_to="regional_manager"),
            _role("regional_manager", "source_region", escalate_to="inventory_director"),
            _role("inventory_director"))),
        Branch("default", None, (_role("store_manager", "site", escalate_to="regional_manager"),)),
    )),
    "purchase": _auto("purchase", Branch("large", "amount >= 100000",
                                         (_role("purchasing_manager"), _role("finance")))),
    # Gross value: a large surplus is as suspect as a large shortage, and one does not hide the
    # other.
    "count": _auto("count", Branch("large_variance", "gross_value >= 5000",
                                   (_role("inventory_director"),))),
    "scrap": _auto("scrap", Branch("large", "amount >= 2000", (_role("finance"),))),
    "sales_return": _auto("sales_return", Branch("large", "amount >= 10000", (
        _role("store_manager", "site", escalate_to="regional_manager"),))),
}
