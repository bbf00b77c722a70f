"""The column-at-once contact keys give exactly what the one-value functions give."""

from __future__ import annotations

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from fengyan.graph.keys import address_keys, domain_keys, email_keys
from fengyan.resolve.contacts import address_key, domain_key, email_key

ADDRESSES = [
    ("广东省深圳市南山区粤海街道科技园路12号鹏润大厦A座1203室", "440305"),
    ("深圳市南山区科技园路12号鹏润大厦A座1205室", "440305007000"),
    ("深圳市福田区华强北街道振兴路3-5号赛格广场B1层", "440304"),
    ("深圳市龍華區民治街道民康路88號壹城中心8棟2單元101", "440309"),
    ("深圳市宝安区新安街道（集群注册）创业二路1号商务中心工位A-017号", None),
    ("深圳市南山区", "440305"),
    ("科技园路12号", ""),
    ("ＳＨＥＮＺＨＥＮ　南山区高新南一路９号", "4403051"),
    ("北京市朝阳区建国路88号SOHO现代城5号楼", "110105"),
    ("某某村委会幸福村3号", "440305"),
    ("深圳市南山区粤海街道\n科技园路12号\ue000大厦", "440305"),
    ("", "440305"),
    (None, "440305"),
    ("市区县12号", "4403"),
]


def test_address_keys_match_address_key() -> None:
    texts = pa.array([a for a, _ in ADDRESSES], pa.string())
    regions = pa.array([r for _, r in ADDRESSES], pa.string())
    assert address_keys(texts, regions).to_pylist() == [address_key(a, r) for a, r in ADDRESSES]
    assert address_keys(texts).to_pylist() == [address_key(a) for a, _ in ADDRESSES]


_ADDRESS_CHARS = st.sampled_from(
    [
        *"省市区县旗镇乡村街道办事处社区居委会号座栋幢楼期单元馆室房铺工位",
        *"0123456789-AB一二三十",
        *"０１２－ＡＢ\u3000臺灣區號樓（）() \n\t\ue000·深圳南山科技园路大厦",
    ]
)


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(st.text(_ADDRESS_CHARS, max_size=30), st.sampled_from(
    ["440305", "440305007000", "", None, "44x"])), max_size=20))  # fmt: skip
def test_address_keys_on_generated_text(rows: list[tuple[str, str | None]]) -> None:
    texts = pa.array([a for a, _ in rows], pa.string())
    regions = pa.array([r for _, r in rows], pa.string())
    assert address_keys(texts, regions).to_pylist() == [address_key(a, r) for a, r in rows]


DOMAINS = [
    "https://www.PengRun.com.cn/about?x=1",
    "http://user@shop.a.co.uk:8080/",
    "ａ．ｃｏｍ",
    "xn--fiqs8s.cn",
    "localhost",
    "a..b.com.",
    "http://例子.cn",
    "ftp://a-b.net#top",
    "",
    None,
    "www.a.gov.cn",
    "b.com.cnn",
]


def test_domain_keys_match_domain_key() -> None:
    assert domain_keys(pa.array(DOMAINS, pa.string())).to_pylist() == [
        domain_key(d) for d in DOMAINS
    ]


EMAILS = [
    "A@B.com",
    "a b@c.com.",
    "x@@y",
    "@y",
    "x@",
    "Ｘ＠ｙ．ｃｏｍ",
    None,
    "",
    "a@b@c",
    "ÄÖ@Ü.cn",
]


def test_email_keys_match_email_key() -> None:
    assert email_keys(pa.array(EMAILS, pa.string())).to_pylist() == [email_key(e) for e in EMAILS]


_URL_CHARS = st.sampled_from(
    [*"abcxyz019-.:/@?#ＡＢ．\u3000 WwHhTtPpSs例", "www.", "com", "cn", "://"]
)


@settings(max_examples=80, deadline=None)
@given(st.lists(st.lists(_URL_CHARS, max_size=12).map("".join), max_size=20))
def test_domain_and_email_keys_on_generated_text(values: list[str]) -> None:
    array = pa.array(values, pa.string())
    assert domain_keys(array).to_pylist() == [domain_key(v) for v in values]
    assert email_keys(array).to_pylist() == [email_key(v) for v in values]
