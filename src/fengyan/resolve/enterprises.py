"""Enterprises: one canonical id per firm, and every record that names a firm linked to it.

Registered firms are keyed by their credit code (``ent:<code>``); codes referenced by
shareholdings, officers and branches but absent from the register become *external*
entities under the same scheme. Event records (complaints, ads, job posts, court records)
are linked in stages, each seeing only what the earlier ones left:

1. ``credit_code`` — the record carries a valid credit code;
2. ``name`` — its folded full name equals a name the firm has or had, or a branch's;
3. ``core_name`` — its core name (no place, legal form, branch) belongs to one firm only;
   ``brand`` — or is the beginning of one firm's core only (鹏润公司 → 鹏润科技);
4. ``splink`` — the probabilistic model, accepted above the threshold with a margin over
   the runner-up; uncertain pairs go to the review queue and stay unlinked;
5. ``unregistered`` — names that match nothing are grouped by their folded name into
   entities of their own (``ent:~<hash>``): fifty complaints about one platform that is in
   no register still meet.

Human decisions come first: ``positive`` links a record whatever the stages say,
``negative`` removes that firm from the record's candidates at every stage.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import duckdb
import numpy as np
import pyarrow as pa

from fengyan.resolve import scoring
from fengyan.resolve.config import EnterpriseSettings
from fengyan.resolve.ledger import Suggestion
from fengyan.resolve.names import split_name
from fengyan.standards import uscc

PREFIX: Final = "ent:"
MIN_SCORED: Final = 0.01  # pairs below this match probability are not kept at all


def enterprise_id(credit_code: str) -> str:
    """The canonical id of the firm with ``credit_code``."""
    return PREFIX + credit_code


def unregistered_id(name_key: str) -> str:
    """The canonical id of a firm known only by this folded name."""
    return PREFIX + "~" + hashlib.md5(name_key.encode()).hexdigest()[:16]


def name_features(names: Iterable[str]) -> pa.Table:
    """Folded keys of each distinct name: the columns the exact stages and splink compare."""
    distinct = sorted({n for n in names if n})
    parts = [split_name(n) for n in distinct]
    cores = [p.core for p in parts]
    return pa.table(
        {
            "name": distinct,
            "name_key": [p.key for p in parts],
            "core": cores,
            "core2": [c[:2] for c in cores],
            "core_first": [c[:1] for c in cores],
            "core_second": [c[1:2] for c in cores],
            "core_tail": [c[-2:] for c in cores],
        }
    )


def valid_codes(values: list[str | None]) -> list[str | None]:
    """Keep the values that are valid credit codes (already normalised by ingest)."""
    array = np.asarray([v if v is not None else "" for v in values], dtype=object)
    ok = uscc.valid_mask(array)
    return [v if good else None for v, good in zip(values, ok.tolist(), strict=True)]


def _has(con: duckdb.DuckDBPyConnection, table: str, columns: Iterable[str]) -> bool:
    found = con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = ?", [table]
    ).fetchall()
    have = {r[0] for r in found}
    return bool(have) and set(columns) <= have


def load_registry(con: duckdb.DuckDBPyConnection) -> tuple[pa.Table, pa.Table]:
    """``(entities, names)`` of the register as the lake connection sees it.

    ``entities``: canonical_id, credit_code, name, region_code, status, kind (registered
    or external). ``names``: canonical_id, name, how (current, former, branch).
    """
    parts, names = [], []
    if _has(con, "enterprise", ["credit_code", "name"]):
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
    if _has(con, "branch", ["parent_credit_code", "branch_name", "branch_credit_code"]):
        names.append(
            "SELECT parent_credit_code, branch_name, 'branch' AS how FROM branch__versions"
        )
        parts.append("""SELECT parent_credit_code, NULL, NULL, NULL, 'external', 2 FROM branch""")
    if _has(con, "shareholding", ["owner_id", "owner_kind", "owner_name"]):
        parts.append(
            """SELECT owner_id, owner_name, NULL, NULL, 'external', 1 FROM shareholding
               WHERE owner_kind = 'enterprise'"""
        )
    if _has(con, "officer", ["officer_id", "officer_kind", "officer_name"]):
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
        GROUP BY ALL ORDER BY canonical_id, name
        """  # noqa: S608 - as above
        ).to_arrow_table()
        if names
        else pa.table({"canonical_id": [], "name": [], "how": []})
    )
    return entities, name_rows


