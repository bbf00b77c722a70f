"""The thin adapter between Fengyan and splink: Arrow tables in, scored pairs out.

Splink builds its SQL in its core and runs it through a database API per engine; here it
runs on an in-memory DuckDB connection of its own. The model — comparisons, blocking rules,
m and u probabilities — is the splink settings block of ``settings.yaml`` as written; only
the prior (``probability_two_random_records_match``) is set per run, because it depends on
how many entities there are. Nothing is trained at run time, so the same input always gives
the same scores and a reviewer can read every weight in the data file.
"""

from __future__ import annotations

import logging
from typing import Any, Final

import duckdb
import pyarrow as pa
from duckdb.sqltypes import BIGINT, DOUBLE, VARCHAR
from rapidfuzz.distance import JaroWinkler, Levenshtein
from splink import DuckDBAPI, Linker

from fengyan.resolve.names import sound_key

# DuckDB's levenshtein and jaro_winkler_similarity count UTF-8 bytes, so one Chinese
# character typed wrong is three edits. The model's SQL uses these instead.
# fy_sound(a) is names.sound_key: how a name sounds, for homophone typos.
CHAR_FUNCTIONS: Final = ("fy_levenshtein", "fy_jaro_winkler", "fy_sound")


def _char_levenshtein(a: str, b: str) -> int:
    return int(Levenshtein.distance(a, b))


def _char_jaro_winkler(a: str, b: str) -> float:
    return float(JaroWinkler.similarity(a, b))


def _sound(a: str) -> str:
    return sound_key(a)


def _register_functions(con: duckdb.DuckDBPyConnection) -> None:
    con.create_function(
        "fy_levenshtein", _char_levenshtein, [VARCHAR, VARCHAR], BIGINT, side_effects=False
    )
    con.create_function(
        "fy_jaro_winkler", _char_jaro_winkler, [VARCHAR, VARCHAR], DOUBLE, side_effects=False
    )
    con.create_function("fy_sound", _sound, [VARCHAR], VARCHAR, side_effects=False)


def comparison_columns(settings: dict[str, Any]) -> list[str]:
    """The ``output_column_name`` of every comparison, in order."""
    return [str(c["output_column_name"]) for c in settings["comparisons"]]


def score_pairs(
    settings: dict[str, Any],
    left: pa.Table,
    right: pa.Table | None,
    prior: float,
    min_probability: float,
) -> pa.Table:
    """Score candidate pairs; returns splink's predictions at or above ``min_probability``.

    ``left``/``right`` for ``link_only``; ``left`` alone for ``dedupe_only``. Each needs a
    ``unique_id`` column and the columns the comparisons name. The result has
    ``unique_id_l``, ``unique_id_r``, ``match_weight``, ``match_probability`` and, per
    comparison ``c``, ``gamma_c`` (the level index) and ``mw_c`` (its weight in bits).
    SQL conditions may call ``fy_levenshtein(a, b)`` and ``fy_jaro_winkler(a, b)``,
    which count characters (rapidfuzz), not bytes, and ``fy_sound(a)`` (how it sounds).
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
        _register_functions(con)
        api = DuckDBAPI(connection=con)
        con.register("fy_left_in", left)
        con.execute("CREATE TABLE fy_left AS SELECT * FROM fy_left_in")
        frames = [api.register("fy_left", dataset_display_name="left")]
        if right is not None:
            con.register("fy_right_in", right)
            con.execute("CREATE TABLE fy_right AS SELECT * FROM fy_right_in")
            frames.append(api.register("fy_right", dataset_display_name="right"))
        linker = Linker(frames, full, log_level=logging.WARNING)
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
