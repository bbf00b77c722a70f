"""Persons: one canonical id per real person across person records.

1. Records with the same ID-number hash (keyed HMAC written at ingest; 15-digit numbers
   are widened to 18 before hashing) are one person.
2. Records without a hash are compared by splink (name, phones, home address) with every
   record that shares a name, a phone or a flat; two records with different hashes are
   never compared — they are two people.
3. Accepted pairs and human ``positive`` decisions merge clusters, strongest first, unless
   a ``negative`` decision separates a member of one from a member of the other, or both
   carry different hashes (only a human ``positive`` can overrule that).

Canonical ids: ``per:<16 hex>`` from the smallest hash of the cluster, else
``per:~<16 hex>`` from its smallest person id, so an id changes only when its anchor does.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from fengyan.resolve import scoring
from fengyan.resolve.batch import address_keys, fold_many, street_prefixes
from fengyan.resolve.config import PersonSettings
from fengyan.resolve.ledger import Suggestion
from fengyan.standards.masking import mask_name

PREFIX: Final = "per:"
KEY: Final = "person/"


@dataclass
class PersonResult:
    """Person records mapped to canonical persons, and pairs sent to review."""

    entities: pa.Table  # canonical_id, name, region_code, members
    links: pa.Table  # person_id, canonical_id, method, probability, match_weight
    suggestions: list[Suggestion] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)  # wall seconds, for the report


class _Clusters:
    """Union-find over initial clusters with cannot-link constraints."""

    def __init__(self, hashes: dict[str, str | None]) -> None:
        self.parent = {k: k for k in hashes}
        self.hashes = {k: ({h} if h else set()) for k, h in hashes.items()}
        self.forbidden: dict[str, set[str]] = {k: set() for k in hashes}

    def find(self, k: str) -> str:
        root = k
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[k] != root:
            self.parent[k], k = root, self.parent[k]
        return root

    def forbid(self, a: str, b: str) -> None:
        self.forbidden[self.find(a)].add(b)
        self.forbidden[self.find(b)].add(a)

    def union(self, a: str, b: str, human: bool) -> bool:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return True
        blocked = any(self.find(x) == rb for x in self.forbidden[ra]) or any(
            self.find(x) == ra for x in self.forbidden[rb]
        )
        if blocked or (not human and self.hashes[ra] and self.hashes[rb]):
            return False
        self.parent[rb] = ra
        self.hashes[ra] |= self.hashes.pop(rb)
        self.forbidden[ra] |= self.forbidden.pop(rb)
        return True


def load_persons(con: duckdb.DuckDBPyConnection) -> pa.Table:
    """Person records with the features the model compares."""
    found = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'person'"
    ).fetchall()
    if not found[0][0]:
        return pa.table({"person_id": pa.array([], pa.string())})
    rows = con.sql(
        """SELECT person_id, name, id_number_hash AS id_hash, phone AS phones,
                  phone[1] AS phone1, address,
                  region_code AS region
           FROM person ORDER BY person_id"""
    ).to_arrow_table()
    # The keys are what pairs are blocked on and compared by, and a pair needs a record
    # without an ID-number hash (two hashed records are two people). Without one, no keys;
    # with some, the address keys only for the records that can be in a pair.
    bare = pc.is_null(rows["id_hash"]).combine_chunks()
    if not pc.any(bare).as_py():
        none = pa.nulls(rows.num_rows, pa.string())
        return (
            rows.append_column("name_key", none)
            .append_column("room_key", none)
            .append_column("building_key", none)
        )
    # Folded once per distinct name (namesakes are common), then spread to the rows.
    distinct = pc.unique(rows["name"].combine_chunks()).drop_null()
    distinct = distinct.filter(pc.not_equal(distinct, ""))
    folded = pa.array(fold_many(distinct.to_pylist()), pa.string())
    name_keys = folded.take(pc.index_in(rows["name"], value_set=distinct))
    rows = rows.append_column("name_key", name_keys)
    building, room = _pair_address_keys(rows, bare)
    return rows.append_column("room_key", room).append_column("building_key", building)


def _pair_address_keys(rows: pa.Table, bare: pa.Array) -> tuple[pa.Array, pa.Array]:
    """``address_keys`` of the rows that can be in a pair (:func:`_comparable`'s), null for
    the others: most of a city's records carry a hash and share no key with one that does
    not, and their address keys (the costliest part of loading) would go unused.

    Two room keys can only be equal where the street prefixes of the region codes are, so
    the keys are first computed for the records without a hash and the records in their
    streets; then, once the records sharing a name, a phone or a room with them are known,
    for those of them still without keys. The records that can be paired get the keys
    they would get computed over all rows.
    """
    n = rows.num_rows
    prefix = street_prefixes(rows["region"])
    streets = pc.unique(prefix.filter(bare))
    first = pc.or_(bare, pc.is_in(prefix, value_set=streets)).to_numpy(zero_copy_only=False)
    building, room = _keys_of(rows, np.flatnonzero(first), n)
    keys = {"name_key": rows["name_key"], "phone1": rows["phone1"], "room_key": room}
    keep = _pairable(bare, [keys[column] for column in BLOCKING_KEYS])
    later = np.flatnonzero(keep.to_numpy(zero_copy_only=False) & ~first)
    if len(later):
        more_building, more_room = _keys_of(rows, later, n)
        mask = np.zeros(n, dtype=bool)
        mask[later] = True
        building = pc.if_else(pa.array(mask), more_building, building)
        room = pc.if_else(pa.array(mask), more_room, room)
    return building, room


def _keys_of(rows: pa.Table, at: np.ndarray, n: int) -> tuple[pa.Array, pa.Array]:
    """``address_keys`` of rows ``at``, spread to ``n`` rows (null elsewhere)."""
    some = rows.take(pa.array(at, pa.int64()))
    building, room = address_keys(some["address"], some["region"])
    place = np.full(n, len(at), dtype=np.int64)  # the extra null at the end
    place[at] = np.arange(len(at), dtype=np.int64)
    spread = pa.array(place)
    tail = pa.nulls(1, pa.string())
    return (
        pa.concat_arrays([building.cast(pa.string()), tail]).take(spread),
        pa.concat_arrays([room.cast(pa.string()), tail]).take(spread),
    )


def link_persons(
    con: duckdb.DuckDBPyConnection,
    settings: PersonSettings,
    judgements: Mapping[tuple[str, str], str],
) -> PersonResult:
    """Cluster the person records visible on ``con`` (see the module docstring)."""
    records = load_persons(con)
    if records.num_rows == 0:
        empty = pa.table({"person_id": pa.array([], pa.string())})
        return PersonResult(pa.table({"canonical_id": pa.array([], pa.string())}), empty)
    # 2. splink on the rest.
    left = records.drop_columns(["name", "address"]).rename_columns(
        [
            "unique_id" if c == "person_id" else c
            for c in records.drop_columns(["name", "address"]).column_names
        ]
    )
    prior = 1.0 / max(records.num_rows, 1)
    scored = scoring.score_pairs(
        settings.splink, _comparable(left), None, prior, settings.thresholds.review
    )
    th = settings.thresholds
    # Records sharing a hash start as one cluster, named by an anchor (1.); only the
    # records a pair or a decision names are looked at in Python.
    wanted = {str(v) for c in ("unique_id_l", "unique_id_r") for v in scored[c].to_pylist()}
    wanted |= {k.removeprefix(KEY) for pair in judgements for k in pair}
    anchor_of = _anchors(records, wanted)
    hashes = {a: (a[2:] if a.startswith("h:") else None) for a in set(anchor_of.values())}
    decided: dict[tuple[str, str], str] = {}
    for (a, b), judgement in judgements.items():
        a, b = a.removeprefix(KEY), b.removeprefix(KEY)
        if a in anchor_of and b in anchor_of:
            decided[(min(a, b), max(a, b))] = judgement
    # Union-find over the clusters that a pair or a decision touches only (a few).
    rows = sorted(scored.to_pylist(), key=lambda r: -float(r["match_weight"]))
    touched = {anchor_of[k] for pair in decided for k in pair}
    touched |= {anchor_of[str(r[c])] for r in rows for c in ("unique_id_l", "unique_id_r")}
    clusters = _Clusters({a: hashes[a] for a in touched})
    for (a, b), judgement in decided.items():
        if judgement == "negative":
            clusters.forbid(anchor_of[a], anchor_of[b])
    how: dict[str, tuple[str, float | None, float | None]] = {}
    for (a, b), judgement in sorted(decided.items()):
        if judgement == "positive" and clusters.union(anchor_of[a], anchor_of[b], human=True):
            how[a] = how[b] = ("decision", 1.0, None)
    suggestions = []
    some = records.filter(
        pc.is_in(records["person_id"], value_set=pa.array(sorted(wanted), pa.string()))
    )
    names = dict(zip(some["person_id"].to_pylist(), some["name"].to_pylist(), strict=True))
    for row in rows:
        a, b = sorted((str(row["unique_id_l"]), str(row["unique_id_r"])))
        if (a, b) in decided:
            continue
        p, w = float(row["match_probability"]), float(row["match_weight"])
        ra, rb = anchor_of[a], anchor_of[b]
        if p >= th.accept and clusters.union(ra, rb, human=False):
            for k in (a, b):
                how.setdefault(k, ("splink", p, w))
        elif clusters.find(ra) != clusters.find(rb):
            detail = scoring.explain(row, settings.splink)
            detail |= {"left_name": mask_name(names[a]), "right_name": mask_name(names[b])}
            suggestions.append(Suggestion(KEY + a, KEY + b, p, detail))
    roots = {a: clusters.find(a) for a in touched}
    return _result(records, roots, how, suggestions)


# The columns the person blocking rules join on (settings.yaml): a pair is only generated
# between records that agree on one of them and of which one lacks an ID-number hash.
BLOCKING_KEYS: Final = ("name_key", "phone1", "room_key")


def _comparable(left: pa.Table) -> pa.Table:
    """The records that can be in a pair: without a hash, or sharing a blocking key with one.

    Most records carry a hash, and two hashed records are never compared, so the model
    only needs those few; the pairs and their scores are the same as over all records.
    """
    if any(c not in left.column_names for c in ("id_hash", *BLOCKING_KEYS)):
        return left
    bare = pc.is_null(left["id_hash"])
    return left.filter(_pairable(bare, [left[column] for column in BLOCKING_KEYS]))


def _pairable(
    bare: pa.Array | pa.ChunkedArray, keys: list[pa.Array | pa.ChunkedArray]
) -> pa.Array | pa.ChunkedArray:
    """Which rows can be in a pair: those without a hash (``bare``) and those sharing one
    of ``keys``' values with one of them."""
    keep = bare
    for column in keys:
        values = pc.unique(column.filter(bare)).drop_null()
        keep = pc.or_(keep, pc.fill_null(pc.is_in(column, value_set=values), False))
    return keep


def _anchors(records: pa.Table, wanted: set[str]) -> dict[str, str]:
    """person_id → its cluster's anchor (``h:<hash>``, else ``p:<id>``) for ``wanted`` ids."""
    records = records.filter(
        pc.is_in(records["person_id"], value_set=pa.array(sorted(wanted), pa.string()))
    )
    hashes = records["id_hash"]
    has = pc.fill_null(pc.not_equal(hashes, ""), False)
    anchor = pc.if_else(
        has,
        pc.binary_join_element_wise("h:", hashes, ""),
        pc.binary_join_element_wise("p:", records["person_id"], ""),
    )
    return dict(zip(records["person_id"].to_pylist(), anchor.to_pylist(), strict=True))


def _result(
    records: pa.Table,
    roots: dict[str, str],
    how: dict[str, tuple[str, float | None, float | None]],
    suggestions: list[Suggestion],
) -> PersonResult:
    """Canonical ids, links and entities, computed in DuckDB over all records at once.

    A cluster's id is ``per:`` + sha256 of its smallest hash, else ``per:~`` + md5 of its
    smallest person id (16 hex each).
    """
    con = duckdb.connect()
    try:
        con.register("r", records.select(["person_id", "id_hash", "name", "region"]))
        con.register(
            "roots",
            pa.table(
                {
                    "anchor": pa.array(list(roots), pa.string()),
                    "root": pa.array(list(roots.values()), pa.string()),
                }
            ),
        )
        con.register(
            "how",
            pa.table(
                {
                    "person_id": pa.array(list(how), pa.string()),
                    "method": pa.array([v[0] for v in how.values()], pa.string()),
                    "probability": pa.array([v[1] for v in how.values()], pa.float64()),
                    "match_weight": pa.array([v[2] for v in how.values()], pa.float64()),
                }
            ),
        )
        con.execute(
            """
            CREATE TABLE a AS
            SELECT t.*, coalesce(x.root, t.anchor) AS root
            FROM (SELECT *, CASE WHEN coalesce(id_hash, '') <> '' THEN 'h:' || id_hash
                                 ELSE 'p:' || person_id END AS anchor FROM r) t
            LEFT JOIN roots x USING (anchor);
            CREATE TABLE c AS
            SELECT root, count(*) AS size,
                   CASE WHEN min(CASE WHEN coalesce(id_hash, '') <> '' THEN id_hash END)
                             IS NOT NULL
                        THEN 'per:' || left(sha256(min(CASE WHEN coalesce(id_hash, '') <> ''
                                                            THEN id_hash END)), 16)
                        ELSE 'per:~' || left(md5(min(person_id)), 16) END AS canonical_id
            FROM a GROUP BY root
            """
        )
        links = con.sql(
            """
            SELECT a.person_id, c.canonical_id,
                   coalesce(h.method, CASE WHEN coalesce(a.id_hash, '') <> '' AND c.size > 1
                                           THEN 'id_number' ELSE 'single' END) AS method,
                   h.probability, h.match_weight
            FROM a JOIN c USING (root) LEFT JOIN how h USING (person_id)
            ORDER BY a.person_id
            """
        ).to_arrow_table()
        entities = con.sql(
            """
            SELECT c.canonical_id, first(a.name ORDER BY a.person_id) AS name,
                   first(a.region ORDER BY a.person_id) AS region_code,
                   count(*) AS members
            FROM a JOIN c USING (root) GROUP BY c.canonical_id ORDER BY c.canonical_id
            """
        ).to_arrow_table()
    finally:
        con.close()
    counts = {
        "records": records.num_rows,
        "persons": entities.num_rows,
        "merged_by_model": sum(1 for m in how.values() if m[0] == "splink"),
        "review": len(suggestions),
    }
    return PersonResult(entities, links, suggestions, counts)
