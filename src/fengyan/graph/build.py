"""The graph's edges, read from the lake in canonical ids (needs a ``fengyan resolve`` run).

``edges`` has one row per tie: ``src, dst, relation, share, role``:

* ``shareholding`` — holder → firm, ``share`` 0–1;
* ``officer`` — person (or partner firm) → firm, ``role``;
* ``address``/``phone``/``email``/``domain``/``server_ip`` — firm → a contact-point node
  (``addr:…``, ``phone:+86…``, ``email:…``, ``domain:…``, ``ip:…``): a shared contact point
  is one node with many firms, never a clique of pairwise edges.

Identifiers that ``resolved_link`` does not know (a person id no record carries, a code
ingested after the last resolution) keep an id of their own (``raw:<kind>:<key>``) so no
tie is lost; :func:`load_edges` counts them.

The graph's steps work on :class:`EdgeCodes`: the same rows with integer node codes
(:mod:`fengyan.graph.nodes`). The ties are read one relation at a time
(:func:`edge_rows`), coded once, and de-duplicated and ordered by sorting integer keys —
not by grouping and sorting tens of millions of rows of string ids in DuckDB.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Final

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from fengyan.graph.keys import address_keys, domain_keys, email_keys
from fengyan.graph.nodes import Column, decode, node_index

# Every relation load_edge_codes makes, sorted: a relation's code is its place here (the
# query names each by its code, not 23 million strings).
RELATIONS: Final = ("address", "domain", "email", "officer", "phone", "server_ip", "shareholding")
EDGE_SCHEMA: Final = pa.schema(
    [
        ("src", pa.string()),
        ("dst", pa.string()),
        ("relation", pa.string()),
        ("share", pa.float64()),
        ("role", pa.string()),
    ]
)


@dataclass
class EdgeCodes:
    """The edges with integer node codes (:mod:`fengyan.graph.nodes`): ``ids`` is the
    sorted node dictionary, ``src``/``dst`` index it; ``relation`` indexes ``relations``
    (sorted names), ``role`` indexes ``roles`` with 0 for none (``roles[0]`` is None);
    ``share`` is NaN where there is none. Rows are ordered by relation, src and dst (and
    role), one per (src, dst, relation, role) — the rows of :func:`load_edges`."""

    ids: pa.Array
    src: np.ndarray
    dst: np.ndarray
    relation: np.ndarray
    relations: tuple[str, ...]
    share: np.ndarray
    role: np.ndarray
    roles: tuple[str | None, ...]
    # The codes of the ``extra`` columns given with the edges, in their rows' order.
    extra: tuple[np.ndarray, ...] = ()

    @property
    def num_rows(self) -> int:
        """How many edges."""
        return len(self.src)

    @classmethod
    def from_rows(
        cls, raw: pa.Table, extra: Sequence[Column] = (), relations: Sequence[str] = ()
    ) -> EdgeCodes:
        """Coded, de-duplicated (``max`` of the shares of a tie) and ordered ``raw`` rows
        ``src, dst, relation, share, role``: integer keys sorted, never the strings.

        ``relation`` is a name, or a code into ``relations`` (sorted names)."""
        ids, codes = node_index(raw["src"], raw["dst"], *extra)
        src, dst, extra_codes = codes[0], codes[1], tuple(codes[2:])
        del codes
        if pa.types.is_integer(raw["relation"].type):
            if list(relations) != sorted(relations):
                raise ValueError("relation codes need the sorted relation names")
            names = list(relations)
            rel_order = np.arange(len(names))
            relation = np.asarray(raw["relation"].to_numpy(), dtype=np.int8)
        else:
            rel_enc = pc.dictionary_encode(raw["relation"])
            names = rel_enc.chunks[-1].dictionary.to_pylist() if rel_enc.num_chunks else []
            rel_order = np.argsort(np.array(names, dtype=object), kind="stable")
            rel_rank = np.empty(len(names), dtype=np.int8)
            rel_rank[rel_order] = np.arange(len(names), dtype=np.int8)
            relation = _indices(rel_enc, rel_rank)
            del rel_enc
        role_enc = pc.dictionary_encode(raw["role"].cast(pa.string()))
        seen = role_enc.chunks[-1].dictionary.to_pylist() if role_enc.num_chunks else []
        # Role codes in name order too: ties of one pair in several roles come out in the
        # same order on every run, whatever order the query returned them in.
        role_names = sorted(seen, key=lambda r: r.encode())
        place = {r: i + 1 for i, r in enumerate(role_names)}
        role = _indices(role_enc, np.array([place[r] for r in seen], dtype=np.int16))
        del role_enc
        share = pc.fill_null(raw["share"].cast(pa.float64()), np.nan).to_numpy()
        n = max(len(ids), 1)
        bits = (2 * n.bit_length(), len(names).bit_length(), (len(role_names) + 1).bit_length())
        if sum(bits) <= _KEY_BITS:
            # One int64 key per row: relation, src, dst, role in that order of significance.
            key = relation.astype(np.int64) << n.bit_length()
            key |= src
            key <<= n.bit_length()
            key |= dst
            key <<= bits[2]
            key |= role
            order = np.argsort(key)
            key = key[order]
            first = np.ones(len(key), dtype=bool)
            first[1:] = key[1:] != key[:-1]
            del key
        else:
            order = np.lexsort((role, dst, src, relation))
            first = np.ones(len(order), dtype=bool)
            for column in (relation, src, dst, role):
                ordered = column[order]
                first[1:] &= ordered[1:] == ordered[:-1]
            first[1:] = ~first[1:]
        starts = np.flatnonzero(first)
        # DuckDB's max(share) of a group: NaN (no share) only where all are.
        shares = np.fmax.reduceat(share[order], starts) if len(starts) else share[:0]
        keep = order[starts]
        return cls(
            ids,
            src[keep],
            dst[keep],
            relation[keep],
            tuple(str(x) for x in np.array(names, dtype=object)[rel_order]),
            shares,
            role[keep],
            (None, *role_names),
            extra_codes,
        )

    def relation_code(self, name: str) -> int:
        """The code of relation ``name``; -1 when no edge has it."""
        return self.relations.index(name) if name in self.relations else -1

    def role_codes(self, names: Sequence[str]) -> list[int]:
        """The codes of the roles ``names`` that some edge has."""
        return [i for i, r in enumerate(self.roles) if r is not None and r in names]

    def coded(self) -> pa.Table:
        """``src, dst, relation, share, role`` as integers (and share) for DuckDB."""
        return pa.table(
            {
                "src": pa.array(self.src),
                "dst": pa.array(self.dst),
                "relation": pa.array(self.relation),
                "share": pa.array(self.share, mask=np.isnan(self.share)),
                "role": pa.array(self.role),
            }
        )

    def table(self) -> pa.Table:
        """The edges with their ids and names (:data:`EDGE_SCHEMA`)."""
        relations = pa.array(self.relations, pa.string())
        roles = pa.array(self.roles, pa.string())
        return pa.table(
            {
                "src": decode(self.ids, self.src),
                "dst": decode(self.ids, self.dst),
                "relation": relations.take(pa.array(self.relation)),
                "share": pa.array(self.share, pa.float64(), mask=np.isnan(self.share)),
                "role": roles.take(pa.array(self.role)),
            },
            schema=EDGE_SCHEMA,
        )


def _indices(encoded: pa.ChunkedArray, mapping: np.ndarray) -> np.ndarray:
    """``mapping`` of the dictionary index of every row (0 for a null row)."""
    if not encoded.num_chunks:
        return mapping[:0].copy()
    index = pc.fill_null(pa.chunked_array([c.indices for c in encoded.chunks]), -1)
    at = index.to_numpy().astype(np.int64)
    table = np.concatenate([mapping, np.zeros(1, dtype=mapping.dtype)])
    out: np.ndarray = table[at]
    return out


# Bits of the one-integer sort key of an edge (relation, src, dst, role); wider keys (a
# graph of over a billion nodes) are sorted column by column instead.
_KEY_BITS = 63
_STREAM_ROWS = 1 << 20  # rows per batch read from an edge query
_RAW_SCHEMA: Final = pa.schema(
    [
        ("src", pa.string()),
        ("dst", pa.string()),
        ("relation", pa.int8()),
        ("share", pa.float64()),
        ("role", pa.string()),
    ]
)


def _code(relation: str) -> str:
    """The SQL literal of ``relation``'s code (its place in :data:`RELATIONS`)."""
    return f"{RELATIONS.index(relation)}::TINYINT"


