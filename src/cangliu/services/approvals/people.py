"""Who approves: holders of a role whose assignment covers the document (its site, or the site
the step's scope names), a named user, the submitter's manager (the inventory director: there is
no manager hierarchy yet), or, when nobody can, the step's escalation role and then the
administrators. Nobody is asked to approve, or copied on, a document outside their scope."""

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from cangliu.core.approvals import Step
from cangliu.db.models import ApprovalInstance, AppUser, Location, Role, RoleAssignment
from cangliu.services.approvals.documents import ADMIN_ROLE, MANAGER_ROLE, scope_sites


def holders(session: Session, role: str, sites: Sequence[Location] | None) -> list[int]:
    """Active users holding ``role`` through an assignment covering one of ``sites`` (None: any)."""
    rows = session.execute(
        select(RoleAssignment.user_id, RoleAssignment.scope, RoleAssignment.region,
               RoleAssignment.sites)
        .join(Role, Role.id == RoleAssignment.role_id)
        .join(AppUser, AppUser.id == RoleAssignment.user_id)
        .where(Role.code == role, AppUser.active.is_(True)))
    return sorted({uid for uid, scope, region, listed in rows
                   if sites is None or scope == "all"
                   or any((scope == "region" and region == site.region)
                          or (scope == "sites" and site.code in listed.split()) for site in sites)})


def admins(session: Session) -> list[int]:
    flagged = set(session.scalars(select(AppUser.id).where(AppUser.is_admin.is_(True),
                                                          AppUser.active.is_(True))))
    return sorted(flagged | set(holders(session, ADMIN_ROLE, None)))


def _sites(session: Session, inst: ApprovalInstance, scope: str) -> list[Location]:
    return scope_sites(session, inst.document_type, inst.document_number, scope)


def approvers_of(session: Session, inst: ApprovalInstance, step: Step) -> list[int]:
    who = step.approvers
    if who.kind == "user":
        return list(session.scalars(select(AppUser.id).where(AppUser.username == who.user,
                                                            AppUser.active.is_(True))))
    if who.kind == "manager":
        return holders(session, MANAGER_ROLE, _sites(session, inst, "all"))
    return holders(session, str(who.role), _sites(session, inst, who.scope))


def fallback(session: Session, inst: ApprovalInstance, step: Step) -> list[int]:
    """Who gets a step nobody can approve: its escalation role within the same scope, else the
    administrators."""
    if step.escalate_to:
        scope = step.approvers.scope if step.approvers.kind == "role" else "all"
        found = holders(session, step.escalate_to, _sites(session, inst, scope))
        if found:
            return found
    return admins(session)


def cc_of(session: Session, inst: ApprovalInstance, step: Step) -> list[int]:
    sites = _sites(session, inst, "all")
    return sorted({u for role in step.cc for u in holders(session, role, sites)})
