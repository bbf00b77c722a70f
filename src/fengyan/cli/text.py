"""``fengyan text``: link firm mentions, classify events and extract promises from the lake."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from fengyan.cli._stage import HomeOpt, fail, print_counts, steps_text
from fengyan.i18n import t
from fengyan.workspace import Workspace

console = Console(width=None if sys.stdout.isatty() else 160)


def text(
    as_of: Annotated[
        datetime | None, typer.Option("--as-of", help="Read the lake as it was then.")
    ] = None,
    settings: Annotated[
        Path | None, typer.Option("--settings", help="A settings file (copy of settings.yaml).")
    ] = None,
    home: HomeOpt = None,
) -> None:
    """Write text_* tables: mentions, events, promises, ad violations, sentiment, feature words."""
    from fengyan.text.service import TextStageError, load_settings, run_text

    ws = Workspace.from_env(home)
    try:
        with console.status(t("text_running")):
            report = run_text(ws, as_of, load_settings(settings) if settings else None)
    except TextStageError as exc:
        fail(console, t(exc.message_code, **exc.params))
    for message_code, params in report.warnings:
        console.print(f"[yellow]![/yellow] {t(message_code, **params)}")
    print_counts(
        console,
        t("text_summary_title", model=report.model, method=report.event_method),
        (t("text_col_table"), t("text_col_rows")),
        dict(sorted(report.counts.items())),
    )
    console.print(t("text_done", steps=steps_text(report.seconds), run=report.run))
