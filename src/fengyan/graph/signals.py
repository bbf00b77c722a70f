"""Shell-cluster signals per firm: shared contact points and re-registration (SQL)."""

from __future__ import annotations

import duckdb
import pyarrow as pa

from fengyan.graph.config import SignalSettings


def signals(con: duckdb.DuckDBPyConnection, edges: pa.Table, settings: SignalSettings) -> pa.Table:
    """``firm_id``, firms sharing each contact point, and ``reregistered_from``.

    ``con`` is a lake connection (for the register's status dates); ``edges`` the graph's.
    ``reregistered_from`` is a deregistered or revoked firm whose key person (legal
    representative or partner) set this firm up within ``reregistration_days`` after the
    old firm's status date.
    """
    con.register("graph_edges_in", edges)
    tables = {
        r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()
    }
    # The key people's posts once; the register's dates once (the enterprise view derives
    # the as-of state from the version history each time it is read).
    con.execute(
        """CREATE OR REPLACE TEMP TABLE graph_key_posts AS
           SELECT src AS person, dst AS firm FROM graph_edges_in
           WHERE relation = 'officer' AND role IN ('法定代表人', '执行事务合伙人', '负责人')"""
    )
    rereg = (
        f"""
        WITH dates AS (
            SELECT 'ent:' || credit_code AS firm, status, status_date, established
            FROM enterprise
        ), closed AS (
            SELECT k.person, k.firm, d.status_date FROM graph_key_posts k
            JOIN dates d USING (firm)
            WHERE d.status IN ('注销', '吊销') AND d.status_date IS NOT NULL
        )
        SELECT new.firm AS firm_id, min(old.firm) AS reregistered_from
        FROM closed old
        JOIN graph_key_posts new ON new.person = old.person AND new.firm <> old.firm
        JOIN dates en ON en.firm = new.firm
        WHERE en.established >= old.status_date
          AND en.established <= old.status_date + INTERVAL {int(settings.reregistration_days)} DAY
        GROUP BY new.firm
        """  # noqa: S608 - the number is an int from the settings
        if "enterprise" in tables
        else "SELECT NULL::VARCHAR AS firm_id, NULL::VARCHAR AS reregistered_from WHERE FALSE"
    )
    try:
        return con.sql(
            f"""
            WITH contact AS (
                SELECT src AS firm_id, dst AS point, relation FROM graph_edges_in
                WHERE relation IN ('address', 'phone', 'email', 'domain', 'server_ip')
            ), sharing AS (
                SELECT point, count(DISTINCT firm_id) - 1 AS others FROM contact GROUP BY point
            ), per_firm AS (
                SELECT firm_id,
                       max(others) FILTER (relation = 'address') AS firms_same_building,
                       max(others) FILTER (relation = 'phone') AS firms_same_phone,
                       max(others) FILTER (relation = 'email') AS firms_same_email,
                       max(others) FILTER (relation = 'domain') AS firms_same_domain,
                       max(others) FILTER (relation = 'server_ip') AS firms_same_server_ip
                FROM contact JOIN sharing USING (point) GROUP BY firm_id
            ), rereg AS ({rereg})
            SELECT coalesce(p.firm_id, r.firm_id) AS firm_id, p.* EXCLUDE (firm_id),
                   r.reregistered_from
            FROM per_firm p FULL JOIN rereg r USING (firm_id)
            ORDER BY firm_id
            """  # noqa: S608 - fragments of this module only
        ).to_arrow_table()
    finally:
        con.execute("DROP TABLE IF EXISTS graph_key_posts")
        con.unregister("graph_edges_in")
