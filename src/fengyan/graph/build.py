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
import pyarrow.compute as pc

from fengyan.graph.keys import address_keys, domain_keys, email_keys

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
    contacts = _contact_keys(con, tables)
    for name, table in contacts.items():
        con.register(name, table)
        parts.append(f"SELECT firm, key, '{name[4:]}', NULL, NULL FROM {name}")  # noqa: S608
    if not parts:
        return EDGE_SCHEMA.empty_table()
    try:
        return (
            con.sql(
                f"""SELECT src, dst, relation, max(share) AS share, role
                    FROM ({" UNION ALL ".join(parts)}) AS x (src, dst, relation, share, role)
                    WHERE src IS NOT NULL AND dst IS NOT NULL
                    GROUP BY src, dst, relation, role
                    ORDER BY relation, src, dst"""  # noqa: S608 - fragments of this module
            )
            .to_arrow_table()
            .cast(EDGE_SCHEMA)
        )
    finally:
        for name in contacts:
            con.unregister(name)


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
