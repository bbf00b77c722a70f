"""The one place personal data is masked by role (fengyan.web.masking)."""

from __future__ import annotations

import pyarrow as pa
import pytest

from fengyan.web.masking import mask_kind, mask_record, mask_records, mask_table
from fengyan.web.scope import Principal

PERSON = {
    "_id": "f00d",
    "person_id": "P0001",
    "name": "欧阳娜娜",
    "id_number_hash": "9c1f…keyed-hash",
    "id_number_masked": "4****************7",
    "phone": ["13800138000", "075526000000"],
    "nationality": "CN",
    "address": "广东省深圳市南山区粤海街道科技园路1号",
    "region_code": "440305001001",
}
# Per masking level, what each field becomes (written out by hand).
EXPECTED = {
    "none": PERSON,
    "masked": {
        "_id": "f00d",  # not a schema field: passes
        "person_id": "P0001",  # C1, no mask kind: shown
        "name": "欧阳**",
        "id_number_hash": None,  # the keyed hash is for matching, never shown masked
        "id_number_masked": "4****************7",  # stored masked already
        "phone": ["138****8000", "0755-****0000"],
        "nationality": "CN",
        "address": "广东省深圳市南山区粤海街道***",
        "region_code": "440305001001",
    },
    "hidden": {
        "_id": "f00d",
        "person_id": None,
        "name": None,
        "id_number_hash": None,
        "id_number_masked": None,
        "phone": None,
        "nationality": None,
        "address": None,
        "region_code": None,
    },
}
ROLE_FOR_LEVEL = {"none": "investigator", "masked": "analyst", "hidden": "admin"}


def viewer(level: str) -> Principal:
    principal = Principal.for_role("v", ROLE_FOR_LEVEL[level], "440305", via="token")
    assert principal.masking == level
    return principal


@pytest.mark.parametrize("level", list(EXPECTED))
def test_mask_record_per_role(level: str) -> None:
    assert mask_record(viewer(level), "Person", PERSON) == EXPECTED[level]
    assert mask_records(viewer(level), "Person", [PERSON, PERSON]) == [EXPECTED[level]] * 2


@pytest.mark.parametrize("level", list(EXPECTED))
def test_mask_table_matches_mask_record(level: str) -> None:
    table = pa.Table.from_pylist([PERSON, {**PERSON, "name": "张伟", "phone": None}])
    masked = mask_table(viewer(level), "Person", table).to_pylist()
    assert masked[0] == EXPECTED[level]
    second = mask_record(viewer(level), "Person", {**PERSON, "name": "张伟", "phone": None})
    assert masked[1] == second
    if level == "masked":
        assert masked[1]["name"] == "张*" and masked[1]["phone"] is None


def test_the_public_sees_no_personal_field() -> None:
    assert mask_record(Principal.anonymous(), "Person", PERSON) == EXPECTED["hidden"]


def test_values_outside_the_schema_are_masked_by_kind() -> None:
    assert mask_kind(viewer("none"), "name", "李娜") == "李娜"
    assert mask_kind(viewer("masked"), "name", "李娜") == "李*"
    assert mask_kind(viewer("masked"), "phone", "13912345678") == "139****5678"
    assert mask_kind(viewer("hidden"), "name", "李娜") is None
    assert mask_kind(viewer("masked"), "name", None) is None


def test_masking_never_reveals_the_raw_values() -> None:
    shown = str(mask_record(viewer("masked"), "Person", PERSON))
    for raw in ("欧阳娜娜", "13800138000", "075526000000", "科技园路1号", "9c1f"):
        assert raw not in shown
