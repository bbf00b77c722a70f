"""Appending to the audit log, reading it back, and proofs over it.

:func:`append` is what every other part calls, inside its own transaction, next to the
change it records (zulip's ``do_*`` actions write the change and its audit row together):

    with Session(engine) as session, session.begin():
        case.state = "研判"
        append(session, actor=user.name, action="case.transition", target=f"case/{case.id}",
               detail={"from": "核查中", "to": "研判"})

If the transaction rolls back, the entry and its sequence number go with it, so sequence
numbers stay gap-free. Sequence numbers come from the one-row ``audit_head`` counter,
bumped with ``UPDATE … RETURNING`` as the first statement of the append: PostgreSQL holds
the row lock until commit (concurrent appends queue behind it and then read the new
value), SQLite's writer lock serialises writers anyway.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

import orjson
from sqlalchemy import Connection, Engine, Select, func, insert, select, text
from sqlalchemy.orm import Session

from fengyan.audit.canonical import (
    canonical_detail,
    entry_bytes,
    parse_time,
    row_leaf_hashes,
    time_text,
)
from fengyan.audit.catalogue import get_action, load_actions
from fengyan.audit.errors import AuditError
from fengyan.audit.merkle import MerkleTree, leaf_hash, verify_consistency, verify_inclusion
from fengyan.clock import now
from fengyan.db.audit import AuditCheckpointRow, AuditEntryRow

MAX_ACTOR = 200
MAX_TARGET = 500
_COLUMNS = "seq, at, actor, action, target, detail, leaf_hash"
_BUMP = text("UPDATE audit_head SET size = size + :n WHERE id = 1 RETURNING size")


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """An entry of the audit log as callers see it."""

    seq: int
    at: datetime
    actor: str
    action: str
    target: str
    detail: dict[str, Any]
    leaf_hash: bytes

    @property
    def index(self) -> int:
        """The entry's leaf index in the Merkle tree (``seq - 1``)."""
        return self.seq - 1


class AuditItem(NamedTuple):
    """An entry to append in bulk with :func:`append_many`."""

    actor: str
    action: str
    target: str
    detail: Mapping[str, object]


def _connection(db: Session | Connection) -> Connection:
    # A Session hands out the connection of its current transaction (beginning one if
    # needed), so the entry commits or rolls back with the caller's own changes.
    return db.connection() if isinstance(db, Session) else db


def _check_item(actor: str, action: str, target: str) -> None:
    get_action(action)
    if not actor or len(actor) > MAX_ACTOR:
        raise AuditError("audit_bad_field", field="actor", value=actor, limit=MAX_ACTOR)
    if not target or len(target) > MAX_TARGET:
        raise AuditError("audit_bad_field", field="target", value=target, limit=MAX_TARGET)


def _bump(conn: Connection, n: int) -> int:
    """Reserve ``n`` sequence numbers; returns the last one (the first is this − n + 1)."""
    last = conn.execute(_BUMP, {"n": n}).scalar()
    if last is None:
        raise AuditError("audit_head_missing")
    return int(last)


def append(
    db: Session | Connection,
    *,
    actor: str,
    action: str,
    target: str,
    detail: Mapping[str, object] | None = None,
) -> AuditEntry:
    """Append one entry in the caller's transaction and return it (with its ``seq``).

    ``actor`` is who acted (a user name, or ``system:<job>``), ``action`` a name from
    ``audit/actions.yaml``, ``target`` what was acted on (``case/123``, ``user/li.na``,
    ``enterprise/<credit code>``), ``detail`` a JSON-able mapping (no NaN, string keys).
    Commit is the caller's: nothing is visible, and no number is used, until it commits.
    """
    _check_item(actor, action, target)
    detail_text = canonical_detail(detail or {})
    conn = _connection(db)
    seq = _bump(conn, 1)
    # The time is taken after the counter lock, so seq order and time order agree.
    at = time_text(now())
    digest = leaf_hash(entry_bytes(seq, at, actor, action, target, detail_text))
    conn.execute(
        insert(AuditEntryRow),
        [dict(seq=seq, at=at, actor=actor, action=action, target=target,
              detail=detail_text, leaf_hash=digest)],
    )  # fmt: skip
    return AuditEntry(seq, parse_time(at), actor, action, target, orjson.loads(detail_text), digest)


