"""Which agency sends which record type, in which format, under which headers.

| folder | agency | types | format |
|---|---|---|---|
| registry/ | 市场监管局 | Enterprise, Officer, Shareholding, Branch | GB18030 CSV + mapping |
| registry/ | 市场监管局 | Person, PhoneContact | JSON Lines |
| finance/ | 地方金融管理局 | Licence | Excel |
| finance/ | 地方金融管理局 | RegulatoryFiling | JSON Lines |
| tax/ | 税务局 | TaxRecord | GB18030 CSV, schema labels as headers |
| hrss/ | 人力资源和社会保障局 | SocialSecurityRecord | UTF-8 CSV, field-name headers |
| bank/ | 人民银行 | FundFlowSummary | UTF-8 CSV |
| court/ | 人民法院 | Judgment, Enforcement, DishonestDebtor | JSON Lines |
| hotline/ | 12345热线/信访 | Complaint | GB18030 CSV + mapping |
| media/ | 舆情监测 | Article | JSON Lines |
| ads/ | 广告监测 | Advertisement | JSON Lines |
| jobs/ | 招聘平台 | RecruitmentPost | JSON Lines |
| web/ | 网络安全监测 | WebPresence | JSON Lines |
"""

from __future__ import annotations

from fengyan.schema import Schema
from fengyan.simulate.writers import FileSpec

REGISTRY = "市场监管局"
_STATUS = {
    "存续": "存续（在营、开业、在册）",
    "在业": "在业",
    "吊销": "吊销，未注销",
    "注销": "注销",
    "迁出": "迁出",
    "停业": "停业",
    "清算": "清算",
    "撤销": "撤销",
}
_KIND = {"person": "自然人", "enterprise": "企业法人"}
_ENTERPRISE_HEADERS = {
    "credit_code": "统一社会信用代码",
    "name": "企业名称",
    "former_names": "曾用名",
    "legal_representative": "法定代表人",
    "registered_capital": "注册资本（万元）",
    "capital_currency": "币种",
    "paid_in_capital": "实缴资本（万元）",
    "established": "成立日期",
    "status": "登记状态",
    "status_date": "状态变更日期",
    "entity_form": "企业类型",
    "business_scope": "经营范围",
    "industry_code": "国民经济行业代码",
    "registered_address": "住所",
    "region_code": "住所所在行政区划",
    "operating_address": "经营场所",
    "operating_region_code": "经营场所行政区划",
    "registration_authority": "登记机关",
    "approved": "核准日期",
}
_OFFICER_HEADERS = {
    "credit_code": "统一社会信用代码",
    "officer_id": "人员编号",
    "officer_kind": "人员类型",
    "officer_name": "姓名",
    "role": "职务类别",
    "role_text": "职务",
    "start_date": "任职日期",
    "end_date": "离任日期",
}
_HOLDING_HEADERS = {
    "asset_credit_code": "企业统一社会信用代码",
    "owner_id": "股东编号",
    "owner_kind": "股东类型",
    "owner_name": "股东名称",
    "share_percent": "持股比例（%）",
    "subscribed_amount": "认缴出资额（万元）",
    "paid_amount": "实缴出资额（万元）",
    "start_date": "认缴出资日期",
    "end_date": "退出日期",
}
_BRANCH_HEADERS = {
    "parent_credit_code": "隶属企业统一社会信用代码",
    "branch_credit_code": "分支机构统一社会信用代码",
    "branch_name": "分支机构名称",
    "address": "营业场所",
    "region_code": "营业场所行政区划",
    "established": "成立日期",
    "status": "登记状态",
}
_COMPLAINT_HEADERS = {
    "complaint_id": "工单编号",
    "complaint_type": "诉求类型",
    "channel": "来源渠道",
    "received_at": "受理时间",
    "credit_code": "被反映企业统一社会信用代码",
    "enterprise_name": "被反映对象",
    "platform_name": "涉及平台",
    "complainant_id": "诉求人编号",
    "anonymous": "是否匿名",
    "category": "问题分类",
    "amount": "涉及金额（元）",
    "people_count": "涉及人数",
    "title": "标题",
    "text": "诉求内容",
    "region_code": "属地行政区划",
}


