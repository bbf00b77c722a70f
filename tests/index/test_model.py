"""Model files: the shipped ones load; bad ones fail with the file and the field named."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from fengyan.index.catalogue import CatalogueError, load_indicator_meta
from fengyan.index.model import IndexModelError, bind, load_model, model_ids, parse_model
from tests.index.conftest import COLUMNS, METAS

SHIPPED = Path(__file__).resolve().parents[2] / "src/fengyan/index/models"


def test_the_three_models_ship_and_bind() -> None:
    assert model_ids() == ["dolphin-v1", "eagle-v1", "four-v1"]
    dims = {m: list(load_model(m).dimensions) for m in model_ids()}
    assert dims == {
        "dolphin-v1": ["compliance", "yield_deviation", "complaints", "propagation",
                       "feature_words"],
        "eagle-v1": ["business", "opinion", "judicial", "operational", "related", "scale"],
        "four-v1": ["illegality", "publicity", "inducement", "sociality"],
    }  # fmt: skip
    eagle = bind(load_model("eagle-v1"), METAS, COLUMNS)
    assert [(d.name, [COLUMNS[i] for i in d.columns]) for d in eagle.dimensions] == [
        ("business", ["A", "B"]), ("opinion", ["C"]), ("judicial", ["F"]),
        ("operational", ["G"]), ("related", ["E"]), ("scale", ["D"]),
    ]  # fmt: skip
    assert eagle.impact == 5 and list(eagle.likelihood) == [0, 1, 2, 3, 4]


def _shipped(name: str) -> dict:  # type: ignore[type-arg]
    data = yaml.safe_load((SHIPPED / f"{name}.yaml").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda m: m["dimensions"]["compliance"].update(weight=0.5), "sum to 1.25, not 1"),
        (lambda m: m.update(grades={"red": 60, "orange": 70, "yellow": 50, "blue": 40}),
         "grade thresholds must rise"),
        (lambda m: m["interactions"][0].update(dimensions=["compliance", "nope"]),
         "unknown dimensions ['nope']"),
        (lambda m: m["dimensions"]["compliance"].update(aggregate="median"),
         "dimensions.compliance.aggregate"),
        (lambda m: m["dimensions"]["compliance"].update(select={}), "a selector needs"),
        (lambda m: m.update(id="dolphin"), "id: String should match pattern"),
        (lambda m: m["floors"][0].update(max_score=90), "floor collapse_confirmed needs"),
        (lambda m: m.update(colour="red"), "colour: Extra inputs are not permitted"),
    ],
)  # fmt: skip
def test_bad_models_are_refused_with_the_field_named(change, message: str) -> None:  # type: ignore[no-untyped-def]
    data = _shipped("dolphin-v1")
    change(data)
    with pytest.raises(IndexModelError) as err:
        parse_model(yaml.safe_dump(data, allow_unicode=True), "mine.yaml")
    assert str(err.value).startswith("mine.yaml: ")
    assert message in str(err.value)


def test_binding_refuses_unknown_or_empty_selections() -> None:
    model = load_model("dolphin-v1")
    with pytest.raises(IndexModelError, match="names unknown indicators"):
        bind(model, METAS[1:], COLUMNS)  # op_evt_runaway (A) unknown
    with pytest.raises(IndexModelError, match="dimension complaints selects no indicator"):
        bind(model, METAS, [c for c in COLUMNS if c != "C"])
    with pytest.raises(IndexModelError, match="no index model nope-v1"):
        load_model("nope-v1")


def test_indicator_tags_come_from_the_spec_files(tmp_path: Path) -> None:
    (tmp_path / "business.yaml").write_text(
        "- id: BIZ_X\n  dimension: business\n  dolphin: [yield_deviation]\n"
        "  characteristics: inducement\n  catalogue: biz_yield_level\n",
        encoding="utf-8",
    )
    (tmp_path / "opinion.yaml").write_text("- id: OP_Y\n  dimension: opinion\n", "utf-8")
    metas = load_indicator_meta(tmp_path)
    assert [(m.id, m.dimension, m.dolphin, m.characteristics, m.catalogue) for m in metas] == [
        ("BIZ_X", "business", ("yield_deviation",), ("inducement",), "biz_yield_level"),
        ("OP_Y", "opinion", (), (), None),
    ]
    (tmp_path / "bad.yaml").write_text("- name: no id\n", encoding="utf-8")
    with pytest.raises(CatalogueError, match=r"bad\.yaml: entry 1 needs an id"):
        load_indicator_meta(tmp_path)
