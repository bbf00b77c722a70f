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
(:func:`read_ties`), coded once, and de-duplicated and ordered by sorting integer keys —
not by grouping and sorting tens of millions of rows of string ids in DuckDB. An end
joined to ``resolved_link`` comes back as the place of that row (:class:`TieRows`), not
as its canonical id: the node dictionary hashes each canonical id once, not once per tie.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from datetime import date
from typing import Final

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from fengyan.arrays import distinct
from fengyan.graph.keys import address_keys, domain_keys, email_keys
from fengyan.graph.nodes import Column, decode, node_index
from fengyan.threads import InlineExecutor, second_thread

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
        cls,
        raw: pa.Table | TieRows,
        extra: Sequence[Column] = (),
        relations: Sequence[str] = (),
        concurrent: bool = True,
    ) -> EdgeCodes:
        """Coded, de-duplicated (``max`` of the shares of a tie) and ordered ``raw`` rows
        ``src, dst, relation, share, role``: integer keys sorted, never the strings.

        ``relation`` is a name, or a code into ``relations`` (sorted names). ``raw`` may
        also be the ties as :func:`read_ties` reads them. With ``concurrent`` the work is
        shared with a second thread (:func:`fengyan.threads.second_thread`): the relation,
        role and share columns and the contact points' node dictionary are made there
        while this thread makes the firms' and persons' (:func:`node_index`), and the
        shares of the ties are found there while this one sorts them (:func:`_sorted`).
        Without it, the same steps run one after the other; the rows are the same."""
        table = raw.table if isinstance(raw, TieRows) else raw
        with second_thread(concurrent, "graph-edges") as pool:
            # First in the second thread: it has the smaller part of the node dictionary.
            columns = pool.submit(_columns, table, relations)
            if isinstance(raw, TieRows):
                ids, codes = raw.node_codes(extra, pool)
            else:
                ids, codes = node_index(table["src"], table["dst"], *extra)
            del raw, table
            src, dst, extra_codes = codes[0], codes[1], tuple(codes[2:])
            del codes
            relation, names, role, role_names, share = columns.result()
            del columns  # a done future holds its result
            # Bits of a node code and of a role code in a key.
            widths = (max(len(ids), 1).bit_length(), len(role_names).bit_length())
            # A null end (code -1; read_ties returns none) would spill into the other
            # fields of a key: such rows are sorted column by column.
            null_end = len(src) > 0 and min(src.min(), dst.min()) < 0
            if 2 * widths[0] + len(names).bit_length() + widths[1] <= _KEY_BITS and not null_end:
                key = _key(relation, src, dst, role, widths)
                del src, dst, relation, role
                key, shares = _sorted(key, share, pool)
                del share
                src, dst, relation, role = _fields(key, widths)
                del key
            else:
                src, dst, relation, shares, role = _lexsorted(src, dst, relation, share, role)
        return cls(ids, src, dst, relation, names, shares, role, role_names, extra_codes)

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


def _columns(
    raw: pa.Table, relations: Sequence[str]
) -> tuple[np.ndarray, tuple[str, ...], np.ndarray, tuple[str | None, ...], np.ndarray]:
    """The ``relation`` (code into the sorted names), ``role`` (code into the roles, 0 for
    none; roles in name order) and ``share`` (NaN for none) of :meth:`EdgeCodes.from_rows`'
    ``raw`` rows, with the relations' and roles' names."""
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
    return (
        relation,
        tuple(str(x) for x in np.array(names, dtype=object)[rel_order]),
        role,
        (None, *role_names),
        share,
    )


def _key(
    relation: np.ndarray,
    src: np.ndarray,
    dst: np.ndarray,
    role: np.ndarray,
    widths: tuple[int, int],
) -> np.ndarray:
    """One int64 key per row: relation, src, dst and role in that order of significance,
    src and dst in ``widths[0]`` bits each and role in ``widths[1]``."""
    key = relation.astype(np.int64) << widths[0]
    key |= src
    key <<= widths[0]
    key |= dst
    key <<= widths[1]
    key |= role
    return key


