"""The thin adapter between Fengyan and splink: Arrow tables in, scored pairs out.

Splink builds its SQL in its core and runs it through a database API per engine; here it
runs on an in-memory DuckDB connection of its own. The model — comparisons, blocking rules,
m and u probabilities — is the splink settings block of ``settings.yaml`` as written; only
the prior (``probability_two_random_records_match``) is set per run, because it depends on
how many entities there are. Nothing is trained at run time, so the same input always gives
the same scores and a reviewer can read every weight in the data file.
"""

from __future__ import annotations

import copy
import itertools
import logging
import re
from collections.abc import Iterable, Mapping
from typing import Any, Final

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from duckdb.func import ARROW
from duckdb.sqltypes import BIGINT, BOOLEAN, DOUBLE, VARCHAR
from rapidfuzz.distance import JaroWinkler, Levenshtein
from rapidfuzz.process import cpdist
from splink import DuckDBAPI, Linker

from fengyan.resolve.batch import sound_keys

# DuckDB's levenshtein and jaro_winkler_similarity count UTF-8 bytes, so one Chinese
# character typed wrong is three edits. The model's SQL uses these instead.
# fy_within_one(a, b) is fy_levenshtein(a, b) <= 1, stopping at the second edit (the
# name levels ask it of ten million pairs at 3 M firms). fy_sound(a) is
# names.sound_key: how a name sounds, for homophone typos.
CHAR_FUNCTIONS: Final = ("fy_levenshtein", "fy_within_one", "fy_jaro_winkler", "fy_sound")


def _pairs(a: pa.Array, b: pa.Array) -> tuple[list[str], list[str], np.ndarray]:
    valid = pc.and_(pc.is_valid(a), pc.is_valid(b)).to_numpy(zero_copy_only=False)
    left = pc.fill_null(a, "").to_pylist()
    right = pc.fill_null(b, "").to_pylist()
    return left, right, valid


def _char_levenshtein(a: pa.Array, b: pa.Array) -> pa.Array:
    # Whole DuckDB vectors at once: rapidfuzz's cpdist runs the pairs in C++.
    left, right, valid = _pairs(a, b)
    out = cpdist(left, right, scorer=Levenshtein.distance, dtype=np.int64, workers=1)
    return pa.array(out, pa.int64(), mask=~valid)


def _char_within_one(a: pa.Array, b: pa.Array) -> pa.Array:
    # fy_levenshtein(a, b) <= 1, with rapidfuzz told to stop counting past one edit.
    left, right, valid = _pairs(a, b)
    out = cpdist(
        left, right, scorer=Levenshtein.distance, score_cutoff=1, dtype=np.int64, workers=1
    )
    return pa.array(out <= 1, pa.bool_(), mask=~valid)


def _char_jaro_winkler(a: pa.Array, b: pa.Array) -> pa.Array:
    left, right, valid = _pairs(a, b)
    out = cpdist(left, right, scorer=JaroWinkler.similarity, dtype=np.float64, workers=1)
    return pa.array(out, pa.float64(), mask=~valid)


# fy_sound's answers by name: DuckDB calls it once per vector of pairs, and one name comes
# back in many pairs (a firm blocked with every record one character from it). Cleared
# when it grows past SOUND_CACHE_SIZE, so it stays a few hundred MB at most (replaced, not
# cleared: a call on another thread keeps the dictionary it holds).
_SOUND_CACHE: Final[list[dict[str, str]]] = [{}]
SOUND_CACHE_SIZE: Final = 2_000_000


def _sound(a: pa.Array) -> pa.Array:
    values = pc.fill_null(a, "").to_pylist()
    cache = _SOUND_CACHE[0]
    distinct = set(values)
    if len(cache) + len(distinct) > SOUND_CACHE_SIZE:
        cache = _SOUND_CACHE[0] = {}
    missing = [v for v in distinct if v not in cache]
    if missing:
        cache.update(zip(missing, sound_keys(missing), strict=True))
    return pc.if_else(
        pc.is_valid(a),
        pa.array([cache[v] for v in values], pa.string()),
        pa.scalar(None, pa.string()),
    )


def register_functions(con: duckdb.DuckDBPyConnection) -> None:
    """Register the :data:`CHAR_FUNCTIONS` on ``con`` (Arrow UDFs)."""
    con.create_function(
        "fy_levenshtein",
        _char_levenshtein,
        [VARCHAR, VARCHAR],
        BIGINT,
        type=ARROW,
        side_effects=False,
    )
    con.create_function(
        "fy_within_one",
        _char_within_one,
        [VARCHAR, VARCHAR],
        BOOLEAN,
        type=ARROW,
        side_effects=False,
    )
    con.create_function(
        "fy_jaro_winkler",
        _char_jaro_winkler,
        [VARCHAR, VARCHAR],
        DOUBLE,
        type=ARROW,
        side_effects=False,
    )
    con.create_function("fy_sound", _sound, [VARCHAR], VARCHAR, type=ARROW, side_effects=False)


