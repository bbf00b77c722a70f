"""Enterprises: one canonical id per firm, and every record that names a firm linked to it.

Registered firms are keyed by their credit code (``ent:<code>``); codes referenced by
shareholdings, officers and branches but absent from the register become *external*
entities under the same scheme. Event records (complaints, ads, job posts, court records)
are linked in stages, each seeing only what the earlier ones left:

1. ``credit_code`` — the record carries a valid credit code; ``org_code``/``reg_no`` — or
   an organisation code or 15-digit 注册号 that one firm only has;
2. ``name`` — its folded full name equals a name the firm has or had, or a branch's;
3. ``core_name`` — its core name (no place, legal form, branch) belongs to one firm only;
   ``brand`` — or is the beginning of one firm's core only (鹏润公司 → 鹏润科技);
4. ``splink`` — the probabilistic model (name, region, the firm's lifetime, how often other
   records name it, the record's text), accepted above the threshold with a margin over
   the runner-up; uncertain pairs go to the review queue and stay unlinked;
5. ``unregistered`` — names that match nothing are grouped by their folded name into
   entities of their own (``ent:~<hash>``): fifty complaints about one platform that is in
   no register still meet.

Human decisions come first: ``positive`` links a record whatever the stages say,
``negative`` removes that firm from the record's candidates at every stage.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from fengyan.resolve import scoring
from fengyan.resolve.batch import split_names
from fengyan.resolve.config import EnterpriseSettings
from fengyan.resolve.ledger import Suggestion
from fengyan.resolve.registry import (
    PREFIX,
    load_branches,
    load_contexts,
    load_facts,
    load_mentions,
    load_old_keys,
    load_registry,
    materialise_register,
)

__all__ = [
    "PREFIX",
    "EnterpriseResult",
    "attach_contexts",
    "exact_stages",
    "link_enterprises",
    "load_branches",
    "name_features",
    "prepare",
    "splink_inputs",
]
MIN_SCORED: Final = 0.01  # pairs below this match probability are not kept at all


def enterprise_id(credit_code: str) -> str:
    """The canonical id of the firm with ``credit_code``."""
    return PREFIX + credit_code


def unregistered_id(name_key: str) -> str:
    """The canonical id of a firm known only by this folded name."""
    return PREFIX + "~" + hashlib.md5(name_key.encode()).hexdigest()[:16]


def name_features(*columns: pa.Array | pa.ChunkedArray, threads: int = 1) -> pa.Table:
    """Folded keys of each distinct name in ``columns``: what the stages and splink compare.

    Vectorised (:func:`fengyan.resolve.batch.split_names`, in ``threads`` threads): each
    step runs once over all distinct names, not once per name.
    """
    chunks = [c.chunks if isinstance(c, pa.ChunkedArray) else [c] for c in columns]
    flat = [ch.cast(pa.string()) for group in chunks for ch in group]
    if not flat:
        flat = [pa.array([], pa.string())]
    distinct = pc.unique(pa.chunked_array(flat, pa.string()).drop_null())
    distinct = distinct.filter(pc.not_equal(distinct, ""))
    parts = split_names(distinct, threads)
    core = parts["core"]
    return pa.table(
        {
            "name": distinct,
            "name_key": parts["key"],
            "core": core,
            "core2": pc.utf8_slice_codeunits(core, 0, 2),
        }
    )


@dataclass
class EnterpriseResult:
    """Links of event records to firms, the entities, and what went to review."""

    entities: pa.Table
    links: pa.Table  # record_key, canonical_id, method, probability, match_weight
    candidates: pa.Table  # scored pairs kept for explanation
    suggestions: list[Suggestion] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)


def link_enterprises(
    con: duckdb.DuckDBPyConnection,
    settings: EnterpriseSettings,
    judgements: Mapping[tuple[str, str], str],
    on_loaded: Callable[[], object] | None = None,
    threads: int = 1,
) -> EnterpriseResult:
    """Run the stages of the module docstring over the lake connection ``con``;
    ``on_loaded`` is called once the register and the records are read; the names are
    taken apart in ``threads`` threads."""
    clock = _Clock()
    work, entities, n_mentions = prepare(con, judgements, settings, clock, on_loaded, threads)
    try:
        exact_stages(work, settings)
        attach_contexts(con, work, settings)
        clock.lap("exact")
        # 4. splink for the rest.
        model = model_for(settings, entities.num_rows)
        left, right, tf_brand = splink_inputs(work, model)
        clock.lap("splink_inputs")
        scored = scoring.score_pairs(
            model,
            left,
            right,
            1.0 / max(entities.num_rows, 1),
            MIN_SCORED,
            {"brand": tf_brand},
        )
        clock.lap("splink")
        result = _finish(work, settings, entities, n_mentions, scored)
        clock.lap("decide")
        result.seconds = clock.seconds
        return result
    finally:
        work.close()


class _Clock:
    """Wall seconds per step, for the run report."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._mark = time.perf_counter()

    def lap(self, step: str) -> None:
        now = time.perf_counter()
        self.seconds[step] = round(now - self._mark, 3)
        self._mark = now


