"""Workflow errors: one message code each, mapped to an HTTP status by the web layer.

They subclass :mod:`fengyan.web.errors` so that the web app turns them into 404/403/409/
413/422 answers without a mapping of its own; the CLI prints ``message()``.
"""

from __future__ import annotations

from typing import Any

from fengyan.i18n import t
from fengyan.web.errors import Conflict, Forbidden, NotFound, PayloadTooLarge, Unprocessable


class WorkflowConfigError(ValueError):
    """A workflow data file is malformed; the message names the file and the entry."""

    def __init__(self, file: str, entry: str, problem: str) -> None:
        self.file, self.entry, self.problem = file, entry, problem
        super().__init__(t("workflow_config_bad", "en", file=file, entry=entry, problem=problem))


class CaseNotFound(NotFound):
    """No such case, or one outside the actor's scope (the same answer on purpose)."""

    default_code = "workflow_case_not_found"


class ActionForbidden(Forbidden):
    """The actor's role or level may not do this to a case it can see."""

    default_code = "workflow_forbidden"


class CaseConflict(Conflict):
    """Someone changed the case since the actor read it (optimistic lock)."""

    default_code = "workflow_conflict"


class IdempotencyMismatch(Conflict):
    """An idempotency key reused for a different request."""

    default_code = "workflow_idempotency_mismatch"


class InvalidAction(Unprocessable):
    """The action is not possible in the case's state, or something it needs is missing."""

    default_code = "workflow_invalid"


class AttachmentRejected(Unprocessable):
    """A file of a type not accepted, empty, or otherwise unusable."""

    default_code = "workflow_attachment_rejected"


class AttachmentTooLarge(PayloadTooLarge):
    """A file above the size limit."""

    default_code = "workflow_attachment_too_large"


class LeadPackageError(Unprocessable):
    """A lead package that cannot be read or does not verify."""

    default_code = "workflow_lead_bad"


def invalid(code: str, **params: Any) -> InvalidAction:
    """An :class:`InvalidAction` with message ``code``."""
    return InvalidAction(code, **params)
