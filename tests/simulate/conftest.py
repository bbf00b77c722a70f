"""A small simulated jurisdiction, generated once per test session."""

from __future__ import annotations

from pathlib import Path

import pytest

from fengyan.simulate.params import Params, load_params
from fengyan.simulate.service import SimulationResult, simulate

SMALL = {"enterprises.count": 2000, "calendar.months": 12}


@pytest.fixture(scope="session")
def small_params() -> Params:
    """2,000 firms over 12 months: big enough for every kind of record."""
    return load_params(**SMALL)


@pytest.fixture(scope="session")
def small_world(tmp_path_factory: pytest.TempPathFactory, small_params: Params) -> SimulationResult:
    """The small jurisdiction written to a temporary folder."""
    out: Path = tmp_path_factory.mktemp("sim") / "out"
    return simulate(out, small_params, seed=7)
