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
  written (full, short, product, typo, traditional), scheme, stage, promised rate and the
  risk events its text expresses (``events``: codes joined by ``;``, from the template the
  text was filled from, see ``texts.yaml`` ``events:`` and :func:`.texts.text_events`).
* ``dirty_records.csv`` — every deliberately bad row: file, row, kind, field, the reason
  ingest must give.
* ``summary.yaml`` — seed, window, counts, files and rows per file.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np
import yaml

from fengyan.simulate.cells import csv_lines, csv_row, plain_text

_CHUNK = 200_000


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


def write_columns(path: Path, columns: Mapping[str, np.ndarray]) -> int:
    """A UTF-8 CSV from columns (headers = keys); returns the number of rows written."""
    with CsvFile(path, list(columns)) as out:
        out.write(list(columns.values()))
        return out.rows


class CsvFile:
    """A UTF-8 CSV written a block of columns at a time, as :func:`write_csv` writes rows."""

    def __init__(self, path: Path, header: Sequence[str]) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.fh = open(path, "wb")  # noqa: SIM115 (closed by close() / the context manager)
        self.fh.write(csv_row(list(header), "\n").encode("utf-8"))
        self.rows = 0

    def write(self, columns: Sequence[np.ndarray]) -> None:
        """Append the rows of equal-length ``columns`` (values written as ``csv`` would)."""
        n = len(columns[0]) if columns else 0
        for a in range(0, n, _CHUNK):
            texts = [plain_text(c[a : a + _CHUNK]) for c in columns]
            self.fh.write(csv_lines(texts, "\n").data)
        self.rows += n

    def close(self) -> None:
        """Close the file."""
        self.fh.close()

    def __enter__(self) -> CsvFile:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()


def write_summary(path: Path, summary: dict[str, Any]) -> None:
    """``summary.yaml``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = yaml.safe_dump(summary, allow_unicode=True, sort_keys=False)
    path.write_text(
        "# fengyan simulate: what was generated (ground truth)\n" + text, encoding="utf-8"
    )
