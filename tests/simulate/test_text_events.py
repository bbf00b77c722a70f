"""Event labels of simulated texts: declared per template, recorded in ground truth, and
derived after the fact so that the simulator's texts and random draws do not change."""

from __future__ import annotations

import csv
import hashlib
import re
from pathlib import Path

import numpy as np
import pytest

from fengyan.simulate import texts
from fengyan.simulate.params import load_params
from fengyan.simulate.service import SimulationResult, simulate
from fengyan.text.lexicon import load_lexicons

TINY = {"enterprises.count": 2000, "calendar.months": 6}


def _mentions(root: Path) -> list[dict[str, str]]:
    with open(root / "ground_truth" / "mentions.csv", encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def test_every_labelled_template_uses_known_event_codes() -> None:
    known = set(load_lexicons().event_types)
    labelled = texts.template_events()
    spec = texts.templates()["events"]
    for charge, codes in spec["charges"].items():
        assert set(codes) <= known, charge
    for path, items in labelled.items():
        for template, events in items:
            assert set(events) - {texts.CHARGE} <= known, (path, template)
            # a label list that names the charge belongs to a template that writes it
            if texts.CHARGE in events:
                assert texts.CHARGE in template, (path, template)
    # the lists the records are filled from are all labelled (template_events checks it)
    assert "article.collapse.text" in labelled and "complaint.stress" in labelled


def test_a_mislabelled_list_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    broken = dict(texts.templates())
    events = dict(broken["events"])
    events["templates"] = {**events["templates"], "complaint.stress": [["overdue"]]}
    broken["events"] = events
    monkeypatch.setattr(texts, "templates", lambda: broken)
    texts.template_events.cache_clear()
    try:
        with pytest.raises(texts.TemplateLabelError, match=r"complaint\.stress has 1 label"):
            texts.template_events()
    finally:
        monkeypatch.undo()
        texts.template_events.cache_clear()


def _fill_neutral(template: str, charge: str) -> str:
    """A template filled with slot values that look like no other template's words."""
    return texts.fill(template.replace(texts.CHARGE, charge), **_NEUTRAL)


_SLOT_NAMES = (
    "firm product city district yield ticket promise gift phone amount n month event job "
    "salary court person platform total city_short months service rate procuratorate "
    "start channel loss plaintiff cause"
)
_NEUTRAL = dict.fromkeys(_SLOT_NAMES.split(" "), "某某")


@pytest.mark.parametrize("charge", ["非法吸收公众存款罪", "组织、领导传销活动罪", "诈骗罪"])
def test_each_template_filled_is_labelled_with_its_own_events(charge: str) -> None:
    """Matching back is unambiguous: a filled template gets exactly its declared labels."""
    spec = texts.templates()["events"]
    charge_codes = tuple(spec["charges"][charge])
    for record_type, fields in spec["fields"].items():
        for field in fields:
            # one pattern per template (and charge) of the lists this field is drawn from
            by_template: dict[str, tuple[str, ...]] = {}
            for lp in texts.label_patterns(record_type, field):
                by_template.setdefault(lp.path, lp.events)
            labelled = texts.template_events()
            for path, items in labelled.items():
                for i, (template, events) in enumerate(items):
                    if f"{path}[{i}]" not in by_template:
                        continue
                    want: list[str] = []
                    for e in events:
                        for code in charge_codes if e == texts.CHARGE else (e,):
                            if code not in want:
                                want.append(code)
                    got = texts.text_events(
                        record_type, {field: np.array([_fill_neutral(template, charge)])}
                    )[0]
                    assert got == ";".join(sorted(want)), (record_type, field, path, i)


def test_unmatched_and_empty_texts_get_no_events() -> None:
    got = texts.text_events(
        "Article", {"title": np.array(["警情通报（某某）", None]), "text": np.array(["", None])}
    )
    assert list(got) == ["", ""]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> SimulationResult:
    return simulate(tmp_path_factory.mktemp("ev") / "out", load_params(**TINY), seed=1)


def test_ground_truth_records_the_events_of_each_text(tiny: SimulationResult) -> None:
    rows = _mentions(tiny.out)
    assert rows and all("events" in r for r in rows)
    by = {}
    for r in rows:
        by.setdefault((r["type"], r["kind"], r["stage"]), []).append(
            set(filter(None, r["events"].split(";")))
        )
    # scheme complaints under stress are all about money not paid back, and complaints
    assert all({"overdue", "rights"} <= ev for ev in by[("Complaint", "scheme", "stress")])
    # collapse articles all report an event; ads, job posts and lawful news none
    assert all(ev for ev in by[("Article", "scheme", "collapse")])
    for key in [k for k in by if k[0] in ("Advertisement", "RecruitmentPost")]:
        assert not any(by[key]), key
    assert not any(by[("Article", "lawful", "")])
    # record types without text fields
    assert all(not r["events"] for r in rows if r["type"] in ("Enforcement", "RegulatoryFiling"))


def test_every_scheme_text_is_matched_to_a_template(tiny: SimulationResult) -> None:
    """No scheme article, complaint or judgment body is left unlabelled by a failed match."""
    from fengyan.text.simdata import load_simulated_texts

    sims = load_simulated_texts(tiny.out)
    kinds = {
        "media/articles.jsonl": "Article",
        "hotline/complaints.csv": "Complaint",
        "court/judgments.jsonl": "Judgment",
        "ads/advertisements.jsonl": "Advertisement",
    }
    field = {"Article": "text", "Complaint": "text", "Judgment": "text", "Advertisement": "text"}
    for s in sims:
        if s.kind != "scheme" or "\ufffd" in s.body:
            continue
        record_type = kinds[s.file]
        patterns = texts.label_patterns(record_type, field[record_type])
        assert any(re.match(lp.regex, s.body) for lp in patterns), (s.file, s.body)


def _digest(root: Path, drop_events: bool) -> str:
    """sha256 over every file of a delivery; mentions.csv without its events column."""
    h = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        h.update(str(path.relative_to(root)).encode())
        if path.name == "mentions.csv" and drop_events:
            with open(path, encoding="utf-8", newline="") as fh:
                for row in csv.reader(fh):
                    h.update("\x1f".join(row[:-1]).encode() + b"\n")
        else:
            h.update(path.read_bytes())
    return h.hexdigest()


def test_labelling_changes_no_text_and_no_random_draw(
    tiny: SimulationResult, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same city with labelling switched off is identical but for the events column."""
    monkeypatch.setattr(
        texts, "text_events", lambda kind, columns: np.full(len(next(iter(columns.values()))), "")
    )
    bare = simulate(tmp_path / "bare", load_params(**TINY), seed=1)
    assert _digest(bare.out, True) == _digest(tiny.out, True)
    assert not any(r["events"] for r in _mentions(bare.out))
    assert any(r["events"] for r in _mentions(tiny.out))
