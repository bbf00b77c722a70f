"""Estimate the enterprise model's m and u probabilities from a lake, to set settings.yaml.

The shipped model scores with fixed weights (reproducible, readable). This is how those
weights are obtained and checked against a delivery, with no ground truth:

* **labels the data gives for free** — event records that carry a valid credit code of a
  registered firm. Their codes are hidden and the exact stages run as in a real run; the
  labelled records the name stages cannot place are pairs splink would see, with a known
  answer;
* ``m`` — splink's ``estimate_m_from_pairwise_labels`` on those pairs (the record and the
  name of its firm closest to what it wrote): how often a true match shows each level;
* ``u`` — splink's random sampling: how often an unrelated record/firm pair does;
* for comparison, splink's expectation maximisation (EM) on the pairs the blocking rules
  generate, u held fixed, starting from the configured values.

Each level is printed with its configured, labelled and EM m, the sampled u and the weights
(bits). EM alone is unreliable here: the exact stages leave few true pairs, and levels
such as "founded after the record" are too rare among them to be identified.
An analyst copies (rounded) values into ``settings.yaml`` and says where they came from;
nothing here changes a run.

    python -m fengyan.resolve.estimate HOME [--as-of 2025-06-30]
"""

from __future__ import annotations

import argparse
import logging
import math
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
from splink import DuckDBAPI, Linker

from fengyan.resolve import scoring
from fengyan.resolve.config import EnterpriseSettings, load_settings
from fengyan.resolve.enterprises import attach_contexts, exact_stages, prepare, splink_inputs


@dataclass(frozen=True)
class LevelEstimate:
    """One comparison level: configured and estimated probabilities."""

    comparison: str
    level: str
    m: float | None
    u: float | None
    m_em: float | None
    u_em: float | None
    m_labels: float | None = None

    @staticmethod
    def _bits(m: float | None, u: float | None) -> float | None:
        return math.log2(m / u) if m and u else None

    @property
    def bits(self) -> float | None:
        """Configured weight in bits (log2 m/u)."""
        return self._bits(self.m, self.u)

    @property
    def bits_em(self) -> float | None:
        """Weight in bits from EM's m and the sampled u."""
        return self._bits(self.m_em, self.u_em)

    @property
    def bits_labels(self) -> float | None:
        """Weight in bits from the labelled m and the sampled u."""
        return self._bits(self.m_labels, self.u_em)


