"""The warm incremental scorer gives each firm exactly the rows of a full run.

It stores the full plan's source rows once, keyed by firm, and recomputes one firm from
them; a new lake batch rebuilds only the sources that read the changed table.
"""

from __future__ import annotations

from datetime import date

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from fengyan.index.service import bound_models, rescore_firm
from fengyan.indicators.incremental import IncrementalScorer
from fengyan.indicators.load import SpecSet, load_specs
from fengyan.indicators.service import compute_indicators
from tests.indicators.conftest import (
    CC,
    A,
    B,
    C,
    D,
    TinyCity,
    add_late_b_version,
    add_late_complaint,
    complaint,
)
from tests.indicators.lakebuilder import day

AS_OF = date(2024, 6, 30)
LATER = date(2024, 7, 31)
TABLES = ("indicator_score", "indicator_value", "firm_category")


def _rows(table: pa.Table, firm: str) -> pa.Table:
    return table.filter(pc.equal(table.column("firm_id"), firm))


def _assert_equal(got: dict[str, pa.Table], want: dict[str, pa.Table], firm: str) -> None:
    for name in TABLES:
        mine = _rows(want[name], firm)
        assert got[name].num_rows == mine.num_rows, (firm, name)
        assert got[name].cast(mine.schema).equals(mine), (firm, name)


@pytest.mark.parametrize("on_disk", [False, True])
def test_every_firm_equals_the_full_run(
    tiny: TinyCity, fixture_specs: SpecSet, on_disk: bool
) -> None:
    # The full run writes the cut-points the rank indicator (T_CAPITAL_RANK) is read from.
    full = compute_indicators(tiny.ws, LATER, specs=fixture_specs)
    tmp = tiny.ws.settings.home / "tmp"
    with IncrementalScorer(
        tiny.ws, LATER, fixture_specs, index=False, on_disk=on_disk, memory_limit="256MB"
    ) as scorer:
        # A: many sources; B: no complaint; D: no registry record (unregistered firm).
        for firm in (A, B, C, D):
            result = scorer.rescore(firm)
            assert result.known and result.as_of == LATER
            _assert_equal(result.tables, full.tables, firm)
        # DuckDB's optimiser on for every step: the same rows.
        scorer.optimise_lookups_only = False
        for firm in (A, D):
            _assert_equal(scorer.rescore(firm).tables, full.tables, firm)
        unknown = scorer.rescore("ent:nobody")
        assert not unknown.known and unknown.index is None
        assert unknown.tables["indicator_value"].num_rows == 0
        # Several firms in one pass: the same rows, one result each.
        many = scorer.rescore_many([C, A, "ent:nobody", D])
        assert [r.firm_id for r in many] == [C, A, "ent:nobody", D]
        for result in many:
            if result.known:
                _assert_equal(result.tables, full.tables, result.firm_id)
        assert not many[2].known
        assert any(tmp.glob("incremental-db-*")) == on_disk
    assert not any(tmp.glob("incremental-*"))  # nothing left behind


def test_as_of_date_hides_later_records(tiny: TinyCity, fixture_specs: SpecSet) -> None:
    full = compute_indicators(tiny.ws, AS_OF, specs=fixture_specs)
    with IncrementalScorer(tiny.ws, AS_OF, fixture_specs, index=False) as scorer:
        # c4 is dated after the as-of date although delivered before: A does not count it.
        _assert_equal(scorer.rescore(A).tables, full.tables, A)
        # Known after the as-of date: a new version of B's record and a complaint about B.
        add_late_b_version(tiny)
        add_late_complaint(tiny)
        rebuilt = scorer.refresh()
        assert "ind__src_complaint" in rebuilt and "ind__src_enterprise" in rebuilt
        for firm in (B, C):
            _assert_equal(scorer.rescore(firm).tables, full.tables, firm)


