"""The whole pipeline in one call: ingest → resolve → graph → text → indicators → index → warnings.

What ``fengyan run`` (and ``fengyan demo``) execute; the CLI only draws the progress and
the tables. Each stage reads the lake as of the same date and replaces its derived tables
atomically, so a run killed halfway is simply run again.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow.compute as pc
import pyarrow.parquet as pq

from fengyan.clock import CHINA_TZ, now
from fengyan.index.service import IndexReport, run_index
from fengyan.workspace import Workspace

if TYPE_CHECKING:
    from fengyan.indicators.incremental import FirmResult, IncrementalScorer

STAGES = ("ingest", "resolve", "graph", "text", "indicators", "index", "warnings")


@dataclass
class StageResult:
    """One stage: seconds taken and a short summary (or why it was skipped)."""

    name: str
    seconds: float = 0.0
    summary: str = ""
    skipped: str | None = None


@dataclass
class PipelineReport:
    """Every stage's result and the index report."""

    as_of: datetime | None
    stages: list[StageResult] = field(default_factory=list)
    index: IndexReport | None = None
    # True when no --as-of was given and the run used the lake's data horizon.
    horizon: bool = False

    @property
    def seconds(self) -> float:
        """Wall time of all stages."""
        return sum(s.seconds for s in self.stages)


def as_of_moment(day: date | datetime | None) -> datetime | None:
    """A run's as-of date as the lake reads it: 00:00 China time, as ingest dates batches."""
    if day is None:
        return None
    if isinstance(day, datetime):
        return day if day.tzinfo else day.replace(tzinfo=CHINA_TZ)
    return datetime(day.year, day.month, day.day, tzinfo=CHINA_TZ)


def lake_horizon(ws: Workspace) -> datetime | None:
    """The latest moment the lake has data for: the greatest ``_valid_from`` of any table.

    Registry deliveries are dated by their ``as_of`` and events by when they became known,
    so this is the last delivery or event date. Read from the Parquet footers' statistics
    (no scan); capped at now, so a record dated in the future does not move the run
    there. None when the lake is empty.
    """
    latest: datetime | None = None
    for table in ws.lake.tables():
        for path in ws.lake.files(table):
            meta = pq.ParquetFile(path).metadata
            col = meta.schema.to_arrow_schema().get_field_index("_valid_from")
            if col < 0:
                continue
            for g in range(meta.num_row_groups):
                stats = meta.row_group(g).column(col).statistics
                if stats is None or not stats.has_min_max:
                    top = pq.read_table(path, columns=["_valid_from"])["_valid_from"]
                    value = pc.max(top).as_py()
                else:
                    value = stats.max
                if isinstance(value, datetime) and (latest is None or value > latest):
                    latest = value
    if latest is None:
        return None
    if latest.tzinfo is None:  # Parquet statistics of a UTC timestamp column come naive
        latest = latest.replace(tzinfo=UTC)
    return min(latest, now()).astimezone(CHINA_TZ)


def _text(ws: Workspace, as_of: datetime | None) -> str:
    from fengyan.text.service import run_text

    report = run_text(ws, as_of)
    counts = getattr(report, "counts", None)
    if isinstance(counts, dict):
        return ", ".join(f"{k} {v:,}" for k, v in list(counts.items())[:4])
    return ""


def _indicators(ws: Workspace, as_of: datetime | None) -> str:
    from fengyan.indicators.service import compute_indicators

    report: Any = compute_indicators(ws, as_of=as_of)
    firms = getattr(report, "firms", None)
    indicators = getattr(report, "indicators", None)
    parts = []
    if firms is not None:
        parts.append(f"{firms:,} firms")
    if indicators is not None:
        parts.append(f"{indicators if isinstance(indicators, int) else len(indicators)} indicators")
    return ", ".join(parts)


def rescore_firms(
    ws: Workspace,
    firms: Sequence[str] | None = None,
    as_of: date | datetime | None = None,
    *,
    scorer: IncrementalScorer | None = None,
) -> tuple[IncrementalScorer, list[FirmResult]]:
    """Re-score firms as their records arrive (F4): indicators and index of each, alone.

    ``firms``: these firms; None: the firms whose source rows changed since the scorer
    last looked at the lake (new batches; a first call with None only builds it). Pass
    the returned scorer back: the first call builds it (the full plan's source rows,
    once), every later one costs a directory listing plus, per firm, a fraction of a
    restricted run (docs/engine.md, "Warm incremental rescoring").
    """
    from fengyan.indicators.incremental import IncrementalScorer

    if scorer is None:
        scorer = IncrementalScorer(ws, as_of)
        if firms is None:
            return scorer, []
    if firms is None:
        return scorer, scorer.rescore_changed()
    return scorer, scorer.rescore_many(firms)


