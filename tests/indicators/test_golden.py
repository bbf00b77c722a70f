"""Golden values on the hand-built city: every normalisation, window, missing policy,
derived indicator, evidence order and category, computed by hand (see conftest.py)."""

from __future__ import annotations

import math
from datetime import date

import pytest

from fengyan.indicators.load import SpecSet
from fengyan.indicators.service import IndicatorReport, compute_indicators
from tests.indicators.conftest import A, B, C, D, TinyCity

AS_OF = date(2024, 6, 30)
LOG10 = math.log(10)


def logistic(x: float, mid: float, scale: float) -> float:
    return 1 / (1 + math.exp(-(x - mid) / scale))


# indicator → firm → (raw value, score); None = missing.
EXPECTED: dict[str, dict[str, tuple[float | None, float | None]]] = {
    # binary over terms(name, 'finance_name'); D's name comes from resolution (no register row)
    "T_NAME_FINANCE": {A: (1, 1), B: (0, 0), C: (1, 1), D: (1, 1)},
    # percent_rank among non-null values: 1e6, 1e6, 5e6 → 0, 0, 1; D has no register row
    "T_CAPITAL_RANK": {A: (1e6, 0), B: (5e6, 1), C: (1e6, 0), D: (None, None)},
    # piecewise (0, 1) (365, 0.5) (730, 0): 181 days; 731 days; 366 days
    "T_AGE_DAYS": {
        A: (181, 1 - 0.5 * 181 / 365),
        B: (731, 0),
        C: (366, 0.5 - 0.5 / 365),
        D: (None, None),
    },
    # window 90 days: (2024-04-01, 2024-06-30]; c3 is older, c4 dated after as-of; log cap 9
    "T_COMPLAINTS_90D": {
        A: (2, math.log(3) / LOG10),
        B: (0, 0),
        C: (1, math.log(2) / LOG10),
        D: (1, math.log(2) / LOG10),
    },
    # count(DISTINCT complainant) over all time, logistic(mid 2, scale 1)
    "T_COMPLAINANTS": {
        A: (2, 0.5),
        B: (0, logistic(0, 2, 1)),
        C: (1, logistic(1, 2, 1)),
        D: (1, logistic(1, 2, 1)),
    },
    # where category = 非法集资, max(amount), missing −1 (C has rows but none match; D's amount
    # is null) → piecewise (0, 0) (100000, 1) clamps
    "T_MAX_AMOUNT": {A: (200_000, 1), B: (-1, 0), C: (-1, 0), D: (-1, 0)},
    # count(*) all time, piecewise (0,0) (4,1), direction lower
    "T_FEW_COMPLAINTS": {A: (3, 0.25), B: (0, 1), C: (1, 0.75), D: (1, 0.75)},
    # text_promise kind = yield: A 0.18 → (0.18 − 0.06) / 0.18; C's promise is after as-of
    "T_PROMISE_RATE": {A: (0.18, 0.12 / 0.18), B: (0, 0), C: (0, 0), D: (0, 0)},
    # derived: 10 × complaints_90d + max_amount / 10000, piecewise (0, 0) (40, 1)
    "T_COMPLAINT_PRESSURE": {
        A: (40, 1),
        B: (-0.0001, 0),
        C: (10 - 0.0001, (10 - 0.0001) / 40),
        D: (10 - 0.0001, (10 - 0.0001) / 40),
    },
}


@pytest.fixture
def report(tiny: TinyCity, fixture_specs: SpecSet) -> IndicatorReport:
    return compute_indicators(tiny.ws, AS_OF, specs=fixture_specs)


def _scores(report: IndicatorReport) -> dict[str, dict[str, float | None]]:
    rows = report.tables["indicator_score"].to_pylist()
    return {r["firm_id"]: r for r in rows}


def _values(report: IndicatorReport) -> dict[tuple[str, str], dict[str, object]]:
    return {
        (r["firm_id"], r["indicator_id"]): r for r in report.tables["indicator_value"].to_pylist()
    }


