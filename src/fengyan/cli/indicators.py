"""``fengyan indicators``: compute the indicator tables, or show one firm's indicators."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from fengyan.cli._stage import HomeOpt, fail
from fengyan.i18n import t
from fengyan.workspace import Workspace

console = Console()


def indicators(
    as_of: Annotated[
        datetime | None,
        typer.Option("--as-of", help="Evaluate with what was known by this date (YYYY-MM-DD)."),
    ] = None,
    firm: Annotated[
        list[str] | None,
        typer.Option(
            "--firm", help="Only this canonical firm id (repeatable); nothing is written."
        ),
    ] = None,
    incremental: Annotated[
        bool,
        typer.Option(
            "--incremental",
            help="With --firm: the warm incremental path (source rows keyed by firm once,"
            " then each firm's indicators and index scores alone), with its timings.",
        ),
    ] = False,
    home: HomeOpt = None,
) -> None:
    """Compute every indicator for every firm and write the indicator_* tables."""
    from fengyan.indicators.compiler import CompileError
    from fengyan.indicators.service import compute_indicators
    from fengyan.indicators.spec import SpecError

    ws = Workspace.from_env(home)
    if incremental:
        if not firm:
            fail(console, t("indicators_incremental_needs_firm"))
        try:
            _incremental(ws, as_of, firm)
        except SpecError as exc:
            fail(console, t("indicators_spec_error", detail=exc))
        except (CompileError, LookupError) as exc:
            fail(console, t("indicators_cannot_run", detail=exc))
        return
    try:
        report = compute_indicators(ws, as_of, firms=firm or None)
    except SpecError as exc:
        fail(console, t("indicators_spec_error", detail=exc))
    except (CompileError, LookupError) as exc:
        fail(console, t("indicators_cannot_run", detail=exc))
    console.print(
        t(
            "indicators_done",
            as_of=report.as_of,
            firms=report.firms,
            indicators=report.indicators,
            values=report.tables["indicator_value"].num_rows,
            seconds=report.seconds["total"],
        )
    )
    if report.run is not None:
        console.print(t("indicators_written", run=report.run))
    for firm_id in firm or []:
        _show_firm(report.tables, firm_id, report.as_of)


def _incremental(ws: Workspace, as_of: datetime | None, firms: list[str]) -> None:
    """Each firm through the warm path (``IncrementalScorer``), as a service would."""
    import time

    from fengyan.index.pipeline import rescore_firms

    mark = time.perf_counter()
    scorer, _ = rescore_firms(ws, as_of=as_of)
    try:
        console.print(t("indicators_incremental_ready", seconds=time.perf_counter() - mark))
        for result in rescore_firms(ws, firms, scorer=scorer)[1]:
            _show_firm(dict(result.tables), result.firm_id, result.as_of)
            if not result.known:
                continue
            grades = ", ".join(
                f"{m['model']} {m['grade']} {m['score']:.1f}" for m in result.index or []
            )
            ms = 1000 * sum(result.seconds.values())
            console.print(
                t("indicators_incremental_firm", firm=result.firm_id, ms=ms, grades=grades)
            )
    finally:
        scorer.close()


def _show_firm(tables: dict[str, object], firm_id: str, as_of: object) -> None:
    import pyarrow as pa

    values = tables["indicator_value"]
    cats = tables["firm_category"]
    assert isinstance(values, pa.Table) and isinstance(cats, pa.Table)
    rows = [r for r in values.to_pylist() if r["firm_id"] == firm_id]
    cat = [r for r in cats.to_pylist() if r["firm_id"] == firm_id]
    if not cat:
        console.print(t("indicators_firm_unknown", firm=firm_id))
        return
    table = Table(title=t("indicators_firm_title", firm=firm_id, as_of=as_of))
    for name in ("indicator", "value", "score", "evidence"):
        table.add_column(name, justify="right" if name in ("value", "score") else "left")
    for r in sorted(rows, key=lambda r: -float(r["score"])):
        evidence = ", ".join(r["evidence"] or [])
        table.add_row(r["indicator_id"], f"{r['value']:.4g}", f"{r['score']:.3f}", evidence)
    console.print(table)
    c = cat[0]
    score = "—" if c["category_score"] is None else f"{c['category_score']:.2f}"
    console.print(
        t(
            "indicators_category",
            finance_like=c["finance_like"],
            category=c["category"] or "—",
            score=score,
            runner_up=c["runner_up"] or "—",
        )
    )
