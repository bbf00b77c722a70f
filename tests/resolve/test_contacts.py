"""Golden cases for address, phone, e-mail and domain keys (fengyan.resolve.contacts)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fengyan.resolve.contacts import (
    address_key,
    address_room_key,
    domain_key,
    email_domain,
    email_key,
    phone_key,
)

REGION = "440305002013"
ADDRESSES = [
    # address → (building key, room key)
    (
        "深圳市南山区南山街道荔湾社区德泰堂南路692号伟丰达商务大厦C座2738",
        ("440305002|德泰堂南路692号|伟丰达商务大厦C座", "2738"),
    ),
    (
        "广东省深圳市南山区南山街道荔湾社区德泰堂南路６９２号伟丰达商务大厦ｃ座502室",
        ("440305002|德泰堂南路692号|伟丰达商务大厦C座", "502"),
    ),
    (
        "深圳市南山区南山街道荔湾社区德泰堂南路692号伟丰达商务大厦5315",
        ("440305002|德泰堂南路692号|伟丰达商务大厦", "5315"),
    ),
    (
        "深圳市龙华区观澜街道桂澜社区盛旺一路1095号虹瑞科技园2栋4楼",
        ("440305002|盛旺一路1095号|虹瑞科技园2栋", "4楼"),
    ),
    (
        "北京市朝阳区建国路88号SOHO现代城1号楼1001室",
        ("440305002|建国路88号|SOHO现代城1号楼", "1001"),
    ),
]


@pytest.mark.parametrize(("text", "expected"), ADDRESSES, ids=[a[0][-12:] for a in ADDRESSES])
def test_address_keys(text: str, expected: tuple[str, str]) -> None:
    assert address_key(text, REGION) == expected[0]
    assert address_room_key(text, REGION) == f"{expected[0]}|{expected[1]}"


def test_address_without_road_number_has_no_key() -> None:
    assert address_key("深圳市南山区", REGION) is None
    assert address_key("", REGION) is None and address_key(None) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("https://WWW.Example.com.cn:8080/a?b", "example.com.cn"),
        ("gecheng.com", "gecheng.com"),
        ("a.b.c.gov.cn", "c.gov.cn"),
        ("http://user@shop.example.org./x", "example.org"),
        ("localhost", None),
        ("not a domain", None),
    ],
)
def test_domain_keys(value: str, expected: str | None) -> None:
    assert domain_key(value) == expected


def test_email_and_phone_keys() -> None:
    assert email_key(" Foo@Bar.COM ") == "foo@bar.com"
    assert email_key("no-at-sign") is None and email_key("a@b@c") is None
    assert email_domain("x@mail.abc.net.cn") == "abc.net.cn"
    assert phone_key("0755-1234 5678") == "+8675512345678"
    assert phone_key("１３８００１３８０００") == "+8613800138000"
    assert phone_key("12345") is None


@given(st.text(max_size=60))
def test_keys_are_total(text: str) -> None:
    for key in (address_key(text, REGION), domain_key(text), email_key(text)):
        assert key is None or isinstance(key, str)
    dk = domain_key(text)
    assert dk is None or domain_key(dk) == dk