def test_universe_is_every_resolved_enterprise(report: IndicatorReport) -> None:
    assert report.tables["indicator_score"].column("firm_id").to_pylist() == sorted([A, B, C, D])
    assert report.tables["indicator_score"].schema.field("T_AGE_DAYS").type.bit_width == 32


@pytest.mark.parametrize("indicator", sorted(EXPECTED))
def test_golden_scores_and_values(report: IndicatorReport, indicator: str) -> None:
    scores = _scores(report)
    values = _values(report)
    for firm, (value, score) in EXPECTED[indicator].items():
        got = scores[firm][indicator]
        if score is None:
            assert got is None, (indicator, firm)
        else:
            assert got == pytest.approx(score, abs=1e-6), (indicator, firm)
        row = values.get((firm, indicator))
        if score is None or score == 0:
            assert row is None, f"{indicator} {firm}: zero scores are not in indicator_value"
        else:
            assert row is not None and row["value"] == pytest.approx(value), (indicator, firm)
            assert row["score"] == pytest.approx(score, abs=1e-6)


def test_evidence_order_and_limit(report: IndicatorReport, tiny: TinyCity) -> None:
    values = _values(report)
    c1, c2, c3 = (tiny.key("complaint", c) for c in ("c1", "c2", "c3"))
    # amount DESC, window excludes c3, limit 2
    assert values[(A, "T_COMPLAINTS_90D")]["evidence"] == [c2, c1]
    # where 非法集资: c2 (200,000), c1 (50,000); c3 is another category
    assert values[(A, "T_MAX_AMOUNT")]["evidence"] == [c2, c1]
    # default order for events: latest first (c1 06-01, c2 05-15, c3 01-10)
    assert values[(A, "T_FEW_COMPLAINTS")]["evidence"] == [c1, c2, c3]
    # a firm-grain source cites the register record
    assert values[(B, "T_CAPITAL_RANK")]["evidence"] == [
        f"enterprise/{tiny.build.record_id('enterprise', '91440300000000002B')}"
    ]
    # D is not in the register: the firm itself is the evidence of its name
    assert values[(D, "T_NAME_FINANCE")]["evidence"] == [D]
    # derived: evidence of what it reads, each key once, in reference order
    assert values[(A, "T_COMPLAINT_PRESSURE")]["evidence"] == [c2, c1]
    assert values[(A, "T_PROMISE_RATE")]["evidence"] == ["advertisement/a1"]
    # a low-is-risky score with no rows behind it cites nothing
    assert values[(B, "T_FEW_COMPLAINTS")]["evidence"] is None


def test_categories(report: IndicatorReport) -> None:
    cats = {r["firm_id"]: r for r in report.tables["firm_category"].to_pylist()}
    assert [cats[f]["finance_like"] for f in (A, B, C, D)] == [True, False, True, True]
    assert cats[A]["category"] == "wealth" and cats[A]["category_score"] == pytest.approx(1.0)
    assert cats[A]["runner_up"] == "lending"
    assert cats[A]["runner_up_score"] == pytest.approx(math.log(3) / LOG10, abs=1e-6)
    assert cats[C]["category"] == "wealth" and cats[C]["category_score"] == pytest.approx(0.5)
    assert cats[C]["runner_up"] == "lending"
    assert cats[B]["category"] is None and cats[B]["runner_up"] is None


def test_run_is_written_and_recorded(report: IndicatorReport, tiny: TinyCity) -> None:
    files = tiny.ws.lake.derived_files()
    for name in (
        "indicator_score",
        "indicator_value",
        "indicator_run",
        "indicator_cutpoints",
        "firm_category",
    ):
        assert name in files
    run = report.tables["indicator_run"].to_pylist()[0]
    assert run["as_of"] == AS_OF and run["mode"] == "full" and run["firms"] == 4
    cut = report.tables["indicator_cutpoints"].to_pylist()
    assert [(r["indicator_id"], r["value"], r["score"]) for r in cut] == [
        ("T_CAPITAL_RANK", 1e6, 0.0),
        ("T_CAPITAL_RANK", 5e6, 1.0),
    ]
