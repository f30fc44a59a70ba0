"""Approval policies as data: branch choice, step outcomes, YAML and validation, without a database."""

from typing import Any

import pytest

from cangliu.core.approvals import (
    DEFAULT_POLICIES,
    DOCUMENT_FIELDS,
    Approvers,
    Branch,
    Policy,
    Step,
    choose_branch,
    parse_policy,
    policy_from_yaml,
    policy_to_dict,
    policy_to_yaml,
    step_outcome,
)
from cangliu.core.errors import ValidationFailed
from cangliu.core.permissions import BUILTIN

ROLES = set(BUILTIN)
USERS = {"alice", "bob"}


def transfer(**changes: Any) -> dict[str, Any]:
    """A hand-made, in-region transfer to a store worth 5,000."""
    base = {"amount": 5000, "lines": 3, "source_site": "DC1", "dest_site": "S01",
            "source_region": "east", "dest_region": "east", "cross_region": False,
            "source_kind": "warehouse", "dest_kind": "store", "generated_by_rule": "",
            "exception": False, "category": "drinks"}
    return base | changes


@pytest.mark.parametrize(("fields", "branch"), [
    (transfer(), "store_replenishment"),
    (transfer(amount=19999.99), "store_replenishment"),
    (transfer(amount=20000), "default"),
    (transfer(dest_kind="warehouse"), "default"),
    (transfer(generated_by_rule="BAL-EAST", dest_kind="warehouse", amount=80000), "rule_balancing"),
    (transfer(generated_by_rule="BAL-EAST", cross_region=True, dest_region="west"),
     "cross_region_or_large"),
    (transfer(cross_region=True, dest_region="west"), "cross_region_or_large"),
    (transfer(amount=50000), "cross_region_or_large"),
    (transfer(exception=True), "exception"),
    (transfer(exception=True, generated_by_rule="BAL-EAST"), "exception"),
    (transfer(exception=True, cross_region=True, amount=90000), "exception"),
    (transfer(amount=None), "default"),
    ({}, "default"),
])
def test_a_transfer_takes_the_first_branch_whose_condition_holds(fields: dict[str, Any],
                                                                branch: str) -> None:
    assert choose_branch(DEFAULT_POLICIES["transfer"], fields).name == branch


@pytest.mark.parametrize(("document_type", "fields", "branch", "approver_roles"), [
    ("purchase", {"amount": 99999, "supplier": "SUP1"}, "default", []),
    ("purchase", {"amount": 100000, "supplier": "SUP1"}, "large", ["purchasing_manager", "finance"]),
    ("count", {"variance_value": -4999, "gross_value": 4999}, "default", []),
    ("count", {"variance_value": -5000, "gross_value": 5000}, "large_variance", ["inventory_director"]),
    ("count", {"variance_value": 0, "gross_value": 7500}, "large_variance", ["inventory_director"]),
    ("scrap", {"amount": 1999, "reason_code": "DAMAGED"}, "default", []),
    ("scrap", {"amount": 2000, "reason_code": "DAMAGED"}, "large", ["finance"]),
    ("sales_return", {"amount": 9999}, "default", []),
    ("sales_return", {"amount": 10000}, "large", ["store_manager"]),
])
def test_other_documents_need_approval_only_above_their_thresholds(
        document_type: str, fields: dict[str, Any], branch: str, approver_roles: list[str]) -> None:
    chosen = choose_branch(DEFAULT_POLICIES[document_type], fields)
    assert chosen.name == branch
    assert [s.approvers.role for s in chosen.steps] == approver_roles


def test_a_large_cross_region_transfer_walks_three_levels_that_escalate_on_timeout() -> None:
    steps = choose_branch(DEFAULT_POLICIES["transfer"], transfer(cross_region=True)).steps
    assert [(s.approvers.role, s.approvers.scope) for s in steps] == [
        ("store_manager", "site"), ("regional_manager", "source_region"), ("inventory_director", "all")]
    assert [(s.timeout_action, s.escalate_to) for s in steps[:2]] == [
        ("escalate", "regional_manager"), ("escalate", "inventory_director")]
    assert all(s.timeout_hours for s in steps)


