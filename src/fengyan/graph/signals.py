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
    rereg = (
        f"""
        SELECT new.dst AS firm_id, arg_min(old.dst, old.dst) AS reregistered_from
        FROM graph_edges_in new
        JOIN graph_edges_in old ON old.src = new.src AND old.dst <> new.dst
        JOIN enterprise eo ON 'ent:' || eo.credit_code = old.dst
        JOIN enterprise en ON 'ent:' || en.credit_code = new.dst
        WHERE new.relation = 'officer' AND old.relation = 'officer'
          AND new.role IN ('法定代表人', '执行事务合伙人', '负责人')
          AND old.role IN ('法定代表人', '执行事务合伙人', '负责人')
          AND eo.status IN ('注销', '吊销') AND eo.status_date IS NOT NULL
          AND en.established >= eo.status_date
          AND en.established <= eo.status_date + INTERVAL {int(settings.reregistration_days)} DAY
        GROUP BY new.dst
        """  # noqa: S608 - the number is an int from the settings
        if "enterprise" in tables
        else "SELECT NULL::VARCHAR AS firm_id, NULL::VARCHAR AS reregistered_from WHERE FALSE"
    )
    return con.sql(
        f"""
        WITH contact AS (
            SELECT src AS firm_id, dst AS point, relation,
                   count(DISTINCT src) OVER (PARTITION BY dst) - 1 AS others
            FROM graph_edges_in
            WHERE relation IN ('address', 'phone', 'email', 'domain', 'server_ip')
        ), per_firm AS (
            SELECT firm_id,
                   max(others) FILTER (relation = 'address') AS firms_same_building,
                   max(others) FILTER (relation = 'phone') AS firms_same_phone,
                   max(others) FILTER (relation = 'email') AS firms_same_email,
                   max(others) FILTER (relation = 'domain') AS firms_same_domain,
                   max(others) FILTER (relation = 'server_ip') AS firms_same_server_ip
            FROM contact GROUP BY firm_id
        ), rereg AS ({rereg})
        SELECT coalesce(p.firm_id, r.firm_id) AS firm_id, p.* EXCLUDE (firm_id),
               r.reregistered_from
        FROM per_firm p FULL JOIN rereg r USING (firm_id)
        ORDER BY firm_id
        """  # noqa: S608 - fragments of this module only
    ).to_arrow_table()
