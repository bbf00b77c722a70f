"""Promises of return are written many ways; each states the annual rate ground truth records."""

from __future__ import annotations

import numpy as np
import pytest

from fengyan.simulate.texts import amount_phrase, chinese_number, yield_phrase


@pytest.mark.parametrize(
    ("n", "text"),
    [
        (3, "三"),
        (10, "十"),
        (18, "十八"),
        (36, "三十六"),
        (100, "一百"),
        (110, "一百一十"),
        (305, "三百零五"),
    ],
)
def test_chinese_numbers(n: int, text: str) -> None:
    assert chinese_number(n) == text


@pytest.mark.parametrize(
    "fmt",
    ["annual", "monthly_fen", "monthly_pct", "daily_permille", "daily_pct", "multiple", "bonus"],
)
def test_each_format_states_an_annual_rate_near_the_intended_one(fmt: str) -> None:
    rng = np.random.default_rng(1)
    for intended in (40.0, 109.5, 200.0):  # daily formats cannot state less than 36.5 %
        phrase, annual = yield_phrase(rng, fmt, intended)
        assert phrase and annual > 0
        assert annual == pytest.approx(intended, rel=0.6)


def test_monthly_fen_reads_as_percent_a_month() -> None:
    phrase, annual = yield_phrase(np.random.default_rng(0), "monthly_fen", 24.0)
    assert "分" in phrase and annual == 24.0


def test_amounts_are_written_in_people_s_units() -> None:
    rng = np.random.default_rng(2)
    texts = {amount_phrase(rng, 3_200_000) for _ in range(30)}
    assert any(t.endswith("万元") for t in texts)
    assert any("," in t or "余万元" in t for t in texts)
