"""Grade changes between two runs, every change type."""

from __future__ import annotations

import pyarrow as pa
import pytest

from fengyan.index.warnings import compare


def grades(rows: list[tuple[str, str, str, float]]) -> pa.Table:
    model, firm, grade, score = (list(c) for c in zip(*rows, strict=True)) if rows else ([],) * 4
    return pa.table(
        {
            "model": pa.array(model, pa.string()),
            "firm_id": pa.array(firm, pa.string()),
            "grade": pa.array(grade, pa.string()),
            "score": pa.array(score, pa.float64()),
        }
    )


def test_every_change_type() -> None:
    previous = grades([
        ("m", "blue_to_red", "blue", 45.0), ("m", "red_to_yellow", "red", 85.0),
        ("m", "orange_to_none", "orange", 72.0), ("m", "yellow_same", "yellow", 61.0),
        ("m", "gone", "blue", 41.0), ("other", "new_here", "red", 90.0),
    ])  # fmt: skip
    current = grades([
        ("m", "blue_to_red", "red", 88.0), ("m", "red_to_yellow", "yellow", 65.0),
        ("m", "orange_to_none", "none", 12.0), ("m", "yellow_same", "yellow", 64.0),
        ("m", "new_here", "orange", 71.0), ("m", "quiet", "none", 3.0),
    ])  # fmt: skip
    got = [
        (r["model"], r["firm_id"], r["change"], r["previous_grade"], r["grade"],
         r["previous_score"], r["score"])
        for r in compare(previous, current).to_pylist()
    ]  # fmt: skip
    assert got == [
        ("m", "blue_to_red", "escalated", "blue", "red", 45.0, 88.0),
        ("m", "gone", "cleared", "blue", "none", 41.0, 0.0),
        ("m", "new_here", "new", "none", "orange", None, 71.0),
        ("m", "orange_to_none", "cleared", "orange", "none", 72.0, 12.0),
        ("m", "red_to_yellow", "de-escalated", "red", "yellow", 85.0, 65.0),
        ("m", "yellow_same", "unchanged", "yellow", "yellow", 61.0, 64.0),
        ("other", "new_here", "cleared", "red", "none", 90.0, 0.0),
    ]


def test_first_run_is_all_new_and_bad_grades_are_refused() -> None:
    current = grades([("m", "a", "red", 90.0), ("m", "b", "none", 1.0)])
    assert compare(grades([]), current)["change"].to_pylist() == ["new"]
    with pytest.raises(ValueError, match=r"unknown grades \['purple'\]"):
        compare(grades([]), grades([("m", "a", "purple", 1.0)]))
