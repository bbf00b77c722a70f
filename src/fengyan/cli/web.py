"""``fengyan serve``: run the web workbench and API with uvicorn."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from fengyan.i18n import t
from fengyan.workspace import Workspace

console = Console(width=None if sys.stdout.isatty() else 160)


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
) -> None:
    """Serve the web workbench and JSON API (settings: FENGYAN_WEB_*, see docs/web.md)."""
    import uvicorn

    from fengyan.web.app import create_app
    from fengyan.web.settings import WebSettings

    settings = WebSettings.from_env()
    ws = Workspace.from_env(home)
    ws.init()
    app = create_app(ws, settings)
    bind_host, bind_port = host or settings.host, port or settings.port
    console.print(t("web_cli_serving", host=bind_host, port=bind_port))
    # One process: rate limits and the SQLite writer live in it (docs/web.md, operations).
    uvicorn.run(app, host=bind_host, port=bind_port, proxy_headers=settings.trust_proxy,
                server_header=False, log_level="info")  # fmt: skip
