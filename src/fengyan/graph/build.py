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
"""

from __future__ import annotations

from datetime import date
from typing import Final

import duckdb
import pyarrow as pa

from fengyan.resolve.contacts import address_key, domain_key, email_key

EDGE_SCHEMA: Final = pa.schema(
    [
        ("src", pa.string()),
        ("dst", pa.string()),
        ("relation", pa.string()),
        ("share", pa.float64()),
        ("role", pa.string()),
    ]
)


def _tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {
        r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()
    }


def load_edges(con: duckdb.DuckDBPyConnection, today: date) -> pa.Table:
    """All ties of the lake connection ``con`` in force on ``today`` (module docstring)."""
    tables = _tables(con)
    if "resolved_link" not in tables:
        raise LookupError("no resolved_link table: run `fengyan resolve run` first")
    firm = "coalesce(b.canonical_id, 'ent:' || {col})"
    today_iso = today.isoformat()
    parts = []
    code_map = """LEFT JOIN (SELECT key, canonical_id FROM resolved_link
                  WHERE key_kind IN ('credit_code', 'branch_code')) b ON b.key = {col}"""
    person_map = """LEFT JOIN (SELECT key, canonical_id FROM resolved_link
                    WHERE key_kind = 'person_id') p ON p.key = {col}"""
    if "shareholding" in tables:
        parts.append(
            f"""
            SELECT CASE WHEN s.owner_kind = 'person'
                        THEN coalesce(p.canonical_id, 'raw:person:' || s.owner_id)
                        ELSE coalesce(o.canonical_id, 'ent:' || s.owner_id) END AS src,
                   {firm.format(col="s.asset_credit_code")} AS dst, 'shareholding' AS relation,
                   s.share_percent / 100.0 AS share, NULL AS role
            FROM shareholding s
            {code_map.format(col="s.asset_credit_code")}
            {person_map.format(col="s.owner_id")}
            LEFT JOIN (SELECT key, canonical_id FROM resolved_link
                       WHERE key_kind = 'credit_code') o ON o.key = s.owner_id
            WHERE s.end_date IS NULL OR s.end_date > DATE '{today_iso}'
            """  # noqa: S608 - fragments of this module; today_iso from date.isoformat()
        )
    if "officer" in tables:
        parts.append(
            f"""
            SELECT CASE WHEN f.officer_kind = 'person'
                        THEN coalesce(p.canonical_id, 'raw:person:' || f.officer_id)
                        ELSE 'ent:' || f.officer_id END,
                   {firm.format(col="f.credit_code")}, 'officer', NULL, f.role
            FROM officer f
            {code_map.format(col="f.credit_code")}
            {person_map.format(col="f.officer_id")}
            WHERE f.end_date IS NULL OR f.end_date > DATE '{today_iso}'
            """  # noqa: S608 - as above
        )
    if "phone_contact" in tables:
        parts.append(
            f"""SELECT {firm.format(col="c.credit_code")}, 'phone:' || c.phone, 'phone', NULL, NULL
                FROM phone_contact c {code_map.format(col="c.credit_code")}"""  # noqa: S608
        )
    if "web_presence" in tables:
        parts.append(
            f"""SELECT {firm.format(col="w.credit_code")}, 'ip:' || unnest(w.server_ip),
                       'server_ip', NULL, NULL
                FROM web_presence w {code_map.format(col="w.credit_code")}
                WHERE w.server_ip IS NOT NULL"""  # noqa: S608 - fragments of this module
        )
    edges = (
        con.sql(" UNION ALL ".join(parts)).to_arrow_table().cast(EDGE_SCHEMA)
        if parts
        else EDGE_SCHEMA.empty_table()
    )
    extra = [_addresses(con, tables), _emails(con, tables), _domains(con, tables)]
    out = pa.concat_tables([edges, *[t for t in extra if t.num_rows]])
    dedup = duckdb.connect()
    try:
        dedup.register("x", out)
        return (
            dedup.sql(
                """SELECT src, dst, relation, max(share) AS share, role FROM x
               WHERE src IS NOT NULL AND dst IS NOT NULL GROUP BY src, dst, relation, role
               ORDER BY relation, src, dst"""
            )
            .to_arrow_table()
            .cast(EDGE_SCHEMA)
        )
    finally:
        dedup.close()


def _firm_values(
    con: duckdb.DuckDBPyConnection, sql: str
) -> tuple[list[str], list[str | None], list[str | None]]:
    rows = con.sql(sql).to_arrow_table()
    return (
        rows.column(0).to_pylist(),
        rows.column(1).to_pylist(),
        rows.column(2).to_pylist() if rows.num_columns > 2 else [None] * rows.num_rows,
    )


def _contact_edges(
    firms: list[str], keys: list[str | None], prefix: str, relation: str
) -> pa.Table:
    pairs = sorted({(f, prefix + k) for f, k in zip(firms, keys, strict=True) if k})
    return pa.table(
        {
            "src": [p[0] for p in pairs],
            "dst": [p[1] for p in pairs],
            "relation": [relation] * len(pairs),
            "share": pa.array([None] * len(pairs), pa.float64()),
            "role": pa.array([None] * len(pairs), pa.string()),
        },
        schema=EDGE_SCHEMA,
    )


def _addresses(con: duckdb.DuckDBPyConnection, tables: set[str]) -> pa.Table:
    if "enterprise" not in tables:
        return EDGE_SCHEMA.empty_table()
    firms, texts, regions = _firm_values(
        con,
        """SELECT 'ent:' || credit_code, registered_address, region_code FROM enterprise
           WHERE registered_address IS NOT NULL""",
    )
    keys = [address_key(t, r) for t, r in zip(texts, regions, strict=True)]
    return _contact_edges(firms, keys, "addr:", "address")


def _emails(con: duckdb.DuckDBPyConnection, tables: set[str]) -> pa.Table:
    if "email_contact" not in tables:
        return EDGE_SCHEMA.empty_table()
    firms, values, _ = _firm_values(con, "SELECT 'ent:' || credit_code, email FROM email_contact")
    return _contact_edges(firms, [email_key(v) for v in values], "email:", "email")


def _domains(con: duckdb.DuckDBPyConnection, tables: set[str]) -> pa.Table:
    if "web_presence" not in tables:
        return EDGE_SCHEMA.empty_table()
    firms, values, _ = _firm_values(
        con, "SELECT 'ent:' || credit_code, coalesce(domain, url) FROM web_presence"
    )
    return _contact_edges(firms, [domain_key(v) for v in values], "domain:", "domain")
