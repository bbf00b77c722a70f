"""Cases (核查处置): the case file, its tasks, timeline, attachments, leads and outcomes.

Written only through the ``do_*`` actions of :mod:`fengyan.workflow`, each of which writes
its change, a timeline event and an audit entry in one transaction. History is never
overwritten: tasks, events, leads and outcomes are ledgers (a superseded outcome is
retired, not deleted); the case row carries the current state and a ``version`` for
optimistic locking.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from fengyan.db.models import Base
from fengyan.db.types import UTCDateTime


class Case(Base):
    """One case: a firm under verification and disposal."""

    __tablename__ = "case_file"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    # Random, global: names the case in lead packages sent outside this deployment.
    uid: Mapped[str] = mapped_column(String(32), nullable=False, unique=True)
    # warning | tip | inspection | manual | lead
    source: Mapped[str] = mapped_column(String(16), nullable=False)
    source_ref: Mapped[str | None] = mapped_column(String(200))
    firm_id: Mapped[str] = mapped_column(String(200), nullable=False)
    firm_name: Mapped[str | None] = mapped_column(String(300))
    credit_code: Mapped[str | None] = mapped_column(String(18))
    # The firm's region (2–12 digits); the case's jurisdiction.
    region_code: Mapped[str] = mapped_column(String(12), nullable=False)
    category: Mapped[str | None] = mapped_column(String(64))
    grade: Mapped[str | None] = mapped_column(String(8))
    model: Mapped[str | None] = mapped_column(String(32))
    score: Mapped[float | None] = mapped_column(Float)
    # JSON copied at opening: score, dimensions, top contributors and their evidence keys.
    evidence: Mapped[str] = mapped_column(Text, nullable=False)
    state: Mapped[str] = mapped_column(String(16), nullable=False)
    mode: Mapped[str | None] = mapped_column(String(16))
    disposal: Mapped[str | None] = mapped_column(String(32))
    determination: Mapped[str | None] = mapped_column(String(32))
    # The unit holding the task now (a scope prefix) and, optionally, the person in it.
    holder_scope: Mapped[str] = mapped_column(String(12), nullable=False)
    assignee: Mapped[str | None] = mapped_column(String(64))
    # JSON item id → {"done": bool, "note": str, "by": user, "at": iso time}.
    checklist: Mapped[str] = mapped_column(Text, nullable=False, default="{}")
    # JSON: the latest value of every field a transition collected (history in events).
    fields: Mapped[str] = mapped_column(Text, nullable=False, default="{}")
    opened_by: Mapped[str] = mapped_column(String(200), nullable=False)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reopened: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    version: Mapped[int] = mapped_column(Integer, nullable=False)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 - SQLAlchemy's declared form
    __table_args__ = (
        Index("ix_case_file_region", "region_code"),
        Index("ix_case_file_holder", "holder_scope", "state"),
        Index("ix_case_file_firm", "firm_id", "state"),
        Index("ix_case_file_state", "state", "due_at"),
    )


class CaseTask(Base):
    """A unit's (and optionally a person's) turn at a case; one open task per case."""

    __tablename__ = "case_task"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("case_file.id", ondelete="RESTRICT"), nullable=False
    )
    scope: Mapped[str] = mapped_column(String(12), nullable=False)
    assignee: Mapped[str | None] = mapped_column(String(64))
    assigned_by: Mapped[str] = mapped_column(String(200), nullable=False)
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # open | delegated | reassigned | taken_back | returned | closed
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ended_by: Mapped[str | None] = mapped_column(String(200))
    # Where an overdue task has been escalated to (督办), when, and how many times.
    escalated_to: Mapped[str | None] = mapped_column(String(12))
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    escalations: Mapped[int] = mapped_column(Integer, nullable=False, default=0)

    __table_args__ = (
        Index("ix_case_task_case", "case_id"),
        Index("ix_case_task_scope", "scope", "status"),
        Index("ix_case_task_due", "status", "due_at"),
        Index(
            "ux_case_task_open",
            "case_id",
            unique=True,
            sqlite_where=text("status = 'open'"),
            postgresql_where=text("status = 'open'"),
        ),
    )


class CaseEvent(Base):
    """The case timeline: one row per action, each tied to its audit entry."""

    __tablename__ = "case_event"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("case_file.id", ondelete="RESTRICT"), nullable=False
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    actor: Mapped[str] = mapped_column(String(200), nullable=False)
    # open | assign | reassign | take_back | transition | escalate | comment | attach |
    # checklist | lead_transfer | lead_receipt | lead_feedback | outcome | outcome_retire
    kind: Mapped[str] = mapped_column(String(24), nullable=False)
    from_state: Mapped[str | None] = mapped_column(String(16))
    to_state: Mapped[str | None] = mapped_column(String(16))
    detail: Mapped[str] = mapped_column(Text, nullable=False, default="{}")
    # The audit log entry written in the same transaction (fengyan.audit).
    audit_seq: Mapped[int] = mapped_column(BigInteger, nullable=False)

    __table_args__ = (
        Index("ix_case_event_case", "case_id", "id"),
        Index("ix_case_event_audit", "audit_seq"),
    )


class CaseAttachment(Base):
    """A file attached to a case; the bytes live content-addressed by their SHA-256."""

    __tablename__ = "case_attachment"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("case_file.id", ondelete="RESTRICT"), nullable=False
    )
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    size: Mapped[int] = mapped_column(BigInteger, nullable=False)
    media_type: Mapped[str] = mapped_column(String(100), nullable=False)
    # As the uploader named it: shown, never used as a path.
    file_name: Mapped[str] = mapped_column(String(200), nullable=False)
    uploaded_by: Mapped[str] = mapped_column(String(200), nullable=False)
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)

    __table_args__ = (UniqueConstraint("case_id", "sha256", name="uq_case_attachment_sha"),)


class CaseLead(Base):
    """A lead handed to the police or another region (out), or received from one (in)."""

    __tablename__ = "case_lead"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    uid: Mapped[str] = mapped_column(String(32), nullable=False, unique=True)
    case_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("case_file.id", ondelete="RESTRICT"), nullable=False
    )
    direction: Mapped[str] = mapped_column(String(4), nullable=False)  # out | in
    kind: Mapped[str] = mapped_column(String(8), nullable=False)  # police | region
    target_region: Mapped[str | None] = mapped_column(String(12))
    target_agency: Mapped[str | None] = mapped_column(String(200))
    # Inside this deployment: the case opened for the receiving region.
    internal: Mapped[bool] = mapped_column(Boolean, nullable=False)
    peer_case_id: Mapped[int | None] = mapped_column(Integer)
    # Where an incoming lead came from (the sender's origin and case uid).
    origin: Mapped[str | None] = mapped_column(String(200))
    peer_case_uid: Mapped[str | None] = mapped_column(String(32))
    package_sha256: Mapped[str | None] = mapped_column(String(64))
    key_id: Mapped[str | None] = mapped_column(String(32))
    note: Mapped[str | None] = mapped_column(Text)
    # sent | received | answered (out); received (in)
    status: Mapped[str] = mapped_column(String(12), nullable=False)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    sent_by: Mapped[str] = mapped_column(String(200), nullable=False)
    receipt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    receipt_ref: Mapped[str | None] = mapped_column(String(200))
    feedback_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    feedback: Mapped[str | None] = mapped_column(Text)
    feedback_outcome: Mapped[str | None] = mapped_column(String(32))

    __table_args__ = (
        Index("ix_case_lead_case", "case_id"),
        Index("ix_case_lead_direction", "direction", "kind", "status"),
    )


class CaseOutcome(Base):
    """An outcome label of a firm, with the date it became known (what learning trains on).

    Append-only: a correction retires the row (``retired_at``) and adds a new one.
    """

    __tablename__ = "case_outcome"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("case_file.id", ondelete="RESTRICT"), nullable=False
    )
    firm_id: Mapped[str] = mapped_column(String(200), nullable=False)
    # confirmed_ifr | police_case | clearance (workflow/case_states.yaml `outcomes`)
    outcome: Mapped[str] = mapped_column(String(32), nullable=False)
    known_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    # close | lead_feedback | manual
    source: Mapped[str] = mapped_column(String(16), nullable=False)
    note: Mapped[str | None] = mapped_column(Text)
    recorded_by: Mapped[str] = mapped_column(String(200), nullable=False)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    retired_by: Mapped[str | None] = mapped_column(String(200))

    __table_args__ = (
        Index("ix_case_outcome_firm", "firm_id", "outcome"),
        Index("ix_case_outcome_case", "case_id"),
        Index("ix_case_outcome_known", "known_at"),
    )


class IdempotencyRecord(Base):
    """The first result of an action sent with an ``Idempotency-Key``, per user."""

    __tablename__ = "workflow_idempotency"

    actor: Mapped[str] = mapped_column(String(200), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    action: Mapped[str] = mapped_column(String(64), nullable=False)
    # SHA-256 of the canonical request: the same key with another request is refused.
    request_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    result: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
