"""The one jurisdiction filter (fengyan.web.scope): prefix per level, siblings denied → 404."""

from __future__ import annotations

import duckdb
import pyarrow as pa
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from fengyan.db.published import FirmScore
from fengyan.standards.regions import UnknownRegionError
from fengyan.web.errors import BadRequest, NotFound
from fengyan.web.scope import (
    Principal,
    check_object,
    duckdb_condition,
    filter_arrow,
    in_scope,
    narrow,
    scope_code,
    scoped,
)
from fengyan.workspace import Workspace
from tests.web.conftest import HOME, LEVELS, OBJECT_REGIONS, SIBLING, firm_id_for, seed_published

A, B, C, D, E, F = OBJECT_REGIONS  # home community, then the one in each sibling branch
# Which seeded objects each scope sees, written out by hand.
VISIBLE = {
    HOME["province"]: {A, B, C, D, E},
    HOME["city"]: {A, B, C, D},
    HOME["district"]: {A, B, C},
    HOME["street"]: {A, B},
    HOME["community"]: {A},
    SIBLING["province"]: {F},
    SIBLING["city"]: {E},
    SIBLING["district"]: {D},
    SIBLING["street"]: {C},
    SIBLING["community"]: {B},
}


def who(scope: str, role: str = "analyst") -> Principal:
    return Principal.for_role(f"u{scope}", role, scope, via="token")


def test_visible_sets_are_what_a_prefix_gives() -> None:
    # Guard the hand-written table against the fixture's region codes drifting.
    for scope, expected in VISIBLE.items():
        assert {code for code in OBJECT_REGIONS if code.startswith(scope)} == expected


@pytest.mark.parametrize("scope", list(VISIBLE))
def test_in_scope_and_check_object_per_level(scope: str) -> None:
    principal = who(scope)
    for code in OBJECT_REGIONS:
        assert in_scope(principal, code) is (code in VISIBLE[scope])
        if code in VISIBLE[scope]:
            check_object(principal, code)
        else:
            with pytest.raises(NotFound) as caught:
                check_object(principal, code)
            assert caught.value.status == 404


def test_a_sibling_district_is_denied_with_404_not_403() -> None:
    nanshan = who("440305")
    with pytest.raises(NotFound):
        check_object(nanshan, "440304001019")  # Futian
    with pytest.raises(NotFound):
        check_object(nanshan, "440300000000")  # the city itself is not inside the district
    assert in_scope(nanshan, "440305000000") and in_scope(nanshan, "440305")
    assert not in_scope(nanshan, "44030")
    assert not in_scope(nanshan, None) and not in_scope(nanshan, "")


def test_the_public_sees_nothing() -> None:
    anonymous = Principal.anonymous()
    assert not anonymous.authenticated and anonymous.scope == ""
    assert not any(in_scope(anonymous, code) for code in OBJECT_REGIONS)
    assert not anonymous.can("view_warnings")


@pytest.mark.parametrize(
    ("scope", "requested", "expected"),
    [
        ("440305", None, "440305"),
        ("440305", "", "440305"),
        ("440305", "440305001", "440305001"),  # inside: narrower
        ("440305", "440305001001", "440305001001"),
        ("440305", "4403", "440305"),  # containing: the user's own scope
        ("440305", "44", "440305"),
        ("440305", "440305000000", "440305"),  # 12-digit form of the same district
        ("4403", "440304", "440304"),
        ("44", "4401", "4401"),
    ],
)
def test_narrow_gives_the_prefix_to_query(scope: str, requested: str | None, expected: str) -> None:
    assert narrow(who(scope), requested) == expected


@pytest.mark.parametrize(
    ("scope", "requested"),
    [("440305", "440304"), ("440305", "4401"), ("440305001", "440305002"), ("44", "45"),
     ("440305001001", "440305001003")],
)  # fmt: skip
def test_narrow_to_a_disjoint_region_is_404(scope: str, requested: str) -> None:
    with pytest.raises(NotFound):
        narrow(who(scope), requested)


@pytest.mark.parametrize("bad", ["4403x5", "44030", "abc", "4403051234567", "' OR 1=1 --", "00"])
def test_narrow_rejects_malformed_codes(bad: str) -> None:
    with pytest.raises(BadRequest):
        narrow(who("4403"), bad)


def test_scope_code_takes_known_regions_only() -> None:
    assert scope_code("440305000000") == "440305"
    assert scope_code("4403") == "4403"
    assert scope_code(440305001) == "440305001"
    for bad in ("440399", "99", "4403051"):
        with pytest.raises(UnknownRegionError):
            scope_code(bad)


@pytest.fixture
def seeded(sqlite_workspace: Workspace) -> Workspace:
    seed_published(sqlite_workspace)
    return sqlite_workspace


def test_scoped_select_returns_exactly_the_jurisdiction(seeded: Workspace) -> None:
    with Session(seeded.engine) as db:
        for scope, expected in VISIBLE.items():
            query = scoped(select(FirmScore.firm_id), FirmScore.region_code, who(scope))
            assert set(db.scalars(query)) == {firm_id_for(c) for c in expected}, scope
        nothing = scoped(select(FirmScore.firm_id), FirmScore.region_code, Principal.anonymous())
        assert list(db.scalars(nothing)) == []


def test_scoped_select_binds_the_prefix_as_a_parameter() -> None:
    query = scoped(select(FirmScore.firm_id), FirmScore.region_code, who("440305"))
    sql = str(query.compile())
    assert "440305" not in sql
    params = query.compile().params
    assert set(params.values()) >= {"440305", "440305999999"}


def test_filter_arrow_keeps_the_jurisdiction() -> None:
    table = pa.table({"id": list(range(7)), "region_code": [*OBJECT_REGIONS, None]})
    for scope, expected in VISIBLE.items():
        kept = filter_arrow(table, "region_code", who(scope))
        assert set(kept.column("region_code").to_pylist()) == expected
    assert filter_arrow(table, "region_code", Principal.anonymous()).num_rows == 0


def test_duckdb_condition_filters_lake_queries() -> None:
    con = duckdb.connect()
    con.execute("CREATE TABLE firm AS SELECT * FROM (VALUES "
                + ", ".join(f"('{c}')" for c in OBJECT_REGIONS) + ") t(region_code)")  # fmt: skip
    for scope, expected in VISIBLE.items():
        condition, params = duckdb_condition("f.region_code", who(scope))
        rows = con.execute(f"SELECT region_code FROM firm f WHERE {condition}", params).fetchall()
        assert {r[0] for r in rows} == expected
    assert duckdb_condition("region_code", Principal.anonymous()) == ("FALSE", [])
    with pytest.raises(ValueError, match="not a column identifier"):
        duckdb_condition("region_code) OR (1=1", who("44"))


def test_principal_levels_and_permissions() -> None:
    assert [who(HOME[level]).level for level in LEVELS] == list(LEVELS)
    grid = who("440305001001", "grid_worker")
    assert grid.can("view_warnings") and not grid.can("export")
    assert not grid.can("view_personal_data") and grid.masking == "masked"