@pytest.mark.parametrize("policy", DEFAULT_POLICIES.values(), ids=list(DEFAULT_POLICIES))
def test_every_default_policy_passes_validation_and_round_trips_through_yaml(policy: Policy) -> None:
    assert parse_policy(policy_to_dict(policy), roles=ROLES, users=set()) == policy
    text = policy_to_yaml(policy)
    assert policy_from_yaml(text, roles=ROLES, users=set()) == policy
    assert policy_to_yaml(policy_from_yaml(text, roles=ROLES, users=set())) == text


def test_every_document_type_has_a_default_policy() -> None:
    assert set(DEFAULT_POLICIES) == set(DOCUMENT_FIELDS)


def test_a_policy_using_every_option_round_trips_through_yaml() -> None:
    policy = Policy("purchase", (
        Branch("东区大单", "region = 'east' AND amount >= 1000", (
            Step("two of finance", Approvers("role", "finance", "site"), mode="n_of_m", n=2,
                 timeout_hours=4.5, timeout_action="auto_reject", cc=("admin", "purchaser")),
            Step("alice", Approvers("user", user="alice"), mode="all", timeout_hours=1.0,
                 timeout_action="auto_approve"),
            Step("boss", Approvers("manager")))),
        Branch("default", None, ())), version=7)
    assert policy_from_yaml(policy_to_yaml(policy), roles=ROLES, users=USERS) == policy


ANY = Step("s", Approvers("role", "finance"))
ALL = Step("s", Approvers("role", "finance"), mode="all")
TWO_OF = Step("s", Approvers("role", "finance"), mode="n_of_m", n=2)
PEOPLE = ["a", "b", "c"]


@pytest.mark.parametrize(("step", "decisions", "outcome"), [
    (ANY, {}, "pending"),
    (ANY, {"a": "approve"}, "approved"),
    (ANY, {"b": "reject"}, "rejected"),
    (ANY, {"a": "reject", "b": "approve"}, "approved"),
    (ANY, {"x": "approve"}, "pending"),
    (ALL, {}, "pending"),
    (ALL, {"a": "approve", "b": "approve"}, "pending"),
    (ALL, {"a": "approve", "b": "approve", "c": "approve"}, "approved"),
    (ALL, {"a": "approve", "c": "reject"}, "rejected"),
    (ALL, {"a": "approve", "b": "approve", "x": "approve"}, "pending"),
    (TWO_OF, {"a": "approve"}, "pending"),
    (TWO_OF, {"a": "approve", "c": "approve"}, "approved"),
    (TWO_OF, {"a": "reject"}, "pending"),
    (TWO_OF, {"a": "reject", "b": "approve"}, "pending"),
    (TWO_OF, {"a": "reject", "b": "approve", "c": "approve"}, "approved"),
    (TWO_OF, {"a": "reject", "b": "reject"}, "rejected"),
])
def test_a_step_ends_by_its_mode(step: Step, decisions: dict[str, Any], outcome: str) -> None:
    assert step_outcome(step, PEOPLE, decisions) == outcome


@pytest.mark.parametrize("step", [ANY, ALL, TWO_OF])
def test_a_step_with_no_approvers_waits_rather_than_passing(step: Step) -> None:
    assert step_outcome(step, [], {}) == "pending"


def test_n_of_m_with_fewer_approvers_than_n_needs_all_of_them() -> None:
    three_of = Step("s", Approvers("role", "finance"), mode="n_of_m", n=3)
    assert step_outcome(three_of, ["a", "b"], {"a": "approve"}) == "pending"
    assert step_outcome(three_of, ["a", "b"], {"a": "approve", "b": "approve"}) == "approved"
    assert step_outcome(three_of, ["a", "b"], {"b": "reject"}) == "rejected"


# --- validation: every error named by its path ------------------------------------------------

def policy(**changes: Any) -> dict[str, Any]:
    step = {"name": "director", "approvers": {"kind": "role", "role": "inventory_director"}}
    base = {"document_type": "transfer", "branches": [
        {"name": "large", "condition": "amount >= 50000", "steps": [step]},
        {"name": "default", "steps": []}]}
    return base | changes


