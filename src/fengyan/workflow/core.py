"""What every ``do_*`` action shares: loading a case for change, the optimistic lock,
writing the timeline event with its audit entry, and idempotency keys.

The order inside an action is fixed — change the case, flush (the version check),
append the audit entry, insert the event — so that on PostgreSQL a concurrent writer of
the same case waits on the case row and then fails the version check, and the one-row
audit counter is always taken last (no lock cycles between actions).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from fengyan.clock import now
from fengyan.db.cases import Case, CaseEvent, IdempotencyRecord
from fengyan.web.scope import Principal
from fengyan.workflow.access import require_visible
from fengyan.workflow.audit import record
from fengyan.workflow.config import load_settings
from fengyan.workflow.errors import CaseConflict, IdempotencyMismatch, invalid


@dataclass(frozen=True, slots=True)
class ActionResult:
    """What an action did: the case, its new version, the event and audit entry written.

    A retry with the same ``Idempotency-Key`` returns the first result with ``replayed``.
    """

    case_id: int
    version: int
    event_id: int | None
    audit_seq: int
    detail: dict[str, Any] = field(default_factory=dict)
    replayed: bool = False

    def to_json(self) -> dict[str, Any]:
        """A JSON-able form (for the API and the idempotency store)."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any], replayed: bool = False) -> ActionResult:
        """Rebuild a stored result."""
        return cls(
            int(data["case_id"]),
            int(data["version"]),
            None if data["event_id"] is None else int(data["event_id"]),
            int(data["audit_seq"]),
            dict(data["detail"]),
            replayed,
        )


def dumps(value: Any) -> str:
    """Canonical JSON text for the JSON columns."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def loads(text: str | None) -> Any:
    """Parse a JSON column."""
    return json.loads(text) if text else {}


def target(case_id: int) -> str:
    """The audit target naming a case."""
    return f"case/{case_id}"


def load_case(session: Session, principal: Principal, case_id: int) -> Case:
    """The case, if the principal can see it (else ``CaseNotFound``)."""
    return require_visible(principal, session.get(Case, case_id), case_id)


def load_for_change(
    session: Session, principal: Principal, case_id: int, expected_version: int | None
) -> Case:
    """The visible case, checked against the version the actor last saw."""
    case = load_case(session, principal, case_id)
    if expected_version is not None and case.version != expected_version:
        raise CaseConflict(case_id=case_id, expected=expected_version, current=case.version)
    return case


def flush_case(session: Session, case_id: int) -> None:
    """Flush pending changes; a lost optimistic-lock race becomes ``CaseConflict``."""
    try:
        session.flush()
    except StaleDataError:
        raise CaseConflict("workflow_conflict_race", case_id=case_id) from None
    except OperationalError as exc:
        # SQLite refuses to upgrade a read snapshot another writer has overtaken
        # (SQLITE_BUSY_SNAPSHOT): the same situation as a stale version.
        if "locked" in str(exc.orig):
            raise CaseConflict("workflow_conflict_race", case_id=case_id) from None
        raise


def touch(case: Case, moment: datetime) -> None:
    """Mark the case changed, so that its version moves and concurrent writers conflict."""
    case.updated_at = moment


def write_event(
    session: Session,
    principal: Principal,
    case: Case,
    kind: str,
    action: str,
    detail: Mapping[str, Any],
    *,
    from_state: str | None = None,
    to_state: str | None = None,
    moment: datetime | None = None,
) -> ActionResult:
    """Flush the case, append the audit entry, add the timeline event; one transaction."""
    flush_case(session, case.id)
    audit_detail = {"kind": kind, **detail}
    if from_state is not None or to_state is not None:
        audit_detail.update({"from": from_state, "to": to_state})
    seq = record(session, principal.username, action, target(case.id), audit_detail)
    event = CaseEvent(
        case_id=case.id,
        at=moment or now(),
        actor=principal.username,
        kind=kind,
        from_state=from_state,
        to_state=to_state,
        detail=dumps(dict(detail)),
        audit_seq=seq,
    )
    session.add(event)
    flush_case(session, case.id)
    return ActionResult(case.id, case.version, event.id, seq, dict(detail))


def _guarded(apply: Callable[[], ActionResult], request: Mapping[str, Any]) -> ActionResult:
    """Run an action; a lost optimistic-lock race anywhere in it (autoflush included) is
    a ``CaseConflict``."""
    try:
        return apply()
    except StaleDataError:
        raise CaseConflict("workflow_conflict_race", case_id=request.get("case_id")) from None


def idempotent(
    session: Session,
    principal: Principal,
    key: str | None,
    action: str,
    request: Mapping[str, Any],
    apply: Callable[[], ActionResult],
) -> ActionResult:
    """Run ``apply`` once per (user, ``key``); a retry returns the first result.

    The key row is written in the action's transaction: if the action rolls back, so does
    the key, and a retry runs it again. Two concurrent first attempts cannot both commit
    (primary key); the loser gets ``CaseConflict`` and its retry replays the winner.
    """
    if key is None:
        return _guarded(apply, request)
    limit = load_settings().idempotency_key_max_chars
    if not key or len(key) > limit or not key.isascii() or not key.isprintable():
        raise invalid("workflow_bad_idempotency_key", limit=limit)
    digest = hashlib.sha256(dumps({"action": action, "request": request}).encode()).hexdigest()
    stored = session.get(IdempotencyRecord, (principal.username, key))
    if stored is not None:
        if stored.request_hash != digest or stored.action != action:
            raise IdempotencyMismatch(key=key)
        return ActionResult.from_json(json.loads(stored.result), replayed=True)
    result = _guarded(apply, request)
    session.add(
        IdempotencyRecord(
            actor=principal.username,
            key=key,
            action=action,
            request_hash=digest,
            result=dumps(result.to_json()),
            created_at=now(),
        )
    )
    try:
        session.flush()
    except IntegrityError:
        raise CaseConflict("workflow_idempotency_in_flight", key=key) from None
    return result