def test_new_batch_rebuilds_its_sources_and_changes_the_firm(
    tiny: TinyCity, fixture_specs: SpecSet
) -> None:
    compute_indicators(tiny.ws, LATER, specs=fixture_specs)
    with IncrementalScorer(tiny.ws, LATER, fixture_specs, index=False) as scorer:
        before = scorer.rescore(C).tables["indicator_score"].to_pylist()[0]
        assert scorer.refresh() == []  # nothing changed: nothing rebuilt
        add_late_complaint(tiny)
        # The service loop: the rebuild finds the firms whose rows changed, only C.
        results = scorer.rescore_changed()
        assert [r.firm_id for r in results] == [C] and scorer.changed == {C}
        after = results[0]
        assert scorer.refresh() == [] and scorer.changed == set()
        assert scorer.rescore(C).tables["indicator_score"].equals(after.tables["indicator_score"])
        score = after.tables["indicator_score"].to_pylist()[0]
        assert before["T_MAX_AMOUNT"] != score["T_MAX_AMOUNT"] == pytest.approx(1.0)
        assert before["T_FEW_COMPLAINTS"] != score["T_FEW_COMPLAINTS"] == 0.5
        # The same rows as a restricted run on the new lake (ranks from the same cut-points).
        restricted = compute_indicators(tiny.ws, LATER, firms=[C], specs=fixture_specs)
        _assert_equal(after.tables, restricted.tables, C)
        # Only the sources reading complaints were rebuilt by the batch.
        tiny.build.put(
            "complaint",
            [complaint("c10", "2024-07-21T09:00:00", credit_code=CC, complainant_id_hash="h7")],
            day("2024-07-21"),
            key="complaint_id",
        )
        rebuilt = scorer.refresh()
        assert "ind__src_complaint" in rebuilt
        assert "ind__src_enterprise" not in rebuilt and "ind__universe" not in rebuilt


def test_packaged_specs_and_index_equal_the_full_run(tiny: TinyCity) -> None:
    specs = load_specs()
    full = compute_indicators(tiny.ws, LATER, specs=specs)
    scores = full.tables["indicator_score"]
    bound = bound_models([c for c in scores.column_names if c != "firm_id"])
    with IncrementalScorer(tiny.ws, LATER, specs) as scorer:
        for firm in (A, C, D):
            result = scorer.rescore(firm)
            _assert_equal(result.tables, full.tables, firm)
            want = rescore_firm(
                bound, _rows(scores, firm), _rows(full.tables["indicator_value"], firm)
            )
            assert result.index == want


def test_pipeline_rescores_the_firms_whose_records_arrived(
    tiny: TinyCity, fixture_specs: SpecSet
) -> None:
    from fengyan.index.pipeline import rescore_firms

    compute_indicators(tiny.ws, LATER, specs=fixture_specs)
    scorer = IncrementalScorer(tiny.ws, LATER, fixture_specs, index=False)
    try:
        scorer, results = rescore_firms(tiny.ws, scorer=scorer)
        assert results == []  # nothing arrived
        add_late_complaint(tiny)
        scorer, results = rescore_firms(tiny.ws, scorer=scorer)
        assert [r.firm_id for r in results] == [C]
        scorer, results = rescore_firms(tiny.ws, [A, C], scorer=scorer)
        assert [r.firm_id for r in results] == [A, C]
    finally:
        scorer.close()


def test_a_new_full_run_brings_new_cut_points(tiny: TinyCity, fixture_specs: SpecSet) -> None:
    compute_indicators(tiny.ws, LATER, specs=fixture_specs)
    with IncrementalScorer(tiny.ws, LATER, fixture_specs, index=False) as scorer:
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
        # Ranks from the old cut-points until a full run writes new ones (T_CAPITAL_RANK:
        # C's new 5e6 ranks as B's did then, 1.0; among the new distribution, 0.5).
        old = scorer.rescore(C).tables["indicator_score"].to_pylist()[0]
        assert old["T_CAPITAL_RANK"] == 1.0
        full = compute_indicators(tiny.ws, LATER, specs=fixture_specs)
        assert scorer.refresh() == [] and scorer.changed is None  # every rank may move
        for firm in (A, B, C):
            _assert_equal(scorer.rescore(firm).tables, full.tables, firm)


