"""Workflow fixtures: a published run with red warnings, principals at five levels."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, insert
from sqlalchemy.orm import Session

from fengyan.db.published import FirmScore, GradeWarning, ScoreRun
from fengyan.db.users import WebUser
from fengyan.web.scope import Principal
from fengyan.workflow import AttachmentStore, LeadKeys
from fengyan.workspace import Workspace

CITY = "4403"
DISTRICT = "440305"  # 南山区
OTHER_DISTRICT = "440304"  # 福田区
STREET = "440305001"
OTHER_STREET = "440305002"
COMMUNITY = "440305001001"
AS_OF = datetime(2026, 6, 30, tzinfo=UTC)

# A tiny jpeg header is enough: the type is read from the first bytes.
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 64
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\n%%EOF\n"

# firm id, name, region, category, grade, change, score, model
FIRMS = [
    (
        "ent:a",
        "前海鑫盛财富管理有限公司",
        "440305001001",
        "wealth_management",
        "red",
        "new",
        91.0,
        "dolphin-v1",
    ),
    (
        "ent:a",
        "前海鑫盛财富管理有限公司",
        "440305001001",
        "wealth_management",
        "red",
        "new",
        88.0,
        "eagle-v1",
    ),
    (
        "ent:b",
        "深圳市聚宝盆网络借贷有限公司",
        "440305002003",
        "p2p",
        "red",
        "escalated",
        85.0,
        "dolphin-v1",
    ),
    ("ent:c", "福田金鼎黄金交易中心", "440304010002", "gold", "red", "new", 83.0, "dolphin-v1"),
    (
        "ent:d",
        "南山养老服务有限公司",
        "440305001002",
        "pension",
        "orange",
        "new",
        72.0,
        "dolphin-v1",
    ),
    ("ent:e", "无地址投资公司", None, "crypto", "red", "new", 90.0, "dolphin-v1"),
]


def person(name: str, role: str, scope: str) -> Principal:
    """A signed-in user with the policy's permissions for ``role``."""
    return Principal.for_role(name, role, scope)


@pytest.fixture
def engine(workspace: Workspace) -> Iterator[Engine]:
    """The migrated engine (SQLite and PostgreSQL)."""
    yield workspace.engine


def publish(engine: Engine) -> int:
    """A published run: scores and grade changes of FIRMS; returns the run id."""
    with Session(engine) as s, s.begin():
        run_id = s.execute(
            insert(ScoreRun)
            .values(
                as_of=AS_OF,
                models='["dolphin-v1","eagle-v1"]',
                started_at=AS_OF,
                finished_at=AS_OF,
                firms=len(FIRMS),
                counts="{}",
                fengyan_version="test",
            )
            .returning(ScoreRun.id)
        ).scalar_one()
        for firm, name, region, cat, grade, change, score, model in FIRMS:
            top = [
                {
                    "indicator_id": "BIZ_PROMISED_YIELD",
                    "contribution": 20.5,
                    "evidence": [f"ad/{firm}-1", f"ad/{firm}-2"],
                },
                {
                    "indicator_id": "CPL_COUNT",
                    "contribution": 10.0,
                    "evidence": [f"complaint/{firm}-9"],
                },
            ]
            s.add(
                FirmScore(
                    model=model,
                    firm_id=firm,
                    run_id=run_id,
                    score=score,
                    raw_score=score,
                    grade=grade,
                    previous_grade="none",
                    change=change,
                    coverage=0.9,
                    dimensions=json.dumps({"compliance": 0.8}),
                    top=json.dumps(top),
                    rules="[]",
                    name=name,
                    credit_code=None,
                    region_code=region,
                    category=cat,
                    finance_like=True,
                )
            )
            s.add(
                GradeWarning(
                    run_id=run_id,
                    model=model,
                    firm_id=firm,
                    change=change,
                    grade=grade,
                    previous_grade="none",
                    score=score,
                    previous_score=None,
                    region_code=region,
                    created_at=AS_OF,
                )
            )
        for name, role, scope in [
            ("gw.zhang", "grid_worker", COMMUNITY),
            ("gw.other", "grid_worker", "440305001002"),
        ]:
            s.add(
                WebUser(
                    username=name,
                    display_name=name,
                    role=role,
                    scope=scope,
                    failed_attempts=0,
                    active=True,
                    created_at=AS_OF,
                    updated_at=AS_OF,
                )
            )
    return int(run_id)


@pytest.fixture
def run_id(engine: Engine) -> int:
    """A published run in the database."""
    return publish(engine)


@pytest.fixture
def store(tmp_path: Path) -> AttachmentStore:
    """An attachment store in a temporary folder."""
    return AttachmentStore(tmp_path / "attachments")


@pytest.fixture
def keys(tmp_path: Path) -> LeadKeys:
    """A lead signing key and trusted keyring in a temporary folder."""
    return LeadKeys(tmp_path / "leads" / "signing.key", tmp_path / "leads" / "trusted", "shenzhen")


CITY_ANALYST = person("city.li", "analyst", CITY)
DISTRICT_ANALYST = person("nanshan.wang", "analyst", DISTRICT)
OTHER_DISTRICT_ANALYST = person("futian.chen", "analyst", OTHER_DISTRICT)
STREET_INVESTIGATOR = person("nantou.zhao", "investigator", STREET)
OTHER_STREET_INVESTIGATOR = person("street2.sun", "investigator", OTHER_STREET)
GRID_WORKER = person("gw.zhang", "grid_worker", COMMUNITY)
OTHER_GRID_WORKER = person("gw.other", "grid_worker", "440305001002")
AUDITOR = person("audit.qian", "auditor", CITY)
