"""The ``fengyan`` command line: thin commands over the service functions."""

from __future__ import annotations

import os
import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from fengyan import __version__
from fengyan.cli._stage import HomeOpt
from fengyan.cli.audit import app as _audit_commands
from fengyan.cli.cases import app as _case_commands
from fengyan.cli.graph import graph as _graph_command
from fengyan.cli.indicators import indicators as _indicators_command
from fengyan.cli.resolve import app as _resolve_commands
from fengyan.cli.run import run as _run_command
from fengyan.cli.text import text as _text_command
from fengyan.cli.users import app as _user_commands
from fengyan.cli.web import serve as _serve_command
from fengyan.clock import CHINA_TZ
from fengyan.i18n import t
from fengyan.ingest.errors import IngestError, render_reason
from fengyan.ingest.service import ingest_path, lake_summary, list_batches, list_quarantine
from fengyan.workspace import Workspace

app = typer.Typer(
    name="fengyan",
    help=(
        "风眼 Fengyan — 地方金融风险监测预警平台 / "
        "local financial-risk monitoring and early warning."
    ),
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
)
# Outside a terminal (CI logs, pipes) rich would wrap at 80 columns; tables need more.
console = Console(width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True, width=None if sys.stderr.isatty() else 160)


@app.callback()
def _global(
    lang: Annotated[
        str | None, typer.Option("--lang", help="Message language: zh (default) or en.")
    ] = None,
) -> None:
    if lang:
        os.environ["FENGYAN_LANG"] = lang


def _ws(home: Path | None) -> Workspace:
    return Workspace.from_env(home)


@app.command()
def version() -> None:
    """Print the version."""
    console.print(f"fengyan {__version__}")


@app.command()
def init(home: HomeOpt = None) -> None:
    """Create the data folder, the lake and the operational database (safe to repeat)."""
    ws = _ws(home)
    ws.init()
    console.print(t("cli_initialised", home=ws.settings.home, db=ws.settings.database_url))


@app.command()
def schema(
    type_name: Annotated[str | None, typer.Argument(help="A type to show in full.")] = None,
) -> None:
    """Print the schema: every type, or one type's fields with their security labels."""
    from fengyan.schema import load_schema

    sch = load_schema()
    if type_name is None:
        table = Table(title=t("cli_schema_title"))
        for col in ("type", "中文", "kind", "key", "fields"):
            table.add_column(col)
        for et in sorted(sch, key=lambda e: (e.kind.value, e.name)):
            table.add_row(
                et.name, et.label.zh, et.kind.value, ", ".join(et.key), str(len(et.fields))
            )
        console.print(table)
        return
    try:
        et = sch.get(type_name)
    except KeyError:
        err.print(t("ingest_unknown_type", file="-", type=type_name))
        raise typer.Exit(2) from None
    table = Table(title=f"{et.name} {et.label.zh} — {et.description}")
    for col in ("field", "中文", "type", "req", "multi", "level", "PI", "mask"):
        table.add_column(col)
    for f in et.fields.values():
        table.add_row(
            f.name,
            f.label.zh,
            f.type.value,
            "✓" if f.required or f.name in et.key else "",
            "✓" if f.multiple else "",
            str(f.security_level),
            f.personal or "",
            f.mask or "",
        )
    console.print(table)


@app.command()
def ingest(
    path: Annotated[Path, typer.Argument(help="A file, or a folder with a manifest.yaml.")],
    type_name: Annotated[
        str | None, typer.Option("--type", "-t", help="Record type, e.g. enterprise.")
    ] = None,
    source: Annotated[
        str | None, typer.Option("--source", "-s", help="Sending agency, e.g. 市场监管局.")
    ] = None,
    mapping: Annotated[
        Path | None, typer.Option("--mapping", "-m", help="Column mapping YAML.")
    ] = None,
    encoding: Annotated[
        str | None, typer.Option(help="Text encoding (detected if omitted).")
    ] = None,
    fmt: Annotated[
        str | None, typer.Option("--format", help="csv, jsonl, xlsx or parquet.")
    ] = None,
    as_of: Annotated[
        datetime | None, typer.Option("--as-of", help="Date the data describes.")
    ] = None,
    home: HomeOpt = None,
) -> None:
    """Validate and load a file (or a folder's manifest); bad records are quarantined."""
    ws = _ws(home)
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TextColumn("{task.completed:,} rows"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    ) as progress:
        task = progress.add_task("", total=None)

        def on_file(p: Path) -> None:
            progress.update(task, description=p.name, completed=0)

        try:
            reports = ingest_path(
                ws,
                path,
                type_name,
                source,
                mapping=mapping,
                encoding=encoding,
                fmt=fmt,
                as_of=as_of,
                on_file=on_file,
                on_progress=lambda n: progress.update(task, completed=n),
            )
        except IngestError as exc:
            progress.stop()
            err.print(f"[red]✗[/red] {exc.message()}")
            raise typer.Exit(2) from None
    table = Table(title=t("cli_ingest_title"))
    for col in ("file", "type", "source", "read", "stored", "quarantined", "warnings", "batch"):
        table.add_column(
            col, justify="right" if col in ("read", "stored", "quarantined", "warnings") else "left"
        )
    for r in reports:
        table.add_row(
            Path(r.file).name,
            r.entity_type,
            r.source,
            f"{r.rows_read:,}",
            f"{r.rows_stored:,}",
            f"{r.rows_quarantined:,}",
            f"{r.warnings:,}",
            r.batch_id[:12] + (" " + t("cli_already") if r.already_ingested else ""),
        )
    console.print(table)
    for r in reports:
        if r.ignored_columns:
            console.print(
                t(
                    "cli_ignored_columns",
                    file=Path(r.file).name,
                    columns=", ".join(r.ignored_columns),
                )
            )
    if any(r.rows_quarantined or r.warnings for r in reports):
        console.print(t("cli_see_quarantine"))


