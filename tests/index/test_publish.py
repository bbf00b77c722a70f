"""The index stage end to end on hand-built stage tables, published to SQLite and PostgreSQL.

Two runs: the second changes the firms' indicators so that every change type occurs; the
database must hold the second run's current scores, the warning history of both runs and
the regional counts — the same on both backends.
"""

from __future__ import annotations

import json
from datetime import datetime

import pyarrow as pa
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fengyan.clock import CHINA_TZ
from fengyan.db.published import FirmScore, GradeWarning, RegionSummary, ScoreRun
from fengyan.index.publish import region_counts, warning_history
from fengyan.index.service import run_index
from fengyan.workspace import Workspace
from tests.index.conftest import METAS, indicator_table

ONE = (1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0)
ZERO = (0.0,) * 7
# dolphin-v1 scores (by hand): ONE → 100 (red); ZERO → 0 (none);
# HALF: compliance .6·.5 + .4·.45 = .48, yield .4, complaints .4, propagation .5, feature
#   words .5, interaction .1·.4 → .12 + .08 + .08 + .1 + .075 + .04 = .495 → 49.5 (blue;
#   A, B, C stay below the .5 of the red floor);
# YIELD_REACH: yield .45, propagation .9, feature words .9, interaction .1·.45
#   → .09 + .18 + .135 + .045 = .45 → 45 (blue).
HALF = (0.4, 0.4, 0.4, 0.5, 0.5, 0.5, 0.5)
YIELD_REACH = (0.0, 0.45, 0.0, 0.9, 0.9, 0.0, 0.9)
FIRST = {"ent:a": ONE, "ent:b": HALF, "ent:c": ONE, "ent:d": ZERO}
SECOND = {"ent:a": HALF, "ent:b": ONE, "ent:c": ZERO, "ent:d": YIELD_REACH}
REGIONS = {"ent:a": "440305001001", "ent:b": "440305002003", "ent:c": "440306001001",
           "ent:d": "440305001002"}  # fmt: skip


def _stage(ws: Workspace, rows: dict[str, tuple[float, ...]]) -> None:
    firms = list(rows)
    ws.lake.write_derived(
        "resolve",
        {
            "resolved_entity": pa.table(
                {
                    "canonical_id": firms,
                    "entity_kind": ["enterprise"] * len(firms),
                    "name": [f"深圳市{f[-1]}投资有限公司" for f in firms],
                    "credit_code": [None] * len(firms),
                    "region_code": [REGIONS[f] for f in firms],
                }
            )
        },
    )
    ws.lake.write_derived(
        "indicators",
        {
            "indicator_score": indicator_table(rows),
            "indicator_value": pa.table(
                {
                    "firm_id": ["ent:a", "ent:b"],
                    "indicator_id": ["A", "A"],
                    "value": [3.0, 1.0],
                    "score": [1.0, 0.5],
                    "evidence": [["judgment/j1", "complaint/c9"], ["article/x"]],
                }
            ),
            "firm_category": pa.table(
                {
                    "firm_id": firms,
                    "finance_like": [True, True, False, False],
                    "category": ["p2p", "pension", None, None],
                }
            ),
        },
    )


def _current(ws: Workspace, model: str) -> dict[str, tuple[str, float, str, str]]:
    with Session(ws.engine) as s:
        rows = s.scalars(select(FirmScore).where(FirmScore.model == model)).all()
        return {r.firm_id: (r.grade, r.score, r.change, r.previous_grade) for r in rows}


