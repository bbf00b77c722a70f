"""A small simulated jurisdiction for the text tests (its texts and their ground truth)."""

from __future__ import annotations

from pathlib import Path

import pytest

from fengyan.simulate.params import load_params
from fengyan.simulate.service import simulate
from fengyan.text.simdata import SimText, load_simulated_texts


@pytest.fixture(scope="session")
def sim_texts(tmp_path_factory: pytest.TempPathFactory) -> list[SimText]:
    """Texts of 3,000 simulated firms over 24 months (seed 5), with what each states."""
    out: Path = tmp_path_factory.mktemp("textsim") / "out"
    simulate(out, load_params(**{"enterprises.count": 3000, "calendar.months": 24}), seed=5)
    return load_simulated_texts(out)
