"""The web's calls into the audit log, in one place.

Every login, failed login, lock-out, account change and view or export of personal data
goes through these functions, which append to :mod:`fengyan.audit` in the caller's
transaction (the entry commits or rolls back with the change it records). Page and API
code calls :func:`record_view` / :func:`record_export`, never ``fengyan.audit`` directly,
so the wording of targets and details stays uniform.

Targets: ``user/<username>``, ``enterprise/<firm id>``, ``person/<id>``, ``batch/<id>``,
``export/<kind>``.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from fengyan.audit import append
from fengyan.audit.log import AuditItem
from fengyan.web.scope import Principal

MAX_ACTOR = 200
MAX_TARGET = 500


def _clip(text: str, limit: int) -> str:
    text = text.replace("\n", " ").replace("\r", " ") or "-"
    return text if len(text) <= limit else text[: limit - 1] + "…"


def record(
    db: Session,
    actor: str,
    action: str,
    target: str,
    detail: Mapping[str, object] | None = None,
) -> None:
    """Append one audit entry (action names: ``fengyan/audit/actions.yaml``)."""
    append(
        db,
        actor=_clip(actor, MAX_ACTOR),
        action=action,
        target=_clip(target, MAX_TARGET),
        detail=dict(detail or {}),
    )


def record_view(
    db: Session,
    principal: Principal,
    target: str,
    detail: Mapping[str, object] | None = None,
) -> None:
    """Record that ``principal`` was shown personal data of ``target``.

    Call it whenever a page or API response contains personal fields (masked or not); the
    action says which: ``personal.unmask`` for roles that see data unmasked, else
    ``personal.view``.
    """
    action = "personal.unmask" if principal.masking == "none" else "personal.view"
    record(db, principal.username, action, target, {"role": principal.role, **(detail or {})})


def record_view_committed(
    engine: Engine,
    principal: Principal,
    target: str,
    detail: Mapping[str, object] | None = None,
) -> int:
    """:func:`record_view` for reads that change nothing else, committed before returning.

    The entry goes through the process's group-commit writer
    (:mod:`fengyan.web.audit_writer`): concurrent views share one transaction instead of
    queueing on the log's counter one commit at a time. Returns the entry's sequence number;
    raises if it could not be written (the caller must then not show the data).
    """
    from fengyan.web.audit_writer import audit_writer

    action = "personal.unmask" if principal.masking == "none" else "personal.view"
    item = AuditItem(
        _clip(principal.username, MAX_ACTOR),
        action,
        _clip(target, MAX_TARGET),
        {"role": principal.role, **(detail or {})},
    )
    return audit_writer(engine).write(item)


def record_export(
    db: Session,
    principal: Principal,
    target: str,
    detail: Mapping[str, object] | None = None,
    *,
    personal: bool,
) -> None:
    """Record an export (``personal.export`` when it holds personal data, else ``data.export``)."""
    action = "personal.export" if personal else "data.export"
    record(db, principal.username, action, target, {"role": principal.role, **(detail or {})})