def with_step(**changes: Any) -> dict[str, Any]:
    step = {"name": "director", "approvers": {"kind": "role", "role": "inventory_director"}} | changes
    return policy(branches=[{"name": "default", "steps": [step]}])


def with_approvers(**approvers: Any) -> dict[str, Any]:
    return with_step(approvers=approvers)


NEEDS_N = "N of M needs n, a whole number of at least 1"


def errors(data: Any) -> list[tuple[str, str]]:
    with pytest.raises(ValidationFailed) as caught:
        parse_policy(data, roles=ROLES, users=USERS)
    return [(e.field, e.message) for e in caught.value.errors]


@pytest.mark.parametrize(("data", "expected"), [
    (policy(document_type="invoice"), ("document_type", "unknown document type {name}")),
    (policy(owner="x"), ("owner", "unknown key {key}")),
    (policy(version=0), ("version", "must be a whole number of at least 1")),
    (policy(branches=[]), ("branches", "a default branch (without a condition) is required")),
    (policy(branches=[{"name": "large", "condition": "amount > 1", "steps": []}]),
     ("branches", "a default branch (without a condition) is required")),
    (policy(branches=[{"name": "default", "steps": []}, {"name": "x", "condition": "amount > 1"}]),
     ("branches[0].condition", "only the last branch may be the default (without a condition)")),
    (policy(branches=[{"name": "a", "condition": "lines > 1"}, {"name": "a"}]),
     ("branches[1].name", "duplicate branch name {name}")),
    (policy(branches=[{"name": "", "steps": []}]), ("branches[0].name", "must not be empty")),
    (policy(branches=[{"name": "a", "condition": "cost > 1"}, {"name": "default"}]),
     ("branches[0].condition", "unknown field {name}")),
    (policy(branches=[{"name": "a", "condition": "amount >"}, {"name": "default"}]),
     ("branches[0].condition", "is not a valid expression: {reason}")),
    (policy(branches=[{"name": "a", "condition": "amount"}, {"name": "default"}]),
     ("branches[0].condition", "must be true or false, not {kind}")),
    (policy(branches=[{"name": "a", "condition": "amount IN (SELECT 1)"}, {"name": "default"}]),
     ("branches[0].condition", "may not contain a query ({word})")),
    (policy(branches=[{"name": "default", "when": "x"}]), ("branches[0].when", "unknown key {key}")),
    (policy(branches=[{"name": "default", "steps": {}}]), ("branches[0].steps", "must be a list")),
    (policy(branches=[{"name": "default", "steps": [
        {"name": "s", "approvers": {"kind": "manager"}}, {"name": "s", "approvers": {"kind": "manager"}}]}]),
     ("branches[0].steps[1].name", "duplicate step name {name}")),
    (with_step(timeout="1h"), ("branches[0].steps[0].timeout", "unknown key {key}")),
    (with_step(name=""), ("branches[0].steps[0].name", "must not be empty")),
    (with_step(mode="majority"), ("branches[0].steps[0].mode", "must be one of: {expected}")),
    (with_step(mode="n_of_m"), ("branches[0].steps[0].n", NEEDS_N)),
    (with_step(mode="n_of_m", n=0), ("branches[0].steps[0].n", NEEDS_N)),
    (with_step(mode="n_of_m", n=True), ("branches[0].steps[0].n", NEEDS_N)),
    (with_step(n=2), ("branches[0].steps[0].n", "applies only to the n_of_m mode")),
    (with_step(timeout_hours=24, timeout_action="escalate"),
     ("branches[0].steps[0].escalate_to", "escalation needs the role to escalate to")),
    (with_step(timeout_hours=24, timeout_action="escalate", escalate_to="ceo"),
     ("branches[0].steps[0].escalate_to", "unknown role {code}")),
    (with_step(timeout_hours=24, timeout_action="remind", escalate_to="finance"),
     ("branches[0].steps[0].escalate_to", "applies only when the timeout action is escalate")),
    (with_step(timeout_hours=24, timeout_action="wait"),
     ("branches[0].steps[0].timeout_action", "must be one of: {expected}")),
    (with_step(timeout_hours=24),
     ("branches[0].steps[0].timeout_action", "a timeout needs both timeout_hours and timeout_action")),
    (with_step(timeout_hours=-1, timeout_action="remind"),
     ("branches[0].steps[0].timeout_hours", "must be greater than 0")),
    (with_step(cc=["finance", "auditor"]), ("branches[0].steps[0].cc[1]", "unknown role {code}")),
    (with_step(cc="finance"), ("branches[0].steps[0].cc", "must be a list")),
    (with_step(approvers="finance"), ("branches[0].steps[0].approvers", "must be a mapping")),
    (with_approvers(kind="group"), ("branches[0].steps[0].approvers.kind", "must be one of: {expected}")),
    (with_approvers(kind="role", role="ceo"), ("branches[0].steps[0].approvers.role", "unknown role {code}")),
    (with_approvers(kind="role"), ("branches[0].steps[0].approvers.role", "must not be empty")),
    (with_approvers(kind="role", role="finance", scope="planet"),
     ("branches[0].steps[0].approvers.scope", "must be one of: {expected}")),
    (with_approvers(kind="user", user="mallory"),
     ("branches[0].steps[0].approvers.user", "unknown user {code}")),
    (with_approvers(kind="user", user="alice", role="finance"),
     ("branches[0].steps[0].approvers.role", "applies only to role approvers")),
    (with_approvers(kind="manager", scope="site"),
     ("branches[0].steps[0].approvers.scope", "applies only to role approvers")),
    (with_approvers(kind="manager", user="alice"),
     ("branches[0].steps[0].approvers.user", "applies only to user approvers")),
    (with_approvers(kind="role", role="finance", level=2),
     ("branches[0].steps[0].approvers.level", "unknown key {key}")),
])
def test_a_bad_policy_is_refused_naming_the_path(data: dict[str, Any], expected: tuple[str, str]) -> None:
    assert errors(data) == [expected]


