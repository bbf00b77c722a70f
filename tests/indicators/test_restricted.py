"""A restricted run gives each record to the firm a full run gives it to.

Resolution and a record's credit code can disagree: the record's own link says firm C, its
code says firm A. A full run follows the record link (the first of the source's links);
a restricted run of A must not take the record because its code is A's, and a restricted
run of C must still find it. Likewise a code linked to two firms maps to the least of
them in both kinds of run.
"""

from __future__ import annotations

from datetime import date

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from fengyan.indicators.load import SpecSet
from fengyan.indicators.service import compute_indicators
from fengyan.workspace import Workspace
from tests.indicators.conftest import CA, CC, A, B, C, build_tiny_city, complaint
from tests.indicators.lakebuilder import day

AS_OF = date(2024, 6, 30)


def _add_links(ws: Workspace, links: list[dict[str, object]]) -> None:
    """Append links to resolution's stage (the entities stay)."""
    files = ws.lake.derived_files()
    entity = pq.read_table(files["resolved_entity"])
    link = pq.read_table(files["resolved_link"])
    extra = [{"entity_kind": "enterprise", "probability": 1.0, **lk} for lk in links]
    link = pa.concat_tables([link, pa.Table.from_pylist(extra, schema=link.schema)])
    ws.lake.write_derived("resolve", {"resolved_entity": entity, "resolved_link": link})


def _rows(table: pa.Table, firm: str) -> pa.Table:
    return table.filter(pc.equal(table.column("firm_id"), firm))


def test_restricted_runs_attribute_records_as_the_full_run(
    sqlite_workspace: Workspace, fixture_specs: SpecSet
) -> None:
    city = build_tiny_city(sqlite_workspace)
    ws = city.ws
    # c8 carries A's credit code, but resolution links the record itself to C.
    city.build.put(
        "complaint",
        [
            complaint(
                "c8",
                "2024-06-10T10:00:00",
                credit_code=CA,
                amount=70_000.0,
                category="非法集资",
                complainant_id_hash="h8",
            )
        ],
        day("2024-01-01"),
        key="complaint_id",
    )
    _add_links(
        ws,
        [
            {
                "key_kind": "record",
                "key": city.key("complaint", "c8"),
                "canonical_id": C,
                "method": "name",
            },
            # C's code is also linked to A: the least id (A's) takes it in every run.
            {"key_kind": "credit_code", "key": CC, "canonical_id": A, "method": "name"},
        ],
    )
    full = compute_indicators(ws, AS_OF, specs=fixture_specs)
    values = full.tables["indicator_value"]
    # The full run's attribution, which the restricted runs must reproduce.
    c8 = city.key("complaint", "c8")
    c7 = city.key("complaint", "c7")
    cited = {
        firm: {k for ev in _rows(values, firm).column("evidence").to_pylist() for k in ev or []}
        for firm in (A, C)
    }
    assert c8 in cited[C] and c8 not in cited[A]
    assert c7 in cited[A] and c7 not in cited[C]
    for firm in (A, B, C):
        alone = compute_indicators(ws, AS_OF, firms=[firm], specs=fixture_specs)
        for name in ("indicator_score", "indicator_value"):
            mine = _rows(full.tables[name], firm)
            assert alone.tables[name].cast(mine.schema).equals(mine), (firm, name)
