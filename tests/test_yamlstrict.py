"""The strict YAML loader every data file goes through."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from fengyan import yamlstrict
from fengyan.audit.catalogue import parse_catalogue
from fengyan.audit.errors import AuditError
from fengyan.yamlstrict import StrictLoader, load_yaml


def test_loads_like_safe_load() -> None:
    text = "a: 1\nb: [x, {c: 2}]\nanchor: &k {d: 3}\nmerged: {<<: *k, e: 4}\n"
    assert load_yaml(text) == yaml.safe_load(text)


def test_duplicate_key_names_key_and_line() -> None:
    with pytest.raises(yaml.constructor.ConstructorError) as exc:
        load_yaml("a: 1\nb:\n  c: 2\n  c: 3\n")
    assert "duplicate key 'c'" in str(exc.value)
    assert "line 4" in str(exc.value)


def test_no_python_objects() -> None:
    with pytest.raises(yaml.YAMLError):
        load_yaml("!!python/object/apply:os.system ['true']")


def test_audit_catalogue_rejects_a_duplicate_action() -> None:
    entry = "case.open: {zh: 立案, en: opened a case, personal_data: false}\n"
    with pytest.raises(AuditError):
        parse_catalogue(entry + entry, "actions.yaml")


def test_every_data_file_loader_is_strict() -> None:
    """No module parses YAML with PyYAML's lenient loader: a duplicate key must be an error."""
    src = Path(__file__).resolve().parents[1] / "src" / "fengyan"
    lenient = [
        f"{path.relative_to(src)}:{number}"
        for path in sorted(src.rglob("*.py"))
        if path.name != "yamlstrict.py"
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if "yaml.safe_load(" in line or ("yaml.load(" in line and "StrictLoader" not in line)
    ]
    assert lenient == []


def test_the_parser_is_libyamls_when_pyyaml_has_it() -> None:
    assert issubclass(StrictLoader, yaml.CSafeLoader) == bool(yaml.__with_libyaml__)


class _PureStrictLoader(yaml.SafeLoader):
    """The pure-Python parser with the same duplicate-key rule."""


_PureStrictLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    yamlstrict._construct_mapping,
)


def test_every_packaged_data_file_reads_as_with_the_pure_python_parser() -> None:
    src = Path(__file__).resolve().parents[1] / "src" / "fengyan"
    files = sorted(p for p in src.rglob("*") if p.suffix in (".yaml", ".yml"))
    assert len(files) > 50
    for path in files:
        text = path.read_text(encoding="utf-8")
        assert load_yaml(text) == yaml.load(text, Loader=_PureStrictLoader), path


def test_error_marks_name_the_file() -> None:
    for text in ("a: 1\nb: [\n", "a: 1\na: 2\n"):
        with pytest.raises(yaml.YAMLError) as exc:
            load_yaml(text, "types/firm.yaml")
        assert 'in "types/firm.yaml", line' in str(exc.value)
