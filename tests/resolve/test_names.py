"""Golden cases and properties of name folding (fengyan.resolve.names)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fengyan.resolve.names import (
    fold,
    is_masked_person,
    name_key,
    person_name_key,
    sound_key,
    split_name,
)

# name as written → (key, region, core, form, branch)
GOLDEN = [
    ("深圳市鹏润科技有限公司", ("深圳市鹏润科技有限公司", "深圳市", "鹏润科技", "有限公司", "")),
    (
        "深圳市鵬潤科技有限責任公司",
        ("深圳市鹏润科技有限公司", "深圳市", "鹏润科技", "有限公司", ""),
    ),
    (" 深圳市 鹏润科技 有限公司", ("深圳市鹏润科技有限公司", "深圳市", "鹏润科技", "有限公司", "")),
    ("鹏润（深圳）科技有限公司", ("鹏润(深圳)科技有限公司", "深圳", "鹏润科技", "有限公司", "")),
    ("深圳鹏润科技有限公司", ("深圳鹏润科技有限公司", "深圳", "鹏润科技", "有限公司", "")),
    ("鹏润科技", ("鹏润科技", "", "鹏润科技", "", "")),
    ("家睿公司", ("家睿公司", "", "家睿", "公司", "")),
    ("深圳市南山区鹏润便利店", ("深圳市南山区鹏润便利店", "深圳市南山区", "鹏润便利店", "", "")),
    (
        "深圳市鹏润科技有限公司南山分公司",
        ("深圳市鹏润科技有限公司南山分公司", "深圳市", "鹏润科技", "有限公司", "南山分公司"),
    ),
    (
        "广东省深圳市南山区东方科技有限公司",
        ("广东省深圳市南山区东方科技有限公司", "广东省深圳市南山区", "东方科技", "有限公司", ""),
    ),
    # 东方 is also 东方市 (a county-level city): county short forms are not stripped.
    ("东方科技有限公司", ("东方科技有限公司", "", "东方科技", "有限公司", "")),
    ("鹏润（集团）有限公司", ("鹏润(集团)有限公司", "", "鹏润", "有限公司", "")),
    (
        "深圳市金保源投资合伙企业（有限合伙）",
        ("深圳市金保源投资合伙企业(有限合伙)", "深圳市", "金保源投资", "合伙企业(有限合伙)", ""),
    ),
    (
        "平安银行股份有限公司深圳分行",
        ("平安银行股份有限公司深圳分行", "", "平安银行", "股份有限公司", "深圳分行"),
    ),
    ("ＡＢＣ科技有限公司", ("abc科技有限公司", "", "abc科技", "有限公司", "")),
    ("腾聚E贷", ("腾聚e贷", "", "腾聚e贷", "", "")),
    ("【鹏润】科技有限公司", ("(鹏润)科技有限公司", "", "(鹏润)科技", "有限公司", "")),
]


@pytest.mark.parametrize(("written", "expected"), GOLDEN, ids=[g[0] for g in GOLDEN])
def test_golden_names(written: str, expected: tuple[str, str, str, str, str]) -> None:
    p = split_name(written)
    assert (p.key, p.region, p.core, p.form, p.branch) == expected


def test_equal_keys_for_everyday_variants() -> None:
    variants = ["深圳市鹏润科技有限公司", "深圳市鵬潤科技有限責任公司", "深圳市　鹏润科技有限公司"]
    assert len({name_key(v) for v in variants}) == 1


def test_person_names_and_masks() -> None:
    assert person_name_key("买买提·艾力") == "买买提艾力"
    assert person_name_key("張 偉") == "张伟"
    assert is_masked_person("张某") and is_masked_person("王**")
    assert not is_masked_person("张伟")


def test_homophones_sound_alike() -> None:
    assert sound_key("信诚") == sound_key("信成")
    assert sound_key("鹏顺") == sound_key("朋顺")
    assert sound_key("信诚") != sound_key("讯诚")
    assert sound_key("e贷") == "edai"


names = st.text(
    alphabet=st.sampled_from(list("深圳市鹏润鵬潤科技有限责任責公司（）()【】 　·ＡａB12分行集团")),
    max_size=30,
)


@given(names)
def test_fold_and_keys_are_idempotent(text: str) -> None:
    assert fold(fold(text)) == fold(text)
    assert name_key(name_key(text)) == name_key(text)
    assert person_name_key(person_name_key(text)) == person_name_key(text)


@given(st.text(max_size=40))
def test_total_on_any_text(text: str) -> None:
    parts = split_name(text)
    assert isinstance(parts.key, str) and isinstance(parts.core, str)
    assert " " not in fold(text)
