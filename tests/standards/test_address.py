"""Address → region code: a golden table of real-looking addresses, and properties."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from fengyan.standards.address import (
    AddressMatch,
    address_message,
    normalize_address,
    parse_address,
    parse_addresses,
)
from fengyan.standards.regions import UnknownRegionError, region_table

# (address, default_city, expected code, expected level). Codes checked by hand against the
# NBS 2023 list; every row must keep passing when the matcher changes.
GOLDEN: list[tuple[str, str | None, str, int]] = [
    # full addresses down to street and community
    ("广东省深圳市南山区粤海街道科技园社区科苑路15号", None, "440305007003", 5),
    ("北京市东城区东华门街道多福巷社区", None, "110101001001", 5),
    ("广东省深圳市福田区福田街道福山社区彩田路", None, "440304004026", 5),
    ("上海市浦东新区张江镇祖冲之路887弄", None, "310115125", 4),
    ("上海市黄浦区南京东路街道", None, "310101002", 4),
    ("北京市海淀区中关村街道", None, "110108011", 4),
    ("北京市西城区金融街街道", None, "110102011", 4),
    ("浙江省杭州市西湖区灵隐街道", None, "330106012", 4),
    ("江苏省南京市玄武区玄武门街道", None, "320102005", 4),
    ("江苏省苏州市昆山市玉山镇", None, "320583100", 4),
    ("重庆市渝中区解放碑街道", None, "500103003", 4),
    ("重庆市石柱县南宾街道", None, "500240001", 4),
    # 不设区的地级市: towns directly under the city
    ("广东省东莞市虎门镇连升路", None, "441900121", 4),
    ("东莞市南城街道鸿福路", None, "441900004", 4),
    ("广东省中山市石岐街道孙文中路", None, "442000001", 4),
    ("海南省儋州市那大镇", None, "460400100", 4),
    ("甘肃省嘉峪关市雄关街道", None, "620201001", 4),
    # municipalities and county-level units under provinces
    ("北京市朝阳区建国路88号", None, "110105", 3),
    ("北京朝阳区望京街道阜通东大街", None, "110105026", 4),
    ("北京市北京市朝阳区建国路", None, "110105", 3),
    ("北京市市辖区朝阳区", None, "110105", 3),
    ("长春市朝阳区红旗街", None, "220104", 3),
    ("天津市和平区南京路", None, "120101", 3),
    ("天津市滨海新区", None, "120116", 3),
    ("湖北省仙桃市", None, "429004", 3),
    ("新疆石河子市", None, "659001", 3),
    ("江苏省昆山市", None, "320583", 3),
    # provinces and prefectures, autonomous units in full and short form
    ("浙江省杭州市西湖区文三路", None, "330106", 3),
    ("四川省成都市武侯区", None, "510107", 3),
    ("河南省郑州市金水区", None, "410105", 3),
    ("山东省青岛市市南区香港中路", None, "370202", 3),
    ("黑龙江省哈尔滨市南岗区", None, "230103", 3),
    ("辽宁省大连市中山区", None, "210202", 3),
    ("福建省福州市鼓楼区", None, "350102", 3),
    ("江苏省南京市鼓楼区", None, "320106", 3),
    ("广西壮族自治区南宁市青秀区", None, "450103", 3),
    ("广西南宁青秀区", None, "450103", 3),
    ("内蒙古呼和浩特市新城区", None, "150102", 3),
    ("西藏拉萨市城关区", None, "540102", 3),
    ("宁夏银川市兴庆区", None, "640104", 3),
    ("湖北省恩施州利川市", None, "422802", 3),
    ("云南省西双版纳州景洪市", None, "532801", 3),
    ("吉林省延边朝鲜族自治州延吉市", None, "222401", 3),
    ("贵州省黔东南州凯里市", None, "522601", 3),
    ("青海省海西州格尔木市", None, "632801", 3),
    ("四川省甘孜州康定市", None, "513301", 3),
    ("江苏省苏州市工业园区星湖街328号", None, "320576", 3),
    ("吉林省吉林市", None, "2202", 2),
    ("海南省三沙市", None, "4603", 2),
    ("香港特别行政区", None, "81", 1),
    # short forms, and road names that must not be read as regions
    ("深圳南山区科苑路", None, "440305", 3),
    ("深圳市南山科技园南区", None, "440305", 3),
    ("深圳南山", None, "440305", 3),
    ("深圳市南山区南山大道1088号", None, "440305", 3),
    ("广东省广州市越秀区北京路", None, "440104", 3),
    ("广州市番禺区", None, "440113", 3),
    # omitted province/city: inferred from a deeper level, or from the default city
    ("南山区粤海街道科技园社区科苑路15号", None, "440305007003", 5),
    ("南山区粤海街道科技园社区科苑路15号", "4403", "440305007003", 5),
    ("粤海街道", None, "440305007", 4),
    ("朝阳区建国路88号", "1101", "110105", 3),
    ("朝阳区红旗街", "2201", "220104", 3),
    ("鼓楼区中山路", "3201", "320106", 3),
    ("科技园社区科苑路", "4403", "440305007003", 5),
    ("东城街道", "4419", "441900003", 4),
    ("北京市朝阳区", "4403", "110105", 3),  # an explicit city beats the default
    # noise: labels, postcodes, phone numbers, brackets, full-width text, spaces
    ("地址：浙江省宁波市鄞州区（邮编315100）电话0574-88888888", None, "330212", 3),
    ("广东省广州市天河区天河路３８５号", None, "440106", 3),
    ("５１８０５７ 广东省 深圳市 福田区 华强北街道", None, "440304011", 4),
    ("收货地址:江苏省苏州市工业园区星湖街328号", None, "320576", 3),
    ("上海浦东新区世纪大道100号 13812345678", None, "310115", 3),
    ("中国四川省成都市锦江区", None, "510104", 3),
    ("收件人张三 13800138000 广东省深圳市福田区福田街道福山社区彩田路", None, "440304004026", 5),
    ("广东省深圳市南山区粤海街道科技园社区（科苑路15号）邮编：518057", None, "440305007003", 5),
    ("广东省，深圳市，南山区", None, "440305", 3),
]


@pytest.mark.parametrize(("text", "default_city", "code", "level"), GOLDEN)
def test_golden_addresses(text: str, default_city: str | None, code: str, level: int) -> None:
    match = parse_address(text, default_city=default_city)
    assert match is not None
    assert (match.code, match.level, match.ambiguous) == (code, level, False)
    assert region_table().get(code) is not None


def test_match_carries_its_evidence() -> None:
    match = parse_address("广东省深圳市南山区粤海街道科技园社区科苑路15号")
    assert match is not None
    assert match.names == ("广东省", "深圳市", "南山区", "粤海街道", "科技园社区居委会")
    assert [match.normalized[a:b] for a, b in match.spans] == [
        "广东省", "深圳市", "南山区", "粤海街道", "科技园社区"
    ]  # fmt: skip
    assert match.remainder == "科苑路15号"
    assert match.confidence == 1.0 and match.candidates == ("440305007003",)
    assert address_message("…", match) is None
    short = parse_address("深圳南山科苑路")
    assert short is not None and short.remainder == "科苑路" and short.confidence < 1.0


def test_district_names_shared_by_several_cities_are_ambiguous() -> None:
    match = parse_address("朝阳区建国路88号")
    assert match is not None and match.ambiguous
    assert set(match.candidates) == {"110105", "220104"}
    assert match.confidence < 0.5
    note = address_message("朝阳区建国路88号", match, lang="zh")
    assert (
        note is not None and "110105 北京市朝阳区" in note and "220104 吉林省长春市朝阳区" in note
    )
    town = parse_address("城关镇")
    assert town is not None and town.ambiguous and len(town.candidates) > 50


def test_unparseable_text_and_bad_default_city() -> None:
    for text in ["", "   ", "随便写点什么", "南山大道1088号", "12345", "（）"]:
        assert parse_address(text) is None
    note = address_message("南山大道1088号", None, lang="zh")
    assert note == "无法从地址中识别行政区划：南山大道1088号"
    city = parse_address("广东省深圳市科苑路")
    assert city is not None and city.level == 2
    assert address_message("", city, lang="zh") == "地址只能定位到地级：广东省深圳市"
    assert address_message("", city, lang="en") == (
        "The address could only be located at prefecture level: 广东省深圳市"
    )
    with pytest.raises(UnknownRegionError):
        parse_address("南山区", default_city="9999")


def test_normalisation_removes_noise_but_keeps_the_street_part() -> None:
    cleaned = normalize_address("地址：广东省 深圳市（南山区）科苑路１５号 电话：0755-26868888")
    assert cleaned == "广东省深圳市南山区科苑路15号"


def test_batch_matches_single_calls() -> None:
    texts = [text for text, default, _, _ in GOLDEN if default is None]
    expected = [parse_address(text) for text in texts]
    assert parse_addresses(texts) == expected
    assert parse_addresses(["科技园社区", "朝阳区"], default_city="4403")[0] is not None
    # Throughput of parse_addresses, measured 2026-11 on the 2-core dev container (one
    # process, table already loaded):
    # * 20,000 random five-level addresses from all over China, each in another township
    #   (village caches cold, the worst case): ~5,600/s;
    # * this golden table repeated 200 times: ~11,600/s;
    # * every township and community of 深圳 written without the province: ~10,000/s.
    # Not asserted: timing depends on the machine and its load.


# --- properties ------------------------------------------------------------------------


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(draw=st.integers(min_value=0))
def test_full_name_plus_street_parses_back(draw: int) -> None:
    table = region_table()
    row = draw % len(table)  # 94% of rows are townships or villages
    assume(table.level_at(row) >= 4)
    code = table.code_at(row)
    match = parse_address(table.full_name(code) + "某某路12号")
    assert match is not None
    assert (match.code, match.ambiguous, match.remainder) == (code, False, "某某路12号")


@settings(max_examples=500, deadline=None)
@given(text=st.text(max_size=60), default=st.sampled_from([None, "4403", "11", "440305007"]))
def test_arbitrary_text_never_raises(text: str, default: str | None) -> None:
    match = parse_address(text, default_city=default)
    assert match is None or isinstance(match, AddressMatch)
    if match is not None:
        assert region_table().get(match.code) is not None
        assert all(0 <= a < b <= len(match.normalized) for a, b in match.spans)


@settings(max_examples=200, deadline=None)
@given(
    text=st.lists(
        st.sampled_from(
            ["广东省", "深圳", "南山区", "朝阳", "市", "区", "路", "１２", "（", "）", " ", "镇"]
        ),
        max_size=12,
    ).map("".join)
)
def test_region_like_fragments_never_raise(text: str) -> None:
    match = parse_address(text)
    assert match is None or match.candidates[0] == match.code
