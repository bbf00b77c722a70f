"""``fengyan run``: the whole pipeline with progress bars and a summary table."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from fengyan.clock import CHINA_TZ
from fengyan.i18n import t
from fengyan.workspace import Workspace

console = Console(width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True, width=None if sys.stderr.isatty() else 160)


def run_and_report(
    ws: Workspace,
    deliveries: list[Path],
    as_of: datetime | None = None,
    skip_ingest: bool = False,
) -> None:
    """Run the pipeline on ``ws`` and print the stage and grade tables (shared with demo)."""
    from fengyan.index.model import GRADES
    from fengyan.index.pipeline import STAGES, as_of_moment, run_pipeline

    moment = as_of_moment(as_of)
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TextColumn("{task.fields[detail]}"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    ) as progress:
        task = progress.add_task("", total=len(STAGES), detail="")
        seen: list[str] = []

        def on_stage(name: str) -> None:
            seen.append(name)
            progress.update(
                task, description=t(f"run_stage_{name}"), completed=STAGES.index(name), detail=""
            )

        def on_rows(file: str, rows: int) -> None:
            progress.update(task, detail=f"{file} {rows:,}" if file else f"{rows:,}")

        try:
            report = run_pipeline(ws, deliveries, moment, skip_ingest, None, on_stage, on_rows)
        # Spec, model and missing-input errors name their file and field: show them plainly.
        except (LookupError, ValueError) as exc:
            progress.stop()
            stage = seen[-1] if seen else "index"
            err.print(f"[red]✗[/red] {t('run_failed', stage=t(f'run_stage_{stage}'), detail=exc)}")
            raise typer.Exit(2) from None
        progress.update(task, completed=len(STAGES))

    used = report.as_of
    when = used.astimezone(CHINA_TZ).date().isoformat() if used else "now"
    if report.horizon:
        when = t("run_as_of_horizon", day=when)
    stages = Table(title=t("run_stages_title", as_of=when))
    for col in ("stage", "seconds", "result"):
        stages.add_column(col, justify="right" if col == "seconds" else "left")
    for s in report.stages:
        if s.skipped is not None:
            detail = t("run_stage_unavailable", detail=s.skipped) if s.skipped.startswith(
                "fengyan.") else t("run_stage_skipped")  # fmt: skip
            stages.add_row(t(f"run_stage_{s.name}"), "-", detail)
        else:
            stages.add_row(t(f"run_stage_{s.name}"), f"{s.seconds:.1f}", s.summary)
    stages.add_row("total", f"{report.seconds:.1f}", "")
    console.print(stages)

    index = report.index
    assert index is not None
    grades = Table(title=t("run_grades_title", firms=f"{index.firms:,}"))
    grades.add_column("model")
    shown = [g for g in reversed(GRADES) if g != "none"]
    for g in shown:
        grades.add_column(t(f"index_grade_{g}"), justify="right")
    changes = ("new", "escalated", "de-escalated", "cleared")
    for c in changes:
        grades.add_column(t(f"index_change_{c}"), justify="right")
    for model in index.models:
        g_counts = index.grades.get(model, {})
        c_counts = index.changes.get(model, {})
        grades.add_row(
            model,
            *(f"{g_counts.get(g, 0):,}" for g in shown),
            *(f"{c_counts.get(c, 0):,}" for c in changes),
        )
    console.print(grades)
    warned = sum(index.grades[m].get(g, 0) for m in index.models for g in ("orange", "red"))
    console.print(
        t(
            "run_done",
            seconds=report.seconds,
            warned=f"{warned:,}",
            new=f"{sum(c.get('new', 0) for c in index.changes.values()):,}",
            escalated=f"{sum(c.get('escalated', 0) for c in index.changes.values()):,}",
            run=index.published.run_id if index.published else "-",
        )
    )
    if index.published is not None:
        open_red_cases(ws, index.published.run_id)


def open_red_cases(ws: Workspace, run_id: int) -> None:
    """Open verification cases for the run's new red warnings (issue 8) and say how many."""
    from sqlalchemy.orm import Session

    from fengyan.workflow import open_cases_for_new_red

    with Session(ws.engine) as s, s.begin():
        opened = open_cases_for_new_red(s, run_id)
    console.print(t("web_cases_opened_red", opened=len(opened.opened),
                    already=len(opened.already_open), no_region=len(opened.no_region)))  # fmt: skip


def run(
    deliveries: Annotated[
        list[Path] | None,
        typer.Argument(help="Delivery folders (with manifest.yaml) or files to ingest first."),
    ] = None,
    as_of: Annotated[
        datetime | None,
        typer.Option(
            "--as-of",
            help="Score as the lake was on this date (default: the lake's data horizon, "
            "its latest delivery or event date).",
        ),
    ] = None,
    skip_ingest: Annotated[
        bool, typer.Option("--skip-ingest", help="Do not ingest; score what the lake holds.")
    ] = False,
    home: Annotated[
        Path | None, typer.Option("--home", help="Data folder (default: $FENGYAN_HOME or ./var).")
    ] = None,
) -> None:
    """Ingest → resolve → graph → text → indicators → index → warnings, then publish."""
    ws = Workspace.from_env(home)
    ws.init()
    run_and_report(ws, list(deliveries or []), as_of, skip_ingest)