@app.command()
def batches(home: HomeOpt = None) -> None:
    """List every ingested batch with its source, checksum and counts."""
    ws = _ws(home)
    table = Table(title=t("cli_batches_title"))
    for col in (
        "seq",
        "batch",
        "type",
        "source",
        "file",
        "as of",
        "read",
        "stored",
        "quarantined",
        "sha256",
    ):
        table.add_column(col)
    for b in list_batches(ws):
        table.add_row(
            str(b.seq),
            b.id[:12],
            b.entity_type,
            b.source,
            b.file_name,
            b.as_of.astimezone(CHINA_TZ).date().isoformat(),
            f"{b.rows_read:,}",
            f"{b.rows_stored:,}",
            f"{b.rows_quarantined:,}",
            b.file_sha256[:12],
        )
    console.print(table)


@app.command()
def quarantine(
    batch: Annotated[str | None, typer.Option(help="Batch id or its prefix.")] = None,
    reason: Annotated[str | None, typer.Option(help="Only this reason code.")] = None,
    severity: Annotated[str | None, typer.Option(help="error or warning.")] = None,
    limit: Annotated[int, typer.Option(help="How many to show.")] = 50,
    offset: Annotated[int, typer.Option(help="Skip this many.")] = 0,
    home: HomeOpt = None,
) -> None:
    """List quarantined records: file, row, field, value and the reason."""
    ws = _ws(home)
    total, rows = list_quarantine(ws, batch, reason, severity, limit, offset)
    table = Table(title=t("cli_quarantine_title", total=total))
    for col in ("file", "row", "field", "value", "reason", "severity"):
        table.add_column(col, overflow="fold")
    for q in rows:
        shown = q.value if q.value is None or len(q.value) <= 40 else q.value[:40] + "…"
        table.add_row(
            q.file_name,
            str(q.row or "-"),
            q.field or "-",
            shown or "",
            render_reason(q.reason, q.params),
            q.severity,
        )
    console.print(table)


@app.command()
def status(home: HomeOpt = None) -> None:
    """Show what the store holds: lake tables, batches and quarantine."""
    ws = _ws(home)
    table = Table(title=t("cli_status_title", lake=ws.lake.root))
    for col in ("table", "current", "versions"):
        table.add_column(col, justify="right" if col != "table" else "left")
    for name, current, versions in lake_summary(ws):
        table.add_row(name, f"{current:,}", f"{versions:,}")
    console.print(table)
    bs = list_batches(ws)
    console.print(
        t(
            "cli_status_batches",
            batches=len(bs),
            read=sum(b.rows_read for b in bs),
            stored=sum(b.rows_stored for b in bs),
            quarantined=sum(b.rows_quarantined for b in bs),
        )
    )


@app.command()
def demo(
    sample: Annotated[
        bool, typer.Option("--sample", help="Use the tiny bundled sample instead of a city.")
    ] = False,
    enterprises: Annotated[int, typer.Option(help="Firms in the simulated city.")] = 20_000,
    months: Annotated[int, typer.Option(help="Months simulated.")] = 36,
    seed: Annotated[int, typer.Option(help="Random seed of the simulated city.")] = 1,
    home: HomeOpt = None,
    no_serve: Annotated[
        bool, typer.Option("--no-serve", help="Do not start the workbench server at the end.")
    ] = False,
) -> None:
    """Simulate a demo city (Shenzhen), ingest and score it, serve the workbench to demo users."""
    ws = _ws(home)
    ws.init()
    console.print(t("cli_demo_start", home=ws.settings.home))
    if sample:
        from fengyan.samples import sample_dir

        ingest(sample_dir(), home=home)
    else:
        city = ws.settings.home / f"demo-city-{enterprises}x{months}-seed{seed}"
        if not (city / "manifest.yaml").is_file():
            simulate(out=city, enterprises=enterprises, months=months, seed=seed)
        _ingest_summary(ws, city)
    status(home=home)
    if not sample:  # the city goes through every stage, so the demo ends with warnings
        from fengyan.cli.run import run_and_report

        run_and_report(ws, [], skip_ingest=True)
    console.print(t("cli_demo_next"))
    _demo_web(ws, home, serve=not no_serve)


