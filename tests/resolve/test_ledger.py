"""The decision ledger on SQLite and PostgreSQL: append-only, one current row per pair."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fengyan.db.models import ResolveEdge
from fengyan.resolve.ledger import (
    MACHINE,
    LedgerError,
    Suggestion,
    current_judgements,
    do_decide,
    do_retire,
    do_suggest,
    history,
    review_queue,
)
from fengyan.workspace import Workspace

REC = "complaint/0123abcd"
ENT = "ent:91440300MA5G0000X1"


def rows(ws: Workspace) -> int:
    with Session(ws.engine) as s:
        return int(s.scalar(select(func.count()).select_from(ResolveEdge)) or 0)


def test_suggestions_queue_and_decisions(workspace: Workspace) -> None:
    engine = workspace.engine
    detail = {"comparisons": [{"comparison": "name", "level": "brand", "bits": 9.5}]}
    added, retired = do_suggest(
        engine,
        "enterprise",
        [Suggestion(REC, ENT, 0.6, detail), Suggestion("ads/1", ENT, 0.95, detail)],
    )
    assert (added, retired) == (2, 0)
    # The same suggestions again change nothing (no churn).
    assert do_suggest(engine, "enterprise", [Suggestion(REC, ENT, 0.6, detail)]) == (0, 1)
    total, queue = review_queue(engine, "enterprise")
    assert total == 1 and queue[0].left_key == REC and queue[0].detail == detail

    decision = do_decide(engine, "enterprise", REC, ENT, "negative", user="reviewer-1")
    assert decision.user == "reviewer-1" and decision.judgement == "negative"
    assert review_queue(engine, "enterprise")[0] == 0
    assert current_judgements(engine, "enterprise") == {(REC, ENT): "negative"}
    # A later run suggesting the pair again does not reopen a decided pair.
    assert do_suggest(engine, "enterprise", [Suggestion(REC, ENT, 0.7, detail)]) == (0, 0)

    changed = do_decide(engine, "enterprise", REC, ENT, "positive", user="reviewer-2")
    assert current_judgements(engine, "enterprise") == {(REC, ENT): "positive"}
    trail = history(engine, "enterprise", REC, ENT)
    assert [e.judgement for e in trail] == ["no_judgement", "negative", "positive"]
    assert all(e.retired_at is not None for e in trail[:-1]) and trail[-1].retired_at is None
    assert trail[0].user == MACHINE and trail[-1].detail == detail  # kept for the reviewer

    do_retire(engine, changed.id, user="reviewer-3")
    assert current_judgements(engine, "enterprise") == {}
    withdrawn = history(engine, "enterprise", REC, ENT)[-1]
    assert withdrawn.user == "reviewer-3" and withdrawn.retired_at is not None
    assert rows(workspace) == 5  # 2 suggestions, 2 decisions, 1 withdrawal: none deleted


def test_person_pairs_are_unordered(workspace: Workspace) -> None:
    do_decide(workspace.engine, "person", "person/B", "person/A", "positive", user="u")
    assert current_judgements(workspace.engine, "person") == {("person/A", "person/B"): "positive"}


def test_bad_decisions_are_refused(workspace: Workspace) -> None:
    with pytest.raises(LedgerError):
        do_decide(workspace.engine, "enterprise", REC, ENT, "maybe", user="u")
    with pytest.raises(LedgerError):
        do_decide(workspace.engine, "thing", REC, ENT, "positive", user="u")
    with pytest.raises(LedgerError):
        do_decide(workspace.engine, "enterprise", REC, ENT, "positive", user="")
    with pytest.raises(LedgerError):
        do_retire(workspace.engine, 12345, user="u")
    assert rows(workspace) == 0