def _tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {
        r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()
    }


def load_edges(con: duckdb.DuckDBPyConnection, today: date) -> pa.Table:
    """All ties of the lake connection ``con`` in force on ``today`` (module docstring),
    ordered by relation, src and dst."""
    return load_edge_codes(con, today).table()


def load_edge_codes(
    con: duckdb.DuckDBPyConnection, today: date, extra: Sequence[Column] = ()
) -> EdgeCodes:
    """:func:`load_edges` with integer node codes; the ids of ``extra`` (e.g. firms tied to
    nobody) join the node dictionary too."""
    return EdgeCodes.from_rows(edge_rows(con, today), extra, RELATIONS)


def edge_rows(con: duckdb.DuckDBPyConnection, today: date) -> pa.Table:
    """The ties of :func:`load_edges` as read, before they are coded: ``src, dst`` (ids),
    ``relation`` (its code: the place in :data:`RELATIONS`), ``share``, ``role``; a tie
    read twice is there twice (:meth:`EdgeCodes.from_rows` makes it one)."""
    tables = _tables(con)
    if "resolved_link" not in tables:
        raise LookupError("no resolved_link table: run `fengyan resolve run` first")
    firm = "coalesce(b.canonical_id, 'ent:' || {col})"
    today_iso = today.isoformat()
    parts = []
    code_map = "LEFT JOIN graph_code_map b ON b.key = {col}"
    person_map = "LEFT JOIN graph_person_map p ON p.key = {col}"
    if "shareholding" in tables:
        parts.append(
            f"""
            SELECT CASE WHEN s.owner_kind = 'person'
                        THEN coalesce(p.canonical_id, 'raw:person:' || s.owner_id)
                        ELSE coalesce(o.canonical_id, 'ent:' || s.owner_id) END AS src,
                   {firm.format(col="s.asset_credit_code")} AS dst,
                   {_code("shareholding")} AS relation, s.share_percent / 100.0 AS share,
                   NULL AS role
            FROM shareholding s
            {code_map.format(col="s.asset_credit_code")}
            {person_map.format(col="s.owner_id")}
            LEFT JOIN (SELECT key, canonical_id FROM graph_code_map WHERE credit) o
                   ON o.key = s.owner_id
            WHERE s.end_date IS NULL OR s.end_date > DATE '{today_iso}'
            """  # noqa: S608 - fragments of this module; today_iso from date.isoformat()
        )
    if "officer" in tables:
        parts.append(
            f"""
            SELECT CASE WHEN f.officer_kind = 'person'
                        THEN coalesce(p.canonical_id, 'raw:person:' || f.officer_id)
                        ELSE 'ent:' || f.officer_id END,
                   {firm.format(col="f.credit_code")}, {_code("officer")}, NULL, f.role
            FROM officer f
            {code_map.format(col="f.credit_code")}
            {person_map.format(col="f.officer_id")}
            WHERE f.end_date IS NULL OR f.end_date > DATE '{today_iso}'
            """  # noqa: S608 - as above
        )
    if "phone_contact" in tables:
        parts.append(
            f"""SELECT {firm.format(col="c.credit_code")}, 'phone:' || c.phone,
                       {_code("phone")}, NULL, NULL
                FROM phone_contact c {code_map.format(col="c.credit_code")}"""  # noqa: S608
        )
    if "web_presence" in tables:
        parts.append(
            f"""SELECT {firm.format(col="w.credit_code")}, 'ip:' || unnest(w.server_ip),
                       {_code("server_ip")}, NULL, NULL
                FROM web_presence w {code_map.format(col="w.credit_code")}
                WHERE w.server_ip IS NOT NULL"""  # noqa: S608 - fragments of this module
        )
    contacts = _contact_keys(con, tables)
    for name, table in contacts.items():
        con.register(name, table)
        parts.append(f"SELECT firm, key, {_code(name[4:])}, NULL, NULL FROM {name}")  # noqa: S608
    if not parts:
        return _RAW_SCHEMA.empty_table()
    # The maps from codes and person ids to canonical ids that the parts join: read from
    # the lake once, not once per part. Then one query per relation: each one's joins are
    # done (and their memory free for the next) before the next starts, where one UNION
    # held them all at once.
    con.execute(
        """CREATE OR REPLACE TEMP TABLE graph_code_map AS
           SELECT key, canonical_id, key_kind = 'credit_code' AS credit FROM resolved_link
           WHERE key_kind IN ('credit_code', 'branch_code');
           CREATE OR REPLACE TEMP TABLE graph_person_map AS
           SELECT key, canonical_id FROM resolved_link WHERE key_kind = 'person_id'"""
    )
    try:
        raw = pa.concat_tables(
            con.sql(
                f"""SELECT * FROM ({part}) AS x (src, dst, relation, share, role)
                    WHERE src IS NOT NULL AND dst IS NOT NULL"""  # noqa: S608 - this module's
            )
            # Streamed: a collected result must fit in DuckDB's memory limit, which the
            # 11 M officer ties of a 3 M-firm city did not (OutOfMemoryException at 3GB).
            .to_arrow_reader(_STREAM_ROWS)
            .read_all()
            .cast(_RAW_SCHEMA)
            for part in parts
        )
    finally:
        for name in contacts:
            con.unregister(name)
        con.execute("DROP TABLE IF EXISTS graph_code_map; DROP TABLE IF EXISTS graph_person_map")
    return raw


