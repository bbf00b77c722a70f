"""The packaged schema: it loads, it is labelled and classified consistently, malformed
definitions are rejected with a message naming file and type, and docs/schema.md is current."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from fengyan.schema import (
    EntityKind,
    EntityType,
    FieldSpec,
    FieldType,
    Schema,
    SchemaError,
    load_schema,
    load_schema_from,
)
from fengyan.schema.docs import REGENERATE, render_markdown

REPO = Path(__file__).resolve().parents[2]
SCHEMA = load_schema()
TYPES = sorted(SCHEMA.types.values(), key=lambda t: t.name)
FIELDS = [(t, f) for t in TYPES for f in t.fields.values()]
CJK = re.compile(r"[\u4e00-\u9fff]")

EXPECTED_TYPES = {
    "Advertisement",
    "Article",
    "Branch",
    "Complaint",
    "DishonestDebtor",
    "EmailContact",
    "Enforcement",
    "Enterprise",
    "FundFlowSummary",
    "Judgment",
    "Licence",
    "Officer",
    "Person",
    "PhoneContact",
    "RecruitmentPost",
    "RegulatoryFiling",
    "Shareholding",
    "SocialSecurityRecord",
    "TaxRecord",
    "WebPresence",
}

# Fields that hold a natural person's name. The rule below finds most of them; this table
# pins the ones it cannot infer, so losing their classification fails loudly.
KNOWN_PERSON_NAMES = {
    ("Person", "name"),
    ("Enterprise", "legal_representative"),
    ("DishonestDebtor", "legal_representative"),
    ("Article", "author"),
    ("WebPresence", "icp_subject_name"),
}

# JR/T 0197-2020: data with C1 is at least level 2, C2 level 3, C3 level 4.
LEVEL_FLOOR = {None: 1, "C1": 2, "C2": 3, "C3": 4}


def _ids(items: list[Any]) -> list[str]:
    return [t.name if isinstance(t, EntityType) else f"{t[0].name}.{t[1].name}" for t in items]


def _is_person_name(et: EntityType, spec: FieldSpec) -> bool:
    if spec.type is not FieldType.NAME:
        return False
    if spec.personal is not None or (et.name, spec.name) in KNOWN_PERSON_NAMES:
        return True
    # `<prefix>_name` next to a `<prefix>_kind` enum that allows persons (owner_name, party_name).
    prefix = spec.name.removesuffix("_name")
    kind = et.fields.get(f"{prefix}_kind")
    return kind is not None and "person" in (kind.values or ())


# --- the packaged schema ------------------------------------------------------------------


def test_packaged_schema_loads_every_type() -> None:
    assert set(SCHEMA.types) == EXPECTED_TYPES
    assert {t.name for t in SCHEMA} == EXPECTED_TYPES


def test_types_are_found_by_name_or_table() -> None:
    assert SCHEMA.get("fund_flow_summary").name == "FundFlowSummary"
    assert SCHEMA.get("judgment") is SCHEMA.get("Judgment")


@pytest.mark.parametrize("et", TYPES, ids=_ids(TYPES))
def test_type_is_labelled_keyed_and_described(et: EntityType) -> None:
    assert CJK.search(et.label.zh), f"{et.name}: zh label must be Chinese"
    assert et.label.en.strip() and not CJK.search(et.label.en)
    assert et.description.strip()
    assert et.key, f"{et.name} has no key"
    assert et.table == re.sub(r"(?<!^)(?=[A-Z])", "_", et.name).lower()
    for k in et.key:
        assert not et.fields[k].multiple


@pytest.mark.parametrize("et", TYPES, ids=_ids(TYPES))
def test_events_have_a_required_past_date(et: EntityType) -> None:
    if et.kind is not EntityKind.EVENT:
        return
    assert et.known_from is not None, f"event {et.name} needs known_from"
    date = et.fields[et.known_from]
    assert date.required and date.not_future
    # Events are identified by the source's own record id.
    assert any(et.fields[k].type is FieldType.STRING for k in et.key)


@pytest.mark.parametrize("et", TYPES, ids=_ids(TYPES))
def test_region_field_is_a_region_code(et: EntityType) -> None:
    if et.region_field is not None:
        spec = et.fields[et.region_field]
        assert spec.type is FieldType.REGION_CODE and not spec.multiple


@pytest.mark.parametrize(("et", "spec"), FIELDS, ids=_ids(FIELDS))
def test_field_labels_and_security_level(et: EntityType, spec: FieldSpec) -> None:
    assert CJK.search(spec.label.zh), f"{et.name}.{spec.name}: zh label must be Chinese"
    assert spec.label.en.strip() and not CJK.search(spec.label.en)
    assert 1 <= spec.security_level <= 5
    assert spec.security_level >= LEVEL_FLOOR[spec.personal], (
        f"{et.name}.{spec.name}: personal {spec.personal} needs level "
        f">= {LEVEL_FLOOR[spec.personal]} (JR/T 0197-2020)"
    )
    assert spec.personal != "C3", "C3 authentication data is never stored"


def test_id_numbers_are_pseudonymised_and_masked() -> None:
    id_fields = [(t, f) for t, f in FIELDS if f.type is FieldType.ID_NUMBER]
    assert len(id_fields) >= 3  # Person, Enforcement, DishonestDebtor
    for et, spec in id_fields:
        where = f"{et.name}.{spec.name}"
        assert spec.pseudonymise, f"{where} must be pseudonymised"
        assert spec.mask == "id_number", f"{where} must be masked"
        assert spec.personal == "C2" and spec.security_level >= 3, where


def test_person_names_are_masked_c2() -> None:
    names = [(t, f) for t, f in FIELDS if _is_person_name(t, f)]
    found = {(t.name, f.name) for t, f in names}
    assert found >= KNOWN_PERSON_NAMES
    assert {("Shareholding", "owner_name"), ("Judgment", "party_name")} <= found
    for et, spec in names:
        where = f"{et.name}.{spec.name}"
        assert spec.mask == "name", f"{where} holds a person's name and must be masked"
        assert spec.personal == "C2" and spec.security_level >= 3, where


def test_name_masks_only_on_person_names() -> None:
    for et, spec in FIELDS:
        if spec.mask == "name":
            assert _is_person_name(et, spec), f"{et.name}.{spec.name}"


@pytest.mark.parametrize(
    ("field_type", "mask"),
    [
        (FieldType.PHONE, "phone"),
        (FieldType.EMAIL, "email"),
        (FieldType.BANK_CARD, "bank_card"),
    ],
)
def test_contact_and_account_fields_are_masked(field_type: FieldType, mask: str) -> None:
    for et, spec in FIELDS:
        if spec.type is field_type:
            assert spec.mask == mask, f"{et.name}.{spec.name}"
            assert spec.security_level >= 2, f"{et.name}.{spec.name}"
            if field_type is FieldType.BANK_CARD:
                assert spec.personal == "C2"


def test_person_refs_carry_the_person_id_class() -> None:
    person_id = SCHEMA.get("Person").fields["person_id"]
    for et, spec in FIELDS:
        if spec.type is FieldType.REF and "Person" in (spec.range or ()):
            where = f"{et.name}.{spec.name}"
            assert spec.personal is not None, f"{where} can hold a person id"
            assert spec.security_level >= person_id.security_level, where


def test_two_way_refs_have_a_kind_enum() -> None:
    for et, spec in FIELDS:
        if spec.type is FieldType.REF and len(spec.range or ()) > 1:
            kind = et.fields.get(spec.name.removesuffix("_id") + "_kind")
            assert kind is not None and kind.type is FieldType.ENUM, f"{et.name}.{spec.name}"
            for target in spec.range or ():
                assert target.lower() in (kind.values or ()), f"{et.name}.{kind.name}"


def test_amounts_counts_and_percentages_are_bounded() -> None:
    for et, spec in FIELDS:
        where = f"{et.name}.{spec.name}"
        if spec.type in (FieldType.MONEY, FieldType.INTEGER):
            # Only balances and results may go below zero, and they say so.
            assert spec.min == 0 or "negative" in spec.description, where
        if spec.type is FieldType.PERCENT:
            assert (spec.min, spec.max) == (0, 100), where
        if spec.type is FieldType.MONEY:
            assert spec.unit == "yuan", where


def test_bank_fund_flows_are_level_3() -> None:
    flows = SCHEMA.get("FundFlowSummary")
    for spec in flows.fields.values():
        if spec.type in (FieldType.MONEY, FieldType.INTEGER):
            assert spec.security_level >= 3, spec.name


def test_enterprises_are_referred_to_by_credit_code() -> None:
    for et, spec in FIELDS:
        if spec.name == "credit_code" or spec.name.endswith("_credit_code"):
            assert spec.type is FieldType.CREDIT_CODE, f"{et.name}.{spec.name}"


# --- the loader rejects malformed definitions ---------------------------------------------


def _base() -> dict[str, Any]:
    return {
        "kind": "event",
        "table": "tip",
        "label": {"zh": "线索", "en": "Tip"},
        "description": "A test type.",
        "key": ["tip_id"],
        "known_from": "received_at",
        "fields": {
            "tip_id": {
                "type": "string",
                "required": True,
                "label": {"zh": "编号", "en": "Id"},
                "security_level": 1,
            },
            "received_at": {
                "type": "date",
                "required": True,
                "label": {"zh": "日期", "en": "Date"},
                "security_level": 1,
            },
        },
    }


def _write(path: Path, types: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(types, allow_unicode=True, sort_keys=False), "utf-8")
    return path


def _add_field(body: dict[str, Any], name: str, **spec: Any) -> None:
    spec.setdefault("label", {"zh": "字段", "en": "Field"})
    spec.setdefault("security_level", 1)
    body["fields"][name] = spec


def test_a_valid_definition_loads(tmp_path: Path) -> None:
    schema = load_schema_from([_write(tmp_path / "tip.yaml", {"Tip": _base()})])
    assert schema.get("tip").key == ("tip_id",)


Mutation = Callable[[dict[str, Any]], None]

BAD: list[tuple[str, Mutation, str]] = [
    (
        "unknown field type",
        lambda b: _add_field(b, "odd", type="colour"),
        "fields.odd.type",
    ),
    ("key not a field", lambda b: b.update(key=["tip_id", "nope"]), "key field 'nope'"),
    (
        "ref to an unknown type",
        lambda b: _add_field(b, "owner", type="ref", range=["Ghost"]),
        "unknown type 'Ghost'",
    ),
    (
        "C3 field",
        lambda b: _add_field(b, "pin", type="string", personal="C3", security_level=4),
        "C3 authentication data",
    ),
    (
        "C2 with level 2",
        lambda b: _add_field(b, "mobile", type="phone", personal="C2", security_level=2),
        "needs security_level >= 3",
    ),
    ("enum without values", lambda b: _add_field(b, "status", type="enum"), "needs `values`"),
    (
        "values on a non-enum",
        lambda b: _add_field(b, "note", type="string", values=["a"]),
        "only for enum fields",
    ),
    ("ref without range", lambda b: _add_field(b, "owner", type="ref"), "needs `range`"),
    (
        "level out of range",
        lambda b: _add_field(b, "x", type="string", security_level=6),
        "security_level",
    ),
    (
        "known_from not a date",
        lambda b: b.update(known_from="tip_id"),
        "must be a date or datetime field",
    ),
    ("region_field not a field", lambda b: b.update(region_field="region"), "region_field"),
    (
        "multi-valued key",
        lambda b: b["fields"]["tip_id"].update(multiple=True),
        "cannot be multi-valued",
    ),
    (
        "pseudonymised multi-valued field",
        lambda b: _add_field(
            b,
            "ids",
            type="id_number",
            multiple=True,
            pseudonymise=True,
            personal="C2",
            security_level=3,
        ),
        "cannot be multi-valued",
    ),
    ("unknown key in a type", lambda b: b.update(colour="red"), "colour"),
    ("missing labels", lambda b: b.pop("label"), "label"),
]


@pytest.mark.parametrize(("mutate", "expected"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_loader_rejects_malformed_definitions(
    tmp_path: Path, mutate: Mutation, expected: str
) -> None:
    body = _base()
    mutate(body)
    path = _write(tmp_path / "bad_tip.yaml", {"Tip": body})
    with pytest.raises(SchemaError) as info:
        load_schema_from([path])
    message = str(info.value)
    assert message.startswith("bad_tip.yaml: Tip"), message
    assert expected in message


def test_loader_rejects_a_type_defined_in_two_files(tmp_path: Path) -> None:
    first = _write(tmp_path / "tip.yaml", {"Tip": _base()})
    second = _write(tmp_path / "tip_again.yaml", {"Tip": {**_base(), "table": "tip_again"}})
    with pytest.raises(
        SchemaError, match=r"^tip_again\.yaml: type Tip is defined twice.*tip\.yaml"
    ):
        load_schema_from([first, second])


def test_loader_rejects_a_table_used_twice(tmp_path: Path) -> None:
    path = _write(tmp_path / "tips.yaml", {"Tip": _base(), "Lead": _base()})
    with pytest.raises(SchemaError, match=r"^tips\.yaml: table tip used by Tip too"):
        load_schema_from([path])


def test_loader_rejects_a_duplicate_key_in_one_file(tmp_path: Path) -> None:
    # PyYAML would silently keep the second definition.
    text = yaml.safe_dump({"Tip": _base()}, allow_unicode=True, sort_keys=False)
    path = tmp_path / "twice.yaml"
    path.write_text(text + text, "utf-8")
    with pytest.raises(SchemaError, match=r"^twice\.yaml: .*duplicate key 'Tip'"):
        load_schema_from([path])


def test_loader_rejects_a_duplicate_field(tmp_path: Path) -> None:
    path = tmp_path / "dup_field.yaml"
    path.write_text(
        "Tip:\n  kind: entity\n  fields:\n    a: {type: string}\n    a: {type: date}\n",
        "utf-8",
    )
    with pytest.raises(SchemaError, match=r"^dup_field\.yaml: .*duplicate key 'a'"):
        load_schema_from([path])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Tip: [1, 2\n", "not valid YAML"),
        ("- Tip\n", "expected a mapping"),
        ("Tip: 3\n", "Tip must be a mapping"),
    ],
)
def test_loader_rejects_malformed_files(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text(text, "utf-8")
    with pytest.raises(SchemaError, match=rf"^broken\.yaml: .*{expected}"):
        load_schema_from([path])


# --- generated documentation --------------------------------------------------------------


def test_docs_are_current() -> None:
    committed = REPO / "docs" / "schema.md"
    expected = render_markdown(SCHEMA)
    actual = committed.read_text(encoding="utf-8") if committed.exists() else ""
    assert actual == expected, (
        "docs/schema.md is out of date with src/fengyan/schema/types/. Regenerate it from "
        f"the repository root: run `fengyan docs`, or until that command exists: {REGENERATE}"
    )


def test_docs_are_deterministic_and_sorted() -> None:
    shuffled = Schema(types=dict(reversed(list(SCHEMA.types.items()))))
    text = render_markdown(shuffled)
    assert text == render_markdown(SCHEMA)
    headings = re.findall(r'^### <a id="[^"]+"></a>\S+ · (\w+)$', text, flags=re.MULTILINE)
    order = [(list(EntityKind).index(SCHEMA.get(n).kind), n) for n in headings]
    assert order == sorted(order)
    assert set(headings) == EXPECTED_TYPES
    assert "Do not edit by hand" in text and "fengyan docs" in text


def test_docs_list_every_field_with_its_classification() -> None:
    sections = render_markdown(SCHEMA).split("\n### ")[1:]
    by_type = {s.split("\n", 1)[0].rsplit(" · ", 1)[1]: s for s in sections}
    for et, spec in FIELDS:
        rows = [r for r in by_type[et.name].splitlines() if r.startswith(f"| `{spec.name}` |")]
        assert len(rows) == 1, f"{et.name}.{spec.name} is not documented once"
        cells = [c.strip() for c in rows[0].strip().strip("|").split(" | ")]
        assert len(cells) == 11, rows[0]
        level, personal, mask = cells[7:10]
        assert level == str(spec.security_level), f"{et.name}.{spec.name}"
        assert personal == (spec.personal or ""), f"{et.name}.{spec.name}"
        assert (spec.mask or "") in mask and spec.pseudonymise == ("pseudonymised" in mask)