def model_for(settings: EnterpriseSettings, n_entities: int) -> dict[str, Any]:
    """The splink settings for a register of ``n_entities`` firms (u scaled, see config)."""
    if not settings.reference_entities or not settings.scaled_comparisons:
        return settings.splink
    factor = settings.reference_entities / max(n_entities, 1)
    return scoring.scale_u(settings.splink, settings.scaled_comparisons, factor)


def prepare(
    con: duckdb.DuckDBPyConnection,
    judgements: Mapping[tuple[str, str], str],
    settings: EnterpriseSettings,
    clock: _Clock | None = None,
    on_loaded: Callable[[], object] | None = None,
    threads: int = 1,
) -> tuple[duckdb.DuckDBPyConnection, pa.Table, int]:
    """A private DuckDB connection holding the register, the records and the decisions.

    Returns it with the entities table and the number of records; the caller closes it.
    ``on_loaded`` is called once the lake's tables are read, before the names are folded
    (in ``threads`` threads).
    """
    clock = clock or _Clock()
    materialise_register(con)
    entities, names = load_registry(con)
    # Without their text: splink reads it for the records the exact stages leave only
    # (attach_contexts), a few percent of them — at 3 M firms some 250 MB less.
    mentions = load_mentions(con, settings)
    clock.lap("load")
    if on_loaded is not None:
        on_loaded()
    features = name_features(names["name"], mentions["name"], threads=threads)
    clock.lap("names")
    work = duckdb.connect()
    try:
        work.register("entities_in", entities)
        work.register("names_in", names)
        work.register("mentions_in", mentions)
        work.register("features_in", features)
        work.register("facts_in", load_facts(con))
        work.register("old_keys_in", load_old_keys(con))
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
        _setup(work)
    except BaseException:
        work.close()
        raise
    return work, entities, mentions.num_rows


PENDING: Final = "mentions m ANTI JOIN links l ON l.record_key = m.record_key"


def _setup(work: duckdb.DuckDBPyConnection) -> None:
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
        """
    )
    # Copied into the tables above: the Arrow inputs (names with their text, a few GB at
    # millions of firms) need not live through the rest of the run.
    for name in ("names_in", "mentions_in", "features_in"):
        work.unregister(name)


def attach_contexts(
    con: duckdb.DuckDBPyConnection,
    work: duckdb.DuckDBPyConnection,
    settings: EnterpriseSettings,
) -> None:
    """Table ``contexts`` of ``work``: the text of the records still pending that splink
    compares (read from the lake connection ``con``), which :func:`splink_inputs` gives
    the model."""
    pending = work.sql(
        f"SELECT m.record_key FROM {PENDING} WHERE NOT m.alt_name"  # noqa: S608
    ).to_arrow_table()
    work.register("contexts_in", load_contexts(con, settings, pending["record_key"]))
    try:
        work.execute("CREATE OR REPLACE TABLE contexts AS SELECT * FROM contexts_in")
    finally:
        work.unregister("contexts_in")


def exact_stages(work: duckdb.DuckDBPyConnection, settings: EnterpriseSettings) -> None:
    """Stages 1–3 (credit code, old codes, names): links written to table ``links``."""
    pending = PENDING
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
    # 1b. an organisation code or 注册号 in the code column, if it names one firm.
    work.execute(
        f"""
        INSERT INTO links
        SELECT m.record_key, k.canonical_id, m.old_kind, 1.0, NULL
        FROM {pending}
        JOIN old_keys_in k ON k.key_kind = m.old_kind AND k.key = m.old_key
        ANTI JOIN negative n ON n.left_key = m.record_key AND n.right_key = k.canonical_id
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


def _finish(
    work: duckdb.DuckDBPyConnection,
    settings: EnterpriseSettings,
    entities: pa.Table,
    n_mentions: int,
    scored: pa.Table,
) -> EnterpriseResult:
    pending = PENDING
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


# Blocking keys (int64 hashes, cheap to join at millions of rows): the core (core_h), its
# first k characters (pre2 … pre6: a brand or short name begins the firm's core) and the
# core with character i deleted (del0 … del5: a name one character off at position i).
PREFIXES: Final = (2, 3, 4, 5, 6)
DELETIONS: Final = (0, 1, 2, 3, 4, 5)


def _block_keys(t: str) -> str:
    cols = [f"hash({t}.core) AS core_h"]
    cols += [
        f"CASE WHEN length({t}.core) >= {k} THEN hash(left({t}.core, {k})) END AS pre{k}"
        for k in PREFIXES
    ]
    cols += [
        f"CASE WHEN length({t}.core) >= 4 AND length({t}.core) > {i} "
        f"THEN hash(left({t}.core, {i}) || substr({t}.core, {i + 2})) END AS del{i}"
        for i in DELETIONS
    ]
    return ", ".join(cols)


