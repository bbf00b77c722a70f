"""Hand-built indicator tags and tables for the index tests (no engine needed)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pyarrow as pa
import pytest

from fengyan.index.catalogue import IndicatorMeta

# Seven indicators covering every dimension of the three shipped models; three carry the
# catalogue ids the shipped floors name.
METAS = (
    IndicatorMeta("A", "business", ("compliance",), ("illegality",), "op_evt_runaway"),
    IndicatorMeta("B", "business", ("yield_deviation",), ("inducement",), "op_evt_withdrawal"),
    IndicatorMeta("C", "opinion", ("complaints",), ("sociality",), "jud_police_filing"),
    IndicatorMeta("D", "scale", ("propagation",), ("publicity",)),
    IndicatorMeta("E", "related", ("feature_words",), ("illegality",)),
    IndicatorMeta("F", "judicial", ("compliance",), ()),
    IndicatorMeta("G", "operational", ("propagation",), ()),
)
COLUMNS = tuple(m.id for m in METAS)


def indicator_table(rows: Mapping[str, Sequence[float | None]]) -> pa.Table:
    """A wide indicator_score table: firm id → one score per column of COLUMNS."""
    firms = list(rows)
    data: dict[str, pa.Array] = {"firm_id": pa.array(firms)}
    for j, col in enumerate(COLUMNS):
        data[col] = pa.array([rows[f][j] for f in firms], pa.float32())
    return pa.table(data)


@pytest.fixture
def metas() -> tuple[IndicatorMeta, ...]:
    """The hand-built indicator tags."""
    return METAS