def _demo_web(ws: Workspace, home: Path | None, serve: bool) -> None:
    """Demo accounts (printed with the address), then the server unless told not to."""
    from fengyan.cli.demo_web import ensure_demo_users, print_logins
    from fengyan.web.settings import WebSettings

    settings = WebSettings.from_env()
    url = f"http://{settings.host}:{settings.port}/"
    print_logins(console, ensure_demo_users(ws, settings), url)
    if serve:
        from fengyan.cli.web import serve as serve_command

        console.print(t("cli_demo_serving_hint"))
        serve_command(host=None, port=None, home=home)


def _ingest_summary(ws: Workspace, folder: Path) -> None:
    """Ingest a delivery folder with a progress bar; print one line per record type."""
    with Progress(SpinnerColumn(), TextColumn("{task.description}"),
                  TextColumn("{task.completed:,} rows"), TimeElapsedColumn(), console=err,
                  transient=True) as progress:  # fmt: skip
        task = progress.add_task("", total=None)
        reports = ingest_path(
            ws,
            folder,
            on_file=lambda p: progress.update(task, description=p.name, completed=0),
            on_progress=lambda n: progress.update(task, completed=n),
        )
    totals: dict[str, list[int]] = {}
    for r in reports:
        row = totals.setdefault(r.entity_type, [0, 0, 0, 0])
        row[0] += 1
        row[1] += r.rows_read
        row[2] += r.rows_stored
        row[3] += r.rows_quarantined
    table = Table(title=t("cli_ingest_title"))
    for col in ("type", "files", "read", "stored", "quarantined"):
        table.add_column(col, justify="left" if col == "type" else "right")
    for name, (files, read, stored, quarantined) in sorted(totals.items()):
        table.add_row(name, str(files), f"{read:,}", f"{stored:,}", f"{quarantined:,}")
    console.print(table)


@app.command()
def simulate(
    out: Annotated[Path, typer.Option("--out", help="Folder to write the deliveries into.")],
    enterprises: Annotated[
        int | None, typer.Option(help="Number of firms (default from the parameters: 20000).")
    ] = None,
    months: Annotated[int | None, typer.Option(help="Months simulated (default 36).")] = None,
    seed: Annotated[int, typer.Option(help="Random seed: same seed, same files.")] = 1,
    city: Annotated[
        str | None, typer.Option(help="City division code (default 4403, Shenzhen).")
    ] = None,
    end_month: Annotated[
        str | None, typer.Option("--end-month", help="Last simulated month, YYYY-MM.")
    ] = None,
    params: Annotated[
        Path | None, typer.Option("--params", help="A parameter file (copy of params.yaml).")
    ] = None,
) -> None:
    """Generate a simulated jurisdiction: agency files, manifest and ground truth."""
    from fengyan.simulate.params import load_params
    from fengyan.simulate.service import simulate as run_simulation

    overrides = {
        "enterprises.count": enterprises,
        "calendar.months": months,
        "city.code": city,
        "calendar.end_month": end_month,
    }
    settings = load_params(params, **overrides)
    with err.status(t("simulate_start", out=out)) as status:
        result = run_simulation(
            out, settings, seed, lambda step: status.update(t("simulate_step", step=step))
        )
    console.print(
        t(
            "simulate_done",
            out=out,
            files=len(result.files),
            rows=sum(f.rows for f in result.files),
            enterprises=result.counts["enterprises"],
            schemes=result.counts["schemes"],
        )
    )


@app.command()
def docs(
    out: Annotated[Path, typer.Option(help="Folder to write generated docs into.")] = Path("docs"),
    check: Annotated[bool, typer.Option(help="Fail if the committed docs differ.")] = False,
) -> None:
    """Regenerate docs/schema.md and docs/cli.md from the code (or --check them)."""
    from fengyan.docsgen import generated_docs

    stale = []
    for name, text in generated_docs().items():
        target = out / name
        if check:
            if not target.exists() or target.read_text(encoding="utf-8") != text:
                stale.append(name)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
    if stale:
        err.print(t("cli_docs_stale", files=", ".join(stale)))
        raise typer.Exit(1)


# Entity resolution and the graph keep their commands in cli/resolve.py and cli/graph.py.
app.add_typer(_resolve_commands, name="resolve")
app.add_typer(_audit_commands, name="audit")
app.add_typer(_case_commands, name="cases")
app.command(name="graph")(_graph_command)
app.command(name="indicators")(_indicators_command)
app.command(name="run")(_run_command)
app.command(name="text")(_text_command)
app.add_typer(_user_commands, name="user")
app.command(name="serve")(_serve_command)


def main() -> None:
    """Entry point of the ``fengyan`` script."""
    app()