def _contact_keys(con: duckdb.DuckDBPyConnection, tables: set[str]) -> dict[str, pa.Table]:
    """``firm, key`` of the registered address, e-mail addresses and web domains of every
    firm, keys computed for the whole column at once (:mod:`fengyan.graph.keys`)."""
    out: dict[str, pa.Table] = {}
    if "enterprise" in tables:
        rows = con.sql(
            """SELECT 'ent:' || credit_code AS firm, registered_address, region_code
               FROM enterprise WHERE registered_address IS NOT NULL"""
        ).to_arrow_table()
        keys = address_keys(rows["registered_address"], rows["region_code"])
        out["key_address"] = pa.table(
            {"firm": rows["firm"], "key": pc.binary_join_element_wise("addr:", keys, "")}
        )
    if "email_contact" in tables:
        rows = con.sql(
            "SELECT 'ent:' || credit_code AS firm, email FROM email_contact"
        ).to_arrow_table()
        keys = email_keys(rows["email"])
        out["key_email"] = pa.table(
            {"firm": rows["firm"], "key": pc.binary_join_element_wise("email:", keys, "")}
        )
    if "web_presence" in tables:
        rows = con.sql(
            "SELECT 'ent:' || credit_code AS firm, coalesce(domain, url) AS value FROM web_presence"
        ).to_arrow_table()
        keys = domain_keys(rows["value"])
        out["key_domain"] = pa.table(
            {"firm": rows["firm"], "key": pc.binary_join_element_wise("domain:", keys, "")}
        )
    return out