def registry_spec(kind: str, label: str, as_of: str, schema: Schema) -> FileSpec:
    """Registry delivery ``label`` of record type ``kind``."""
    if kind == "Enterprise":
        return FileSpec(
            f"registry/enterprise_{label}.csv",
            kind,
            REGISTRY,
            "csv",
            "gb18030",
            _ENTERPRISE_HEADERS,
            {"registered_capital": 1e4, "paid_in_capital": 1e4},
            {"status": _STATUS},
            "cn",
            "序号",
            "registry/enterprise.mapping.yaml",
            as_of,
        )
    if kind == "Officer":
        return FileSpec(
            f"registry/officer_{label}.csv",
            kind,
            REGISTRY,
            "csv",
            "gb18030",
            _OFFICER_HEADERS,
            values={"officer_kind": _KIND},
            mapping="registry/officer.mapping.yaml",
            as_of=as_of,
        )
    if kind == "Shareholding":
        return FileSpec(
            f"registry/shareholder_{label}.csv",
            kind,
            REGISTRY,
            "csv",
            "gb18030",
            _HOLDING_HEADERS,
            {"subscribed_amount": 1e4, "paid_amount": 1e4},
            {"owner_kind": _KIND},
            mapping="registry/shareholder.mapping.yaml",
            as_of=as_of,
        )
    if kind == "Branch":
        return FileSpec(
            f"registry/branch_{label}.csv",
            kind,
            REGISTRY,
            "csv",
            "gb18030",
            _BRANCH_HEADERS,
            {},
            {"status": _STATUS},
            "cn",
            mapping="registry/branch.mapping.yaml",
            as_of=as_of,
        )
    if kind == "Person":
        return FileSpec(f"registry/person_{label}.jsonl", kind, REGISTRY, as_of=as_of)
    if kind == "PhoneContact":
        return FileSpec(f"registry/phone_{label}.jsonl", kind, REGISTRY, as_of=as_of)
    if kind == "Licence":
        labels = {n: f.label.zh for n, f in schema.get(kind).fields.items()}
        return FileSpec(
            f"finance/licence_{label}.xlsx",
            kind,
            "地方金融管理局",
            "xlsx",
            headers=labels,
            as_of=as_of,
        )
    if kind == "WebPresence":
        return FileSpec(f"web/web_presence_{label}.jsonl", kind, "网络安全监测", as_of=as_of)
    raise KeyError(kind)


def periodic_spec(kind: str, label: str, as_of: str, schema: Schema) -> FileSpec:
    """Monthly/quarterly records of one delivery."""
    if kind == "TaxRecord":
        labels = {n: f.label.zh for n, f in schema.get(kind).fields.items()}
        return FileSpec(
            f"tax/tax_{label}.csv", kind, "税务局", "csv", "gb18030", labels, as_of=as_of
        )
    if kind == "SocialSecurityRecord":
        return FileSpec(
            f"hrss/social_security_{label}.csv", kind, "人力资源和社会保障局", "csv", as_of=as_of
        )
    if kind == "FundFlowSummary":
        return FileSpec(f"bank/fund_flow_{label}.csv", kind, "人民银行", "csv", as_of=as_of)
    raise KeyError(kind)


EVENT_FILES = {
    "RegulatoryFiling": ("finance/regulatory_filings.jsonl", "地方金融管理局"),
    "Judgment": ("court/judgments.jsonl", "人民法院"),
    "Enforcement": ("court/enforcement.jsonl", "人民法院"),
    "DishonestDebtor": ("court/dishonest_debtors.jsonl", "人民法院"),
    "Complaint": ("hotline/complaints.csv", "12345热线"),
    "Article": ("media/articles.jsonl", "舆情监测"),
    "Advertisement": ("ads/advertisements.jsonl", "广告监测"),
    "RecruitmentPost": ("jobs/recruitment_posts.jsonl", "招聘平台"),
}


def event_spec(kind: str, as_of: str) -> FileSpec:
    """The single file of an event type (records carry their own dates)."""
    path, source = EVENT_FILES[kind]
    if kind == "Complaint":
        return FileSpec(
            path,
            kind,
            source,
            "csv",
            "gb18030",
            _COMPLAINT_HEADERS,
            mapping="hotline/complaints.mapping.yaml",
            as_of=as_of,
        )
    return FileSpec(path, kind, source, as_of=as_of)