def test_calls_look_up_warm_source_steps_and_plan_less(
    tiny: TinyCity, fixture_specs: SpecSet
) -> None:
    full = compute_indicators(tiny.ws, LATER, specs=fixture_specs)
    with IncrementalScorer(tiny.ws, LATER, fixture_specs, index=False) as scorer:
        # Every source's aggregation is computed for all firms at its build, not per call;
        # steps that read more than their source (evidence of a rank indicator, which
        # reads ind__scores) still run per call, on the source rows looked up.
        for source, steps in scorer._warmed.items():
            assert f"ind__agg_{source.removeprefix('ind__src_')}" in {s.name for s in steps}
        assert "ind__evidence_enterprise" in scorer._local["ind__src_enterprise"]
        assert "ind__evidence_enterprise" not in {
            s.name for s in scorer._warmed["ind__src_enterprise"]
        }
        assert scorer._rows_read == {"ind__src_enterprise"}
        # D has no registry record, B no complaint: their calls read the empty defaults
        # of those sources through pruned statements (no join, no union member).
        for firm in (D, B):
            _assert_equal(scorer.rescore(firm).tables, full.tables, firm)
        pruned = {e: sql for (name, e), sql in scorer._pruned.items() if name == "ind__values"}
        assert {frozenset({"ind__agg_enterprise"}), frozenset({"ind__agg_complaint"})} <= set(
            pruned
        )
        assert all(t not in sql for e, sql in pruned.items() for t in e)
        # The same calls again: parsed statements and pruned SQL come from the caches.
        for firm in (D, B, A):
            _assert_equal(scorer.rescore(firm).tables, full.tables, firm)


def test_warm_aggregations_keep_only_the_columns_read(
    tiny: TinyCity, fixture_specs: SpecSet
) -> None:
    full = compute_indicators(tiny.ws, LATER, specs=fixture_specs)
    with IncrementalScorer(tiny.ws, LATER, fixture_specs, index=False) as scorer:
        narrowed = 0
        for steps in scorer._warmed.values():
            for step in steps:
                stored = [
                    str(r[0])
                    for r in scorer.con.execute(f'DESCRIBE "ind__w_{step.name}"').fetchall()
                ]
                every = list(step.query.named_selects)
                read = scorer._agg_read.get(step.name)
                if read is None:
                    # Not an aggregation a call narrows: every column kept.
                    assert stored == [*every, "ind__w_pos", "ind__w_key"]
                    continue
                # Its firm and the columns a call looks up (its scores are in the
                # presence rows).
                wanted = {"firm_id", *read}
                assert stored == [*(c for c in every if c in wanted), "ind__w_pos", "ind__w_key"]
                narrowed += len(stored) < len(every) + 2
        assert narrowed > 0
        for firm in (A, B, C, D):
            _assert_equal(scorer.rescore(firm).tables, full.tables, firm)
        # A batch rebuilds the complaint sources: the presence rows of the others (their
        # scores, no longer in their aggregations) are the previous table's.
        presence = "SELECT * FROM ind__w_presence WHERE source = ? ORDER BY ALL"
        kept = scorer._sources.index("ind__src_enterprise")
        before = scorer.con.execute(presence, [kept]).fetchall()
        add_late_complaint(tiny)
        rebuilt = scorer.refresh()
        assert "ind__src_complaint" in rebuilt and "ind__src_enterprise" not in rebuilt
        assert scorer.con.execute(presence, [kept]).fetchall() == before
        # Firms the batch does not touch score as before (C: the other test).
        for firm in (A, B, D):
            _assert_equal(scorer.rescore(firm).tables, full.tables, firm)
