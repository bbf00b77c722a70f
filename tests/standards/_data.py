"""Access to the shared real-data files (the ``shared_data`` fixture is in tests/conftest.py)."""

from __future__ import annotations

from pathlib import Path

import pytest


def shared_file(shared_data: Path, relative: str) -> Path:
    """A file inside the shared data folder; skips the test, saying which, when it is missing."""
    path = shared_data / relative
    if not path.is_file():
        pytest.skip(f"shared data file {relative} not present")
    return path
