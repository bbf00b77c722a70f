"""Fixtures for the fengyan.standards tests: where the shared real-data files live."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


def shared_data_dir() -> Path | None:
    """``$FENGYAN_SHARED_DATA``, else ``../shared/data`` next to the repository, if present."""
    configured = os.environ.get("FENGYAN_SHARED_DATA")
    folder = Path(configured) if configured else Path(__file__).parents[2] / "../shared/data"
    return folder.resolve() if folder.is_dir() else None


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The shared data folder; skips the test when it is not available."""
    folder = shared_data_dir()
    if folder is None:
        pytest.skip(
            "shared real-data folder not found: set FENGYAN_SHARED_DATA or place it at "
            "../shared/data next to the repository"
        )
    return folder


def shared_file(shared_data: Path, relative: str) -> Path:
    """A file inside the shared data folder; skips the test when it is missing."""
    path = shared_data / relative
    if not path.is_file():
        pytest.skip(f"shared data file {relative} not present")
    return path