def load_branches(con: duckdb.DuckDBPyConnection) -> pa.Table:
    """Branch credit code → the parent's canonical id (a branch is no legal person)."""
    if not _has(con, "branch", ["parent_credit_code", "branch_credit_code"]):
        return pa.table({"code": pa.array([], pa.string()), "parent_id": pa.array([], pa.string())})
    return con.sql(
        f"""SELECT DISTINCT branch_credit_code AS code,
                   '{PREFIX}' || parent_credit_code AS parent_id
            FROM branch__versions WHERE branch_credit_code IS NOT NULL"""  # noqa: S608
    ).to_arrow_table()


def load_mentions(con: duckdb.DuckDBPyConnection, settings: EnterpriseSettings) -> pa.Table:
    """Every configured event record that names a firm: record_key, code, name, region."""
    selects = []
    for m in settings.mentions:
        cols = [m.code, m.name, *([m.region] if m.region else []), "_id"]
        if m.kind_field:
            cols.append(m.kind_field)
        if not _has(con, m.table, cols):
            continue
        region = m.region or "NULL"
        name = m.name
        if m.alt_name and _has(con, m.table, [m.alt_name]):
            name = f"coalesce({m.name}, {m.alt_name})"
        where = f"{name} IS NOT NULL"
        if m.kind_field and m.kinds:
            kinds = ", ".join("'" + k.replace("'", "''") + "'" for k in m.kinds)
            where += f" AND ({m.kind_field} IS NULL OR {m.kind_field} IN ({kinds}))"
        selects.append(
            f"""SELECT '{m.table}/' || _id AS record_key, '{m.table}' AS source_table,
                       CAST({m.code} AS VARCHAR) AS code, {name} AS name,
                       CAST({region} AS VARCHAR) AS region
                FROM "{m.table}" WHERE {where}"""  # noqa: S608 - names from settings.yaml
        )
    if not selects:
        return pa.table(
            {k: pa.array([], pa.string()) for k in ("record_key", "source_table", "code")}
            | {"name": pa.array([], pa.string()), "region": pa.array([], pa.string())}
        )
    table = con.sql(" UNION ALL ".join(selects) + " ORDER BY record_key").to_arrow_table()
    codes = valid_codes(table["code"].to_pylist())
    return table.set_column(table.schema.get_field_index("code"), "code", pa.array(codes))


@dataclass
class EnterpriseResult:
    """Links of event records to firms, the entities, and what went to review."""

    entities: pa.Table
    links: pa.Table  # record_key, canonical_id, method, probability, match_weight
    candidates: pa.Table  # scored pairs kept for explanation
    suggestions: list[Suggestion] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)


def link_enterprises(
    con: duckdb.DuckDBPyConnection,
    settings: EnterpriseSettings,
    judgements: Mapping[tuple[str, str], str],
) -> EnterpriseResult:
    """Run the stages of the module docstring over the lake connection ``con``."""
    entities, names = load_registry(con)
    mentions = load_mentions(con, settings)
    features = name_features([*names["name"].to_pylist(), *mentions["name"].to_pylist()])
    work = duckdb.connect()
    try:
        work.register("entities_in", entities)
        work.register("names_in", names)
        work.register("mentions_in", mentions)
        work.register("features_in", features)
        decisions = pa.table(
            {
                "left_key": [k[0] for k in judgements],
                "right_key": [k[1] for k in judgements],
                "judgement": list(judgements.values()),
            },
            schema=pa.schema([(c, pa.string()) for c in ("left_key", "right_key", "judgement")]),
        )
        work.register("decisions_in", decisions)
        work.register("branches_in", load_branches(con))
        return _link(work, settings, entities, mentions.num_rows)
    finally:
        work.close()