def scale_u(settings: dict[str, Any], columns: Iterable[str], factor: float) -> dict[str, Any]:
    """A copy of ``settings`` with the u of ``columns``' levels multiplied by ``factor``.

    For comparisons whose chance agreement falls with the size of the register (two
    unrelated firms share a name about 1 in N times): u estimated on a register of
    ``N0`` firms is used on one of ``N`` with ``factor = N0 / N``. The ELSE level takes
    what the others leave, so the u still sum to one.
    """
    wanted = set(columns)
    out = copy.deepcopy(settings)
    for comparison in out["comparisons"]:
        if comparison["output_column_name"] not in wanted:
            continue
        levels = comparison["comparison_levels"]
        scaled = 0.0
        for level in levels:
            if level.get("is_null_level") or "u_probability" not in level:
                continue
            if str(level["sql_condition"]).strip().upper() == "ELSE":
                continue
            level["u_probability"] = min(float(level["u_probability"]) * factor, 0.5)
            scaled += level["u_probability"]
        for level in levels:
            if str(level["sql_condition"]).strip().upper() == "ELSE":
                level["u_probability"] = max(1.0 - scaled, 1e-9)
    return out


_EQUALITY: Final = re.compile(r"^([lr])\.(\w+)\s*=\s*([lr])\.(\w+)$")
_IN_LIST: Final = re.compile(r"^l\.(\w+)\s+IN\s*\(([^()]*)\)$", re.IGNORECASE)
_RIGHT_COLUMN: Final = re.compile(r"^r\.(\w+)$")
_AND: Final = re.compile(r"\s+AND\s+", re.IGNORECASE)
_OR: Final = re.compile(r"\bOR\b", re.IGNORECASE)
_MENTIONS_RIGHT: Final = re.compile(r"\br\.")


def blocking_rules(settings: Mapping[str, Any]) -> list[str]:
    """The SQL of each of ``settings``' blocking rules (plain strings or splink's dicts)."""
    rules = settings.get("blocking_rules_to_generate_predictions") or []
    return [str(r["blocking_rule"]) if isinstance(r, Mapping) else str(r) for r in rules]


def _rule_filter(rule: str, alias: str, left_table: str) -> list[str] | None:
    """Semi-join conditions for the right rows one rule can pair, or None (keep all)."""
    if _OR.search(rule):
        return None  # a split on AND would misread it
    # Each entry: the ways one conjunct can hold, as equalities "l.a = <alias>.b".
    choices: list[list[str]] = []
    left_only: list[str] = []
    for part in (p.strip() for p in _AND.split(rule.strip())):
        if (eq := _EQUALITY.match(part)) and {eq[1], eq[3]} == {"l", "r"}:
            lcol, rcol = (eq[2], eq[4]) if eq[1] == "l" else (eq[4], eq[2])
            choices.append([f'l."{lcol}" = {alias}."{rcol}"'])
        elif (among := _IN_LIST.match(part)) and all(
            _RIGHT_COLUMN.match(c.strip()) for c in among[2].split(",")
        ):
            choices.append(
                [
                    f'l."{among[1]}" = {alias}."{_RIGHT_COLUMN.match(c.strip())[1]}"'  # type: ignore[index]
                    for c in among[2].split(",")
                ]
            )
        elif not _MENTIONS_RIGHT.search(part):
            left_only.append(f"({part})")
        # Anything else on the right is not used: the filter keeps a superset.
    if not choices:
        return None
    out = []
    for combination in itertools.product(*choices):
        where = " AND ".join([*combination, *left_only])
        out.append(f"EXISTS (SELECT 1 FROM {left_table} l WHERE {where})")  # noqa: S608
    return out


def right_filter(settings: Mapping[str, Any], alias: str, left_table: str) -> str:
    """A SQL condition on the right-hand rows (table alias ``alias``) that keeps every row
    some blocking rule of ``settings`` can pair with a row of ``left_table``.

    A rule pairs ``l`` and ``r`` only where its equalities (``l.a = r.b``, or
    ``l.a IN (r.b, r.c)``: one of them) and its conditions on ``l`` alone hold, so a right
    row no left row meets that way is in none of its pairs. A rule without an equality, or
    with an ``OR`` (which the split on ``AND`` would misread), keeps every row; other
    conditions on ``r`` are left out (the filter keeps more rows, never fewer). The
    candidate pairs are the same as without the filter; splink just sees fewer rows.
    """
    alternatives: list[str] = []
    for rule in blocking_rules(settings):
        found = _rule_filter(rule, alias, left_table)
        if found is None:
            return "TRUE"
        alternatives.extend(found)
    return " OR ".join(alternatives) if alternatives else "TRUE"


