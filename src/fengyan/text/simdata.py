"""Texts of a simulated jurisdiction with what the simulator knows about them.

``fengyan simulate`` writes ads, articles, complaints and judgments, and in
``ground_truth/mentions.csv`` the firm, scheme, stage and the annual rate each text states;
``ground_truth/schemes.csv`` gives each scheme's typology and the format its yield is written
in (annual, monthly_fen, daily_permille, multiple, referral …). This module joins them for
evaluation (promise extraction, ad rules) and as extra training text for the event model.
The pipeline itself never reads ground truth.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

import yaml

#: Event files with free text: path inside the delivery → (id field, text fields).
_FILES = {
    "ads/advertisements.jsonl": ("ad_id", ("text",)),
    "media/articles.jsonl": ("article_id", ("title", "text")),
    "court/judgments.jsonl": ("judgment_id", ("text",)),
    "hotline/complaints.csv": ("complaint_id", ("title", "text")),
}


@dataclass(frozen=True, slots=True)
class SimText:
    """One simulated record's text and its ground truth."""

    file: str
    record_id: str
    text: str  # title and body joined by "。" where the record has a title
    body: str  # the body alone
    kind: str  # scheme, lawful, licensed, … ("" when the truth file leaves it empty)
    stage: str
    typology: str  # the scheme's typology ("" for non-scheme records)
    yield_format: str  # the scheme's yield format ("" for non-scheme records)
    promised_annual_rate: float | None  # the rate the text states, 0.18 = 18 %


def _records(root: Path, path: str) -> list[dict[str, str]]:
    """Rows of one event file, as strings; rows the simulator deliberately broke are skipped."""
    file = root / path
    if not file.exists():
        return []
    if path.endswith(".jsonl"):
        rows = []
        with file.open(encoding="utf-8", errors="replace") as fh:
            for line in fh:
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError:
                    continue  # a dirty row (ground_truth/dirty_records.csv says which)
                if isinstance(obj, dict):
                    rows.append({k: "" if v is None else str(v) for k, v in obj.items()})
        return rows
    mapping = yaml.safe_load((root / "hotline/complaints.mapping.yaml").read_text("utf-8"))
    columns: dict[str, str] = mapping["columns"]
    with file.open(encoding="gb18030", errors="replace", newline="") as fh:
        return [
            {columns.get(k, k): v or "" for k, v in row.items() if k} for row in csv.DictReader(fh)
        ]


def load_simulated_texts(root: Path) -> list[SimText]:
    """Every text record of the simulated delivery in ``root`` joined with its ground truth."""
    truth = root / "ground_truth"
    if not (truth / "mentions.csv").exists():
        raise FileNotFoundError(f"{truth / 'mentions.csv'}: not a simulated delivery")
    schemes: dict[str, tuple[str, str]] = {}
    with (truth / "schemes.csv").open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            schemes[row["scheme_id"]] = (row["typology"], row["yield_format"])
    known: dict[tuple[str, str], dict[str, str]] = {}
    with (truth / "mentions.csv").open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            if row["file"] in _FILES:
                known[(row["file"], row["record_id"])] = row
    out: list[SimText] = []
    for path, (id_field, fields) in _FILES.items():
        for rec in _records(root, path):
            t = known.get((path, rec.get(id_field, "")))
            if t is None:
                continue
            parts = [rec.get(f, "").strip() for f in fields]
            body = parts[-1]
            if not body:
                continue
            typology, fmt = schemes.get(t["scheme_id"], ("", ""))
            rate = t["promised_annual_rate"]
            out.append(
                SimText(
                    file=path,
                    record_id=t["record_id"],
                    text="。".join(p for p in parts if p),
                    body=body,
                    kind=t["kind"],
                    stage=t["stage"],
                    typology=typology,
                    yield_format=fmt,
                    promised_annual_rate=float(rate) / 100 if rate else None,
                )
            )
    return out


@dataclass
class Agreement:
    """How the extracted annual rate of a group of texts compares with the rate they state."""

    total: int = 0
    correct: int = 0  # within 1 % (relative) or 0.2 percentage points
    missing: int = 0  # no rate extracted
    wrong: int = 0  # a different rate extracted

    @property
    def share_correct(self) -> float:
        """correct / total (0 when empty)."""
        return self.correct / self.total if self.total else 0.0


def yield_agreement(texts: list[SimText]) -> dict[str, Agreement]:
    """Extracted vs stated annual rate per group: scheme texts by yield format, plus
    ``licensed`` (licensed lenders' ads, whose rate is a loan cost and must not be read as a
    promised yield: "correct" there means nothing extracted)."""
    from fengyan.text.promises import extract_promises

    out: dict[str, Agreement] = {}
    for t in texts:
        if t.promised_annual_rate is None or t.kind not in ("scheme", "licensed"):
            continue
        rates = [
            p.annual_rate
            for p in extract_promises(t.body)
            if p.kind == "yield" and p.annual_rate is not None
        ]
        group = out.setdefault("licensed" if t.kind == "licensed" else t.yield_format, Agreement())
        group.total += 1
        got = max(rates) if rates else None
        if t.kind == "licensed":
            group.correct += got is None
            group.wrong += got is not None
        elif got is None:
            group.missing += 1
        elif abs(got - t.promised_annual_rate) <= max(0.002, 0.01 * t.promised_annual_rate):
            group.correct += 1
        else:
            group.wrong += 1
    return out