def test_two_runs_publish_scores_warnings_and_regions(workspace: Workspace) -> None:
    ws = workspace
    _stage(ws, FIRST)
    first = run_index(ws, datetime(2025, 3, 31, tzinfo=CHINA_TZ), metas=METAS)
    assert first.grades["dolphin-v1"] == {"none": 1, "blue": 1, "yellow": 0, "orange": 0,
                                          "red": 2}  # fmt: skip
    assert first.changes["dolphin-v1"]["new"] == 3
    assert _current(ws, "dolphin-v1") == {
        "ent:a": ("red", 100.0, "new", "none"),
        "ent:b": ("blue", 49.5, "new", "none"),
        "ent:c": ("red", 100.0, "new", "none"),
    }
    with Session(ws.engine) as s:
        a = s.get(FirmScore, ("dolphin-v1", "ent:a"))
        assert a is not None
        top = json.loads(a.top)
        # L = 1.1 before clipping to 1, so every share is divided by 1.1: yield (B) carries
        # 20 + half the interaction (5) → 22.73; compliance 25 split A .8 : F .2 → 18.18.
        assert [(t["indicator_id"], t["contribution"]) for t in top[:2]] == [
            ("B", 22.73),
            ("A", 18.18),
        ]
        assert top[1]["evidence"] == ["judgment/j1", "complaint/c9"] and top[1]["value"] == 3.0
        assert top[0]["evidence"] == [] and top[0]["value"] is None
        assert json.loads(a.dimensions)["compliance"] == 1.0
        assert (a.region_code, a.category, a.finance_like) == ("440305001001", "p2p", True)
        assert a.name == "深圳市a投资有限公司"

    _stage(ws, SECOND)
    second = run_index(ws, datetime(2025, 4, 30, tzinfo=CHINA_TZ), metas=METAS)
    assert second.changes["dolphin-v1"] == {
        "new": 1, "escalated": 1, "de-escalated": 1, "cleared": 1, "unchanged": 0,
    }  # fmt: skip
    assert _current(ws, "dolphin-v1") == {
        "ent:a": ("blue", 49.5, "de-escalated", "red"),
        "ent:b": ("red", 100.0, "escalated", "blue"),
        "ent:d": ("blue", 45.0, "new", "none"),
    }
    history = [
        (w.change, w.previous_grade, w.grade)
        for w in warning_history(ws.engine, "ent:a", "dolphin-v1")
    ]
    assert history == [("new", "none", "red"), ("de-escalated", "red", "blue")]
    with Session(ws.engine) as s:
        runs = s.scalars(select(ScoreRun).order_by(ScoreRun.id)).all()
        assert [r.as_of for r in runs] == [
            datetime(2025, 3, 31, tzinfo=CHINA_TZ),
            datetime(2025, 4, 30, tzinfo=CHINA_TZ),
        ]
        assert all(r.finished_at is not None and r.firms == 4 for r in runs)
        assert json.loads(runs[1].models) == ["dolphin-v1", "eagle-v1", "four-v1"]
        cleared = s.scalars(
            select(GradeWarning).where(GradeWarning.change == "cleared",
                                       GradeWarning.model == "dolphin-v1")
        ).all()  # fmt: skip
        assert [(w.firm_id, w.previous_score, w.score, w.region_code) for w in cleared] == [
            ("ent:c", 100.0, 0.0, "440306001001")
        ]
        assert s.scalar(select(func.count()).select_from(GradeWarning)) == (
            sum(sum(v for k, v in c.items() if k != "unchanged") for c in first.changes.values())
            + sum(sum(v for k, v in c.items() if k != "unchanged") for c in second.changes.values())
        )
        assert s.scalar(select(func.count()).select_from(RegionSummary)) > 0
    district = [
        (r.region_code, r.firms, r.red, r.orange, r.yellow, r.blue, r.new, r.escalated)
        for r in region_counts(ws.engine, runs[1].id, "dolphin-v1", "district")
    ]
    assert district == [
        ("440305", 3, 1, 0, 0, 2, 1, 1),  # a blue (de-escalated), b red (escalated), d new
        ("440306", 1, 0, 0, 0, 0, 0, 0),  # c cleared
    ]
    streets = [(r.region_code, r.firms) for r in
               region_counts(ws.engine, runs[1].id, "dolphin-v1", "street")]  # fmt: skip
    assert streets == [("440305001", 2), ("440305002", 1), ("440306001", 1)]
    # The lake's index stage holds every firm under every model, with top lists for graded ones.
    con = ws.lake.connect()
    try:
        n, explained = con.execute(
            "SELECT count(*), count(*) FILTER (WHERE len(top) > 0) FROM index_score"
        ).fetchone() or (0, 0)
    finally:
        con.close()
    assert n == 12 and explained == sum(
        v for c in second.grades.values() for g, v in c.items() if g != "none"
    )