def comparison_columns(settings: dict[str, Any]) -> list[str]:
    """The ``output_column_name`` of every comparison, in order."""
    return [str(c["output_column_name"]) for c in settings["comparisons"]]


def score_pairs(
    settings: dict[str, Any],
    left: pa.Table,
    right: pa.Table | None,
    prior: float,
    min_probability: float,
    term_frequencies: Mapping[str, pa.Table] | None = None,
) -> pa.Table:
    """Score candidate pairs; returns splink's predictions at or above ``min_probability``.

    ``left``/``right`` for ``link_only``; ``left`` alone for ``dedupe_only``. Each needs a
    ``unique_id`` column and the columns the comparisons name. The result has
    ``unique_id_l``, ``unique_id_r``, ``match_weight``, ``match_probability`` and, per
    comparison ``c``, ``gamma_c`` (the level index) and ``mw_c`` (its weight in bits).
    SQL conditions may call ``fy_levenshtein(a, b)``, ``fy_within_one(a, b)`` (its
    ``<= 1``, faster) and ``fy_jaro_winkler(a, b)``, which count characters (rapidfuzz),
    not bytes, and ``fy_sound(a)`` (how it sounds).

    ``term_frequencies`` maps a column to a lookup table (the column and ``tf_<column>``,
    the share of entities a value stands for), for levels with ``tf_adjustment_column``:
    splink then weighs a match on that value by its own frequency, not the level's average.
    """
    if left.num_rows == 0 or (right is not None and right.num_rows == 0):
        return pa.table(
            {
                "unique_id_l": pa.array([], pa.string()),
                "unique_id_r": pa.array([], pa.string()),
                "match_weight": pa.array([], pa.float64()),
                "match_probability": pa.array([], pa.float64()),
            }
        )
    prior = min(max(prior, 1e-12), 0.5)
    full = {
        **settings,
        "probability_two_random_records_match": prior,
        "retain_matching_columns": True,
        "retain_intermediate_calculation_columns": True,
    }
    con = duckdb.connect()
    try:
        register_functions(con)
        api = DuckDBAPI(connection=con)
        con.register("fy_left_in", left)
        con.execute("CREATE TABLE fy_left AS SELECT * FROM fy_left_in")
        frames = [api.register("fy_left", dataset_display_name="left")]
        if right is not None:
            con.register("fy_right_in", right)
            con.execute("CREATE TABLE fy_right AS SELECT * FROM fy_right_in")
            frames.append(api.register("fy_right", dataset_display_name="right"))
        linker = Linker(frames, full, log_level=logging.WARNING)
        for column, lookup in (term_frequencies or {}).items():
            con.register("fy_tf_in", lookup)
            # The column names come from settings.yaml, not from input.
            con.execute(f'CREATE TABLE "fy_tf_{column}" AS SELECT * FROM fy_tf_in')  # noqa: S608
            con.unregister("fy_tf_in")
            linker.table_management.register_term_frequency_lookup(
                api.register(f"fy_tf_{column}"), column
            )
        predictions = linker.inference.predict(
            threshold_match_probability=min_probability, warning_mode="never"
        )
        # splink leaves this method unannotated.
        result: pa.Table = predictions.as_pyarrow_table()  # type: ignore[no-untyped-call]
    finally:
        con.close()
    return result.cast(
        result.schema.set(
            result.schema.get_field_index("unique_id_l"), pa.field("unique_id_l", pa.string())
        ).set(result.schema.get_field_index("unique_id_r"), pa.field("unique_id_r", pa.string()))
    )


def explain(row: dict[str, Any], settings: dict[str, Any]) -> dict[str, Any]:
    """One scored pair as a reviewer reads it: each comparison's level and weight in bits."""
    parts = []
    for comparison in settings["comparisons"]:
        name = comparison["output_column_name"]
        level = row.get(f"gamma_{name}")
        bits = row.get(f"mw_{name}")
        levels = [lv for lv in comparison["comparison_levels"] if not lv.get("is_null_level")]
        # gamma counts down from the first non-null level: n-1 … 0; -1 is the null level.
        label = (
            "missing"
            if level is None or level < 0
            else str(levels[len(levels) - 1 - int(level)]["label_for_charts"])
        )
        weight = round(float(bits), 2) if bits is not None else 0.0
        parts.append({"comparison": name, "level": label, "bits": weight})
    return {
        "match_weight": round(float(row["match_weight"]), 2),
        "match_probability": round(float(row["match_probability"]), 6),
        "comparisons": parts,
    }
