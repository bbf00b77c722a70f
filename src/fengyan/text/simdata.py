"""Texts of a simulated jurisdiction with what the simulator knows about them.

``fengyan simulate`` writes ads, articles, complaints and judgments, and in
``ground_truth/mentions.csv`` the firm, scheme, stage and the annual rate each text states;
``ground_truth/schemes.csv`` gives each scheme's typology and the format its yield is written
in (annual, monthly_fen, daily_permille, multiple, referral …). This module joins them for
evaluation (promise extraction, ad rules) and as extra training text for the event model:
``mentions.csv`` also gives the risk events each text expresses (``events``, from the
template it was filled from; ``fengyan/simulate/texts.yaml`` ``events:``).
:func:`training_texts` turns them into labelled texts in the event model's label space and
:func:`simulated_training_texts` simulates the small city ``training.yaml`` names for it.
The pipeline itself never reads ground truth.
"""

from __future__ import annotations

import csv
import json
import tempfile
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from fengyan.text.ccks import Labelled
from fengyan.yamlstrict import load_yaml

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
    events: frozenset[str] | None = None  # event codes the text expresses (None: not recorded)


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
    mapping = load_yaml((root / "hotline/complaints.mapping.yaml").read_text("utf-8"))
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
            events = t.get("events")
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
                    events=None if events is None else frozenset(e for e in events.split(";") if e),
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


@cache
def training_settings() -> dict[str, Any]:
    """``training.yaml``: the simulated city and the sampling of its texts for training."""
    path = resources.files("fengyan.text").joinpath("training.yaml")
    data: dict[str, Any] = load_yaml(path.read_text(encoding="utf-8"))
    return data


def training_texts(
    texts: Sequence[SimText],
    label_space: Collection[str],
    *,
    per_label_set: int | None = None,
    seed: int = 0,
) -> list[Labelled]:
    """Simulated texts as labelled training texts in the event model's label space.

    Labels outside ``label_space`` (``police``, which CCKS does not label) are dropped, texts
    whose ground truth records no events are skipped, duplicates are kept once, and at most
    ``per_label_set`` texts (a seeded sample, ``None`` = all) are kept per distinct label set,
    so that the template families the simulator repeats most do not swamp the real data.
    """
    space = frozenset(label_space)
    seen: set[str] = set()
    groups: dict[frozenset[str], list[str]] = {}
    for t in texts:
        if t.events is None or t.text in seen:
            continue
        seen.add(t.text)
        groups.setdefault(t.events & space, []).append(t.text)
    rng = np.random.default_rng(seed)
    out: list[Labelled] = []
    for labels in sorted(groups, key=lambda ls: sorted(ls)):
        members = groups[labels]
        if per_label_set is not None and len(members) > per_label_set:
            keep = np.sort(rng.choice(len(members), size=per_label_set, replace=False))
            members = [members[i] for i in keep]
        out.extend(Labelled(text, labels) for text in members)
    return out


def simulate_city(out: Path, *, enterprises: int, months: int, seed: int) -> Path:
    """Simulate a city into ``out`` (the shipped parameters; no downloads) and return it."""
    from fengyan.simulate.params import load_params
    from fengyan.simulate.service import simulate

    overrides: dict[str, Any] = {"enterprises.count": enterprises, "calendar.months": months}
    params = load_params(None, **overrides)
    simulate(out, params, seed)
    return out


def simulated_texts(root: Path | None = None) -> list[SimText]:
    """The texts of the delivery in ``root``, or of the city ``training.yaml`` names,
    simulated in a temporary folder (a few seconds, offline)."""
    if root is not None:
        return load_simulated_texts(root)
    cfg = training_settings()["simulated"]
    with tempfile.TemporaryDirectory(prefix="fengyan-sim-") as tmp:
        city = simulate_city(
            Path(tmp) / "city",
            enterprises=int(cfg["enterprises"]),
            months=int(cfg["months"]),
            seed=int(cfg["seed"]),
        )
        return load_simulated_texts(city)


def simulated_training_texts(
    label_space: Collection[str],
    *,
    root: Path | None = None,
    per_label_set: int | str | None = "settings",
) -> list[Labelled]:
    """Labelled simulated texts for the event model (settings: ``training.yaml``).

    ``root``: a simulated delivery to read (default: simulate the city of ``training.yaml``).
    ``per_label_set``: the cap per label set (``None`` = all; default: ``training.yaml``).
    """
    cfg = training_settings()["simulated"]
    cap = cfg["per_label_set"] if per_label_set == "settings" else per_label_set
    return training_texts(
        simulated_texts(root),
        label_space,
        per_label_set=None if cap is None else int(cap),
        seed=int(cfg["seed"]),
    )