def _link(
    work: duckdb.DuckDBPyConnection,
    settings: EnterpriseSettings,
    entities: pa.Table,
    n_mentions: int,
) -> EnterpriseResult:
    work.execute(
        """
        CREATE TABLE names AS
        SELECT n.canonical_id, n.name, n.how, f.* EXCLUDE (name)
        FROM names_in n JOIN features_in f USING (name);
        CREATE TABLE mentions AS
        SELECT m.*, f.* EXCLUDE (name) FROM mentions_in m LEFT JOIN features_in f USING (name);
        CREATE TABLE negative AS
        SELECT left_key, right_key FROM decisions_in WHERE judgement = 'negative';
        CREATE TABLE links (record_key VARCHAR, canonical_id VARCHAR, method VARCHAR,
                            probability DOUBLE, match_weight DOUBLE);
        INSERT INTO links
        SELECT d.left_key, d.right_key, 'decision', 1.0, NULL FROM decisions_in d
        JOIN mentions m ON m.record_key = d.left_key WHERE d.judgement = 'positive';
        CREATE TABLE entity_ids AS SELECT canonical_id FROM entities_in;
        """
    )
    pending = "mentions m ANTI JOIN links l ON l.record_key = m.record_key"
    # 1. a valid credit code, unless a reviewer said this record is not that firm.
    work.execute(
        f"""
        INSERT INTO links
        SELECT m.record_key, coalesce(b.parent_id, '{PREFIX}' || m.code),
               CASE WHEN b.parent_id IS NULL THEN 'credit_code' ELSE 'branch' END, 1.0, NULL
        FROM {pending}
        LEFT JOIN branches_in b ON b.code = m.code
        ANTI JOIN negative n ON n.left_key = m.record_key
                            AND n.right_key = coalesce(b.parent_id, '{PREFIX}' || m.code)
        WHERE m.code IS NOT NULL
        """  # noqa: S608 - constants of this module
    )
    # 2 and 3: a name key, core key or brand that points at exactly one firm.
    stages = [("name", "n.name_key = m.name_key")]
    if settings.stages.core_name:
        stages.append(("core_name", "n.core = m.core"))
    if settings.stages.brand:
        stages.append(("brand", "starts_with(n.core, m.core) AND n.core2 = m.core2"))
    for method, condition in stages:
        work.execute(
            f"""
            INSERT INTO links
            SELECT m.record_key, any_value(n.canonical_id), '{method}', 1.0, NULL
            FROM {pending}
            JOIN names n ON {condition}
            ANTI JOIN negative x ON x.left_key = m.record_key AND x.right_key = n.canonical_id
            WHERE length(m.core) >= 2
            GROUP BY m.record_key HAVING count(DISTINCT n.canonical_id) = 1
            """  # noqa: S608 - constants of this module
        )
    # 4. splink for the rest.
    left = work.sql(
        f"""SELECT m.record_key AS unique_id, m.name_key, m.core, m.core2, m.core_first,
                   m.core_second, m.core_tail, m.region FROM {pending}"""  # noqa: S608
    ).to_arrow_table()
    right = work.sql(
        """SELECT n.canonical_id || '#' || n.name AS unique_id, n.canonical_id, n.name_key,
                  n.core, n.core2, n.core_first, n.core_second, n.core_tail, e.region_code AS region
           FROM names n JOIN entities_in e USING (canonical_id)"""
    ).to_arrow_table()
    prior = 1.0 / max(entities.num_rows, 1)
    scored = scoring.score_pairs(settings.splink, left, right, prior, MIN_SCORED)
    candidates, suggestions = _decide_scored(work, settings, scored)
    # 5. what is left: one entity per distinct folded name.
    rest = work.sql(f"SELECT m.record_key, m.name_key FROM {pending}").to_arrow_table()  # noqa: S608
    review = {s.left_key for s in suggestions}
    rows = [
        (k, None if k in review else unregistered_id(n))
        for k, n in zip(rest["record_key"].to_pylist(), rest["name_key"].to_pylist(), strict=True)
    ]
    work.register(
        "rest_in",
        pa.table(
            {
                "record_key": pa.array([r[0] for r in rows], pa.string()),
                "canonical_id": pa.array([r[1] for r in rows], pa.string()),
            }
        ),
    )
    work.execute(
        """INSERT INTO links SELECT record_key, canonical_id,
                  CASE WHEN canonical_id IS NULL THEN 'review' ELSE 'unregistered' END,
                  NULL, NULL FROM rest_in"""
    )
    links = work.sql("SELECT * FROM links ORDER BY record_key").to_arrow_table()
    unregistered = work.sql(
        """SELECT l.canonical_id, NULL::VARCHAR AS credit_code,
                  arg_min(m.name, m.record_key) AS name,
                  NULL::VARCHAR AS region_code, NULL::VARCHAR AS status, 'unregistered' AS kind
           FROM links l JOIN mentions m USING (record_key)
           WHERE l.method = 'unregistered' GROUP BY l.canonical_id"""
    ).to_arrow_table()
    # Codes that records carry but no register lists: external firms, named as written.
    external = work.sql(
        """SELECT l.canonical_id, substr(l.canonical_id, 5) AS credit_code,
                  arg_min(m.name, m.record_key) AS name, NULL::VARCHAR AS region_code,
                  NULL::VARCHAR AS status, 'external' AS kind
           FROM links l JOIN mentions m USING (record_key)
           WHERE l.method = 'credit_code'
             AND l.canonical_id NOT IN (SELECT canonical_id FROM entities_in)
           GROUP BY l.canonical_id"""
    ).to_arrow_table()
    all_entities = pa.concat_tables(
        [entities, external.cast(entities.schema), unregistered.cast(entities.schema)]
    )
    counts = dict(
        work.execute("SELECT method, count(*) FROM links GROUP BY method ORDER BY 1").fetchall()
    )
    counts["mentions"] = n_mentions
    return EnterpriseResult(all_entities, links, candidates, suggestions, counts)


