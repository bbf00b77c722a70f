"""The lexicon loader accepts the packaged files and rejects malformed entries by name."""

from __future__ import annotations

import shutil
from importlib import resources
from pathlib import Path

import pytest

from fengyan.text.lexicon import Category, LexiconError, load_lexicons, load_lexicons_from

PACKAGED = Path(str(resources.files("fengyan.text").joinpath("lexicons")))


def test_packaged_lexicons_load() -> None:
    lex = load_lexicons()
    assert {"runaway", "overdue", "ifr", "mlm", "police", "rights"} <= set(lex.event_types)
    assert {f.category for f in lex.feature_words} == set(Category)
    # every CCKS label except 其他 (no event) has a Fengyan type
    assert len(lex.ccks_map()) == 21


def _copy(tmp_path: Path) -> Path:
    for name in ("event_types.yaml", "event_words.yaml", "feature_words.yaml"):
        shutil.copy(PACKAGED / name, tmp_path / name)
    return tmp_path


def _append(path: Path, line: str) -> None:
    path.write_text(path.read_text(encoding="utf-8") + line + "\n", encoding="utf-8")


@pytest.mark.parametrize(
    ("file", "line", "message"),
    [
        (
            "event_words.yaml",
            "  - {term: 爆仓跑路, event: nosuch, weight: 1, source: analyst}",
            "term '爆仓跑路': unknown event 'nosuch'",
        ),
        (
            "event_words.yaml",
            "  - {term: 卷钱, event: runaway, weight: 2, source: analyst}",
            "event_words.yaml: term '卷钱': weight",
        ),
        (
            "event_words.yaml",
            "  - {term: 卷钱, event: runaway, weight: 1, source: rumour}",
            "term '卷钱': unknown source 'rumour'",
        ),
        (
            "event_words.yaml",
            "  - {term: 跑路, event: runaway, weight: 1, source: ccks}",
            "term '跑路' is listed twice",
        ),
        (
            "event_words.yaml",
            "  - {term: 跑路了, event: runaway, weight: 1, source: ccks, x: 1}",
            "term '跑路了': x",
        ),
        (
            "event_words.yaml",
            "  - {term: 失聯, event: runaway, weight: 1, source: ccks}",
            "term '失聯': term: Value error, term must be written in normalised form '失联'",
        ),
        (
            "feature_words.yaml",
            "  - {term: 高回报, category: greed, weight: 1, source: analyst}",
            "feature_words.yaml: term '高回报': category",
        ),
        (
            "feature_words.yaml",
            "  - {term: 养老公寓, category: sector, weight: 1, source: warn10}",
            "term '养老公寓': `sector` is required",
        ),
        (
            "event_types.yaml",
            "bogus:\n  name: 假\n  ccks: [失联跑路]",
            "CCKS label '失联跑路' already maps to runaway",
        ),
    ],
)
def test_bad_entries_are_rejected_naming_file_and_term(
    tmp_path: Path, file: str, line: str, message: str
) -> None:
    folder = _copy(tmp_path)
    _append(folder / file, line)
    with pytest.raises(LexiconError) as err:
        load_lexicons_from(folder)
    assert message in str(err.value)
    assert file in str(err.value)


def test_duplicate_yaml_keys_are_rejected(tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    _append(folder / "event_types.yaml", "runaway:\n  name: 重复")
    with pytest.raises(LexiconError, match="duplicate key"):
        load_lexicons_from(folder)