def test_a_region_scope_applies_only_to_transfers() -> None:
    data = with_approvers(kind="role", role="finance", scope="source_region") | {"document_type": "scrap"}
    assert errors(data) == [("branches[0].steps[0].approvers.scope", "must be one of: {expected}")]


def test_every_error_in_a_policy_is_reported_at_once() -> None:
    data = {"document_type": "transfer", "branches": [
        {"name": "a", "condition": "cost > 1", "steps": [
            {"name": "s", "approvers": {"kind": "role", "role": "ceo"}, "mode": "n_of_m"}]},
        {"name": "a", "condition": "amount > 1"}]}
    assert errors(data) == [
        ("branches[0].condition", "unknown field {name}"),
        ("branches[0].steps[0].n", NEEDS_N),
        ("branches[0].steps[0].approvers.role", "unknown role {code}"),
        ("branches", "a default branch (without a condition) is required"),
        ("branches[1].name", "duplicate branch name {name}"),
    ]


def test_a_condition_uses_only_its_own_document_types_fields() -> None:
    data = policy(document_type="purchase",
                  branches=[{"name": "a", "condition": "cross_region"}, {"name": "default"}])
    assert errors(data) == [("branches[0].condition", "unknown field {name}")]


@pytest.mark.parametrize(("text", "expected"), [
    ("document_type: [", ("yaml", "is not valid YAML: {reason}")),
    ("- just\n- a list\n", ("yaml", "must be a mapping")),
    ("!!python/object/apply:os.system ['true']", ("yaml", "is not valid YAML: {reason}")),
    ("document_type: transfer\nbranches: []\n",
     ("branches", "a default branch (without a condition) is required")),
])
def test_bad_yaml_is_refused(text: str, expected: tuple[str, str]) -> None:
    with pytest.raises(ValidationFailed) as caught:
        policy_from_yaml(text, roles=ROLES, users=USERS)
    assert [(e.field, e.message) for e in caught.value.errors] == [expected]
