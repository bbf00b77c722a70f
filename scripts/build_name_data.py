"""Build the name data the simulator ships: ``src/fengyan/simulate/data/*.csv``.

Usage::

    python scripts/build_name_data.py [--shared /work/shared/data] [--out src/fengyan/simulate/data]

Inputs (see their PROVENANCE.md files under the shared data folder):

* ``company-names/company_short_forms.txt`` — 267k company short names / brand words
  (wainshine/Company-Names-Corpus, Apache-2.0);
* ``company-names/company_name_char_freq.csv`` — character counts by position over ~4.8M
  real company names (same source);
* ``listed-companies/a_share_stock_basic.csv`` — A-share short names, used only to *exclude*
  brand words of listed companies so that simulated schemes never carry a real listed
  company's brand.

Outputs (deterministic: same inputs, same bytes):

* ``brand_words.csv`` — ``word,weight``: 2- and 3-character brand words (字号) that contain no
  place name, industry or legal-form word and no strong finance word, weighted by how often
  their characters stand in the brand positions of real company names;
* ``brand_chars.csv`` — ``char,weight``: characters of those words, for composing new brand
  words when a large jurisdiction needs more unique names;
* ``surnames.csv`` and ``given_chars.csv`` — person-name data compiled here (constants below;
  sources and limits in the generated PROVENANCE.md);
* ``PROVENANCE.md`` — sources, filters, counts and input checksums.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import math
import re
from collections import Counter
from pathlib import Path

from fengyan.standards.regions import aliases, region_table

ROOT = Path(__file__).resolve().parents[1]
TWO_CHAR_KEEP = 24_000
THREE_CHAR_KEEP = 6_000
CHAR_KEEP = 1_500
# Positions (counted from the left of a full company name) where the brand word stands in
# "深圳市鹏润…" (4–5) and "广州鹏润…" (3–4).
BRAND_POSITIONS = ("左第3字", "左第4字", "左第5字")
CJK = re.compile(r"^[\u4e00-\u9fff]+$")
# A brand word ending in one of these is an industry or shop word, not a 字号.
SUFFIX_CHARS = set("业司厂店行馆院所社部局网城园坊铺楼吧号站中心屋阁庄场")
# Words in the general brand pool must not sound like finance (schemes draw their brands
# from params.yaml's finance-flavoured characters instead).
FINANCE_WORDS = ("金融", "理财", "财富", "基金", "投资", "资本", "证券", "保险", "银行", "信托")
FINANCE_CHARS = set("贷币股债钱投资保险证券汽")
# Characters that in the brand positions mostly belong to place, industry or form words
# (深圳市, 电子, 建筑, 科技 …): a brand word containing one reads like an industry term.
GENERIC_CHARS = set(
    "市区县省州镇乡村街道路电建装机化科技工程设备器械品业商贸易务服料材食饮药医车房产厂物流运输"
    "网络咨询管理开发制造销售实集团公有限责任销售售营办事处分总部门店铺"
)
# 2019 公安部户政管理研究中心 ranking order (百家姓 by registered population), then a few
# common compound surnames. Weights: see _surname_weights.
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩邓冯曹彭曾肖田董潘袁蔡蒋余于杜叶程魏"
    "苏吕丁任卢姚沈钟姜崔谭陆范汪廖石金韦贾夏付方邹熊白孟秦邱侯江尹薛闫段雷龙黎史陶贺毛郝顾龚邵"
    "万覃武钱戴严欧莫孔向常汤康易乔赖文施洪辛柯庄"
)
COMPOUND_SURNAMES = (("欧阳", 1112), ("上官", 88), ("皇甫", 64), ("司徒", 47), ("诸葛", 48))
# Common given-name characters, most common first (M male, F female, U either). Compiled
# from general knowledge of Chinese naming; the order is a rank, not a measured frequency.
GIVEN_CHARS = {
    "M": "伟强磊军勇杰涛明超刚平辉鹏华飞斌波宇浩凯健俊帆志峰林东海亮成洪鑫毅晨博文龙军建国"
    "家庆新春永祥伦翔旭阳昊睿哲宏振宁辰泽宸轩铭锋坤彬斌锦荣",
    "F": "芳娜敏静丽艳娟霞秀英玲桂兰燕萍红琳梅莉婷雪慧琴颖倩洁晶璐瑶欣怡悦涵菲露月琪妍"
    "佳蕾薇冰丹雯晴琳蓉凤翠彤嘉淑慧",
    "U": "文华明玉春海金晓子一思诗雨清安乐宁嘉",
}

# Simplified → traditional for characters common in firm and person names (hand-compiled
# pairs; used to write some names the way Hong Kong and Taiwan sources do).
TRADITIONAL = (
    "华華国國东東发發达達汇匯丰豐宝寶龙龍凤鳳电電贸貿业業设設术術网網络絡资資产產务務门門车車长長"
    "广廣园園区區县縣云雲联聯众眾创創鸿鴻腾騰诚誠银銀财財贵貴饮飲馆館养養乐樂乡鄉农農兴興义義实實"
    "进進际際顺順运運输輸经經营營开開会會员員购購买買卖賣币幣链鏈数數据據时時学學艺藝纪紀欢歡优優"
    "选選荣榮丽麗应應专專点點宁寧万萬亿億为為与與两兩严嚴临臨举舉书書亚亞亲親仪儀从從价價传傳伦倫"
    "伟偉体體侨僑债債储儲兰蘭关關军軍冯馮准準刘劉则則刚剛动動劳勞势勢协協单單卫衛厂廠历歷压壓变變"
    "叶葉号號吴吳启啟团團围圍图圖圣聖场場坚堅块塊处處备備复復头頭奋奮妇婦审審宫宮对對寻尋导導尔爾"
    "尽盡层層属屬岁歲岛島师師带帶帮幫庆慶库庫张張归歸当當录錄态態总總战戰户戶执執扩擴扬揚护護报報"
    "拥擁换換携攜摄攝断斷无無旧舊显顯晋晉晓曉机機杂雜权權杰傑来來极極构構标標树樹样樣桥橋检檢欧歐"
    "泽澤洁潔济濟涛濤润潤湾灣满滿灯燈灵靈热熱爱愛环環现現琼瓊画畫畅暢疗療盘盤盖蓋监監码碼础礎硕碩"
    "确確礼禮离離种種称稱稳穩筑築简簡粮糧纯純纳納纺紡线線练練组組细細织織终終绍紹结結给給统統继繼"
    "绩績续續维維综綜绿綠缘緣罗羅职職肃肅胜勝脑腦节節药藥莱萊获獲蓝藍补補装裝观觀规規视視览覽订訂"
    "认認训訓议議讯訊记記讲講证證评評识識译譯试試询詢话話语語说說读讀调調谈談谊誼谋謀贝貝负負贡貢"
    "责責贤賢货貨质質费費赛賽赢贏赵趙跃躍轩軒转轉轮輪软軟轻輕载載边邊迁遷过過还還远遠连連递遞邓鄧"
    "邮郵郑鄭钢鋼钱錢铁鐵铭銘销銷锋鋒锐銳锦錦镇鎮闻聞阳陽陆陸陈陳险險随隨韩韓项項顾顧领領颖穎风風"
    "飞飛马馬驰馳骏駿鱼魚鲜鮮鸣鳴鹏鵬麦麥黄黃齐齊"
)
# Homophones and look-alikes that turn up as typos in names written by hand (汇/惠, 盈/赢).
LOOK_ALIKE = (
    "汇惠惠汇盈赢赢盈达大信讯诚成源元华化恒衡泰太润闰鹏朋鸿宏宏鸿瑞锐丰峰宝保富福通同利力"
    "金今融荣财才鑫新新鑫嘉佳佳嘉盛胜安按聚巨腾滕益宜宜益祥翔翔祥"
)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _region_words() -> set[str]:
    """Everyday names of provinces, cities and counties (深圳, 南山, 中国 …)."""
    table = region_table()
    words = {"中国", "中华", "华夏", "国际", "全国", "亚洲", "环球", "世界", "东方", "中央"}
    for i, name in table.upper_names.items():
        if table.level_at(i) <= 3:
            words.update(alias for alias, _ in aliases(name, table.level_at(i)))
    return {w for w in words if len(w) >= 2}


def _listed_prefixes(path: Path) -> set[str]:
    out: set[str] = set()
    with open(path, encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            name = re.sub(r"^(\*?ST|XD|XR|DR|N|C|U)", "", row["name"]).strip()
            name = re.sub(r"[A-Z\-]+$", "", name)
            if len(name) >= 2 and CJK.match(name[:2]):
                out.add(name[:2])
    return out


def _brand_char_counts(path: Path) -> Counter[str]:
    counts: Counter[str] = Counter()
    with open(path, encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if row["position"] in BRAND_POSITIONS:
                counts[row["char"]] += int(row["count"])
    return counts


def _surname_weights() -> list[tuple[str, int]]:
    # Shares fall with rank roughly as a power law: 王 about 7.1 %, the top five about
    # 30.8 % and the top 100 about 85.9 % of the population (公安部 2019/2020 reports).
    # Weights are parts per 100,000; an approximation for simulation, not a statistic.
    out = []
    for rank, char in enumerate(SURNAMES, start=1):
        share = 0.071 * rank**-0.62 if rank > 1 else 0.071
        out.append((char, round(share * 100_000)))
    for name, ten_thousands in COMPOUND_SURNAMES:
        out.append((name, round(ten_thousands * 1e4 / 1.41e9 * 100_000)))
    return out


def build(shared: Path, out: Path) -> dict[str, int]:
    """Write every data file; returns row counts."""
    names_dir = shared / "company-names"
    short_forms = names_dir / "company_short_forms.txt"
    char_freq = names_dir / "company_name_char_freq.csv"
    listed = shared / "listed-companies" / "a_share_stock_basic.csv"
    counts = _brand_char_counts(char_freq)
    places = _region_words()
    listed_prefixes = _listed_prefixes(listed)
    words: dict[str, float] = {}
    for line in short_forms.read_text(encoding="utf-8").splitlines():
        w = line.strip()
        if len(w) not in (2, 3) or not CJK.match(w) or w in words:
            continue
        if w[-1] in SUFFIX_CHARS or FINANCE_CHARS & set(w) or any(f in w for f in FINANCE_WORDS):
            continue
        if GENERIC_CHARS & set(w) or w[:2] in listed_prefixes:
            continue
        if any(w[i : i + k] in places for k in (2, 3) for i in range(len(w) - k + 1)):
            continue
        if len(set(w)) < len(w):  # 乐乐, 多多多: nicknames more than firm names
            continue
        freq = [counts.get(c, 0) for c in w]
        if min(freq) == 0:
            continue
        words[w] = math.exp(sum(math.log(f) for f in freq) / len(freq))
    ranked = sorted(words.items(), key=lambda kv: (-kv[1], kv[0]))
    two = [kv for kv in ranked if len(kv[0]) == 2][:TWO_CHAR_KEEP]
    three = [kv for kv in ranked if len(kv[0]) == 3][:THREE_CHAR_KEEP]
    kept = sorted(two + three, key=lambda kv: (-kv[1], kv[0]))
    chars: Counter[str] = Counter()
    for w, _ in kept:
        for c in w:
            chars[c] = counts[c]
    top_chars = sorted(chars.items(), key=lambda kv: (-kv[1], kv[0]))[:CHAR_KEEP]

    out.mkdir(parents=True, exist_ok=True)
    _write(out / "brand_words.csv", ["word", "weight"], [(w, max(1, round(s))) for w, s in kept])
    _write(out / "brand_chars.csv", ["char", "weight"], top_chars)
    _write(out / "surnames.csv", ["surname", "weight"], _surname_weights())
    given = []
    for sex, text in GIVEN_CHARS.items():
        seen: set[str] = set()
        for rank, char in enumerate(text, start=1):
            if char not in seen:
                seen.add(char)
                given.append((char, sex, max(1, round(1000 / rank**0.8))))
    _write(out / "given_chars.csv", ["char", "sex", "weight"], given)
    variants = [
        ("traditional", a, b) for a, b in zip(TRADITIONAL[::2], TRADITIONAL[1::2], strict=True)
    ]
    variants += [
        ("look_alike", a, b) for a, b in zip(LOOK_ALIKE[::2], LOOK_ALIKE[1::2], strict=True)
    ]
    _write(out / "char_variants.csv", ["kind", "simplified", "variant"], variants)
    result = {
        "brand_words": len(kept),
        "brand_words_2": len(two),
        "brand_words_3": len(three),
        "brand_chars": len(top_chars),
        "surnames": len(SURNAMES) + len(COMPOUND_SURNAMES),
        "given_chars": len(given),
        "char_variants": len(variants),
        "candidates": len(words),
    }
    _provenance(out, result, {p.name: _sha256(p) for p in (short_forms, char_freq, listed)})
    return result


def _write(path: Path, header: list[str], rows: list[tuple[object, ...]]) -> None:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)


def _provenance(out: Path, n: dict[str, int], checksums: dict[str, str]) -> None:
    sums = "\n".join(f"| `{name}` | `{digest}` |" for name, digest in sorted(checksums.items()))
    text = f"""# Simulator name data — provenance

