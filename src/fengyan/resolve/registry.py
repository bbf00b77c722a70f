"""What entity resolution reads from the lake: the register, its keys, and the records
that name a firm.

* :func:`load_registry` — one row per canonical firm (registered, or external: a code that
  shareholdings, officers or branches cite but no register lists) and every name a firm has
  or had (current, former, 曾用名, branch names);
* :func:`load_facts` — what the probabilistic model compares besides the name: registered
  and operating region, founding date, the date a firm was struck off;
* :func:`load_old_keys` — 组织机构代码 (the organisation code, characters 9–17 of a credit
  code) and the 15-digit 注册号 of each firm, where exactly one firm has them;
* :func:`load_mentions` — every configured event record that names a firm, with its code,
  name, region and date; :func:`load_contexts` — the text that may name the firm's trade,
  for the records named.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from fengyan.resolve.config import EnterpriseSettings, MentionSource
from fengyan.standards import orgcode, regno, uscc

PREFIX: Final = "ent:"
# Register statuses after which a firm no longer trades (its status_date is when it stopped).
ENDED: Final = ("注销", "吊销", "撤销")


def has_columns(con: duckdb.DuckDBPyConnection, table: str, columns: Iterable[str]) -> bool:
    """Whether ``table`` exists on ``con`` with all of ``columns``."""
    found = con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = ?", [table]
    ).fetchall()
    have = {r[0] for r in found}
    return bool(have) and set(columns) <= have


# The columns of the register's tables that this module reads (and the lake's version end).
_READ: Final = {
    "enterprise": (
        "credit_code",
        "name",
        "former_names",
        "region_code",
        "status",
        "status_date",
        "operating_region_code",
        "established",
        "org_code",
        "reg_no",
    ),
    "branch": ("parent_credit_code", "branch_name", "branch_credit_code", "branch_reg_no"),
}


def materialise_register(con: duckdb.DuckDBPyConnection) -> None:
    """Read the register's lake views once: ``enterprise`` and ``branch`` become tables.

    A lake connection (:meth:`fengyan.lake.store.Lake.connect`) has a view per table that
    recomputes the versions (a window over every Parquet file) each time it is read, and
    the loaders here read the register six times over. The versions view is read once, with
    only the columns of ``_READ``, into a temporary table of the same name that shadows it;
    the current view becomes the versions still open (``_valid_to IS NULL``: what the lake's
    current view selects, at ``as_of`` too). Idempotent; tables that are not lake views
    (registered Arrow tables, test fixtures) are left alone.
    """
    catalog = con.execute("SELECT current_database()").fetchall()[0][0]
    for table, wanted in _READ.items():
        versions = f"{table}__versions"
        kinds = dict(
            con.execute(
                """SELECT table_name, table_type FROM information_schema.tables
                   WHERE table_catalog = ? AND table_schema = 'main' AND table_name IN (?, ?)""",
                [catalog, table, versions],
            ).fetchall()
        )
        shadowed = con.execute(
            """SELECT count(*) FROM information_schema.tables
               WHERE table_catalog = 'temp' AND table_name IN (?, ?)""",
            [table, versions],
        ).fetchall()[0][0]
        if kinds.get(table) != "VIEW" or kinds.get(versions) != "VIEW" or shadowed:
            continue
        have = {
            r[0]
            for r in con.execute(
                """SELECT column_name FROM information_schema.columns
                   WHERE table_catalog = ? AND table_schema = 'main' AND table_name = ?""",
                [catalog, versions],
            ).fetchall()
        }
        if "_valid_to" not in have:
            continue
        cols = ", ".join(f'"{c}"' for c in (*wanted, "_valid_to") if c in have)
        con.execute(
            f"""CREATE TEMP TABLE "{versions}" AS
                SELECT {cols} FROM "{catalog}".main."{versions}";
                CREATE TEMP VIEW "{table}" AS
                SELECT * FROM temp.main."{versions}" WHERE _valid_to IS NULL"""  # noqa: S608 - names from this module
        )


def load_registry(con: duckdb.DuckDBPyConnection) -> tuple[pa.Table, pa.Table]:
    """``(entities, names)`` of the register as the lake connection sees it.

    ``entities``: canonical_id, credit_code, name, region_code, status, kind (registered
    or external). ``names``: canonical_id, name, how (current, former, branch).
    """
    parts, names = [], []
    if has_columns(con, "enterprise", ["credit_code", "name"]):
        parts.append(
            """SELECT credit_code, name, region_code, status, 'registered' AS kind, 0 AS rank
               FROM enterprise"""
        )
        names.append("SELECT credit_code, name, 'current' AS how FROM enterprise")
        names.append("SELECT credit_code, name, 'former' AS how FROM enterprise__versions")
        names.append(
            """SELECT credit_code, unnest(former_names) AS name, 'former' AS how
               FROM enterprise__versions WHERE former_names IS NOT NULL"""
        )
    if has_columns(con, "branch", ["parent_credit_code", "branch_name", "branch_credit_code"]):
        names.append(
            "SELECT parent_credit_code, branch_name, 'branch' AS how FROM branch__versions"
        )
        parts.append("""SELECT parent_credit_code, NULL, NULL, NULL, 'external', 2 FROM branch""")
    if has_columns(con, "shareholding", ["owner_id", "owner_kind", "owner_name"]):
        parts.append(
            """SELECT owner_id, owner_name, NULL, NULL, 'external', 1 FROM shareholding
               WHERE owner_kind = 'enterprise'"""
        )
    if has_columns(con, "officer", ["officer_id", "officer_kind", "officer_name"]):
        parts.append(
            """SELECT officer_id, officer_name, NULL, NULL, 'external', 1 FROM officer
               WHERE officer_kind = 'enterprise'"""
        )
    if not parts:
        empty = pa.table({"canonical_id": pa.array([], pa.string())})
        return empty, pa.table({"canonical_id": [], "name": [], "how": []})
    union = " UNION ALL ".join(parts)
    entities = con.sql(
        f"""
        SELECT '{PREFIX}' || credit_code AS canonical_id, credit_code,
               arg_min(name, rank) AS name, arg_min(region_code, rank) AS region_code,
               arg_min(status, rank) AS status, arg_min(kind, rank) AS kind
        FROM ({union}) AS t (credit_code, name, region_code, status, kind, rank)
        WHERE credit_code IS NOT NULL
        GROUP BY credit_code ORDER BY credit_code
        """  # noqa: S608 - table and column names come from this module
    ).to_arrow_table()
    name_rows = (
        con.sql(
            f"""
        SELECT DISTINCT '{PREFIX}' || credit_code AS canonical_id, name, min(how) AS how
        FROM ({" UNION ALL ".join(names)}) AS t (credit_code, name, how)
        WHERE name IS NOT NULL AND credit_code IS NOT NULL
        GROUP BY ALL
        """  # noqa: S608 - as above
        ).to_arrow_table()
        if names
        else pa.table({"canonical_id": [], "name": [], "how": []})
    )
    return entities, name_rows


def load_facts(con: duckdb.DuckDBPyConnection) -> pa.Table:
    """canonical_id, op_region, established, ended of every registered firm.

    ``ended`` is the status date of a firm struck off (注销, 吊销, 撤销), else NULL.
    Columns a delivery lacks are NULL: the model treats them as unknown.
    """
    cols = {
        "op_region": "operating_region_code",
        "established": "established",
        "status": "status",
        "status_date": "status_date",
    }
    if not has_columns(con, "enterprise", ["credit_code"]):
        return pa.table(
            {
                "canonical_id": pa.array([], pa.string()),
                "op_region": pa.array([], pa.string()),
                "established": pa.array([], pa.date32()),
                "ended": pa.array([], pa.date32()),
            }
        )
    have = {k: (v if has_columns(con, "enterprise", [v]) else "NULL") for k, v in cols.items()}
    ended = ", ".join(f"'{s}'" for s in ENDED)
    return con.sql(
        f"""SELECT '{PREFIX}' || credit_code AS canonical_id,
                   CAST({have["op_region"]} AS VARCHAR) AS op_region,
                   CAST({have["established"]} AS DATE) AS established,
                   CASE WHEN {have["status"]} IN ({ended})
                        THEN CAST({have["status_date"]} AS DATE) END AS ended
            FROM enterprise WHERE credit_code IS NOT NULL"""  # noqa: S608 - names from here
    ).to_arrow_table()


def load_old_keys(con: duckdb.DuckDBPyConnection) -> pa.Table:
    """key_kind (org_code, reg_no), key, canonical_id: old keys that name one firm only.

    The organisation code is read from the register's own column and from characters 9–17
    of every credit code (GB 32100 embeds it unchanged); the 注册号 from the firm's and its
    branches' registrations (a branch's number → its parent). A key two firms share names
    neither and is left out.
    """
    parts = []
    if has_columns(con, "enterprise", ["credit_code"]):
        parts.append(
            "SELECT 'org_code', substr(credit_code, 9, 9), credit_code FROM enterprise__versions"
        )
        if has_columns(con, "enterprise", ["org_code"]):
            parts.append("SELECT 'org_code', org_code, credit_code FROM enterprise__versions")
        if has_columns(con, "enterprise", ["reg_no"]):
            parts.append("SELECT 'reg_no', reg_no, credit_code FROM enterprise__versions")
    if has_columns(con, "branch", ["parent_credit_code", "branch_reg_no"]):
        parts.append("SELECT 'reg_no', branch_reg_no, parent_credit_code FROM branch__versions")
    if not parts:
        return pa.table({k: pa.array([], pa.string()) for k in ("key_kind", "key", "canonical_id")})
    return con.sql(
        f"""SELECT key_kind, key, '{PREFIX}' || any_value(code) AS canonical_id
            FROM ({" UNION ALL ".join(parts)}) AS t (key_kind, key, code)
            WHERE key IS NOT NULL AND code IS NOT NULL
            GROUP BY key_kind, key HAVING count(DISTINCT code) = 1"""  # noqa: S608 - as above
    ).to_arrow_table()


def load_branches(con: duckdb.DuckDBPyConnection) -> pa.Table:
    """Branch credit code → the parent's canonical id (a branch is no legal person)."""
    if not has_columns(con, "branch", ["parent_credit_code", "branch_credit_code"]):
        return pa.table({"code": pa.array([], pa.string()), "parent_id": pa.array([], pa.string())})
    return con.sql(
        f"""SELECT DISTINCT branch_credit_code AS code,
                   '{PREFIX}' || parent_credit_code AS parent_id
            FROM branch__versions WHERE branch_credit_code IS NOT NULL"""  # noqa: S608
    ).to_arrow_table()


