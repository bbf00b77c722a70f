"""Hand-built registers: old keys (组织机构代码, 注册号) and the u scaling of the model."""

from __future__ import annotations

import duckdb
import pyarrow as pa
import pytest

from fengyan.resolve import scoring
from fengyan.resolve.config import load_settings
from fengyan.resolve.enterprises import link_enterprises
from fengyan.resolve.registry import load_mentions
from fengyan.standards import orgcode, regno, uscc


def _codes(body8: str) -> tuple[str, str]:
    org = body8 + orgcode.compute_check_char(body8)
    code17 = "91440300" + org
    return code17 + uscc.compute_check_char(code17), org


def _reg_no(body14: str) -> str:
    return body14 + regno.compute_check_digit(body14)


A_CODE, A_ORG = _codes("MA5D1234")
B_CODE, B_ORG = _codes("MA5D5678")
C_CODE, _ = _codes("MA5D9999")
B_REG = _reg_no("44030100012345")
SHARED_REG = _reg_no("44030100099999")


@pytest.fixture
def lake() -> duckdb.DuckDBPyConnection:
    """Three firms; C shares a 注册号 with A (a data error), so that number names no one."""
    con = duckdb.connect()
    firms = pa.table(
        {
            "_id": ["e1", "e2", "e3"],
            "credit_code": [A_CODE, B_CODE, C_CODE],
            "name": [
                "深圳市鹏润科技有限公司",
                "深圳市金保源投资有限公司",
                "深圳市华招餐饮有限公司",
            ],
            "former_names": pa.array([None, None, None], pa.list_(pa.string())),
            "org_code": [None, B_ORG, None],
            "reg_no": [SHARED_REG, B_REG, SHARED_REG],
            "region_code": ["440305007003", "440304001001", "440303002002"],
            "status": ["存续", "存续", "存续"],
        }
    )
    con.register("enterprise", firms)
    con.register("enterprise__versions", firms)
    complaints = pa.table(
        {
            "_id": ["c1", "c2", "c3", "c4", "c5"],
            "credit_code": [f"{A_ORG[:8]}-{A_ORG[8]}", B_REG, SHARED_REG, "12345", None],
            "enterprise_name": ["随便写的名字", "另一个名字", "第三个名字", "无效代码", "腾聚e贷"],
            "platform_name": [None, None, None, None, None],
            "region_code": ["440305007003"] * 5,
        }
    )
    con.register("complaint", complaints)
    return con


def test_codes_in_the_code_column_are_sorted_by_kind(lake: duckdb.DuckDBPyConnection) -> None:
    mentions = load_mentions(lake, load_settings().enterprise)
    kinds = dict(
        zip(mentions["record_key"].to_pylist(), mentions["old_kind"].to_pylist(), strict=True)
    )
    assert kinds == {
        "complaint/c1": "org_code",
        "complaint/c2": "reg_no",
        "complaint/c3": "reg_no",
        "complaint/c4": None,
        "complaint/c5": None,
    }
    assert mentions["code"].null_count == 5


def test_org_code_and_reg_no_link_when_they_name_one_firm(
    lake: duckdb.DuckDBPyConnection,
) -> None:
    result = link_enterprises(lake, load_settings().enterprise, {})
    links = {
        k: (c, m)
        for k, c, m in zip(
            result.links["record_key"].to_pylist(),
            result.links["canonical_id"].to_pylist(),
            result.links["method"].to_pylist(),
            strict=True,
        )
    }
    # The organisation code is read from inside the credit code of firm A.
    assert links["complaint/c1"] == ("ent:" + A_CODE, "org_code")
    assert links["complaint/c2"] == ("ent:" + B_CODE, "reg_no")
    # Two firms carry this number: it names neither, the record falls through.
    assert links["complaint/c3"][1] == "unregistered"
    assert links["complaint/c4"][1] == "unregistered"


def test_negative_decision_blocks_an_old_key(lake: duckdb.DuckDBPyConnection) -> None:
    judgements = {("complaint/c1", "ent:" + A_CODE): "negative"}
    result = link_enterprises(lake, load_settings().enterprise, judgements)
    methods = dict(
        zip(result.links["record_key"].to_pylist(), result.links["method"].to_pylist(), strict=True)
    )
    assert methods["complaint/c1"] != "org_code"


def test_scale_u_keeps_each_comparison_a_distribution() -> None:
    settings = load_settings().enterprise
    scaled = scoring.scale_u(settings.splink, ["name"], 0.01)
    for before, after in zip(settings.splink["comparisons"], scaled["comparisons"], strict=True):
        levels = [lv for lv in after["comparison_levels"] if not lv.get("is_null_level")]
        if before["output_column_name"] == "name":
            assert sum(lv["u_probability"] for lv in levels) == pytest.approx(1.0)
            first = before["comparison_levels"][1]["u_probability"]
            assert levels[0]["u_probability"] == pytest.approx(first * 0.01)
        else:
            assert after == before
