"""The approval engine: an instance per submitted document version walks its policy's steps,
one task per approver; decisions, delegation, added approvers and timeouts move it on."""

from cangliu.services.approvals.documents import (
    DOCUMENTS,
    ApprovalRefused,
    DecisionIn,
    editable,
    fields_of,
    settle,
    unit_costs,
)
from cangliu.services.approvals.engine import cancel_running, decide, restart, start
from cangliu.services.approvals.metrics import approval_metrics
from cangliu.services.approvals.policies import active_policy, policy_yaml, save_policy
from cangliu.services.approvals.reading import get_approval, list_approvals
from cangliu.services.approvals.timeouts import sweep_timeouts

__all__ = [
    "DOCUMENTS",
    "ApprovalRefused",
    "DecisionIn",
    "active_policy",
    "approval_metrics",
    "cancel_running",
    "decide",
    "editable",
    "fields_of",
    "get_approval",
    "list_approvals",
    "policy_yaml",
    "restart",
    "save_policy",
    "settle",
    "start",
    "sweep_timeouts",
    "unit_costs",
]
