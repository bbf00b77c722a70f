"""Shell-cluster signals per firm: shared contact points (numpy) and re-registration (SQL)."""

from __future__ import annotations

from typing import Final

import duckdb
import numpy as np
import pyarrow as pa

from fengyan.arrays import distinct
from fengyan.graph.build import EdgeCodes
from fengyan.graph.config import SignalSettings
from fengyan.graph.nodes import decode

CONTACTS: Final = ("address", "phone", "email", "domain", "server_ip")
KEY_ROLES: Final = ("法定代表人", "执行事务合伙人", "负责人")


def signals(
    con: duckdb.DuckDBPyConnection, edges: EdgeCodes | pa.Table, settings: SignalSettings
) -> pa.Table:
    """``firm_id``, firms sharing each contact point, and ``reregistered_from``.

    ``con`` is a lake connection (for the register's status dates); ``edges`` the graph's
    (with node codes, or the table of :func:`fengyan.graph.build.load_edges`).
    ``reregistered_from`` is a deregistered or revoked firm whose key person (legal
    representative or partner) set this firm up within ``reregistration_days`` after the
    old firm's status date.
    """
    if isinstance(edges, pa.Table):
        edges = EdgeCodes.from_rows(edges)
    officer = edges.relation_code("officer")
    roles = np.asarray(edges.role_codes(KEY_ROLES), dtype=np.int16)
    posts = np.flatnonzero((edges.relation == officer) & np.isin(edges.role, roles))
    # Codes everywhere; the key posts' firms also as ids, to meet the register's rows.
    con.register(
        "graph_key_posts_in",
        pa.table(
            {
                "person": pa.array(edges.src[posts]),
                "firm": pa.array(edges.dst[posts]),
                "firm_key": decode(edges.ids, edges.dst[posts]),
            }
        ),
    )
    del posts
    con.register("graph_contact_in", contact_counts(edges))
    tables = {
        r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()
    }
    # The key people's posts once; the register's dates once (the enterprise view derives
    # the as-of state from the version history each time it is read).
    con.execute("CREATE OR REPLACE TEMP TABLE graph_key_posts AS SELECT * FROM graph_key_posts_in")
    rereg = (
        f"""
        WITH dates AS (
            SELECT 'ent:' || credit_code AS firm, status, status_date, established
            FROM enterprise
        ), closed AS (
            SELECT k.person, k.firm, k.firm_key, d.status_date FROM graph_key_posts k
            JOIN dates d ON d.firm = k.firm_key
            WHERE d.status IN ('注销', '吊销') AND d.status_date IS NOT NULL
        )
        SELECT new.firm AS firm_id, min(old.firm_key) AS reregistered_from
        FROM closed old
        JOIN graph_key_posts new ON new.person = old.person AND new.firm <> old.firm
        JOIN dates en ON en.firm = new.firm_key
        WHERE en.established >= old.status_date
          AND en.established <= old.status_date + INTERVAL {int(settings.reregistration_days)} DAY
        GROUP BY new.firm
        """  # noqa: S608 - the number is an int from the settings
        if "enterprise" in tables
        else "SELECT NULL::INTEGER AS firm_id, NULL::VARCHAR AS reregistered_from WHERE FALSE"
    )
    try:
        table = con.sql(
            f"""
            WITH rereg AS ({rereg})
            SELECT coalesce(p.firm_id, r.firm_id) AS firm_id, p.* EXCLUDE (firm_id),
                   r.reregistered_from
            FROM graph_contact_in p FULL JOIN rereg r USING (firm_id)
            ORDER BY firm_id
            """  # noqa: S608 - fragments of this module and integer codes only
        ).to_arrow_table()
    finally:
        con.execute("DROP TABLE IF EXISTS graph_key_posts")
        con.unregister("graph_contact_in")
        con.unregister("graph_key_posts_in")
    # Code order is id order: the rows stay ordered by firm id.
    return table.set_column(0, "firm_id", decode(edges.ids, table["firm_id"]))


def contact_counts(edges: EdgeCodes) -> pa.Table:
    """Per firm with a contact point: for each kind of point (``CONTACTS``), the most
    other firms sharing one of its points of that kind (null: it has none of that kind).

    Integer work only (no engine query): the distinct (firm, point) pairs once, the firms
    per point a ``bincount`` over them, the maximum per firm an unbuffered ``maximum.at``.
    Rows are the firms' codes in ascending order.
    """
    codes = [edges.relation_code(r) for r in CONTACTS]
    wanted = np.isin(edges.relation, np.asarray([c for c in codes if c >= 0], dtype=np.int8))
    src, dst, relation = edges.src[wanted], edges.dst[wanted], edges.relation[wanted]
    del wanted
    # A point shared by a firm through two relations counts that firm once (as
    # count(DISTINCT firm) would): the pairs are de-duplicated before counting.
    nodes = max(len(edges.ids), 1)
    pairs = distinct(src.astype(np.int64) * nodes + dst)
    others = np.bincount(pairs % nodes, minlength=nodes) - 1
    del pairs
    firms = distinct(src)
    columns: dict[str, pa.Array] = {"firm_id": pa.array(firms)}
    for name, code in zip(CONTACTS, codes, strict=True):
        best = np.full(nodes, -1, dtype=np.int64)
        mine = relation == code
        np.maximum.at(best, src[mine], others[dst[mine]])
        found = best[firms]
        columns[f"firms_same_{_COLUMN[name]}"] = pa.array(found, mask=found < 0)
    return pa.table(columns)


# The signal column of each kind of contact point (``firms_same_<name>``).
_COLUMN: Final = {
    "address": "building",
    "phone": "phone",
    "email": "email",
    "domain": "domain",
    "server_ip": "server_ip",
}