def append_many(db: Session | Connection, items: Iterable[AuditItem], batch: int = 50_000) -> int:
    """Append many entries (imports, benchmarks) with one counter bump; returns the last seq.

    All entries get the same time. Every item is validated before anything is written.
    """
    rows = []
    for item in items:
        _check_item(item.actor, item.action, item.target)
        rows.append((item.actor, item.action, item.target, canonical_detail(item.detail)))
    if not rows:
        return tree_size(db)
    conn = _connection(db)
    last = _bump(conn, len(rows))
    first = last - len(rows) + 1
    at = time_text(now())
    # The driver's executemany on plain tuples: a million entries without a million dicts.
    marks = ", ".join(["?" if conn.dialect.paramstyle == "qmark" else "%s"] * 7)
    sql = f"INSERT INTO audit_entry ({_COLUMNS}) VALUES ({marks})"  # noqa: S608
    for start in range(0, len(rows), batch):
        chunk = [
            (seq, at, actor, action, target, detail)
            for seq, (actor, action, target, detail) in enumerate(
                rows[start : start + batch], first + start
            )
        ]
        hashes = row_leaf_hashes(chunk)
        conn.exec_driver_sql(sql, [(*r, h) for r, h in zip(chunk, hashes, strict=True)])
    return last


def entry_from_row(row: AuditEntryRow) -> AuditEntry:
    """The :class:`AuditEntry` a stored ``audit_entry`` row holds."""
    return AuditEntry(
        row.seq,
        parse_time(row.at),
        row.actor,
        row.action,
        row.target,
        orjson.loads(row.detail),
        bytes(row.leaf_hash),
    )


def tree_size(db: Engine | Session | Connection) -> int:
    """Number of entries in the log table."""
    stmt = select(func.coalesce(func.max(AuditEntryRow.seq), 0))
    if isinstance(db, Engine):
        with db.connect() as conn:
            return int(conn.execute(stmt).scalar_one())
    return int(db.execute(stmt).scalar_one())


def get_entry(engine: Engine, seq: int) -> AuditEntry | None:
    """The entry with sequence number ``seq``, if any."""
    with Session(engine) as session:
        row = session.get(AuditEntryRow, seq)
        return entry_from_row(row) if row is not None else None


def _like(pattern: str) -> str:
    """A LIKE pattern where a trailing ``*`` means "starts with"; other wildcards are literal."""
    escaped = pattern.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped[:-1] + "%" if escaped.endswith("*") else escaped


def _filter(
    stmt: Select[Any],
    actor: str | None,
    action: str | None,
    target: str | None,
    since: datetime | None,
    until: datetime | None,
    personal_data: bool | None,
) -> Select[Any]:
    for column, value in (
        (AuditEntryRow.actor, actor),
        (AuditEntryRow.action, action),
        (AuditEntryRow.target, target),
    ):
        if value is None:
            continue
        if value.endswith("*"):
            stmt = stmt.where(column.like(_like(value), escape="\\"))
        else:
            stmt = stmt.where(column == value)
    if since is not None:
        stmt = stmt.where(AuditEntryRow.at >= time_text(since))
    if until is not None:
        stmt = stmt.where(AuditEntryRow.at < time_text(until))
    if personal_data is not None:
        names = [a.name for a in load_actions().values() if a.personal_data == personal_data]
        stmt = stmt.where(AuditEntryRow.action.in_(names))
    return stmt


