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

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

import duckdb
import pyarrow as pa

from fengyan.resolve import scoring
from fengyan.resolve.config import PersonSettings
from fengyan.resolve.contacts import address_key, address_room_key
from fengyan.resolve.ledger import Suggestion
from fengyan.resolve.names import person_name_key
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
        """SELECT person_id, name, id_number_hash AS id_hash, phone AS phones, address,
                  region_code AS region
           FROM person ORDER BY person_id"""
    ).to_arrow_table()
    addresses = rows["address"].to_pylist()
    regions = rows["region"].to_pylist()
    phones = rows["phones"].to_pylist()
    return (
        rows.append_column(
            "name_key",
            pa.array([person_name_key(n) if n else None for n in rows["name"].to_pylist()]),
        )
        .append_column("phone1", pa.array([p[0] if p else None for p in phones], pa.string()))
        .append_column(
            "room_key",
            pa.array([address_room_key(a, r) for a, r in zip(addresses, regions, strict=True)]),
        )
        .append_column(
            "building_key",
            pa.array([address_key(a, r) for a, r in zip(addresses, regions, strict=True)]),
        )
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
    ids = records["person_id"].to_pylist()
    hashes = dict(zip(ids, records["id_hash"].to_pylist(), strict=True))
    clusters = _Clusters(hashes)
    # 1. the same hash: one person.
    first_with: dict[str, str] = {}
    for pid, h in hashes.items():
        if h:
            clusters.union(first_with.setdefault(h, pid), pid, human=True)
    # 2. splink on the rest.
    left = records.drop_columns(["name", "address"]).rename_columns(
        [
            "unique_id" if c == "person_id" else c
            for c in records.drop_columns(["name", "address"]).column_names
        ]
    )
    prior = 1.0 / max(records.num_rows, 1)
    scored = scoring.score_pairs(settings.splink, left, None, prior, settings.thresholds.review)
    th = settings.thresholds
    decided: dict[tuple[str, str], str] = {}
    for (a, b), judgement in judgements.items():
        a, b = a.removeprefix(KEY), b.removeprefix(KEY)
        if a in hashes and b in hashes:
            decided[(min(a, b), max(a, b))] = judgement
    for (a, b), judgement in decided.items():
        if judgement == "negative":
            clusters.forbid(a, b)
    how: dict[str, tuple[str, float | None, float | None]] = {}
    for (a, b), judgement in sorted(decided.items()):
        if judgement == "positive" and clusters.union(a, b, human=True):
            how[a] = how[b] = ("decision", 1.0, None)
    rows = sorted(scored.to_pylist(), key=lambda r: -float(r["match_weight"]))
    suggestions = []
    names = dict(zip(ids, records["name"].to_pylist(), strict=True))
    for row in rows:
        a, b = sorted((str(row["unique_id_l"]), str(row["unique_id_r"])))
        if (a, b) in decided:
            continue
        p, w = float(row["match_probability"]), float(row["match_weight"])
        if p >= th.accept and clusters.union(a, b, human=False):
            for k in (a, b):
                how.setdefault(k, ("splink", p, w))
        elif clusters.find(a) != clusters.find(b):
            detail = scoring.explain(row, settings.splink)
            detail |= {"left_name": mask_name(names[a]), "right_name": mask_name(names[b])}
            suggestions.append(Suggestion(KEY + a, KEY + b, p, detail))
    return _result(records, clusters, how, suggestions)


def _result(
    records: pa.Table,
    clusters: _Clusters,
    how: dict[str, tuple[str, float | None, float | None]],
    suggestions: list[Suggestion],
) -> PersonResult:
    ids = records["person_id"].to_pylist()
    members: dict[str, list[str]] = {}
    for pid in ids:
        members.setdefault(clusters.find(pid), []).append(pid)
    canonical: dict[str, str] = {}
    for root, keys in members.items():
        anchors = sorted(clusters.hashes[root])
        if anchors:
            cid = PREFIX + hashlib.sha256(anchors[0].encode()).hexdigest()[:16]
        else:
            cid = PREFIX + "~" + hashlib.md5(min(keys).encode()).hexdigest()[:16]
        for k in keys:
            canonical[k] = cid
    hashes = records["id_hash"].to_pylist()
    link_rows = []
    for pid, h in zip(ids, hashes, strict=True):
        size = len(members[clusters.find(pid)])
        method, p, w = how.get(pid, ("id_number" if h and size > 1 else "single", None, None))
        link_rows.append((pid, canonical[pid], method, p, w))
    links = pa.table(
        {
            "person_id": [r[0] for r in link_rows],
            "canonical_id": [r[1] for r in link_rows],
            "method": [r[2] for r in link_rows],
            "probability": pa.array([r[3] for r in link_rows], pa.float64()),
            "match_weight": pa.array([r[4] for r in link_rows], pa.float64()),
        }
    )
    first: dict[str, tuple[str | None, str | None]] = {}
    for pid, name, region in zip(
        ids, records["name"].to_pylist(), records["region"].to_pylist(), strict=True
    ):
        first.setdefault(canonical[pid], (name, region))
    sizes: dict[str, int] = {}
    for cid in canonical.values():
        sizes[cid] = sizes.get(cid, 0) + 1
    entities = pa.table(
        {
            "canonical_id": sorted(first),
            "name": [first[c][0] for c in sorted(first)],
            "region_code": [first[c][1] for c in sorted(first)],
            "members": [sizes[c] for c in sorted(first)],
        }
    )
    counts = {
        "records": len(ids),
        "persons": entities.num_rows,
        "merged_by_model": sum(1 for m in how.values() if m[0] == "splink"),
        "review": len(suggestions),
    }
    return PersonResult(entities, links, suggestions, counts)