def splink_inputs(
    work: duckdb.DuckDBPyConnection, model: Mapping[str, Any] | None = None
) -> tuple[pa.Table, pa.Table, pa.Table]:
    """Records left for splink, every name of every firm with its facts, and the brand tf.

    Records named only by the fallback column (a complaint naming a platform, 腾聚e贷) are
    not firm names: the exact stages may place them, the model does not guess from them.

    Both sides carry the same columns (splink stacks them); a column that only means
    something on one side is NULL on the other. ``mentioned`` counts the records the exact
    stages put on the firm: a firm others name is likelier the one this record names.
    ``tf_brand`` is the share of registered firms whose core begins with each record's core
    — the term frequency of the brand, so that a brand a dozen firms share weighs less;
    ``brand_firms`` is their number (the blocking rules skip brands too common to decide).

    With ``model`` (the splink settings), only the names its blocking rules can pair with a
    pending record are returned (:func:`fengyan.resolve.scoring.right_filter`); without
    it, every name (the estimator samples random pairs from all of them).
    """
    # How many firms' cores begin with each record's core: the brand's frequency.
    work.execute(
        f"""CREATE OR REPLACE TABLE brand_firms AS
            WITH b AS (SELECT DISTINCT m.core AS brand, m.core2 FROM {PENDING}
                       WHERE NOT m.alt_name AND length(m.core) >= 2),
                 firms AS (SELECT DISTINCT canonical_id, core, core2 FROM names)
            SELECT b.brand, count(DISTINCT f.canonical_id) AS firms
            FROM b JOIN firms f ON f.core2 = b.core2 AND starts_with(f.core, b.brand)
            GROUP BY b.brand"""  # noqa: S608 - constants of this module
    )
    work.execute(
        f"""CREATE OR REPLACE TABLE left_in AS
            SELECT m.record_key AS unique_id, NULL::VARCHAR AS canonical_id, m.name_key,
                   m.core, {_block_keys("m")},
                   CASE WHEN length(m.core) >= 2 THEN m.core END AS brand,
                   coalesce(b.firms, 0) AS brand_firms,
                   m.region, NULL::VARCHAR AS op_region, left(m.region, 6) AS district,
                   NULL::VARCHAR AS op_district, m.day, NULL::DATE AS established,
                   NULL::DATE AS ended, NULL::BIGINT AS mentioned,
                   c.context
            FROM {PENDING} LEFT JOIN brand_firms b ON b.brand = m.core
            LEFT JOIN contexts c ON c.record_key = m.record_key
            WHERE NOT m.alt_name"""  # noqa: S608 - constants of this module
    )
    left = work.sql("SELECT * FROM left_in").to_arrow_table()
    # Only the names some blocking rule can pair with a pending record go to splink: at
    # millions of firms most names share no key with any record, and splink would stack,
    # hash and join all of them (scoring.right_filter; the pairs are the same).
    work.execute(
        """CREATE OR REPLACE TABLE right_all AS
           WITH named AS (SELECT canonical_id, count(*) AS mentioned FROM links
                          WHERE canonical_id IS NOT NULL GROUP BY canonical_id)
           SELECT n.canonical_id || '#' || n.name AS unique_id, n.canonical_id, n.name_key,
                  n.core, {BLOCK_KEYS},
                  NULL::VARCHAR AS brand, NULL::BIGINT AS brand_firms,
                  e.region_code AS region, f.op_region, left(e.region_code, 6) AS district,
                  left(f.op_region, 6) AS op_district,
                  NULL::DATE AS day, f.established, f.ended,
                  coalesce(c.mentioned, 0) AS mentioned, NULL::VARCHAR AS context
           FROM names n JOIN entities_in e USING (canonical_id)
           LEFT JOIN facts_in f USING (canonical_id)
           LEFT JOIN named c USING (canonical_id)""".replace("{BLOCK_KEYS}", _block_keys("n"))
    )
    wanted = "TRUE" if model is None else scoring.right_filter(model, "r", "left_in")
    right = work.sql(
        f"SELECT * FROM right_all r WHERE {wanted}"  # noqa: S608 - from settings.yaml's rules
    ).to_arrow_table()
    work.execute("DROP TABLE right_all")
    tf_brand = work.sql(
        """SELECT brand, firms / (SELECT greatest(count(*), 1) FROM entities_in)::DOUBLE
                  AS tf_brand FROM brand_firms"""
    ).to_arrow_table()
    return left, right, tf_brand


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
    # Only the queued pairs become Python rows (all scored pairs cost seconds and GB at 3 M).
    wanted = pa.array([q[0] + "\x00" + q[2] for q in queued], pa.string())
    keys = pc.binary_join_element_wise(scored["unique_id_l"], scored["unique_id_r"], "\x00")
    explained = scored.filter(pc.is_in(keys, value_set=wanted))
    by_id = {r["unique_id_l"] + "\x00" + r["unique_id_r"]: r for r in explained.to_pylist()}
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