def _decide_scored(
    work: duckdb.DuckDBPyConnection, settings: EnterpriseSettings, scored: pa.Table
) -> tuple[pa.Table, list[Suggestion]]:
    """Accept, queue or drop each record's best splink candidate."""
    th = settings.thresholds
    if scored.num_rows == 0:
        return pa.table({"record_key": pa.array([], pa.string())}), []
    work.register("scored_in", scored)
    # Several names of one firm may score: keep each firm's best, then rank the firms.
    work.execute(
        """
        CREATE TABLE best AS
        SELECT s.unique_id_l AS record_key, split_part(s.unique_id_r, '#', 1) AS canonical_id,
               arg_max(s.unique_id_r, s.match_weight) AS matched,
               max(s.match_weight) AS match_weight, max(s.match_probability) AS probability
        FROM scored_in s
        ANTI JOIN negative x ON x.left_key = s.unique_id_l
                             AND x.right_key = split_part(s.unique_id_r, '#', 1)
        GROUP BY ALL;
        CREATE TABLE ranked AS
        SELECT *, row_number() OVER w AS rank,
               match_weight - lead(match_weight) OVER w AS margin
        FROM best WINDOW w AS (PARTITION BY record_key ORDER BY match_weight DESC, canonical_id)
        """
    )
    work.execute(
        """
        INSERT INTO links
        SELECT record_key, canonical_id, 'splink', probability, match_weight FROM ranked
        WHERE rank = 1 AND probability >= ? AND coalesce(margin, 1e9) >= ?
          AND record_key NOT IN (SELECT record_key FROM links)
        """,
        [th.accept, th.margin_bits],
    )
    queued = work.sql(
        """
        SELECT r.record_key, r.canonical_id, r.matched, r.probability, r.match_weight, m.name
        FROM ranked r JOIN mentions m USING (record_key)
        WHERE r.rank <= 3 AND r.probability >= ?
          AND r.record_key NOT IN (SELECT record_key FROM links)
        ORDER BY r.record_key, r.rank
        """,
        params=[th.review],
    ).fetchall()
    by_id = {r["unique_id_l"] + "\x00" + r["unique_id_r"]: r for r in scored.to_pylist()}
    suggestions = []
    for record_key, canonical_id, matched, probability, _weight, name in queued:
        row = by_id[record_key + "\x00" + matched]
        detail: dict[str, Any] = scoring.explain(row, settings.splink)
        detail |= {"record_name": name, "entity_name": matched.split("#", 1)[1]}
        suggestions.append(Suggestion(record_key, canonical_id, float(probability), detail))
    candidates = work.sql(
        "SELECT * EXCLUDE (matched) FROM ranked WHERE probability >= ? ORDER BY record_key, rank",
        params=[th.review],
    ).to_arrow_table()
    return candidates, suggestions
