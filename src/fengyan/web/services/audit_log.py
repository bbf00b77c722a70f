"""The audit pages' data: search within the auditor's jurisdiction, one entry, its proof, verify.

Read-only over :mod:`fengyan.audit` (the page and the API have no way to change an entry:
no route writes to ``audit_entry`` except :func:`record_use`, which appends).

**Jurisdiction.** An entry carries no region; it names an object (``target``) and who
acted (``actor``). Its region is resolved from the current tables, in SQL:

1. the target's region when the target is an object that has one — ``user/<name>`` (the
   account's scope), ``enterprise/<firm id>`` (the published firm's region code),
   ``case/<id>`` (the case's region code);
2. otherwise (``search/person``, ``batch/…``, evidence records, the audit pages' own
   entries …) the acting account's scope;
3. otherwise (system jobs, command-line actions, unknown names) no region: such entries
   are shown to province-level auditors only.

An auditor sees an entry when its region lies inside their scope — the same prefix rule as
everything else (``web/scope.py``). A district auditor therefore sees what happened to the
district's accounts, firms and cases, and what the district's own users did elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Engine,
    String,
    and_,
    cast,
    false,
    func,
    literal,
    not_,
    or_,
    select,
)
from sqlalchemy.orm import Session

from fengyan.audit import (
    AuditEntry,
    AuditSettings,
    VerifyReport,
    inclusion_proof,
    load_actions,
    verify_log,
)
from fengyan.audit.canonical import canonical_detail, entry_bytes, time_text
from fengyan.audit.checkpoint import Checkpoint
from fengyan.audit.log import entry_from_row
from fengyan.audit.merkle import leaf_hash
from fengyan.audit.verify import signed_checkpoints
from fengyan.db.audit import AuditEntryRow
from fengyan.db.cases import Case
from fengyan.db.published import FirmScore
from fengyan.db.users import WebUser
from fengyan.web.audit_hook import record
from fengyan.web.errors import BadRequest, NotFound
from fengyan.web.scope import Principal, prefix_condition

PROVINCE_DIGITS = 2


@dataclass(frozen=True, slots=True)
class AuditQuery:
    """The filters of an audit search (all optional, all must hold).

    ``actor``, ``action`` and ``target`` match exactly, or by prefix when they end in
    ``*``; ``since`` is inclusive, ``until`` exclusive; ``personal`` keeps only actions
    that touch personal data.
    """

    actor: str | None = None
    action: str | None = None
    target: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    personal: bool = False

    def check(self) -> None:
        """``BadRequest`` for an action not in the catalogue or a NUL in a text filter."""
        for value in (self.actor, self.action, self.target):
            if value is not None and "\x00" in value:
                raise BadRequest()
        if self.action and not self.action.endswith("*") and self.action not in load_actions():
            raise BadRequest("web_audit_bad_action")

    def as_detail(self) -> dict[str, object]:
        """The filters as they are written into the ``audit.search`` entry."""
        return {
            "actor": self.actor,
            "action": self.action,
            "target": self.target,
            "since": time_text(self.since) if self.since else None,
            "until": time_text(self.until) if self.until else None,
            "personal": self.personal,
        }


def _like(pattern: str) -> str:
    """LIKE pattern: a trailing ``*`` means "starts with"; other wildcards are literal."""
    escaped = pattern.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped[:-1] + "%" if escaped.endswith("*") else escaped


def _filters(query: AuditQuery) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    for column, value in (
        (AuditEntryRow.actor, query.actor),
        (AuditEntryRow.action, query.action),
        (AuditEntryRow.target, query.target),
    ):
        if not value:
            continue
        if value.endswith("*"):
            where.append(column.like(_like(value), escape="\\"))
        else:
            where.append(column == value)
    # Stored times are fixed-width canonical text, so text order is time order.
    if query.since is not None:
        where.append(AuditEntryRow.at >= time_text(query.since))
    if query.until is not None:
        where.append(AuditEntryRow.at < time_text(query.until))
    if query.personal:
        names = [a.name for a in load_actions().values() if a.personal_data]
        where.append(AuditEntryRow.action.in_(names))
    return where


def visible(principal: Principal) -> ColumnElement[bool]:
    """The SQL condition: the entry's region (module docstring) lies in the scope.

    Each sub-select is evaluated once (``IN (SELECT …)``), and the ``target`` / ``actor``
    indexes of ``audit_entry`` serve the lookups.
    """
    prefix = principal.scope
    if not prefix:
        return false()
    target, actor = AuditEntryRow.target, AuditEntryRow.actor
    user_target = literal("user/", String) + WebUser.username
    firm_target = literal("enterprise/", String) + FirmScore.firm_id
    case_target = literal("case/", String) + cast(Case.id, String)
    inside = or_(
        target.in_(select(user_target).where(prefix_condition(WebUser.scope, prefix))),
        target.in_(select(firm_target).where(prefix_condition(FirmScore.region_code, prefix))),
        target.in_(select(case_target).where(prefix_condition(Case.region_code, prefix))),
    )
    # Targets naming an object with a region of its own are judged by it alone.
    has_region = or_(
        target.in_(select(user_target)),
        target.in_(select(firm_target)),
        target.in_(select(case_target)),
    )
    by_actor: ColumnElement[bool] = actor.in_(
        select(WebUser.username).where(prefix_condition(WebUser.scope, prefix))
    )
    if len(prefix) == PROVINCE_DIGITS:
        by_actor = or_(by_actor, actor.not_in(select(WebUser.username)))
    return or_(inside, and_(not_(has_region), by_actor))


def search_entries(
    db: Session, principal: Principal, query: AuditQuery, limit: int, offset: int
) -> tuple[int, list[AuditEntry]]:
    """Entries matching ``query`` inside the principal's jurisdiction, newest first, and
    how many match in all."""
    query.check()
    where = [visible(principal), *_filters(query)]
    total = db.scalar(select(func.count()).select_from(AuditEntryRow).where(*where))
    rows = db.scalars(
        select(AuditEntryRow).where(*where).order_by(AuditEntryRow.seq.desc())
        .limit(limit).offset(offset)
    ).all()  # fmt: skip
    return int(total or 0), [entry_from_row(r) for r in rows]


def get_visible_entry(db: Session, principal: Principal, seq: int) -> AuditEntry:
    """Entry ``seq``; ``NotFound`` when it does not exist or lies outside the scope."""
    row = db.scalars(
        select(AuditEntryRow).where(AuditEntryRow.seq == seq, visible(principal))
    ).first()
    if row is None:
        raise NotFound()
    return entry_from_row(row)


def canonical_bytes(entry: AuditEntry) -> bytes:
    """The entry's canonical JSON bytes, the leaf of the Merkle tree (docs/audit.md)."""
    return entry_bytes(
        entry.seq, time_text(entry.at), entry.actor, entry.action, entry.target,
        canonical_detail(entry.detail),
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class ProofView:
    """An entry's inclusion proof and what the server found when checking it.

    ``status``: ``ok`` (the recomputed leaf is on the path to a signed checkpoint's root),
    ``failed`` (it is not), ``unsigned`` (no signed checkpoint covers the entry yet; the
    proof is against the current tree, which nothing vouches for).
    """

    status: str
    proof: dict[str, Any]
    checkpoint: dict[str, Any] | None
    leaf_matches: bool

    def to_json(self) -> dict[str, Any]:
        """The API form."""
        return {
            "status": self.status,
            "leaf_matches": self.leaf_matches,
            "proof": self.proof,
            "checkpoint": self.checkpoint,
        }


def _checkpoint_json(source: str, cp: Checkpoint) -> dict[str, Any]:
    return {
        "source": source.rsplit("/", 1)[-1],
        "tree_size": cp.tree_size,
        "root_hash": cp.root_hash.hex(),
        "time": cp.at,
        "key_id": cp.key_id,
    }


def prove_entry(engine: Engine, settings: AuditSettings, entry: AuditEntry) -> ProofView:
    """The inclusion proof of ``entry`` against the newest signed checkpoint covering it,
    checked here: the leaf is recomputed from the entry's columns, not taken as stored."""
    recomputed = leaf_hash(canonical_bytes(entry))
    covering = [(s, cp) for s, cp in signed_checkpoints(engine, settings)
                if cp.tree_size >= entry.seq]  # fmt: skip
    if not covering:
        proof = inclusion_proof(engine, entry.seq)
        good = recomputed == proof.leaf_hash and proof.verify()
        return ProofView(
            "unsigned" if good else "failed", proof.to_json(), None, recomputed == entry.leaf_hash
        )
    source, cp = covering[-1]  # sorted by size: the newest covering checkpoint
    proof = inclusion_proof(engine, entry.seq, cp.tree_size)
    good = recomputed == proof.leaf_hash and proof.verify(cp.root_hash)
    return ProofView(
        "ok" if good else "failed",
        proof.to_json(),
        _checkpoint_json(source, cp),
        recomputed == entry.leaf_hash,
    )


def run_verify(engine: Engine, settings: AuditSettings) -> VerifyReport:
    """``fengyan audit verify`` over the whole log (seconds per million entries)."""
    return verify_log(engine, settings)


def entry_json(entry: AuditEntry, lang: str) -> dict[str, Any]:
    """One entry for the API (UTC canonical time; the action's label in ``lang``)."""
    known = load_actions().get(entry.action)
    return {
        "seq": entry.seq,
        "time": time_text(entry.at),
        "actor": entry.actor,
        "action": entry.action,
        "action_label": known.label(lang) if known else entry.action,
        "personal_data": bool(known and known.personal_data),
        "target": entry.target,
        "detail": entry.detail,
        "leaf_hash": entry.leaf_hash.hex(),
    }


def record_use(
    engine: Engine, principal: Principal, action: str, target: str, detail: dict[str, object]
) -> None:
    """Append the auditor's own use of the log (``audit.search``, ``audit.view``,
    ``audit.verify``) in a short transaction of its own, after the read it records."""
    with Session(engine) as db, db.begin():
        record(db, principal.username, action, target, {"role": principal.role, **detail})