Generated by `scripts/build_name_data.py`; do not edit by hand. Re-run the script to rebuild.

## Brand words (`brand_words.csv`, `brand_chars.csv`)

Derived from `shared/data/company-names/` (GitHub `wainshine/Company-Names-Corpus`, commit
`b71e78e9a18f3fad335a45fb2a2d8a4c29e1184e`, licence Apache-2.0, by 萌名NameMoe):

* `company_short_forms.txt` (267,397 short names / brand words) → candidate brand words:
  2 or 3 CJK characters, no repeated character, not ending in an industry or shop character
  ({"".join(sorted(SUFFIX_CHARS))}), no character that in those positions mostly belongs to a
  place, industry or form word ({"".join(sorted(GENERIC_CHARS))}), no strong finance word
  ({", ".join(FINANCE_WORDS)}, or any of {"".join(sorted(FINANCE_CHARS))}), no
  province/city/county name or everyday short form from the division table (plus 中国,
  中华, 国际 …), and not starting with the first two characters of an A-share short name
  (`shared/data/listed-companies/`, tushare `stock_basic`), so that no simulated firm
  carries a listed company's brand.
  {n["candidates"]:,} candidates passed.
* `company_name_char_freq.csv` (character counts by position over ~4.8M real company
  names) → each word's weight is the geometric mean of its characters' counts in the brand
  positions ({", ".join(BRAND_POSITIONS)}), so common brand characters (华, 鑫, 达 …) come
  up as often as they do in real names.

