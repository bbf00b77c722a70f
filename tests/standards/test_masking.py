"""Display masking (JR/T 0171-2020): golden tables and the never-reveal-more properties."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fengyan.standards import masking
from fengyan.standards.masking import MASK, MIN_HIDDEN
from fengyan.standards.text import normalize_code, to_halfwidth

from ._strategies import card_numbers, id_numbers, untrusted

NAMES = [
    ("张三", "张*"),
    ("李小龙", "李**"),
    ("欧阳娜娜", "欧阳**"),
    ("司马光", "司马*"),
    ("欧阳", "欧*"),  # two characters: surname 欧, given name 阳
    ("王", "*"),
    ("买买提·艾力", "买**·**"),
    ("John Smith", "J*** *****"),
    ("  张三 ", "张*"),
    ("", ""),
]
ID_NUMBERS = [
    ("11010519491231002X", {}, "1****************X"),
    ("11010519491231002x", {}, "1****************X"),
    ("110105 19491231 002X", {}, "1****************X"),
    ("11010519491231002X", {"keep_head": 3, "keep_tail": 4}, "110***********002X"),
    ("123456", {}, "1****6"),
    ("12345", {"keep_head": 3, "keep_tail": 4}, "****5"),  # short: hide at least 4
    ("12", {}, "**"),
]
PHONES = [
    ("13812345678", "138****5678"),
    ("+86 138-1234-5678", "138****5678"),
    ("010-12345678", "010-****5678"),
    ("0571-87654321", "0571-****4321"),
    ("0755-1234567", "*******4567"),  # not a valid number: last 4 only
    ("400-810-8888", "40****8888"),
]
CARDS = [
    ("6222021234567890123", {}, "622202*********0123"),
    ("6222 0212 3456 7890", {}, "622202******7890"),
    ("6222021234567890", {"keep_head": 10, "keep_tail": 8}, "622202******7890"),  # capped
    ("6222021234567890", {"keep_head": 0, "keep_tail": 4}, "************7890"),
]
ADDRESSES = [
    ("广东省深圳市南山区粤海街道科技园路1号", "广东省深圳市南山区粤海街道***"),
    ("上海市浦东新区世纪大道100号", "上海市浦东新区***"),
    ("上海市黄浦区城市路1号", "上海市黄浦区***"),  # 城市路 is a road, not a city
    ("北京市朝阳区望京花园小区3号楼", "北京市朝阳区***"),
    ("福建省福州市鼓楼区五四路", "福建省福州市鼓楼区***"),
    ("河北省保定市涿州市码头镇东庄村", "河北省保定市涿州市码头镇***"),
    ("新疆维吾尔自治区伊犁哈萨克自治州伊宁市解放路", "新疆维吾尔自治区伊犁哈萨克自治州伊宁市***"),
    ("浙江省杭州市西湖区", "浙江省杭州市西湖区"),  # nothing below district level
    ("某某大厦1201室", "***"),  # no administrative marker: hide everything
]
EMAILS = [
    ("alice@example.com", "a***@example.com"),
    ("a@example.com", "a***@example.com"),
    ("not an address", "***"),
    ("@example.com", "***"),
]


@pytest.mark.parametrize(("raw", "masked"), NAMES)
def test_names(raw: str, masked: str) -> None:
    assert masking.mask_name(raw) == masked
    assert masking.mask("name", raw) == masked


@pytest.mark.parametrize(("raw", "options", "masked"), ID_NUMBERS)
def test_id_numbers(raw: str, options: dict[str, int], masked: str) -> None:
    assert masking.mask_id_number(raw, **options) == masked


@pytest.mark.parametrize(("raw", "masked"), PHONES)
def test_phones(raw: str, masked: str) -> None:
    assert masking.mask_phone(raw) == masked
    assert masking.mask("phone", raw) == masked


@pytest.mark.parametrize(("raw", "options", "masked"), CARDS)
def test_bank_cards(raw: str, options: dict[str, int], masked: str) -> None:
    assert masking.mask_bank_card(raw, **options) == masked


@pytest.mark.parametrize(("raw", "masked"), ADDRESSES)
def test_addresses(raw: str, masked: str) -> None:
    assert masking.mask_address(raw) == masked


@pytest.mark.parametrize(("raw", "masked"), EMAILS)
def test_emails(raw: str, masked: str) -> None:
    assert masking.mask_email(raw) == masked


def test_dispatcher() -> None:
    assert set(masking.MASKERS) == {"name", "id_number", "phone", "bank_card", "address", "email"}
    for kind in masking.MASKERS:
        assert masking.mask(kind, None) is None
    with pytest.raises(ValueError, match="unknown masking kind"):
        masking.mask("passport", "E12345678")


def revealed(masked: str) -> int:
    return sum(char != MASK for char in masked)


keeps = st.integers(min_value=-2, max_value=25)


@given(st.one_of(id_numbers(), st.text()), keeps, keeps)
def test_id_mask_reveals_at_most_head_plus_tail(value: str, head: int, tail: int) -> None:
    masked = masking.mask_id_number(value, keep_head=head, keep_tail=tail)
    assert masked is not None
    text = normalize_code(value)
    assert len(masked) == len(text)
    assert revealed(masked) <= max(head, 0) + max(tail, 0)
    assert len(text) - revealed(masked) >= min(MIN_HIDDEN, len(text))
    # what is shown is the original, in place
    assert all(m in (MASK, o) for m, o in zip(masked, text, strict=True))


@given(st.one_of(card_numbers(), st.text()), keeps, keeps)
def test_card_mask_never_exceeds_first_6_last_4(value: str, head: int, tail: int) -> None:
    masked = masking.mask_bank_card(value, keep_head=head, keep_tail=tail)
    assert masked is not None
    assert revealed(masked) <= min(max(head, 0), 6) + min(max(tail, 0), 4)


mobiles = st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True)


@given(mobiles)
def test_mobile_mask_shape(digits: str) -> None:
    assert masking.mask_phone(digits) == f"{digits[:3]}****{digits[7:]}"


@given(st.one_of(mobiles, st.text()), st.integers(0, 11), st.integers(0, 11))
def test_phone_mask_reveals_little(value: str, head: int, tail: int) -> None:
    masked = masking.mask_phone(value, keep_head=head, keep_tail=tail)
    assert masked is not None
    # A landline shows its area code with trunk 0 (at most 4 digits) instead of the head.
    assert revealed(masked.replace("-", "")) <= max(head, 4) + tail


@given(st.text())
def test_name_mask_shows_at_most_the_surname(value: str) -> None:
    masked = masking.mask_name(value)
    assert masked is not None
    assert len(masked) == len(value.strip())
    shown = [c for c in masked if c != MASK and c not in " ·•・.-"]
    assert len(shown) <= 2


ADMIN_MARKERS = ("省", "市", "区", "县", "旗", "镇", "乡", "街道")


@given(st.one_of(st.text(), st.sampled_from([a for a, _ in ADDRESSES]).map(lambda a: a + "12号")))
def test_address_mask_keeps_only_an_administrative_prefix(value: str) -> None:
    masked = masking.mask_address(value)
    assert masked is not None
    text = to_halfwidth(value).strip()
    kept = masked.removesuffix("***")
    assert text.startswith(kept)
    assert len(kept) <= 24
    assert kept == "" or kept.endswith(ADMIN_MARKERS)
    assert not any(char.isascii() and char.isdigit() for char in kept)


odd_values: st.SearchStrategy[Any] = st.one_of(
    untrusted, st.integers(), st.floats(), st.binary(), st.just(object())
)


@given(st.sampled_from(sorted(masking.MASKERS)), odd_values)
def test_masking_never_raises(kind: str, value: Any) -> None:
    masked = masking.mask(kind, value)
    assert masked is None if value is None else isinstance(masked, str)
