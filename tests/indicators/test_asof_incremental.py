"""As-of evaluation cannot see the future; a restricted run equals the full run."""

from __future__ import annotations

from datetime import date

import pyarrow as pa
import pytest

from fengyan.indicators.compiler import CompileError
from fengyan.indicators.load import SpecSet
from fengyan.indicators.service import compute_indicators
from tests.indicators.conftest import (
    CB,
    CC,
    A,
    B,
    C,
    TinyCity,
    add_late_b_version,
    add_late_complaint,
    complaint,
)
from tests.indicators.lakebuilder import day

AS_OF = date(2024, 6, 30)
OUTPUTS = ("indicator_score", "indicator_value", "indicator_cutpoints", "firm_category")


def _rows(table: pa.Table, firm: str) -> list[dict[str, object]]:
    return [r for r in table.to_pylist() if r.get("firm_id") == firm]


def test_future_records_change_nothing(tiny: TinyCity, fixture_specs: SpecSet) -> None:
    before = compute_indicators(tiny.ws, AS_OF, specs=fixture_specs, write=False)
    # Known after the as-of date: a new version of B's register record, a complaint about B.
    add_late_b_version(tiny)
    tiny.build.put(
        "complaint",
        [
            complaint(
                "c9",
                "2024-07-10T09:00:00",
                credit_code=CB,
                amount=1e6,
                category="非法集资",
                complainant_id_hash="h5",
            )
        ],
        day("2024-07-10"),
        key="complaint_id",
    )
    again = compute_indicators(tiny.ws, AS_OF, specs=fixture_specs, write=False)
    for name in OUTPUTS:
        assert again.tables[name].equals(before.tables[name]), name
    # The same records do count once the as-of date has passed them.
    later = compute_indicators(tiny.ws, date(2024, 7, 31), specs=fixture_specs, write=False)
    b_later = _rows(later.tables["indicator_score"], B)[0]
    assert b_later["T_NAME_FINANCE"] == 1.0  # renamed 乙财富管理
    assert b_later["T_FEW_COMPLAINTS"] == pytest.approx(0.75)  # one complaint


def test_restricted_run_equals_full_run(tiny: TinyCity, fixture_specs: SpecSet) -> None:
    as_of = date(2024, 7, 31)
    first = compute_indicators(tiny.ws, as_of, specs=fixture_specs)  # writes cut-points
    # An unchanged firm computed alone gets exactly its full-run rows, ranks included.
    alone = compute_indicators(tiny.ws, as_of, firms=[A], specs=fixture_specs)
    for name in ("indicator_score", "indicator_value", "firm_category"):
        assert _rows(alone.tables[name], A) == _rows(first.tables[name], A), name
    assert alone.tables["indicator_score"].num_rows == 1
    # C changes: a new complaint and a larger capital.
    tiny.build.put(
        "enterprise",
        [
            {
                "credit_code": CC,
                "name": "深圳丙理财咨询有限公司",
                "registered_capital": 5e6,
                "established": day("2023-06-30").date(),
            }
        ],
        day("2024-07-20"),
        key="credit_code",
    )
    add_late_complaint(tiny)
    inc = compute_indicators(tiny.ws, as_of, firms=[C], specs=fixture_specs)
    full = compute_indicators(tiny.ws, as_of, specs=fixture_specs, write=False)
    inc_c = _rows(inc.tables["indicator_score"], C)[0]
    full_c = _rows(full.tables["indicator_score"], C)[0]
    assert inc_c["T_MAX_AMOUNT"] == pytest.approx(1.0) and inc_c["T_FEW_COMPLAINTS"] == 0.5
    for ind in fixture_specs.ids:
        if ind == "T_CAPITAL_RANK":
            continue
        assert inc_c[ind] == full_c[ind], ind
    # Ranks come from the last full run's cut-points (1e6 → 0, 5e6 → 1): C's new 5e6 ranks
    # as B did then; a new full run ranks it among the new distribution (A 1e6, B, C 5e6).
    assert inc_c["T_CAPITAL_RANK"] == 1.0 and full_c["T_CAPITAL_RANK"] == 0.5
    non_rank = [
        r for r in _rows(inc.tables["indicator_value"], C) if r["indicator_id"] != "T_CAPITAL_RANK"
    ]
    assert non_rank == [
        r for r in _rows(full.tables["indicator_value"], C) if r["indicator_id"] != "T_CAPITAL_RANK"
    ]


def test_restricted_run_merges_into_stage(tiny: TinyCity, fixture_specs: SpecSet) -> None:
    as_of = date(2024, 7, 31)
    first = compute_indicators(tiny.ws, as_of, specs=fixture_specs)
    add_late_complaint(tiny)
    compute_indicators(tiny.ws, as_of, firms=[C], specs=fixture_specs, write=True)
    con = tiny.ws.lake.connect()
    stage = con.sql("SELECT * FROM indicator_score ORDER BY firm_id").to_arrow_table()
    cut = con.sql("SELECT * FROM indicator_cutpoints ORDER BY indicator_id, value").to_arrow_table()
    con.close()
    assert stage.num_rows == 4
    for firm in (A, B):
        assert _rows(stage, firm) == _rows(first.tables["indicator_score"], firm)
    assert _rows(stage, C)[0]["T_MAX_AMOUNT"] == pytest.approx(1.0)
    assert cut.equals(first.tables["indicator_cutpoints"])


def test_restricted_run_needs_a_full_run(tiny: TinyCity, fixture_specs: SpecSet) -> None:
    with pytest.raises(CompileError, match="indicator_cutpoints"):
        compute_indicators(tiny.ws, AS_OF, firms=[A], specs=fixture_specs)
