"""Regenerate the small bundled demo delivery under src/fengyan/samples/demo/.

Fictional firms (names invented here, codes computed with the real check algorithms) in
the formats agencies send: a GB18030 CSV with Chinese headers and a mapping file, JSON
Lines, and an Excel workbook. A few records are deliberately wrong so the demo shows the
quarantine. Run: python scripts/make_samples.py
"""

from __future__ import annotations

import json
from pathlib import Path

import xlsxwriter

from fengyan.standards import idcard, orgcode, uscc

OUT = Path(__file__).resolve().parents[1] / "src" / "fengyan" / "samples" / "demo"

# (brand, industry word, district code, district name, street, industry code, capital 万元, scope)
FIRMS = [
    (
        "鹏润",
        "财富管理",
        "440304",
        "福田区",
        "福田街道",
        "L7212",
        5000,
        "投资咨询；财富管理咨询；企业管理咨询",
    ),
    ("前程", "科技", "440305", "南山区", "粤海街道", "I6510", 1000, "软件开发；信息技术咨询服务"),
    (
        "海盈",
        "投资咨询",
        "440304",
        "福田区",
        "莲花街道",
        "L7212",
        10000,
        "投资咨询；受托资产管理（不得从事证券、期货、保险业务）",
    ),
    ("华信", "供应链管理", "440306", "宝安区", "新安街道", "L7219", 2000, "供应链管理；国内贸易"),
    (
        "康寿",
        "养老服务",
        "440307",
        "龙岗区",
        "布吉街道",
        "Q8514",
        300,
        "养老服务；健康管理咨询；保健食品销售",
    ),
    (
        "链通",
        "区块链科技",
        "440305",
        "南山区",
        "招商街道",
        "I6513",
        500,
        "区块链技术开发；数字藏品技术服务",
    ),
    (
        "金穗",
        "小额贷款",
        "440303",
        "罗湖区",
        "桂园街道",
        "J6637",
        30000,
        "专营小额贷款业务（持牌）",
    ),
    ("安邦", "融资担保", "440304", "福田区", "华富街道", "J6931", 20000, "融资担保业务（持牌）"),
    (
        "绿源",
        "农业科技",
        "440309",
        "龙华区",
        "民治街道",
        "A0190",
        800,
        "农业技术开发；农产品销售；联合种植项目推广",
    ),
    (
        "万家",
        "商贸",
        "440310",
        "坪山区",
        "坪山街道",
        "F5299",
        100,
        "日用百货销售；消费返利平台运营",
    ),
    ("星河", "电子商务", "440311", "光明区", "光明街道", "I6432", 200, "电子商务；网络技术服务"),
    ("宏远", "建筑工程", "440308", "盐田区", "沙头角街道", "E4813", 5000, "建筑工程施工；市政工程"),
]


def credit_code(i: int, district: str) -> str:
    org = f"MA5G{i:04d}"
    body = f"91{district}{org}{orgcode.compute_check_char(org)}"
    return body + uscc.compute_check_char(body)