_MENTION_SCHEMA: Final = pa.schema(
    [
        ("record_key", pa.string()),
        ("source_table", pa.string()),
        ("code", pa.string()),
        ("name", pa.string()),
        ("region", pa.string()),
        ("day", pa.date32()),
        ("alt_name", pa.bool_()),
        ("old_kind", pa.string()),
        ("old_key", pa.string()),
    ]
)


def _context_sql(con: duckdb.DuckDBPyConnection, m: MentionSource) -> str:
    texts = [c for c in m.context if has_columns(con, m.table, [c])]
    return f"concat_ws(' ', {', '.join(texts)})" if texts else "NULL"


def load_contexts(
    con: duckdb.DuckDBPyConnection, settings: EnterpriseSettings, record_keys: pa.Array
) -> pa.Table:
    """record_key, context (the configured text columns joined) of the records named.

    The model reads the context of the records left for splink only (a few percent of
    them), so :func:`load_mentions` leaves it out and this reads it for those records.
    """
    con.register("fy_context_keys", pa.table({"record_key": record_keys.cast(pa.string())}))
    try:
        selects = [
            f"""SELECT '{m.table}/' || t._id AS record_key,
                       CAST({_context_sql(con, m)} AS VARCHAR) AS context
                FROM "{m.table}" t SEMI JOIN fy_context_keys k
                ON k.record_key = '{m.table}/' || t._id"""  # noqa: S608 - settings.yaml
            for m in settings.mentions
            if has_columns(con, m.table, ["_id"])
        ]
        if not selects:
            return pa.table({c: pa.array([], pa.string()) for c in ("record_key", "context")})
        return con.sql(" UNION ALL ".join(selects)).to_arrow_table()
    finally:
        con.unregister("fy_context_keys")


