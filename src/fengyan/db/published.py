"""Published scores and warnings: what the web, the API and the map read.

Written by :mod:`fengyan.index.publish` once per ``fengyan run``:

* ``score_run`` — one row per published run (as-of date, models, times, counts);
* ``firm_score`` — the current score of every graded firm per model (replaced per model at
  each run; rebuildable from the lake's ``index`` stage);
* ``warning`` — append-only history of grade changes (new, escalated, de-escalated,
  cleared), one row per firm, model and run where the grade changed;
* ``region_summary`` — per run, model and region (district and street): firms scored and
  how many at each grade, for the regional map.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from fengyan.db.models import Base
from fengyan.db.types import UTCDateTime


class ScoreRun(Base):
    """One published run of the index models."""

    __tablename__ = "score_run"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    as_of: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    # JSON list of model ids, e.g. ["dolphin-v1", "eagle-v1", "four-v1"].
    models: Mapped[str] = mapped_column(Text, nullable=False)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    firms: Mapped[int] = mapped_column(BigInteger, nullable=False)
    # JSON: per model, firms per grade and warnings per change type.
    counts: Mapped[str] = mapped_column(Text, nullable=False, default="{}")
    fengyan_version: Mapped[str] = mapped_column(String(32), nullable=False)


class FirmScore(Base):
    """A graded firm's current score under one model."""

    __tablename__ = "firm_score"

    model: Mapped[str] = mapped_column(String(32), primary_key=True)
    firm_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    run_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("score_run.id", ondelete="RESTRICT"), nullable=False
    )
    score: Mapped[float] = mapped_column(Float, nullable=False)
    # Before caps and floors; ``rules`` lists the ones that fired (JSON list of ids).
    raw_score: Mapped[float] = mapped_column(Float, nullable=False)
    grade: Mapped[str] = mapped_column(String(8), nullable=False)
    previous_grade: Mapped[str] = mapped_column(String(8), nullable=False)
    change: Mapped[str] = mapped_column(String(16), nullable=False)
    coverage: Mapped[float] = mapped_column(Float, nullable=False)
    # JSON object dimension → score in [0, 1].
    dimensions: Mapped[str] = mapped_column(Text, nullable=False)
    # JSON list of {indicator_id, contribution (score points), evidence: [record keys]}.
    top: Mapped[str] = mapped_column(Text, nullable=False)
    rules: Mapped[str] = mapped_column(Text, nullable=False)
    name: Mapped[str | None] = mapped_column(String(300))
    credit_code: Mapped[str | None] = mapped_column(String(18))
    region_code: Mapped[str | None] = mapped_column(String(12))
    category: Mapped[str | None] = mapped_column(String(64))
    finance_like: Mapped[bool | None] = mapped_column(Boolean)

    __table_args__ = (
        Index("ix_firm_score_grade", "model", "grade", "score"),
        Index("ix_firm_score_region", "region_code"),
        Index("ix_firm_score_firm", "firm_id"),
    )


class GradeWarning(Base):
    """A grade change: append-only, never updated (the warning history)."""

    __tablename__ = "warning"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("score_run.id", ondelete="RESTRICT"), nullable=False
    )
    model: Mapped[str] = mapped_column(String(32), nullable=False)
    firm_id: Mapped[str] = mapped_column(String(200), nullable=False)
    # new | escalated | de-escalated | cleared
    change: Mapped[str] = mapped_column(String(16), nullable=False)
    grade: Mapped[str] = mapped_column(String(8), nullable=False)
    previous_grade: Mapped[str] = mapped_column(String(8), nullable=False)
    score: Mapped[float] = mapped_column(Float, nullable=False)
    previous_score: Mapped[float | None] = mapped_column(Float)
    region_code: Mapped[str | None] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)

    __table_args__ = (
        Index("ix_warning_firm", "firm_id", "model"),
        Index("ix_warning_run", "run_id", "change"),
    )


class RegionSummary(Base):
    """Grade counts of one region under one model in one run (the map's layer)."""

    __tablename__ = "region_summary"

    run_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("score_run.id", ondelete="RESTRICT"), primary_key=True
    )
    model: Mapped[str] = mapped_column(String(32), primary_key=True)
    region_code: Mapped[str] = mapped_column(String(12), primary_key=True)
    # district (6-digit code) or street (9-digit code)
    level: Mapped[str] = mapped_column(String(16), nullable=False)
    firms: Mapped[int] = mapped_column(BigInteger, nullable=False)
    red: Mapped[int] = mapped_column(BigInteger, nullable=False)
    orange: Mapped[int] = mapped_column(BigInteger, nullable=False)
    yellow: Mapped[int] = mapped_column(BigInteger, nullable=False)
    blue: Mapped[int] = mapped_column(BigInteger, nullable=False)
    new: Mapped[int] = mapped_column(BigInteger, nullable=False)
    escalated: Mapped[int] = mapped_column(BigInteger, nullable=False)
