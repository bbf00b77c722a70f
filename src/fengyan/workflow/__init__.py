"""Verification and disposal (核查处置): cases, the five-level task flow, lead transfer,
outcome labels — the service layer the web pages, the API and the CLI call.

Every function takes ``(session, principal, …)``; ``do_*`` functions change state and write
their timeline event and audit entry in the caller's transaction (commit is the
caller's); read functions filter by the principal's scope. See docs/workflow.md.
"""

from fengyan.workflow.access import Principal, system_principal
from fengyan.workflow.actions import (
    do_add_attachment,
    do_add_comment,
    do_transition_case,
    do_update_checklist,
    record_case_view,
)
from fengyan.workflow.attachments import AttachmentStore
from fengyan.workflow.consistency import check_consistency
from fengyan.workflow.core import ActionResult
from fengyan.workflow.errors import (
    ActionForbidden,
    AttachmentRejected,
    AttachmentTooLarge,
    CaseConflict,
    CaseNotFound,
    IdempotencyMismatch,
    InvalidAction,
    LeadPackageError,
    WorkflowConfigError,
)
from fengyan.workflow.leads import (
    LeadKeys,
    do_import_lead,
    do_record_lead_feedback,
    do_record_lead_receipt,
    do_transfer_lead,
    export_lead_package,
    lake_evidence_loader,
)
from fengyan.workflow.machine import Machine, load_machine
from fengyan.workflow.opening import OpenReport, do_open_case, open_cases_for_new_red
from fengyan.workflow.outcomes import (
    OutcomeLabel,
    do_record_outcome,
    do_retire_outcome,
    outcome_labels,
)
from fengyan.workflow.package import PackageReport, verify_package
from fengyan.workflow.queries import (
    CaseDetail,
    CaseSummary,
    Page,
    TeamBoard,
    get_case,
    list_cases,
    my_tasks,
    team_board,
)
from fengyan.workflow.stats import CaseStatistics, case_statistics
from fengyan.workflow.tasks import Escalation, do_assign_case, do_take_back_case, escalate_overdue

__all__ = [
    "ActionForbidden",
    "ActionResult",
    "AttachmentRejected",
    "AttachmentStore",
    "AttachmentTooLarge",
    "CaseConflict",
    "CaseDetail",
    "CaseNotFound",
    "CaseStatistics",
    "CaseSummary",
    "Escalation",
    "IdempotencyMismatch",
    "InvalidAction",
    "LeadKeys",
    "LeadPackageError",
    "Machine",
    "OpenReport",
    "OutcomeLabel",
    "PackageReport",
    "Page",
    "Principal",
    "TeamBoard",
    "WorkflowConfigError",
    "case_statistics",
    "check_consistency",
    "do_add_attachment",
    "do_add_comment",
    "do_assign_case",
    "do_import_lead",
    "do_open_case",
    "do_record_lead_feedback",
    "do_record_lead_receipt",
    "do_record_outcome",
    "do_retire_outcome",
    "do_take_back_case",
    "do_transfer_lead",
    "do_transition_case",
    "do_update_checklist",
    "escalate_overdue",
    "export_lead_package",
    "get_case",
    "lake_evidence_loader",
    "list_cases",
    "load_machine",
    "my_tasks",
    "open_cases_for_new_red",
    "outcome_labels",
    "record_case_view",
    "system_principal",
    "team_board",
    "verify_package",
]