def load_mentions(con: duckdb.DuckDBPyConnection, settings: EnterpriseSettings) -> pa.Table:
    """Every configured event record that names a firm.

    Columns: record_key, source_table, code (a valid credit code, else NULL), name, region,
    day, alt_name (the name is the fallback column's: a platform, not a firm),
    old_kind/old_key (the code column holds a valid organisation code or 15-digit
    registration number instead). Their text is :func:`load_contexts`'s, for the records
    that need it.
    """
    selects = []
    for m in settings.mentions:
        cols = [m.code, m.name, *([m.region] if m.region else []), "_id"]
        if m.kind_field:
            cols.append(m.kind_field)
        if not has_columns(con, m.table, cols):
            continue
        region = m.region or "NULL"
        name, alt = m.name, "false"
        if m.alt_name and has_columns(con, m.table, [m.alt_name]):
            name = f"coalesce({m.name}, {m.alt_name})"
            alt = f"{m.name} IS NULL"
        day = (
            f"CAST({m.date} AS DATE)" if m.date and has_columns(con, m.table, [m.date]) else "NULL"
        )
        where = f"{name} IS NOT NULL"
        if m.kind_field and m.kinds:
            kinds = ", ".join("'" + k.replace("'", "''") + "'" for k in m.kinds)
            where += f" AND ({m.kind_field} IS NULL OR {m.kind_field} IN ({kinds}))"
        selects.append(
            f"""SELECT '{m.table}/' || _id AS record_key, '{m.table}' AS source_table,
                       CAST({m.code} AS VARCHAR) AS code, {name} AS name,
                       CAST({region} AS VARCHAR) AS region, {day} AS day,
                       {alt} AS alt_name
                FROM "{m.table}" WHERE {where}"""  # noqa: S608 - names from settings.yaml
        )
    if not selects:
        return _MENTION_SCHEMA.empty_table()
    table = con.sql(" UNION ALL ".join(selects)).to_arrow_table()
    return _classify_codes(table).cast(_MENTION_SCHEMA)


