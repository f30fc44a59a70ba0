"""The saved versions of each approval policy: what is in force, who saved what when, and the
text of any version. Version 1 is the built-in default until someone saves one."""

from typing import Any

from sqlalchemy import select

from cangliu.core import approvals as rules
from cangliu.core.approvals import Policy
from cangliu.core.errors import NotFound
from cangliu.db.models import ApprovalPolicy
from cangliu.db.uow import UnitOfWork
from cangliu.services.approvals.policies import policy_at


def _known(document_type: str) -> None:
    if document_type not in rules.DEFAULT_POLICIES:
        raise NotFound("No approvals for {name}", name=document_type)


def _row(version: int, by: str | None, at: Any, active: bool) -> dict[str, Any]:
    return {"version": version, "created_by": by, "created_at": at, "active": active}


def policy_versions(uow: UnitOfWork, document_type: str) -> list[dict[str, Any]]:
    """Every version, newest first, ending with the built-in default (saved by nobody)."""
    _known(document_type)
    with uow:
        rows = uow.session.execute(select(
            ApprovalPolicy.version, ApprovalPolicy.created_by, ApprovalPolicy.created_at,
            ApprovalPolicy.active).where(ApprovalPolicy.document_type == document_type)
            .order_by(ApprovalPolicy.version.desc())).all()
    # The newest active version applies (see policies.policy_at).
    in_force = next((r.version for r in rows if r.active), None)
    out = [_row(r.version, r.created_by, r.created_at, r.version == in_force) for r in rows]
    builtin = rules.DEFAULT_POLICIES[document_type].version
    if builtin not in {r.version for r in rows}:
        out.append(_row(builtin, None, None, in_force is None))
    return out


def policies_in_force(uow: UnitOfWork) -> list[dict[str, Any]]:
    """Each document type with the version in force and who saved it when (None: the default)."""
    out = []
    for document_type in rules.DEFAULT_POLICIES:
        current = next(v for v in policy_versions(uow, document_type) if v["active"])
        out.append({"document_type": document_type, **current})
    return out


def policy_version(uow: UnitOfWork, document_type: str, version: int | None = None
                   ) -> tuple[Policy, str]:
    """The policy of that version (None: the one in force) and its YAML, as stored."""
    _known(document_type)
    with uow:
        s = uow.session
        if version is not None and version != rules.DEFAULT_POLICIES[document_type].version:
            exists = s.scalar(select(ApprovalPolicy.id).where(
                ApprovalPolicy.document_type == document_type, ApprovalPolicy.version == version))
            if exists is None:
                raise NotFound("Version {version} of the {name} policy not found",
                               version=version, name=document_type)
        policy = policy_at(s, document_type, version)
        text = s.scalar(select(ApprovalPolicy.yaml).where(
            ApprovalPolicy.document_type == document_type,
            ApprovalPolicy.version == policy.version))
    return policy, text if text is not None else rules.policy_to_yaml(policy)
