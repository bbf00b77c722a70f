"""Spec validation: every error names the file, the indicator and the field."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import sqlglot

from fengyan.indicators.compiler import compile_plan
from fengyan.indicators.load import PACKAGE_DIR, SpecSet, load_specs, spec_files
from fengyan.indicators.spec import SpecError
from tests.indicators.conftest import FIXTURES

GOOD = """\
- id: X_OK
  name: {zh: 好, en: Good}
  dimension: opinion
  rationale: r
  source: complaint
  value: "count(*)"
  normalise: {method: log, cap: 9}
"""


def _root(tmp_path: Path, body: str, extra: str = GOOD) -> Path:
    (tmp_path / "specs").mkdir()
    shutil.copy(FIXTURES / "terms.yaml", tmp_path / "terms.yaml")
    (tmp_path / "specs" / "a.yaml").write_text(extra, encoding="utf-8")
    (tmp_path / "specs" / "b.yaml").write_text(body, encoding="utf-8")
    return tmp_path


def _spec(**fields: str) -> str:
    base = {
        "id": "X_BAD",
        "name": "{zh: 坏, en: Bad}",
        "dimension": "opinion",
        "rationale": "r",
        "source": "complaint",
        "value": '"count(*)"',
        "normalise": "{method: log, cap: 9}",
    }
    base.update(fields)
    lines = [f"  {k}: {v}" for k, v in base.items() if v != "DROP"]
    return "- " + "\n".join(lines).lstrip() + "\n"


CASES = [
    ({"colour": "red"}, "X_BAD: colour: Extra inputs are not permitted"),
    ({"id": "x_lower"}, "x_lower: id:"),
    ({"source": "complaints"}, "X_BAD: source: unknown source 'complaints'"),
    ({"value": '"max(amount_paid)"'}, "X_BAD: value: unknown column 'amount_paid'"),
    ({"value": '"count(*"'}, "X_BAD: value: does not parse"),
    ({"value": '"approx_count_distinct(amount)"'}, "X_BAD: value: APPROXDISTINCT is not allowed"),
    ({"value": '"list_sum(x)"'}, "X_BAD: value: function list_sum() is not allowed"),
    ({"value": '"amount"'}, "X_BAD: value: source 'complaint' has many rows per firm"),
    ({"value": '"sum(max(amount))"'}, "X_BAD: value: aggregates cannot be nested"),
    ({"value": '"max(amount) + amount"'}, "X_BAD: value: column 'amount' is used outside"),
    ({"where": '"count(*) > 1"'}, "X_BAD: where: aggregate count() is not allowed here"),
    ({"where": "\"terms(text, 'nope')\""}, "X_BAD: where: unknown term list 'nope'"),
    ({"value": "\"ind('X_OK')\""}, "X_BAD: value: ind() is only allowed in derived"),
    (
        {"source": "enterprise", "window_days": "30", "value": "registered_capital"},
        "X_BAD: window_days: source 'enterprise' has no event dates",
    ),
    (
        {"normalise": "{method: piecewise, points: [[1, 0], [0, 1]]}"},
        "X_BAD: normalise.piecewise.points: Value error, x values must increase",
    ),
    (
        {"normalise": "{method: piecewise, points: [[0, 0], [1, 2]]}"},
        "X_BAD: normalise.piecewise.points: Value error, scores",
    ),
    ({"normalise": "{method: logistic, mid: 1, scale: 0}"}, "X_BAD: normalise.logistic.scale"),
    ({"normalise": "{method: log}"}, "X_BAD: normalise.log.cap: Field required"),
    ({"normalise": "{method: zscore}"}, "X_BAD: normalise: Input tag 'zscore'"),
    ({"evidence": '{order: "amount DESC LIMIT 3"}'}, "X_BAD: evidence.order: must be an ORDER BY"),
    ({"evidence": '{order: "nope DESC"}'}, "X_BAD: evidence.order: unknown column 'nope'"),
    ({"id": "X_OK"}, "b.yaml: X_OK: id: duplicate id (first defined in a.yaml)"),
    (
        {"source": "indicators", "value": "\"ind('X_NONE') * 2\""},
        "X_BAD: value: unknown indicator 'X_NONE'",
    ),
    (
        {"source": "indicators", "value": "\"ind('X_OK')\"", "window_days": "3"},
        "X_BAD: window_days: not allowed in a derived indicator",
    ),
    ({"source": "indicators", "value": '"amount"'}, "X_BAD: value: column 'amount' is not allowed"),
    ({"missing": "sometimes"}, "X_BAD: missing"),
]


@pytest.mark.parametrize(
    ("fields", "message"), CASES, ids=[m.split(": ", 1)[-1][:40] for _, m in CASES]
)
def test_invalid_spec_is_rejected_with_location(
    tmp_path: Path, fields: dict[str, str], message: str
) -> None:
    root = _root(tmp_path, _spec(**fields))
    with pytest.raises(SpecError) as info:
        load_specs(root)
    assert message in str(info.value)
    assert "b.yaml: " in str(info.value)


def test_cycle_in_derived_indicators(tmp_path: Path) -> None:
    body = _spec(id="X_P", source="indicators", value="\"ind('X_Q')\"") + _spec(
        id="X_Q", source="indicators", value="\"ind('X_P') + 1\""
    )
    with pytest.raises(SpecError, match="cycle"):
        load_specs(_root(tmp_path, body))


def test_yaml_duplicate_key_is_an_error(tmp_path: Path) -> None:
    body = _spec().replace("  rationale: r\n", "  rationale: r\n  rationale: again\n")
    with pytest.raises(SpecError, match="duplicate key 'rationale'"):
        load_specs(_root(tmp_path, body))


def test_every_step_transpiles_to_spark(fixture_specs: SpecSet) -> None:
    tables = {
        "resolved_entity",
        "resolved_link",
        "enterprise",
        "complaint",
        "text_promise",
        "indicator_cutpoints",
    }
    for firms in (None, ["ent:1"]):
        plan = compile_plan(
            fixture_specs,
            as_of=__import__("datetime").date(2024, 6, 30),
            available=tables,
            firms=firms,
        )
        for name, sql in plan.render("spark"):
            parsed = sqlglot.parse_one(sql, read="spark")
            assert parsed is not None, name
            assert "DATE_DIFF" not in sql.upper().replace("DATEDIFF", ""), name
        # Term steps: their distinct-texts query too (a Spark adapter feeds a pandas UDF).
        term_steps = [s for s in plan.steps if s.texts is not None]
        assert term_steps
        for step in term_steps:
            assert sqlglot.parse_one(step.texts_sql("spark"), read="spark") is not None


def test_packaged_specs_load() -> None:
    """The specs under src/fengyan/indicators/specs load (errors name file, id, field)."""
    assert spec_files(PACKAGE_DIR), "the package ships no indicator specs"
    specs = load_specs()
    assert len(specs.indicators) >= 1
