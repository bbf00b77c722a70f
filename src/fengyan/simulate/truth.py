"""Ground truth: what really happened, in ``ground_truth/`` (never listed in the manifest).

* ``schemes.csv`` — per scheme: typology, core firm, stage months (launch, peak = start of
  stress, collapse, police, judgment; months past the window are still given), how it
  ended, participants, money raised and lost, promised yield, loudness, migrations.
* ``scheme_months.csv`` — per scheme and month: stage, new participants, inflow, payouts.
* ``firms.csv`` — per firm: role (normal, finance_like, licensed, scheme_core,
  scheme_shell, scheme_successor, negative_similar_name), scheme, hard-negative flags,
  group, ultimate controller and how it is reached (direct, chain, nominee, none).
* ``person_ids.csv`` — entity resolution of people: every registry person id with the real
  person (uid) behind it; people listed twice share a uid.
* ``mentions.csv`` — per event record: the firm it really concerns, how its name was
  written (full, short, product, typo, traditional), scheme, stage and promised rate.
* ``dirty_records.csv`` — every deliberately bad row: file, row, kind, field, the reason
  ingest must give.
* ``summary.yaml`` — seed, window, counts, files and rows per file.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import yaml


def write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """A UTF-8 CSV; returns the number of rows written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(header)
        for row in rows:
            w.writerow(["" if v is None else v for v in row])
            n += 1
    return n


def write_summary(path: Path, summary: dict[str, Any]) -> None:
    """``summary.yaml``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = yaml.safe_dump(summary, allow_unicode=True, sort_keys=False)
    path.write_text(
        "# fengyan simulate: what was generated (ground truth)\n" + text, encoding="utf-8"
    )