def _fields(
    key: np.ndarray, widths: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``src, dst, relation, role`` of each of the keys of :func:`_key` (shifted away)."""
    role = (key & ((1 << widths[1]) - 1)).astype(np.int16)
    key >>= widths[1]
    dst = (key & ((1 << widths[0]) - 1)).astype(np.int32)
    key >>= widths[0]
    src = (key & ((1 << widths[0]) - 1)).astype(np.int32)
    key >>= widths[0]
    return src, dst, key.astype(np.int8), role


def _sorted(key: np.ndarray, share: np.ndarray, pool: Executor) -> tuple[np.ndarray, np.ndarray]:
    """The distinct ``key`` values (``key`` is sorted in place) and the largest ``share``
    of the rows of each: DuckDB's ``max(share)``, NaN (no share) only where all are.

    Only the rows with a share (the holdings) are put in key order, and their largest
    shares put at their keys' places; in ``pool``'s thread, while this one sorts."""
    has = np.flatnonzero(~np.isnan(share))
    largest = pool.submit(_largest, key[has], share[has])
    del has
    key = distinct(key, overwrite_input=True)
    keys, shares = largest.result()
    del largest
    out = np.full(len(key), np.nan)
    out[np.searchsorted(key, keys)] = shares
    return key, out


def _largest(key: np.ndarray, share: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct ``key`` values, sorted, and the largest ``share`` of each."""
    order = np.argsort(key)
    key = key[order]
    first = np.ones(len(key), dtype=bool)
    first[1:] = key[1:] != key[:-1]
    starts = np.flatnonzero(first)
    return key[starts], _largest_of_runs(share[order], starts)


def _largest_of_runs(share: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """The largest of each run of ``share`` (runs begin at ``starts``): DuckDB's
    ``max(share)`` of a group, NaN (no share) only where all are."""
    out: np.ndarray = np.fmax.reduceat(share, starts) if len(starts) else share[:0]
    return out


def _lexsorted(
    src: np.ndarray, dst: np.ndarray, relation: np.ndarray, share: np.ndarray, role: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The rows of :meth:`EdgeCodes.from_rows` from keys too wide for one integer: sorted
    column by column, one row of each (src, dst, relation, role) with its largest share."""
    order = np.lexsort((role, dst, src, relation))
    first = np.ones(len(order), dtype=bool)
    for column in (relation, src, dst, role):
        ordered = column[order]
        first[1:] &= ordered[1:] == ordered[:-1]
    first[1:] = ~first[1:]
    starts = np.flatnonzero(first)
    keep = order[starts]
    shares = _largest_of_runs(share[order], starts)
    return src[keep], dst[keep], relation[keep], shares, role[keep]


def _indices(encoded: pa.ChunkedArray, mapping: np.ndarray) -> np.ndarray:
    """``mapping`` of the dictionary index of every row (0 for a null row)."""
    if not encoded.num_chunks:
        return mapping[:0].copy()
    index = pc.fill_null(pa.chunked_array([c.indices for c in encoded.chunks]), -1)
    at = index.to_numpy().astype(np.int64)
    table = np.concatenate([mapping, np.zeros(1, dtype=mapping.dtype)])
    out: np.ndarray = table[at]
    return out


@dataclass
class TieRows:
    """The ties as :func:`read_ties` reads them: each end of a tie is either ``known[at]``
    (``src_at``/``dst_at``: a row of ``resolved_link`` the tie was joined to, whose
    canonical id is in ``known``) or the id in ``src``/``dst`` (an id of its own: a contact
    point, or a key ``resolved_link`` does not know); the other is null.

    The canonical ids are the strings DuckDB would otherwise repeat on every tie — millions
    of them, each to be hashed again by the node dictionary — where ``known`` holds each
    once per row of ``resolved_link``.
    """

    known: pa.Array
    table: pa.Table  # src_at, src, dst_at, dst, relation, share, role

    def named(self) -> pa.Table:
        """The rows with both ends as ids (``src, dst, relation, share, role``)."""
        t = self.table
        return pa.table(
            {
                "src": pc.coalesce(t["src"], self._take(t["src_at"])),
                "dst": pc.coalesce(t["dst"], self._take(t["dst_at"])),
                "relation": t["relation"],
                "share": t["share"],
                "role": t["role"],
            },
            schema=_RAW_SCHEMA,
        )

    def _take(self, at: pa.ChunkedArray) -> pa.ChunkedArray:
        return pa.chunked_array([self.known.take(c) for c in at.chunks], pa.string())

    def node_codes(
        self, extra: Sequence[Column] = (), pool: Executor | None = None
    ) -> tuple[pa.Array, list[np.ndarray]]:
        """:func:`fengyan.graph.nodes.node_index` of the ends of the ties and ``extra``:
        the sorted node ids and the codes of ``src``, ``dst`` and each of ``extra``. Only
        the known ids some tie names join the dictionary, as if every tie held its ids.

        The ids of ``dst`` (contact points, or firms ``resolved_link`` does not know) are
        hashed apart from the known ids, ``src`` and ``extra`` (firms and persons), in
        ``pool``'s thread when given (:func:`~fengyan.graph.nodes.node_index`'s
        ``beside``)."""
        pool = pool or InlineExecutor()
        src_at, dst_at = (
            np.asarray(pc.fill_null(self.table[end], -1).to_numpy(), dtype=np.int64)
            for end in ("src_at", "dst_at")
        )
        used = np.zeros(len(self.known) + 1, dtype=bool)  # at -1 (none): the last entry
        used[src_at] = True
        used[dst_at] = True
        used[-1] = False
        # A used known id's place among the used ones; -1 (none) at index -1.
        place = np.cumsum(used) - 1
        place[-1] = -1
        ids, codes = node_index(
            self.known.filter(pa.array(used[:-1])),
            self.table["src"],
            self.table["dst"],
            *extra,
            beside=(2,),
            pool=pool,
        )
        del used
        known_codes = np.append(codes[0], np.int32(-1))

        def end_codes(at: np.ndarray, own: np.ndarray) -> np.ndarray:
            """The code of each end: of its known id, else of its own."""
            out: np.ndarray = np.where(at >= 0, known_codes[place[at]], own).astype(
                np.int32, copy=False
            )
            return out

        dst = pool.submit(end_codes, dst_at, codes[2])
        codes[1] = end_codes(src_at, codes[1])
        codes[2] = dst.result()
        del dst
        return ids, codes[1:]


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
_TIE_SCHEMA: Final = pa.schema(
    [
        ("src_at", pa.int64()),
        ("src", pa.string()),
        ("dst_at", pa.int64()),
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
    return EdgeCodes.from_rows(read_ties(con, today), extra, RELATIONS)


def edge_rows(con: duckdb.DuckDBPyConnection, today: date) -> pa.Table:
    """The ties of :func:`load_edges` as read, before they are coded: ``src, dst`` (ids),
    ``relation`` (its code: the place in :data:`RELATIONS`), ``share``, ``role``; a tie
    read twice is there twice (:meth:`EdgeCodes.from_rows` makes it one)."""
    return read_ties(con, today).named()


def read_ties(con: duckdb.DuckDBPyConnection, today: date, concurrent: bool = True) -> TieRows:
    """The rows of :func:`edge_rows` with canonical ids as places in a list of them
    (:class:`TieRows`): ``resolved_link`` is joined on integers' behalf, and DuckDB
    never builds the canonical id strings of the ties. With ``concurrent`` the contact
    keys are computed in a second thread meanwhile."""
    tables = _tables(con)
    if "resolved_link" not in tables:
        raise LookupError("no resolved_link table: run `fengyan resolve run` first")
    # An end joined to resolved_link is the row's place in graph_link (``i``, null when the
    # row has no canonical id); one it does not know keeps an id of its own.
    at = "CASE WHEN {alias}.i IS NOT NULL THEN NULL ELSE {fallback} END"
    firm = {"at": "b.i", "id": at.format(alias="b", fallback="'ent:' || {col}")}
    today_iso = today.isoformat()
    parts = []
    code_map = "LEFT JOIN graph_code_map b ON b.key = {col}"
    person_map = "LEFT JOIN graph_person_map p ON p.key = {col}"
    if "shareholding" in tables:
        parts.append(
            f"""
            SELECT CASE WHEN s.owner_kind = 'person' THEN p.i ELSE o.i END AS src_at,
                   CASE WHEN s.owner_kind = 'person'
                        THEN {at.format(alias="p", fallback="'raw:person:' || s.owner_id")}
                        ELSE {at.format(alias="o", fallback="'ent:' || s.owner_id")} END AS src,
                   {firm["at"]} AS dst_at,
                   {firm["id"].format(col="s.asset_credit_code")} AS dst,
                   {_code("shareholding")} AS relation, s.share_percent / 100.0 AS share,
                   NULL AS role
            FROM shareholding s
            {code_map.format(col="s.asset_credit_code")}
            {person_map.format(col="s.owner_id")}
            LEFT JOIN (SELECT key, i FROM graph_code_map WHERE credit) o
                   ON o.key = s.owner_id
            WHERE s.end_date IS NULL OR s.end_date > DATE '{today_iso}'
            """  # noqa: S608 - fragments of this module; today_iso from date.isoformat()
        )
    if "officer" in tables:
        parts.append(
            f"""
            SELECT CASE WHEN f.officer_kind = 'person' THEN p.i END,
                   CASE WHEN f.officer_kind = 'person'
                        THEN {at.format(alias="p", fallback="'raw:person:' || f.officer_id")}
                        ELSE 'ent:' || f.officer_id END,
                   {firm["at"]}, {firm["id"].format(col="f.credit_code")},
                   {_code("officer")}, NULL, f.role
            FROM officer f
            {code_map.format(col="f.credit_code")}
            {person_map.format(col="f.officer_id")}
            WHERE f.end_date IS NULL OR f.end_date > DATE '{today_iso}'
            """  # noqa: S608 - as above
        )
    if "phone_contact" in tables:
        parts.append(
            f"""SELECT {firm["at"]}, {firm["id"].format(col="c.credit_code")},
                       NULL, 'phone:' || c.phone, {_code("phone")}, NULL, NULL
                FROM phone_contact c {code_map.format(col="c.credit_code")}"""  # noqa: S608
        )
    if "web_presence" in tables:
        parts.append(
            f"""SELECT {firm["at"]}, {firm["id"].format(col="w.credit_code")},
                       NULL, 'ip:' || unnest(w.server_ip), {_code("server_ip")}, NULL, NULL
                FROM web_presence w {code_map.format(col="w.credit_code")}
                WHERE w.server_ip IS NOT NULL"""  # noqa: S608 - fragments of this module
        )
    sources = _contact_sources(con, tables)
    if not parts and not sources:
        return TieRows(pa.array([], pa.string()), _TIE_SCHEMA.empty_table())
    contacts: dict[str, pa.Table] = {}
    with second_thread(concurrent, "graph-keys") as pool:
        # The contact keys are folded in Python (which holds the GIL) in a second thread
        # from the start — they take longest — while DuckDB builds the maps below and runs
        # the relation queries here (which releases it).
        keyed = pool.submit(_contact_keys, sources)
        # The maps from codes and person ids to rows of resolved_link that the parts join:
        # read from the lake once, not once per part. Then one query per relation: each
        # one's joins are done (and their memory free for the next) before the next
        # starts, where one UNION held them all at once.
        con.execute(
            """CREATE OR REPLACE TEMP TABLE graph_link AS
               SELECT key_kind, key, canonical_id, row_number() OVER () - 1 AS i
               FROM resolved_link
               WHERE key_kind IN ('credit_code', 'branch_code', 'person_id');
               CREATE OR REPLACE TEMP TABLE graph_code_map AS
               SELECT key, CASE WHEN canonical_id IS NOT NULL THEN i END AS i,
                      key_kind = 'credit_code' AS credit
               FROM graph_link WHERE key_kind IN ('credit_code', 'branch_code');
               CREATE OR REPLACE TEMP TABLE graph_person_map AS
               SELECT key, CASE WHEN canonical_id IS NOT NULL THEN i END AS i
               FROM graph_link WHERE key_kind = 'person_id'"""
        )
        try:
            known = (
                con.sql("SELECT canonical_id FROM graph_link ORDER BY i")
                .to_arrow_table()["canonical_id"]
                .combine_chunks()
                .cast(pa.string())
            )
            pieces = [_read(con, part) for part in parts]
            contacts = keyed.result()
            for name, table in contacts.items():
                con.register(name, table)
            pieces += [_read(con, _contact_part(name)) for name in contacts]
        finally:
            for name in contacts:
                con.unregister(name)
            con.execute(
                """DROP TABLE IF EXISTS graph_code_map; DROP TABLE IF EXISTS graph_person_map;
                   DROP TABLE IF EXISTS graph_link"""
            )
    return TieRows(known, pa.concat_tables(pieces))


def _contact_part(name: str) -> str:
    """The part of :func:`read_ties` reading the registered contact-key table ``name``."""
    return f"SELECT NULL, firm, NULL, key, {_code(name[4:])}, NULL, NULL FROM {name}"  # noqa: S608


def _read(con: duckdb.DuckDBPyConnection, part: str) -> pa.Table:
    """The rows of one part of :func:`read_ties` with both ends known."""
    return (
        con.sql(
            f"""SELECT * FROM ({part}) AS x (src_at, src, dst_at, dst, relation, share, role)
                WHERE (src_at IS NOT NULL OR src IS NOT NULL)
                  AND (dst_at IS NOT NULL OR dst IS NOT NULL)"""  # noqa: S608 - this module's
        )
        # Streamed: a collected result must fit in DuckDB's memory limit, which the
        # 11 M officer ties of a 3 M-firm city did not (OutOfMemoryException at 3GB).
        .to_arrow_reader(_STREAM_ROWS)
        .read_all()
        .cast(_TIE_SCHEMA)
    )


def _contact_sources(con: duckdb.DuckDBPyConnection, tables: set[str]) -> dict[str, pa.Table]:
    """The values :func:`_contact_keys` makes keys of: ``firm`` and the registered address
    (and region code), e-mail addresses and web domains (or URLs) of every firm."""
    out: dict[str, pa.Table] = {}
    if "enterprise" in tables:
        out["key_address"] = con.sql(
            """SELECT 'ent:' || credit_code AS firm, registered_address, region_code
               FROM enterprise WHERE registered_address IS NOT NULL"""
        ).to_arrow_table()
    if "email_contact" in tables:
        out["key_email"] = con.sql(
            "SELECT 'ent:' || credit_code AS firm, email FROM email_contact"
        ).to_arrow_table()
    if "web_presence" in tables:
        out["key_domain"] = con.sql(
            "SELECT 'ent:' || credit_code AS firm, coalesce(domain, url) AS value FROM web_presence"
        ).to_arrow_table()
    return out


def _contact_keys(sources: dict[str, pa.Table]) -> dict[str, pa.Table]:
    """``firm, key`` of the values of :func:`_contact_sources`, keys computed for the whole
    column at once (:mod:`fengyan.graph.keys`)."""
    out: dict[str, pa.Table] = {}
    for name, rows in sources.items():
        if name == "key_address":
            keys = address_keys(rows["registered_address"], rows["region_code"])
            prefix = "addr:"
        elif name == "key_email":
            keys, prefix = email_keys(rows["email"]), "email:"
        else:
            keys, prefix = domain_keys(rows["value"]), "domain:"
        out[name] = pa.table(
            {"firm": rows["firm"], "key": pc.binary_join_element_wise(prefix, keys, "")}
        )
    return out
