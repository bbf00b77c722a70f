"""``fengyan serve``: run the web workbench and API with uvicorn."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from fengyan.i18n import t
from fengyan.workspace import Workspace

console = Console(width=None if sys.stdout.isatty() else 160)
GRACEFUL_SHUTDOWN_SECONDS = 10


def serve(
    host: Annotated[
        str | None,
        typer.Option(help="Address to listen on (default $FENGYAN_WEB_HOST or 127.0.0.1)."),
    ] = None,
    port: Annotated[
        int | None, typer.Option(help="Port (default $FENGYAN_WEB_PORT or 8000).")
    ] = None,
    home: Annotated[
        Path | None, typer.Option("--home", help="Data folder (default: $FENGYAN_HOME or ./var).")
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            min=1, help="Server processes (default $FENGYAN_WEB_WORKERS or one per CPU core)."
        ),
    ] = None,
) -> None:
    """Serve the web workbench and JSON API (settings: FENGYAN_WEB_*, see docs/web.md)."""
    import uvicorn

    from fengyan.web.app import create_app
    from fengyan.web.settings import WebSettings
    from fengyan.web.workers import reuse_port_supported, serve_workers

    settings = WebSettings.from_env()
    ws = Workspace.from_env(home)
    ws.init()
    bind_host, bind_port = host or settings.host, port or settings.port
    processes = workers or settings.worker_count
    console.print(t("web_cli_serving", host=bind_host, port=bind_port))
    options: dict[str, Any] = {
        "host": bind_host,
        "port": bind_port,
        "server_header": False,
        "proxy_headers": settings.trust_proxy,
        "log_level": "info",
        # One line per request costs about a twentieth of a page's CPU; the audit log
        # records every view of personal data either way (FENGYAN_WEB_ACCESS_LOG=1 to log).
        "access_log": settings.access_log,
        # httptools' C parser and uvloop when installed (pinned in pyproject.toml), else h11
        # and asyncio; about a fifth less CPU per page (docs/web.md, "Speed").
        "http": "auto",
        "loop": "auto",
        # On SIGTERM, requests already running get this long to finish; then they are
        # cancelled and the process exits (a stuck client cannot keep it alive).
        "timeout_graceful_shutdown": GRACEFUL_SHUTDOWN_SECONDS,
    }
    if processes == 1:
        from fengyan.web.heap import serving

        app = create_app(ws, settings)
        serving()  # docs/web.md, "Speed": the garbage collector and the long-lived heap
        uvicorn.run(app, **options)
        return
    # Several processes: each imports the app factory, which reads the same environment.
    # What each worker keeps to itself (rate limits, caches, the lake copy, the audit
    # writer) and what they share (the database) is in docs/web.md. On Linux each worker
    # listens on its own SO_REUSEPORT socket (web/workers.py: connections spread evenly).
    os.environ["FENGYAN_HOME"] = str(ws.settings.home)
    if reuse_port_supported():
        try:
            code = serve_workers(bind_host, bind_port, processes, options)
        except OSError as exc:  # the port probe: another server holds the port
            console.print(
                t("web_cli_port_in_use", host=bind_host, port=bind_port, reason=exc.strerror)
            )
            raise typer.Exit(1) from None
        if code:
            raise typer.Exit(code)
        return
    uvicorn.run("fengyan.web.app:app_from_env", factory=True, workers=processes, **options)