def search(
    engine: Engine,
    *,
    actor: str | None = None,
    action: str | None = None,
    target: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    personal_data: bool | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[int, list[AuditEntry]]:
    """Entries matching every filter given, newest first, and how many match in all.

    ``actor``, ``action`` and ``target`` match exactly, or by prefix when they end in
    ``*`` (``case.*``, ``case/2026-*``); ``since`` is inclusive, ``until`` exclusive;
    ``personal_data`` keeps only actions that do (or do not) touch personal data.
    """
    filters = (actor, action, target, since, until, personal_data)
    with Session(engine) as session:
        total = session.scalar(_filter(select(func.count()).select_from(AuditEntryRow), *filters))
        rows = session.scalars(
            _filter(select(AuditEntryRow), *filters)
            .order_by(AuditEntryRow.seq.desc())
            .limit(limit)
            .offset(offset)
        ).all()
        return int(total or 0), [entry_from_row(r) for r in rows]


def stored_leaf_hashes(engine: Engine, size: int | None = None) -> list[bytes]:
    """The stored leaf hashes in seq order (the first ``size``): what proofs are served from."""
    bound = "" if size is None else f" WHERE seq <= {int(size)}"
    with engine.connect() as conn:
        result = conn.exec_driver_sql(f"SELECT leaf_hash FROM audit_entry{bound} ORDER BY seq")  # noqa: S608
        return [bytes(h) for (h,) in result]


@dataclass(frozen=True, slots=True)
class InclusionProof:
    """Proof that entry ``seq`` (leaf ``seq - 1``) is in the tree of ``tree_size`` entries."""

    seq: int
    tree_size: int
    leaf_hash: bytes
    path: list[bytes]
    root_hash: bytes

    def verify(self, root_hash: bytes | None = None) -> bool:
        """Whether the path leads from the leaf to ``root_hash`` (default: its own root)."""
        expected = self.root_hash if root_hash is None else root_hash
        return verify_inclusion(self.leaf_hash, self.seq - 1, self.tree_size, self.path, expected)

    def to_json(self) -> dict[str, Any]:
        """A JSON-able form (hex hashes) for the API and the CLI."""
        return {
            "seq": self.seq,
            "leaf_index": self.seq - 1,
            "tree_size": self.tree_size,
            "leaf_hash": self.leaf_hash.hex(),
            "path": [h.hex() for h in self.path],
            "root_hash": self.root_hash.hex(),
        }


@dataclass(frozen=True, slots=True)
class ConsistencyProof:
    """Proof that the tree of ``second`` entries extends the tree of ``first``."""

    first: int
    second: int
    first_root: bytes
    second_root: bytes
    path: list[bytes] = field(default_factory=list)

    def verify(self) -> bool:
        """Whether the path proves ``second_root`` extends ``first_root``."""
        return verify_consistency(
            self.first, self.second, self.first_root, self.second_root, self.path
        )


def inclusion_proof(engine: Engine, seq: int, tree_size: int | None = None) -> InclusionProof:
    """Inclusion proof of entry ``seq`` in the tree of ``tree_size`` entries (default: all)."""
    leaves = stored_leaf_hashes(engine, tree_size)
    size = len(leaves) if tree_size is None else tree_size
    if not 1 <= seq <= size <= len(leaves):
        raise AuditError("audit_no_such_entry", seq=seq, size=size, entries=len(leaves))
    tree = MerkleTree(leaves[:size])
    return InclusionProof(
        seq, size, leaves[seq - 1], tree.inclusion_proof(seq - 1, size), tree.root(size)
    )


def consistency_proof(engine: Engine, first: int, second: int | None = None) -> ConsistencyProof:
    """Consistency proof between the trees of ``first`` and ``second`` entries."""
    leaves = stored_leaf_hashes(engine, second)
    second = len(leaves) if second is None else second
    if not 0 <= first <= second <= len(leaves):
        raise AuditError("audit_no_such_entry", seq=first, size=second, entries=len(leaves))
    tree = MerkleTree(leaves[:second])
    return ConsistencyProof(
        first, second, tree.root(first), tree.root(second), tree.consistency_proof(first, second)
    )


def checkpoints_in_db(engine: Engine) -> list[AuditCheckpointRow]:
    """The checkpoint rows of the database, oldest first."""
    with Session(engine) as session:
        rows = session.scalars(select(AuditCheckpointRow).order_by(AuditCheckpointRow.id)).all()
        session.expunge_all()
        return list(rows)
