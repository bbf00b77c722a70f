"""A small simulated jurisdiction for the text tests (its texts and their ground truth)."""

from __future__ import annotations

from pathlib import Path

import pytest

from fengyan.simulate.params import load_params
from fengyan.simulate.service import simulate
from fengyan.text.ccks import Labelled
from fengyan.text.simdata import SimText, load_simulated_texts

#: A toy labelled set for the event model's tests (four event types and two neutral texts).
TOY: list[Labelled] = [
    Labelled(t, frozenset(e))
    for t, e in [
        ("平台老板跑路失联", {"runaway"}),
        ("公司负责人失联跑路", {"runaway"}),
        ("投资人无法提现", {"overdue"}),
        ("逾期兑付，提现困难", {"overdue"}),
        ("涉嫌非法吸收公众存款", {"ifr"}),
        ("涉嫌非法集资被查", {"ifr"}),
        ("公司举办客户答谢会", set()),
        ("新项目签约落地", set()),
    ]
]


@pytest.fixture(scope="session")
def sim_texts(tmp_path_factory: pytest.TempPathFactory) -> list[SimText]:
    """Texts of 3,000 simulated firms over 24 months (seed 5), with what each states."""
    out: Path = tmp_path_factory.mktemp("textsim") / "out"
    simulate(out, load_params(**{"enterprises.count": 3000, "calendar.months": 24}), seed=5)
    return load_simulated_texts(out)
