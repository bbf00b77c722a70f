"""The decision ledger: one function per change, each in one transaction.

Rows are never updated except to set ``retired_at``; every judgement is a new row with its
user and time (nomenklatura's resolver edges). :func:`current_judgements` is what a
resolution run reads; :func:`review_queue` is what a reviewer works through.

Keys name records, not clusters, so decisions survive re-clustering:
``enterprise/<credit code>`` or ``ent:~<hash>`` for entities, ``<table>/<record _id>`` for
an event record that names a firm, ``person/<source person id>`` for a person record.
Person pairs are stored with the smaller key on the left.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, Literal

from sqlalchemy import Engine, select, tuple_
from sqlalchemy.orm import Session

from fengyan.clock import now
from fengyan.db.models import ResolveEdge

Judgement = Literal["positive", "negative", "unsure", "no_judgement"]
JUDGEMENTS: Final = ("positive", "negative", "unsure", "no_judgement")
Kind = Literal["enterprise", "person"]
MACHINE: Final = "fengyan-resolve"


class LedgerError(ValueError):
    """A decision that cannot be recorded (unknown judgement, edge or kind)."""


@dataclass(frozen=True, slots=True)
class Suggestion:
    """A pair the machine could not decide, with its score and explanation."""

    left_key: str
    right_key: str
    score: float
    detail: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Edge:
    """A ledger row as callers see it."""

    id: int
    kind: str
    left_key: str
    right_key: str
    judgement: str
    score: float | None
    detail: dict[str, Any]
    user: str
    created_at: datetime
    retired_at: datetime | None


def pair(kind: str, left: str, right: str) -> tuple[str, str]:
    """The stored orientation of a pair: person pairs are unordered, so sorted."""
    return (min(left, right), max(left, right)) if kind == "person" else (left, right)


def _edge(row: ResolveEdge) -> Edge:
    return Edge(
        row.id,
        row.kind,
        row.left_key,
        row.right_key,
        row.judgement,
        row.score,
        json.loads(row.detail),
        row.user,
        row.created_at,
        row.retired_at,
    )


def _check(kind: str, judgement: str) -> None:
    if kind not in ("enterprise", "person"):
        raise LedgerError(f"unknown kind {kind!r}: enterprise or person")
    if judgement not in JUDGEMENTS:
        raise LedgerError(f"unknown judgement {judgement!r}: one of {', '.join(JUDGEMENTS)}")


def do_decide(engine: Engine, kind: str, left: str, right: str, judgement: str, user: str) -> Edge:
    """Record a human decision on a pair; the pair's current row (if any) is retired."""
    _check(kind, judgement)
    if not user or user == MACHINE:
        raise LedgerError("a decision needs the deciding user's name")
    left, right = pair(kind, left, right)
    moment = now()
    with Session(engine) as session, session.begin():
        current = session.scalars(
            select(ResolveEdge).where(
                ResolveEdge.kind == kind,
                ResolveEdge.left_key == left,
                ResolveEdge.right_key == right,
                ResolveEdge.retired_at.is_(None),
            )
        ).all()
        detail = current[0].detail if current else "{}"
        for row in current:
            row.retired_at = moment
        session.flush()
        row = ResolveEdge(
            kind=kind,
            left_key=left,
            right_key=right,
            judgement=judgement,
            score=None,
            detail=detail,
            user=user,
            created_at=moment,
        )
        session.add(row)
        session.flush()
        return _edge(row)


def do_retire(engine: Engine, edge_id: int, user: str) -> Edge:
    """Withdraw a decision (its pair may be suggested again by the next run)."""
    with Session(engine) as session, session.begin():
        row = session.get(ResolveEdge, edge_id)
        if row is None or row.retired_at is not None:
            raise LedgerError(f"no current ledger row {edge_id}")
        if row.judgement == "no_judgement":
            raise LedgerError(f"row {edge_id} is a suggestion, not a decision")
        row.retired_at = now()
        # Who withdrew it is a judgement too: recorded as a retired-at-once row.
        session.add(
            ResolveEdge(
                kind=row.kind,
                left_key=row.left_key,
                right_key=row.right_key,
                judgement="no_judgement",
                score=None,
                detail=json.dumps({"withdrawn": edge_id}),
                user=user,
                created_at=row.retired_at,
                retired_at=row.retired_at,
            )
        )
        session.flush()
        return _edge(row)


def do_suggest(engine: Engine, kind: str, suggestions: Iterable[Suggestion]) -> tuple[int, int]:
    """Replace the machine's open suggestions of ``kind`` with this run's.

    Pairs already judged by a person are left alone; open suggestions the run no longer
    makes are retired; suggestions already open stay as they are (no churn). Returns
    ``(added, retired)``.
    """
    wanted = {pair(kind, s.left_key, s.right_key): s for s in suggestions}
    moment = now()
    added = retired = 0
    with Session(engine) as session, session.begin():
        current = session.scalars(
            select(ResolveEdge).where(ResolveEdge.kind == kind, ResolveEdge.retired_at.is_(None))
        ).all()
        open_pairs = set()
        for row in current:
            key = (row.left_key, row.right_key)
            if row.judgement != "no_judgement":
                wanted.pop(key, None)
            elif key in wanted:
                open_pairs.add(key)
            else:
                row.retired_at = moment
                retired += 1
        session.flush()
        for key, s in wanted.items():
            if key in open_pairs:
                continue
            session.add(
                ResolveEdge(
                    kind=kind,
                    left_key=key[0],
                    right_key=key[1],
                    judgement="no_judgement",
                    score=s.score,
                    detail=json.dumps(s.detail, ensure_ascii=False, sort_keys=True),
                    user=MACHINE,
                    created_at=moment,
                )
            )
            added += 1
    return added, retired


def current_judgements(engine: Engine, kind: str) -> dict[tuple[str, str], str]:
    """Pair → human judgement in force (positive, negative or unsure)."""
    with Session(engine) as session:
        rows = session.execute(
            select(ResolveEdge.left_key, ResolveEdge.right_key, ResolveEdge.judgement).where(
                ResolveEdge.kind == kind,
                ResolveEdge.retired_at.is_(None),
                ResolveEdge.judgement != "no_judgement",
            )
        ).all()
    return {(left, right): judgement for left, right, judgement in rows}


def review_queue(
    engine: Engine, kind: str | None = None, limit: int = 50, offset: int = 0
) -> tuple[int, list[Edge]]:
    """Open suggestions, most uncertain first (score closest to one half)."""
    with Session(engine) as session:
        query = select(ResolveEdge).where(
            ResolveEdge.retired_at.is_(None), ResolveEdge.judgement == "no_judgement"
        )
        if kind is not None:
            query = query.where(ResolveEdge.kind == kind)
        rows = session.scalars(query).all()
    ranked = sorted(rows, key=lambda r: (abs((r.score or 0.5) - 0.5), r.id))
    return len(ranked), [_edge(r) for r in ranked[offset : offset + limit]]


def history(engine: Engine, kind: str, left: str, right: str) -> list[Edge]:
    """Every row ever written about one pair, oldest first."""
    left, right = pair(kind, left, right)
    with Session(engine) as session:
        rows = session.scalars(
            select(ResolveEdge)
            .where(
                ResolveEdge.kind == kind,
                tuple_(ResolveEdge.left_key, ResolveEdge.right_key) == (left, right),
            )
            .order_by(ResolveEdge.id)
        ).all()
    return [_edge(r) for r in rows]
