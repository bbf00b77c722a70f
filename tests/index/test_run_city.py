"""``fengyan run`` on the small simulated city: every stage, published twice.

The second run over an unchanged lake must publish the same grades and add no warning.
Needs the indicator engine and specs (issue 6, built alongside): while their package or
specs cannot load, the test is skipped saying why.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from fengyan.cli.app import app
from fengyan.db.published import FirmScore, GradeWarning, ScoreRun
from fengyan.workspace import Workspace
from tests.resolve.conftest import city_copy, resolved_city

__all__ = ["city_copy", "resolved_city"]


def _engine_ready() -> str | None:
    try:
        from fengyan.indicators.load import load_specs

        load_specs()
    except ModuleNotFoundError as exc:
        return f"indicator engine not installed ({exc.name})"
    except ValueError as exc:
        return f"indicator specs do not load yet: {str(exc).splitlines()[0]}"
    return None


def test_run_publishes_and_a_rerun_changes_nothing(city_copy: Workspace) -> None:
    reason = _engine_ready()
    if reason:
        pytest.skip(reason)
    home = str(city_copy.settings.home)
    runner = CliRunner()
    first = runner.invoke(app, ["--lang", "en", "run", "--skip-ingest", "--home", home])
    assert first.exit_code == 0, first.output
    assert "dolphin-v1" in first.output and "Done in" in first.output
    with Session(city_copy.engine) as s:
        scores = s.scalar(select(func.count()).select_from(FirmScore)) or 0
        warnings = s.scalar(select(func.count()).select_from(GradeWarning)) or 0
        grades = dict(
            s.execute(select(FirmScore.model, func.count()).group_by(FirmScore.model)).all()
        )
    assert warnings == scores  # first run: every graded firm is new
    assert set(grades) <= {"dolphin-v1", "eagle-v1", "four-v1"}

    second = runner.invoke(app, ["--lang", "en", "run", "--skip-ingest", "--home", home])
    assert second.exit_code == 0, second.output
    with Session(city_copy.engine) as s:
        assert s.scalar(select(func.count()).select_from(ScoreRun)) == 2
        assert s.scalar(select(func.count()).select_from(GradeWarning)) == warnings
        assert (
            dict(s.execute(select(FirmScore.model, func.count()).group_by(FirmScore.model)).all())
            == grades
        )
        changes = set(s.scalars(select(FirmScore.change)).all())
    assert changes <= {"unchanged"}