def run_pipeline(
    ws: Workspace,
    deliveries: Sequence[Path] = (),
    as_of: datetime | None = None,
    skip_ingest: bool = False,
    models: Sequence[str] | None = None,
    on_stage: Callable[[str], None] | None = None,
    on_rows: Callable[[str, int], None] | None = None,
) -> PipelineReport:
    """Run every stage on the workspace's lake as of ``as_of`` and publish.

    Without ``as_of`` the run reads the lake at its data horizon (:func:`lake_horizon`,
    taken after ingest): the latest delivery or event it holds, not today's date, so
    windowed indicators (complaints in 90 days …) count the data there is. The report
    says which date was used (``report.as_of``, ``report.horizon``).
    ``on_stage(name)`` is called as each stage starts; ``on_rows(file, rows)`` during
    ingest. A stage whose package is not installed (text, indicators while they are being
    built) is skipped with the reason; the index needs the indicators' output.
    """
    from fengyan.graph.service import build_graph
    from fengyan.ingest.service import ingest_path, write_versions
    from fengyan.resolve.service import resolve

    report = PipelineReport(as_of)
    started = on_stage or (lambda _n: None)

    def timed(name: str, work: Callable[[], str]) -> None:
        started(name)
        mark = time.perf_counter()
        result = StageResult(name)
        try:
            result.summary = work()
        except ModuleNotFoundError as exc:
            if not (exc.name or "").startswith(("fengyan.text", "fengyan.indicators")):
                raise
            result.skipped = str(exc.name)
        result.seconds = time.perf_counter() - mark
        report.stages.append(result)

    def ingest() -> str:
        reports = []
        for path in deliveries:
            reports += ingest_path(
                ws,
                path,
                on_file=lambda p: on_rows(p.name, 0) if on_rows else None,
                on_progress=lambda n: on_rows("", n) if on_rows else None,
                versions=False,
            )
        # The version ends once, after the last delivery (not once per delivery).
        write_versions(ws, reports)
        read = sum(r.rows_read for r in reports)
        stored = sum(r.rows_stored for r in reports)
        return f"{len(deliveries)} deliveries, {read:,} read, {stored:,} stored"

    if skip_ingest or not deliveries:
        report.stages.append(StageResult("ingest", skipped="--skip-ingest" if skip_ingest else ""))
    else:
        timed("ingest", ingest)
    if as_of is None:
        as_of = lake_horizon(ws)
        report.as_of, report.horizon = as_of, as_of is not None

    def resolved() -> str:
        # Counts are per linking method of the records that name firms (complaints, court
        # records …), plus their total under "mentions".
        counts = resolve(ws, as_of).enterprise
        methods = sorted(((v, k) for k, v in counts.items() if k != "mentions"), reverse=True)
        top = ", ".join(f"{k} {v:,}" for v, k in methods[:3])
        return f"{counts.get('mentions', 0):,} records naming firms ({top})"

    timed("resolve", resolved)
    timed("graph", lambda: f"{build_graph(ws, as_of).counts.get('graph_edge', 0):,} edges")
    timed("text", lambda: _text(ws, as_of))
    timed("indicators", lambda: _indicators(ws, as_of))

    started("index")
    mark = time.perf_counter()
    phases: dict[str, float] = {}

    def on_step(step: str) -> None:
        phases[step] = time.perf_counter()
        if step == "warnings":
            started("warnings")

    index = run_index(ws, as_of, models=models, on_step=on_step)
    end = time.perf_counter()
    split = phases.get("warnings", end)
    report.index = index
    graded = sum(v for g in index.grades.values() for k, v in g.items() if k != "none")
    report.stages.append(
        StageResult(
            "index",
            split - mark,
            f"{index.firms:,} firms × {len(index.models)} models, {graded:,} graded",
        )
    )
    changes = {k: sum(c.get(k, 0) for c in index.changes.values()) for k in ("new", "escalated")}
    report.stages.append(
        StageResult(
            "warnings", end - split, f"{changes['new']:,} new, {changes['escalated']:,} escalated"
        )
    )
    return report
