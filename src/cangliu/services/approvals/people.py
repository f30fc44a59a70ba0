"""Who approves: holders of a role whose assignment covers the document's site, a named user,
the submitter's manager (the inventory director: there is no manager hierarchy yet), or,
when nobody can, the step's escalation role and then the administrators."""


from sqlalchemy import select
from sqlalchemy.orm import Session

from cangliu.core.approvals import Step
from cangliu.db.models import ApprovalInstance, AppUser, Location, Role, RoleAssignment
from cangliu.services.approvals.documents import ADMIN_ROLE, MANAGER_ROLE, scope_site


def holders(session: Session, role: str, site: Location | None) -> list[int]:
    """Active users holding ``role`` through an assignment covering ``site`` (None: any)."""
    rows = session.execute(
        select(RoleAssignment.user_id, RoleAssignment.scope, RoleAssignment.region,
               RoleAssignment.sites)
        .join(Role, Role.id == RoleAssignment.role_id)
        .join(AppUser, AppUser.id == RoleAssignment.user_id)
        .where(Role.code == role, AppUser.active.is_(True)))
    return sorted({uid for uid, scope, region, sites in rows
                   if site is None or scope == "all"
                   or (scope == "region" and region == site.region)
                   or (scope == "sites" and site.code in sites.split())})


def admins(session: Session) -> list[int]:
    flagged = set(session.scalars(select(AppUser.id).where(AppUser.is_admin.is_(True),
                                                          AppUser.active.is_(True))))
    return sorted(flagged | set(holders(session, ADMIN_ROLE, None)))


def approvers_of(session: Session, inst: ApprovalInstance, step: Step) -> list[int]:
    who = step.approvers
    if who.kind == "user":
        return list(session.scalars(select(AppUser.id).where(AppUser.username == who.user,
                                                            AppUser.active.is_(True))))
    if who.kind == "manager":
        return holders(session, MANAGER_ROLE, None)
    site = scope_site(session, inst.document_type, inst.document_number, who.scope)
    return holders(session, str(who.role), site)


def fallback(session: Session, inst: ApprovalInstance, step: Step) -> list[int]:
    """Who gets a step nobody can approve: its escalation role within the same scope, else the
    administrators."""
    if step.escalate_to:
        site = scope_site(session, inst.document_type, inst.document_number,
                           step.approvers.scope if step.approvers.kind == "role" else "all")
        found = holders(session, step.escalate_to, site)
        if found:
            return found
    return admins(session)


def cc_of(session: Session, step: Step) -> list[int]:
    return sorted({u for role in step.cc for u in holders(session, role, None)})
