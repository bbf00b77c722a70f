"""``fengyan simulate`` is a thin command over the service."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from fengyan.cli.app import app


def test_simulate_command_writes_a_delivery(tmp_path: Path) -> None:
    out = tmp_path / "sim"
    result = CliRunner().invoke(
        app,
        ["simulate", "--enterprises", "300", "--months", "3", "--seed", "5", "--out", str(out)],
    )
    assert result.exit_code == 0, result.output
    assert (out / "manifest.yaml").is_file()
    assert (out / "ground_truth" / "summary.yaml").is_file()
    assert "300" in result.output