Kept: the {n["brand_words_2"]:,} heaviest 2-character and {n["brand_words_3"]:,} heaviest
3-character words ({n["brand_words"]:,} rows), and the {n["brand_chars"]:,} most frequent of
their characters with their brand-position counts (`brand_chars.csv`), used to compose
further brand words when a large jurisdiction runs out of unique names.

## Person names (`surnames.csv`, `given_chars.csv`)

Compiled in the script, not copied from a dataset:

* surnames: the order of the 2019 百家姓 ranking by registered population published by the
  Ministry of Public Security's household-registration research centre
  (公安部户政管理研究中心《二〇一九年全国姓名报告》, as reported by 中新社 2020-01-20), a
  few more common surnames after it, and five compound surnames with the 2020 report's
  counts (欧阳 1,112,000 …). Weights (parts per 100,000) follow a power law fitted by hand to
  the published shares (王 about 7.1 %, top five about 30.8 %, top hundred about 85.9 %);
  they are an approximation for simulation, not statistics.
* given-name characters: common characters by sex (M, F, or U for either), weighted by rank
  (`1000 / rank^0.8`); the list and its order are general knowledge, not a measured
  frequency table.

## Character variants (`char_variants.csv`)

Compiled in the script: {n["char_variants"]} rows of `traditional` (simplified → traditional
form of characters common in names, for sources that write names in traditional script)
and `look_alike` (homophones and look-alikes such as 汇/惠, 盈/赢 that appear as typos).

## Input checksums (sha256)

| file | sha256 |
|---|---|
{sums}
"""
    (out / "PROVENANCE.md").write_text(text, encoding="utf-8")


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--out", type=Path, default=ROOT / "src" / "fengyan" / "simulate" / "data")
    args = parser.parse_args()
    print(build(args.shared, args.out))


if __name__ == "__main__":
    main()
