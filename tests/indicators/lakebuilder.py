"""Write a tiny hand-built lake for the indicator tests, through the Lake's own APIs.

Rows are written as batch files with the system columns the ingest pipeline adds (ids are
hashes of table and key, ``_valid_from`` says from when a row is known) and every column of
the table's schema, so the views ``Lake.connect(as_of)`` builds are those of a real lake.
Resolution's tables are written with ``Lake.write_derived`` as ``fengyan resolve`` would.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime
from typing import Any

import pyarrow as pa

from fengyan.clock import CHINA_TZ
from fengyan.indicators.sources import load_sources
from fengyan.lake.store import Lake

_ARROW = {
    "VARCHAR": pa.string(),
    "DOUBLE": pa.float64(),
    "BIGINT": pa.int64(),
    "INTEGER": pa.int32(),
    "BOOLEAN": pa.bool_(),
    "DATE": pa.date32(),
    "TIMESTAMPTZ": pa.timestamp("us", tz="UTC"),
    "TIMESTAMP": pa.timestamp("us"),
    "VARCHAR[]": pa.list_(pa.string()),
}


def day(text: str) -> datetime:
    """Midnight in China of an ISO date, as ingest dates a batch given ``--as-of``."""
    return datetime.combine(date.fromisoformat(text), datetime.min.time(), CHINA_TZ)


def arrow_schema(table: str) -> pa.Schema:
    """The Arrow schema of a lake or derived table, from the engine's column catalogue."""
    cols = load_sources().table_columns(table)
    return pa.schema([pa.field(c, _ARROW[t]) for c, t in cols.items()])


class LakeBuilder:
    """Appends batches to ``lake``; each call is one batch known from ``known``."""

    def __init__(self, lake: Lake) -> None:
        self.lake = lake
        self.seq = 0

    def put(self, table: str, rows: list[dict[str, Any]], known: datetime, key: str) -> None:
        """Write ``rows`` as one batch; ``key`` names the field that identifies a record."""
        self.seq += 1
        schema = arrow_schema(table)
        batch = hashlib.md5(f"{table}{self.seq}".encode()).hexdigest()[:16]
        data: dict[str, list[Any]] = {f.name: [] for f in schema}
        for i, row in enumerate(rows):
            unknown = set(row) - set(schema.names)
            assert not unknown, f"{table}: unknown columns {unknown}"
            body = repr(sorted(row.items()))
            system = {
                "_id": hashlib.md5(f"{table}\x1f{row[key]}".encode()).hexdigest(),
                "_hash": hashlib.md5(body.encode()).hexdigest(),
                "_batch": batch,
                "_seq": self.seq,
                "_source": "test",
                "_row": i + 1,
                "_valid_from": row.get("_valid_from", known).astimezone(UTC),
            }
            for name in schema.names:
                data[name].append(system[name] if name in system else row.get(name))
        table_data = pa.table(data, schema=schema)
        with self.lake.open_batch(table, self.seq, batch, schema) as writer:
            writer.write(table_data)
            writer.commit()

    def record_id(self, table: str, key: str) -> str:
        """The ``_id`` :meth:`put` gives the record whose key is ``key``."""
        return hashlib.md5(f"{table}\x1f{key}".encode()).hexdigest()

    def resolved(self, entities: list[dict[str, Any]], links: list[dict[str, Any]]) -> None:
        """Write resolution's tables (what ``fengyan resolve`` would have produced)."""
        ent_schema = arrow_schema("resolved_entity")
        link_schema = arrow_schema("resolved_link")
        ents = [{"entity_kind": "enterprise", "members": 1, **e} for e in entities]
        lks = [{"entity_kind": "enterprise", "probability": 1.0, **lk} for lk in links]
        self.lake.write_derived(
            "resolve",
            {
                "resolved_entity": pa.Table.from_pylist(ents, schema=ent_schema),
                "resolved_link": pa.Table.from_pylist(lks, schema=link_schema),
            },
        )

    def derived(self, stage: str, table: str, rows: list[dict[str, Any]]) -> None:
        """Write one derived table of ``stage`` (e.g. the text stage's text_promise)."""
        self.lake.write_derived(stage, {table: pa.Table.from_pylist(rows, arrow_schema(table))})
