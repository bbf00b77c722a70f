"""Pieces the commands share: the ``--home`` option, and the stage commands' output.

A stage command (``text``, ``graph``, ``indicators``) reads the workspace in ``--home``,
runs its stage, reports a stage error as one red line with exit code 2, and prints a table
of rows written per table with a line of step timings.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.table import Table

HomeOpt = Annotated[
    Path | None, typer.Option("--home", help="Data folder (default: $FENGYAN_HOME or ./var).")
]


def fail(console: Console, message: str) -> NoReturn:
    """Print ``message`` as a stage error and leave with exit code 2."""
    console.print(f"[red]✗[/red] {message}")
    raise typer.Exit(2) from None


def print_counts(
    console: Console, title: str, columns: tuple[str, str], counts: Mapping[str, int]
) -> None:
    """Print a table of rows written per table, in the order of ``counts``."""
    table = Table(title=title)
    table.add_column(columns[0])
    table.add_column(columns[1], justify="right")
    for name, n in counts.items():
        table.add_row(name, f"{n:,}")
    console.print(table)


def steps_text(seconds: Mapping[str, float]) -> str:
    """The step timings as one line: ``"link 1.2 s, events 0.4 s"``."""
    return ", ".join(f"{k} {v:.1f} s" for k, v in seconds.items())