def train(
    splink_settings: dict[str, Any],
    left: pa.Table,
    right: pa.Table,
    prior: float,
    em_blocking: list[str],
    term_frequencies: dict[str, pa.Table],
    labels: pa.Table | None = None,
    seed: int = 1,
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """Splink's u sampling, then EM on ``left`` × ``right`` and, if given, m from ``labels``.

    ``labels`` holds ``unique_id_l``/``unique_id_r`` of known matches. Returns the
    settings after EM and the settings with m from the labels (u sampled in both).
    """
    full = {**splink_settings, "probability_two_random_records_match": prior}
    con = duckdb.connect()
    try:
        scoring.register_functions(con)
        api = DuckDBAPI(connection=con)
        con.register("fy_left_in", left)
        con.execute("CREATE TABLE fy_left AS SELECT * FROM fy_left_in")
        con.register("fy_right_in", right)
        con.execute("CREATE TABLE fy_right AS SELECT * FROM fy_right_in")
        frames = [
            api.register("fy_left", dataset_display_name="left"),
            api.register("fy_right", dataset_display_name="right"),
        ]
        linker = Linker(frames, full, log_level=logging.WARNING)
        for column, lookup in term_frequencies.items():
            con.register("fy_tf_in", lookup)
            con.execute(f'CREATE TABLE "fy_tf_{column}" AS SELECT * FROM fy_tf_in')  # noqa: S608
            linker.table_management.register_term_frequency_lookup(
                api.register(f"fy_tf_{column}"), column
            )
        linker.training.estimate_u_using_random_sampling(max_pairs=2e6, seed=seed)
        labelled: dict[str, Any] | None = None
        if labels is not None and labels.num_rows:
            con.register("fy_labels_in", labels)
            con.execute(
                """CREATE TABLE fy_labels AS SELECT 'left' AS source_dataset_l, unique_id_l,
                          'right' AS source_dataset_r, unique_id_r FROM fy_labels_in"""
            )
            # splink leaves this method unannotated.
            linker.training.estimate_m_from_pairwise_labels("fy_labels")  # type: ignore[no-untyped-call]
            labelled = linker.misc.save_model_to_json()
        for rule in em_blocking:
            linker.training.estimate_parameters_using_expectation_maximisation(
                rule, estimate_without_term_frequencies=True
            )
        trained: dict[str, Any] = linker.misc.save_model_to_json()
    finally:
        con.close()
    return trained, labelled


def compare(
    configured: dict[str, Any], trained: dict[str, Any], labelled: dict[str, Any] | None
) -> list[LevelEstimate]:
    """Configured vs estimated m/u of every non-null level, in settings order."""
    out = []
    lab = labelled["comparisons"] if labelled else [None] * len(trained["comparisons"])
    for c_conf, c_em, c_lab in zip(
        configured["comparisons"], trained["comparisons"], lab, strict=True
    ):
        lab_levels = c_lab["comparison_levels"] if c_lab else [{}] * len(c_em["comparison_levels"])
        levels = zip(
            c_conf["comparison_levels"], c_em["comparison_levels"], lab_levels, strict=True
        )
        for conf, em, by_label in levels:
            if conf.get("is_null_level"):
                continue
            out.append(
                LevelEstimate(
                    str(c_conf["output_column_name"]),
                    str(conf.get("label_for_charts", conf["sql_condition"])),
                    conf.get("m_probability"),
                    conf.get("u_probability"),
                    em.get("m_probability"),
                    em.get("u_probability"),
                    by_label.get("m_probability"),
                )
            )
    return out


def estimate_enterprise(
    con: duckdb.DuckDBPyConnection, settings: EnterpriseSettings
) -> list[LevelEstimate]:
    """Hide the labelled records' codes, run the exact stages, estimate on what is left."""
    work, entities, _ = prepare(con, {}, settings)
    try:
        work.execute(
            """CREATE TABLE labelled AS
               SELECT m.record_key, e.canonical_id FROM mentions m
               JOIN entities_in e ON e.canonical_id = 'ent:' || m.code
               WHERE e.kind = 'registered';
               UPDATE mentions SET code = NULL
               WHERE record_key IN (SELECT record_key FROM labelled)"""
        )
        exact_stages(work, settings)
        attach_contexts(con, work, settings)
        left, right, tf_brand = splink_inputs(work)
        work.register("right_in", right)
        # Each labelled record against the name of its firm nearest to what it wrote.
        labels = work.sql(
            """SELECT l.unique_id AS unique_id_l,
                      arg_min(r.unique_id, levenshtein(l.name_key, r.name_key)) AS unique_id_r
               FROM left_in l JOIN labelled b ON b.record_key = l.unique_id
               JOIN right_in r ON r.canonical_id = b.canonical_id
               GROUP BY l.unique_id"""
        ).to_arrow_table()
    finally:
        work.close()
    prior = 1.0 / max(entities.num_rows, 1)
    # One EM run over every pair the prediction rules generate (their union).
    rules = settings.splink["blocking_rules_to_generate_predictions"]
    blocking = [" OR ".join(f"({rule})" for rule in rules)]
    trained, labelled = train(
        settings.splink, left, right, prior, blocking, {"brand": tf_brand}, labels
    )
    return compare(settings.splink, trained, labelled)


def table(rows: list[LevelEstimate]) -> str:
    """The comparison as a Markdown table."""

    def f(x: float | None, spec: str) -> str:
        return "—" if x is None else format(x, spec)

    lines = [
        "| comparison | level | m | u | bits | m (labels) | m (EM) | u (sampled) "
        "| bits (labels) | bits (EM) |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r.comparison} | {r.level} | {f(r.m, '.3g')} | {f(r.u, '.3g')} | "
            f"{f(r.bits, '.1f')} | {f(r.m_labels, '.3g')} | {f(r.m_em, '.3g')} | "
            f"{f(r.u_em, '.3g')} | {f(r.bits_labels, '.1f')} | {f(r.bits_em, '.1f')} |"
        )
    return "\n".join(lines)


def main() -> None:
    """Command line: print the comparison for the workspace in HOME."""
    from fengyan.settings import Settings
    from fengyan.workspace import Workspace

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("home", type=Path)
    ap.add_argument("--as-of", type=datetime.fromisoformat, default=None)
    args = ap.parse_args()
    ws = Workspace(Settings.from_env(args.home))
    con = ws.lake.connect(args.as_of)
    try:
        print(table(estimate_enterprise(con, load_settings().enterprise)))
    finally:
        con.close()


if __name__ == "__main__":
    main()