def _classify_codes(table: pa.Table) -> pa.Table:
    """Split the code column: credit codes stay, old codes move to old_kind/old_key."""
    raw = pc.utf8_upper(pc.replace_substring(table["code"], "-", ""))
    values = np.asarray(raw.to_numpy(zero_copy_only=False), dtype=object)
    values[pc.is_null(raw).to_numpy(zero_copy_only=False)] = ""
    lengths = pc.fill_null(pc.utf8_length(raw), 0).to_numpy(zero_copy_only=False)
    credit = np.zeros(len(values), dtype=bool)
    org = np.zeros(len(values), dtype=bool)
    reg = np.zeros(len(values), dtype=bool)
    for want, mask, check in ((18, credit, uscc.valid_mask), (9, org, orgcode.valid_mask)):
        rows = np.flatnonzero(lengths == want)
        if len(rows):
            mask[rows] = check(values[rows])
    # 注册号 have no array check; they are rare in event records, so the loop is short.
    for row in np.flatnonzero(lengths == regno.LENGTH).tolist():
        reg[row] = regno.is_valid(values[row])
    code = pa.array(values, pa.string(), mask=~credit)
    kind_values = np.full(len(values), "", dtype=object)
    kind_values[org] = "org_code"
    kind_values[reg] = "reg_no"
    kind = pa.array(kind_values, pa.string(), mask=~(org | reg))
    old = pa.array(values, pa.string(), mask=~(org | reg))
    table = table.set_column(table.schema.get_field_index("code"), "code", code)
    return table.append_column("old_kind", kind).append_column("old_key", old)
