"""A hand-built four-firm lake (as of 2024-06-30) and the fixture specs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest

from fengyan.indicators.load import SpecSet, load_specs
from fengyan.workspace import Workspace
from tests.indicators.lakebuilder import LakeBuilder, day

FIXTURES = Path(__file__).parent / "fixtures"

# Credit codes (only their shape matters here: the lake is written directly).
CA, CB, CC = "91440300000000001A", "91440300000000002B", "91440300000000003C"
A, B, C, D = f"ent:{CA}", f"ent:{CB}", f"ent:{CC}", "ent:~d0d0"


@dataclass
class TinyCity:
    """The workspace and the builder that wrote it."""

    ws: Workspace
    build: LakeBuilder

    def key(self, table: str, record: str) -> str:
        """The evidence key of a record."""
        return f"{table}/{self.build.record_id(table, record)}"


@pytest.fixture(scope="session")
def fixture_specs() -> SpecSet:
    """The test specs under tests/indicators/fixtures."""
    return load_specs(FIXTURES)


def complaint(cid: str, received: str, **kw: object) -> dict[str, object]:
    """A complaint row known from its reception time (as the schema's known_from says)."""
    at = datetime.fromisoformat(received).replace(tzinfo=day(received[:10]).tzinfo)
    return {"complaint_id": cid, "channel": "12345热线", "received_at": at, "_valid_from": at, **kw}


def add_late_complaint(tiny: TinyCity) -> None:
    """A complaint about firm C received on 2024-07-20 (after the usual as-of dates)."""
    tiny.build.put(
        "complaint",
        [
            complaint(
                "c8",
                "2024-07-20T09:00:00",
                credit_code=CC,
                amount=3e5,
                category="非法集资",
                complainant_id_hash="h6",
            )
        ],
        day("2024-07-20"),
        key="complaint_id",
    )


def add_late_b_version(tiny: TinyCity) -> None:
    """A new version of firm B's register record, delivered on 2024-07-10."""
    tiny.build.put(
        "enterprise",
        [
            {
                "credit_code": CB,
                "name": "深圳乙财富管理有限公司",
                "registered_capital": 2e7,
                "established": day("2022-06-30").date(),
            }
        ],
        day("2024-07-10"),
        key="credit_code",
    )


def build_tiny_city(ws: Workspace) -> TinyCity:
    """Firms A, B, C (registered) and D (known only from a complaint), as of 2024-06-30."""
    b = LakeBuilder(ws.lake)
    b.put(
        "enterprise",
        [
            {
                "credit_code": CA,
                "name": "深圳甲金融服务有限公司",
                "registered_capital": 1e6,
                "established": day("2024-01-01").date(),
            },
            {
                "credit_code": CB,
                "name": "深圳乙科技有限公司",
                "registered_capital": 5e6,
                "established": day("2022-06-30").date(),
            },
            {
                "credit_code": CC,
                "name": "深圳丙理财咨询有限公司",
                "registered_capital": 1e6,
                "established": day("2023-06-30").date(),
            },
        ],
        day("2024-01-02"),
        key="credit_code",
    )
    b.put(
        "complaint",
        [
            complaint(
                "c1",
                "2024-06-01T10:00:00",
                credit_code=CA,
                amount=50_000.0,
                category="非法集资",
                complainant_id_hash="h1",
            ),
            complaint(
                "c2",
                "2024-05-15T10:00:00",
                enterprise_name="甲金融",
                amount=200_000.0,
                category="非法集资",
                complainant_id_hash="h2",
            ),
            complaint(
                "c3",
                "2024-01-10T10:00:00",
                credit_code=CA,
                amount=10.0,
                category="其他",
                complainant_id_hash="h1",
            ),
            # Dated after the as-of date although delivered before: the event cut drops it.
            complaint(
                "c4",
                "2024-07-02T10:00:00",
                credit_code=CA,
                amount=9e9,
                category="非法集资",
                complainant_id_hash="h9",
            )
            | {"_valid_from": day("2024-06-20")},
            complaint(
                "c6",
                "2024-06-20T10:00:00",
                enterprise_name="丁财富",
                category="非法集资",
                complainant_id_hash="h3",
            ),
            complaint(
                "c7",
                "2024-06-29T23:30:00",
                credit_code=CC,
                amount=1000.0,
                category="其他",
                complainant_id_hash="h4",
            ),
        ],
        day("2024-01-01"),
        key="complaint_id",
    )
    b.resolved(
        [
            {
                "canonical_id": A,
                "kind": "registered",
                "name": "深圳甲金融服务有限公司",
                "credit_code": CA,
                "region_code": "440304",
            },
            {
                "canonical_id": B,
                "kind": "registered",
                "name": "深圳乙科技有限公司",
                "credit_code": CB,
                "region_code": "440305",
            },
            {
                "canonical_id": C,
                "kind": "registered",
                "name": "深圳丙理财咨询有限公司",
                "credit_code": CC,
                "region_code": "440305",
            },
            {"canonical_id": D, "kind": "unregistered", "name": "丁财富"},
        ],
        [
            {"key_kind": "credit_code", "key": CA, "canonical_id": A, "method": "credit_code"},
            {"key_kind": "credit_code", "key": CB, "canonical_id": B, "method": "credit_code"},
            {"key_kind": "credit_code", "key": CC, "canonical_id": C, "method": "credit_code"},
            {
                "key_kind": "record",
                "key": f"complaint/{b.record_id('complaint', 'c2')}",
                "canonical_id": A,
                "method": "name",
            },
            {
                "key_kind": "record",
                "key": f"complaint/{b.record_id('complaint', 'c6')}",
                "canonical_id": D,
                "method": "unregistered",
            },
        ],
    )
    b.derived(
        "text",
        "text_promise",
        [
            {
                "doc_key": "advertisement/a1",
                "firm_id": A,
                "kind": "yield",
                "annual_rate": 0.18,
                "published_at": datetime(2024, 6, 1, 8),
            },
            {
                "doc_key": "advertisement/a2",
                "firm_id": A,
                "kind": "principal",
                "annual_rate": 0.50,
                "published_at": datetime(2024, 6, 2, 8),
            },
            {
                "doc_key": "article/x9",
                "firm_id": C,
                "kind": "yield",
                "annual_rate": 0.30,
                "published_at": datetime(2024, 7, 15, 8),
            },
        ],
    )
    return TinyCity(ws, b)


@pytest.fixture
def tiny(sqlite_workspace: Workspace) -> TinyCity:
    """The tiny city in a fresh workspace."""
    return build_tiny_city(sqlite_workspace)
