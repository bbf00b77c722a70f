"""The generative model in memory: places, codes, prevalence, people, ownership, life cycles."""

from __future__ import annotations

import numpy as np
import pytest

from fengyan.simulate.params import Params
from fengyan.simulate.service import build_world
from fengyan.simulate.world import World
from fengyan.standards import idcard, orgcode, uscc
from fengyan.standards.address import parse_address
from fengyan.standards.regions import region_table


@pytest.fixture(scope="module")
def world(small_params: Params) -> World:
    return build_world(small_params, seed=11)


def _code12(text: str) -> str | None:
    match = parse_address(text, default_city="4403")
    return None if match is None else match.code.ljust(12, "0")


def test_registered_addresses_parse_back_to_their_region_codes(world: World) -> None:
    f = world.firms
    rng = np.random.default_rng(0)
    for i in rng.choice(len(f), size=300, replace=False).tolist():
        assert _code12(str(f.address[i])) == f.region_code[i], f.address[i]
    for i in np.flatnonzero(f.address_month < world.cal.months)[:300].tolist():  # moves
        assert _code12(str(f.address_after[i])) == f.region_after[i], f.address_after[i]
    b = world.branches
    for i in range(min(len(b), 100)):
        assert _code12(str(b.address[i])) == b.region_code[i]
    p = world.persons
    for i in range(100):
        assert _code12(str(p.address[i])) == p.region_code[i]


def test_places_are_real_communities_of_the_city(world: World) -> None:
    table = region_table()
    for code in world.city.place_code[:200].tolist():
        region = table.get(code)
        assert region is not None and region.level == 5 and code.startswith("4403")
    assert len(world.city.district_names) == 9  # Shenzhen's districts in the NBS 2023 table


def test_credit_codes_and_id_numbers_are_valid_and_unique(world: World) -> None:
    codes = world.firms.credit_code.tolist() + world.branches.credit_code.tolist()
    assert len(set(codes)) == len(codes)
    assert uscc.valid_mask(np.array(codes, dtype=object)).all()
    for code in codes[:500]:
        assert uscc.is_valid(code) and orgcode.is_valid(code[8:17])
    ids = world.persons.id_number.tolist()
    assert len(set(ids)) == len(ids)
    assert idcard.valid_mask(np.array(ids, dtype=object)).all()
    dup, _, written = world.dups
    for number, person in zip(written.tolist(), dup.tolist(), strict=True):
        assert idcard.normalize(number) == world.persons.id_number[person]


def test_scheme_and_finance_like_shares_are_within_the_parameters(world: World) -> None:
    f = world.firms
    n = len(f)
    share = float((f.scheme >= 0).mean())
    assert share == pytest.approx(world.params.schemes.firm_share, abs=1 / n)
    assert 0.005 <= share <= 0.01
    finance = float((f.finance_like | (f.licence != "")).mean())
    assert 0.05 <= finance <= 0.10
    assert (f.licence != "").sum() > 0
    roles = set(f.role.tolist())
    assert {"normal", "finance_like", "licensed", "scheme_core", "scheme_shell"} <= roles
    assert "negative_similar_name" in roles


def test_nothing_is_founded_after_the_window(world: World) -> None:
    end = world.cal.end
    assert (world.firms.established <= end).all()
    assert (world.branches.established <= end).all()
    assert (world.posts.start <= end).all() and (world.holdings.start <= end).all()


def test_firm_names_are_unique_and_look_like_firm_names(world: World) -> None:
    names = world.firms.name.tolist()
    assert len(set(names)) == len(names)
    endings = ("有限公司", "合伙企业（有限合伙）", "商行", "店", "经营部", "工作室", "家政服务部")
    assert all(name.endswith(endings) for name in names)
    assert all(name.startswith("深圳") or "（深圳）" in name for name in names)


def test_schemes_run_their_life_cycle_in_order(world: World) -> None:
    assert world.schemes
    for s in world.schemes:
        assert s.setup < s.launch < s.expansion < s.stress < s.collapse <= s.police <= s.judgment
        assert s.collapse >= 1
        assert s.raised > 0 and 0 <= s.lost <= s.raised
        assert s.new_victims.sum() == s.victims
        peak = s.series(s.stress - 1)[0]
        assert peak >= s.series(s.launch)[0]
        f = world.firms
        assert f.role[s.core] == "scheme_core" and f.scheme[s.core] == s.id
        assert all(f.legal_rep[i] == s.nominees[0] for i in s.shells)


def test_controllers_follow_chains_and_see_through_nominees(world: World) -> None:
    for s in world.schemes:
        assert world.controller[s.core] == s.controller
        assert world.via[s.core] == "nominee"
        assert world.firms.legal_rep[s.core] != s.controller
    via = set(world.via.tolist())
    assert {"direct", "chain", "nominee"} <= via
    h = world.holdings
    totals = np.bincount(h.asset, weights=h.share, minlength=len(world.firms))
    owned = np.unique(h.asset)
    assert np.allclose(totals[owned], 100, atol=0.05)
    assert h.owner_is_firm.any()