def id_number(i: int) -> str:
    body = f"44030{i % 10}19{70 + i % 25:02d}0{1 + i % 9}1{i % 9}{100 + i:03d}"[:17]
    return body + idcard.compute_check_char(body)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    header = [
        "序号",
        "统一社会信用代码",
        "企业名称",
        "法定代表人",
        "注册资本（万元）",
        "币种",
        "成立日期",
        "登记状态",
        "企业类型",
        "经营范围",
        "行业代码",
        "注册地址",
        "行政区划代码",
        "曾用名",
    ]
    rows = []
    reps = [
        "张伟",
        "王芳",
        "李强",
        "刘洋",
        "陈静",
        "杨磊",
        "黄敏",
        "赵军",
        "周杰",
        "吴婷",
        "欧阳明",
        "孙丽",
    ]
    for i, (brand, word, dcode, dname, street, ind, cap, scope) in enumerate(FIRMS):
        name = f"深圳市{brand}{word}有限公司"
        rows.append(
            [
                str(i + 1),
                credit_code(i, dcode),
                name,
                reps[i],
                str(cap),
                "人民币",
                f"20{15 + i % 9}年{1 + i % 12}月{1 + i}日",
                "存续",
                "有限责任公司",
                scope,
                ind,
                f"广东省深圳市{dname}{street}深南大道{100 + i}号{i + 3}楼",
                dcode,
                f"深圳{brand}投资有限公司" if i % 4 == 0 else "",
            ]
        )
    good = credit_code(0, "440304")
    rows.append(
        [
            "13",
            good[:-1] + ("A" if good[-1] != "A" else "B"),
            "深圳市错码科技有限公司",
            "马云飞",
            "100",
            "人民币",
            "2020-01-01",
            "存续",
            "有限责任公司",
            "软件开发",
            "I6510",
            "深圳市南山区科技园",
            "440305",
            "",
        ]
    )  # wrong check character
    rows.append(
        [
            "14",
            credit_code(20, "440305"),
            "深圳市未来实业有限公司",
            "林峰",
            "-50",
            "人民币",
            "2099-01-01",
            "存续",
            "有限责任公司",
            "实业投资",
            "L7212",
            "深圳市南山区",
            "440305",
            "",
        ]
    )
    # Passes the credit code's mod-31 check, but its embedded organisation code does not:
    # stored with a warning, as real data has such chance matches.
    org_bad = "MA5G0777"
    wrong_org = "0" if orgcode.compute_check_char(org_bad) != "0" else "1"
    chance = f"91440306{org_bad}{wrong_org}"
    rows.append(
        [
            "16",
            chance + uscc.compute_check_char(chance),
            "深圳市巧合贸易有限公司",
            "高远",
            "50",
            "人民币",
            "2021-05-05",
            "存续",
            "有限责任公司",
            "日用百货销售",
            "F5299",
            "广东省深圳市宝安区新安街道宝城大道8号",
            "440306",
            "",
        ]
    )
    rows.append(
        [
            "15",
            rows[1][1],
            rows[1][2],
            rows[1][3],
            "1000",
            "人民币",
            "2016年2月2日",
            "存续",
            "有限责任公司",
            "软件开发",
            "I6510",
            rows[1][11],
            "440305",
            "",
        ]
    )  # duplicate key
    with open(OUT / "registry_enterprises.csv", "w", encoding="gb18030", newline="") as fh:
        import csv

        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
        fh.write("17,91440300MA5G9999,深圳市残行有限公司\n")  # ragged row
    (OUT / "registry_enterprises.mapping.yaml").write_text(
        "# 市场监管局 registry export: Chinese headers → schema fields\n"
        "type: Enterprise\n"
        "columns:\n"
        "  统一社会信用代码: credit_code\n"
        "  企业名称: name\n"
        "  法定代表人: legal_representative\n"
        "  注册资本（万元）: {field: registered_capital, scale: 10000}\n"
        "  币种: capital_currency\n"
        "  成立日期: established\n"
        "  登记状态: status\n"
        "  企业类型: entity_form\n"
        "  经营范围: business_scope\n"
        "  行业代码: industry_code\n"
        "  注册地址: registered_address\n"
        "  行政区划代码: region_code\n"
        "  曾用名: {field: former_names, separator: '[;；]'}\n"
        "ignore: [序号]\n",
        encoding="utf-8",
    )
    with open(OUT / "persons.jsonl", "w", encoding="utf-8") as fh:
        for i, rep in enumerate(reps):
            rec = {
                "person_id": f"P{i + 1:04d}",
                "name": rep,
                "id_number": id_number(i),
                "phone": [f"1380013{8000 + i:04d}"],
                "nationality": "CN",
                "region_code": "440304",
            }
            fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
        fh.write(
            json.dumps(
                {"person_id": "P0099", "name": "错号", "id_number": "440304199001011234"},
                ensure_ascii=False,
            )
            + "\n"
        )
    book = xlsxwriter.Workbook(str(OUT / "shareholders.xlsx"))
    sheet = book.add_worksheet("股东")
    sheet.write_row(
        0,
        0,
        [
            "被投资企业统一社会信用代码",
            "股东标识",
            "股东类型",
            "股东名称",
            "持股比例",
            "认缴出资额",
        ],
    )
    r = 1
    for i in range(len(FIRMS)):
        target = credit_code(i, FIRMS[i][2])
        sheet.write_row(r, 0, [target, f"P{i + 1:04d}", "person", reps[i], 60, FIRMS[i][6] * 6000])
        r += 1
        if i > 0:
            owner = credit_code(i - 1, FIRMS[i - 1][2])
            sheet.write_row(
                r,
                0,
                [
                    target,
                    owner,
                    "enterprise",
                    f"深圳市{FIRMS[i - 1][0]}{FIRMS[i - 1][1]}有限公司",
                    40,
                    FIRMS[i][6] * 4000,
                ],
            )
            r += 1
    sheet.write_row(
        r, 0, [credit_code(2, "440304"), "P0003", "person", "李强", 140, 1000]
    )  # share > 100%
    book.close()
    articles = [
        (
            "A001",
            "深圳商报",
            "news",
            "2024-03-02 09:30",
            "鹏润财富管理理财产品宣称年化收益18%",
            "有投资者反映，深圳市鹏润财富管理有限公司推介的理财产品承诺年化收益18%，保本保息。",
        ),
        (
            "A002",
            "微博",
            "weibo",
            "2024-05-18 21:05",
            "",
            "海盈投资咨询提现困难，已经三个月没有到账了，有没有一起维权的？",
        ),
        (
            "A003",
            "深圳特区报",
            "news",
            "2024-04-11 10:00",
            "宏远建筑中标市政工程",
            "深圳市宏远建筑工程有限公司中标盐田区道路改造工程。",
        ),
    ]
    with open(OUT / "articles.jsonl", "w", encoding="utf-8") as fh:
        for aid, src, ch, ts, title, text in articles:
            fh.write(
                json.dumps(
                    {
                        "article_id": aid,
                        "source_name": src,
                        "channel": ch,
                        "published_at": ts,
                        "title": title,
                        "text": text,
                        "reach": 1200,
                    },
                    ensure_ascii=False,
                )
                + "\n"
            )
    (OUT / "manifest.yaml").write_text(
        "# Demo delivery: fictional firms in Shenzhen, with a few deliberately bad records.\n"
        "as_of: 2024-06-30\n"
        "files:\n"
        "  - path: registry_enterprises.csv\n"
        "    type: Enterprise\n"
        "    source: 市场监管局\n"
        "    mapping: registry_enterprises.mapping.yaml\n"
        "  - path: persons.jsonl\n"
        "    type: Person\n"
        "    source: 市场监管局\n"
        "  - path: shareholders.xlsx\n"
        "    type: Shareholding\n"
        "    source: 市场监管局\n"
        "  - path: articles.jsonl\n"
        "    type: Article\n"
        "    source: 舆情监测\n",
        encoding="utf-8",
    )


if __name__ == "__main__":
    main()
