"""Approval policies as data: versions saved as YAML; the built-in default until one is saved."""

from dataclasses import replace

from sqlalchemy import select
from sqlalchemy.orm import Session

from cangliu.core import approvals as rules
from cangliu.core.approvals import Branch, Policy, Step
from cangliu.core.errors import NotFound, ValidationFailed
from cangliu.core.permissions import Actor
from cangliu.db.models import ApprovalInstance, ApprovalPolicy, AppUser, Role
from cangliu.db.uow import UnitOfWork
from cangliu.services import roles as role_service
from cangliu.services.approvals.documents import Result


def _names(session: Session) -> tuple[set[str], set[str]]:
    return set(session.scalars(select(Role.code))), set(session.scalars(select(AppUser.username)))


def policy_at(session: Session, document_type: str, version: int | None = None) -> Policy:
    """The policy of that version (None: the newest active one); the built-in default when none
    was saved."""
    query = select(ApprovalPolicy).where(ApprovalPolicy.document_type == document_type)
    query = (query.where(ApprovalPolicy.version == version) if version is not None else
             query.where(ApprovalPolicy.active.is_(True)).order_by(ApprovalPolicy.version.desc()))
    row = session.scalars(query.limit(1)).first()
    if row is None:
        return rules.DEFAULT_POLICIES[document_type]
    known_roles, users = _names(session)
    return rules.policy_from_yaml(row.yaml, roles=known_roles, users=users)


def policies_naming_role(session: Session, code: str) -> list[str]:
    """The document types whose approval policy in force names role ``code`` (as approvers,
    escalation target or copy)."""
    found = []
    for document_type in sorted(rules.DEFAULT_POLICIES):
        steps = (s for b in policy_at(session, document_type).branches for s in b.steps)
        if any(code in (s.approvers.role, s.escalate_to, *s.cc) for s in steps):
            found.append(document_type)
    return found


def active_policy(uow: UnitOfWork, document_type: str) -> Policy:
    if document_type not in rules.DEFAULT_POLICIES:
        raise NotFound("No approvals for {name}", name=document_type)
    with uow:
        return policy_at(uow.session, document_type)


def policy_yaml(uow: UnitOfWork, document_type: str) -> str:
    return rules.policy_to_yaml(active_policy(uow, document_type))


def save_policy(uow: UnitOfWork, actor: Actor, document_type: str, yaml_text: str) -> Result:
    """Validate and store a new version; instances already running keep the version they have."""
    if document_type not in rules.DEFAULT_POLICIES:
        raise NotFound("No approvals for {name}", name=document_type)
    role_service.ensure_builtin(uow)
    with uow:
        s = uow.session
        known_roles, users = _names(s)
        policy = rules.policy_from_yaml(yaml_text, roles=known_roles, users=users)
        if policy.document_type != document_type:
            raise ValidationFailed.single("document_type", "must be {name}", name=document_type)
        newest = s.scalar(select(ApprovalPolicy.version).where(
            ApprovalPolicy.document_type == document_type).order_by(ApprovalPolicy.version.desc())
            .limit(1))
        version = max(newest or 0, rules.DEFAULT_POLICIES[document_type].version) + 1
        text = rules.policy_to_yaml(replace(policy, version=version))
        s.add(ApprovalPolicy(document_type=document_type, version=version, yaml=text, active=True,
                             created_by=actor.username, created_at=uow.now()))
        uow.commit()
    return {"document_type": document_type, "version": version, "yaml": text}


def _branch_named(policy: Policy, name: str) -> Branch:
    return next(b for b in policy.branches if b.name == name)


def steps_of(session: Session, inst: ApprovalInstance) -> tuple[Step, ...]:
    return _branch_named(policy_at(session, inst.document_type, inst.policy_version), inst.branch).steps
