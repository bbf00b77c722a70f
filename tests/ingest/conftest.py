"""Fixtures for the ingestion tests: the command line run in-process on a test home."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from fengyan.cli.app import app

from .builders import Cli


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch) -> Cli:
    """Run ``fengyan <args>`` in-process; the environment is restored afterwards.

    ``--lang`` writes FENGYAN_LANG into the process environment, so it is set here to be
    restored by monkeypatch; the pseudonym key matches the workspace fixtures' key so that
    CLI and fixture ingests of the same home agree.
    """
    for var in ("FENGYAN_HOME", "FENGYAN_LAKE_DIR", "FENGYAN_DATABASE_URL", "SOURCE_DATE_EPOCH"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("FENGYAN_LANG", "zh")
    monkeypatch.setenv("FENGYAN_PSEUDONYM_KEY", "test-key")
    monkeypatch.setenv("FENGYAN_CHUNK_ROWS", "3")
    runner = CliRunner()

    def run(*args: str | Path) -> Result:
        return runner.invoke(app, [str(a) for a in args])

    return run
