"""Ownership graphs with known answers: integrated shares, paths, control (golden cases)."""

from __future__ import annotations

import pyarrow as pa
import pytest

from fengyan.graph.config import OwnershipSettings, load_settings
from fengyan.graph.ownership import Controllers, controllers

SETTINGS = load_settings().ownership
Edge = tuple[str, str, float]


def run(
    edges: list[Edge],
    officers: list[tuple[str, str, str]] = (),  # type: ignore[assignment]
    settings: OwnershipSettings = SETTINGS,
) -> Controllers:
    holdings = pa.table(
        {
            "owner": [e[0] for e in edges],
            "asset": [e[1] for e in edges],
            "share": [float(e[2]) for e in edges],
        }
    )
    schema = pa.schema([("person", pa.string()), ("firm", pa.string()), ("role", pa.string())])
    table = pa.table(
        {
            "person": [o[0] for o in officers],
            "firm": [o[1] for o in officers],
            "role": [o[2] for o in officers],
        },
        schema=schema,
    )
    return controllers(holdings, table, settings)


def shares(c: Controllers) -> dict[tuple[str, str], float]:
    return {(r["firm_id"], r["holder_id"]): r["share"] for r in c.holdings.to_pylist()}


def control(c: Controllers) -> dict[str, tuple[str, str, list[str]]]:
    return {
        r["firm_id"]: (r["controller_id"], r["basis"], r["path"]) for r in c.control.to_pylist()
    }


def test_majority_chain_through_two_layers() -> None:
    c = run([("per:P", "ent:A", 0.6), ("per:R", "ent:A", 0.4), ("ent:A", "ent:B", 0.8),
             ("per:Q", "ent:B", 0.2)])  # fmt: skip
    s = shares(c)
    assert s[("ent:B", "per:P")] == pytest.approx(0.48)
    assert s[("ent:B", "per:R")] == pytest.approx(0.32)
    assert s[("ent:B", "per:Q")] == pytest.approx(0.2)
    assert control(c)["ent:B"] == ("per:P", "majority_chain", ["per:P", "ent:A", "ent:B"])
    best = {r["holder_id"]: r["path"] for r in c.holdings.to_pylist() if r["firm_id"] == "ent:B"}
    assert best["per:R"] == ["per:R", "ent:A", "ent:B"]


def test_cross_holding_cycle_has_the_closed_form_answer() -> None:
    # A = 0.8 P + 0.2 B; B = 0.7 Q + 0.3 A  →  T(P, A) = 0.8 / (1 − 0.2·0.3) …
    c = run([("ent:A", "ent:B", 0.3), ("ent:B", "ent:A", 0.2), ("per:P", "ent:A", 0.8),
             ("per:Q", "ent:B", 0.7)])  # fmt: skip
    s = shares(c)
    k = 1 / (1 - 0.2 * 0.3)
    assert s[("ent:A", "per:P")] == pytest.approx(0.8 * k, abs=1e-5)
    assert s[("ent:A", "per:Q")] == pytest.approx(0.2 * 0.7 * k, abs=1e-5)
    assert s[("ent:B", "per:Q")] == pytest.approx(0.7 * k, abs=1e-5)
    assert s[("ent:B", "per:P")] == pytest.approx(0.3 * 0.8 * k, abs=1e-5)
    # Fully held firms: the terminal holders' integrated shares add up to one.
    assert s[("ent:A", "per:P")] + s[("ent:A", "per:Q")] == pytest.approx(1.0, abs=1e-5)
    assert control(c)["ent:A"][:2] == ("per:P", "majority_chain")
    paths = {(r["firm_id"], r["holder_id"]): r["path"] for r in c.holdings.to_pylist()}
    assert paths[("ent:A", "per:Q")] == ["per:Q", "ent:B", "ent:A"]  # simple, no loop


def test_three_firm_loop_with_outside_holders() -> None:
    # A→B→C→A at 20 % each, persons hold the rest: every firm's holders sum to one.
    edges = [("ent:A", "ent:B", 0.2), ("ent:B", "ent:C", 0.2), ("ent:C", "ent:A", 0.2),
             ("per:X", "ent:A", 0.8), ("per:Y", "ent:B", 0.8), ("per:Z", "ent:C", 0.8)]  # fmt: skip
    s = shares(run(edges))
    loop = 1 / (1 - 0.2**3)
    assert s[("ent:B", "per:X")] == pytest.approx(0.8 * 0.2 * loop, abs=1e-5)
    for firm in ("ent:A", "ent:B", "ent:C"):
        total = sum(v for (f, _), v in s.items() if f == firm)
        assert total == pytest.approx(1.0, abs=1e-5)


def test_closed_loop_has_no_holder_and_falls_back_to_officers() -> None:
    c = run(
        [("ent:A", "ent:B", 1.0), ("ent:B", "ent:C", 1.0), ("ent:C", "ent:A", 1.0)],
        [("per:L", "ent:A", "法定代表人")],
    )
    assert c.holdings.num_rows == 0
    assert control(c) == {"ent:A": ("per:L", "officer_role", ["per:L", "ent:A"])}


def test_the_simulators_nominee_chain() -> None:
    # Scheme core: a holding shell 70 % + nominee n1 30 %; the shell: nominee n0 90 %,
    # the real boss 10 %. The register shows n0 in control; the boss holds 7 %.
    c = run([("ent:SHELL", "ent:CORE", 0.7), ("per:n1", "ent:CORE", 0.3),
             ("per:n0", "ent:SHELL", 0.9), ("per:boss", "ent:SHELL", 0.1)])  # fmt: skip
    s = shares(c)
    assert s[("ent:CORE", "per:n0")] == pytest.approx(0.63)
    assert s[("ent:CORE", "per:n1")] == pytest.approx(0.30)
    assert s[("ent:CORE", "per:boss")] == pytest.approx(0.07)
    assert control(c)["ent:CORE"] == (
        "per:n0",
        "majority_chain",
        ["per:n0", "ent:SHELL", "ent:CORE"],
    )
    bo = {r["holder_id"] for r in c.holdings.to_pylist() if r["firm_id"] == "ent:CORE"
          and r["beneficial_owner"]}  # fmt: skip
    assert bo == {"per:n0", "per:n1"}  # 25 % and above


def test_joint_control_relative_control_and_inclusive_majority() -> None:
    fifty = [("per:A", "ent:F", 0.5), ("per:B", "ent:F", 0.5)]
    officers = [("per:M", "ent:F", "经理"), ("per:L", "ent:F", "法定代表人")]
    assert control(run(fifty, officers))["ent:F"][:2] == ("per:L", "officer_role")
    inclusive = SETTINGS.model_copy(update={"inclusive": True})
    # Two holders at exactly 50 %: joint control, still nobody alone.
    assert control(run(fifty, officers, inclusive))["ent:F"][:2] == ("per:L", "officer_role")
    relative = [("per:A", "ent:G", 0.4), ("per:B", "ent:G", 0.3), ("per:C", "ent:G", 0.3)]
    assert control(run(relative))["ent:G"][:2] == ("per:A", "largest_share")
    close = [("per:A", "ent:H", 0.35), ("per:B", "ent:H", 0.33), ("per:C", "ent:H", 0.32)]
    assert "ent:H" not in control(run(close))


def test_integrated_majority_without_a_majority_link() -> None:
    # P holds 40 % directly and all of S, which holds 20 %: 60 % in all.
    c = run([("per:P", "ent:F", 0.4), ("ent:S", "ent:F", 0.2), ("per:P", "ent:S", 1.0),
             ("per:Q", "ent:F", 0.4)])  # fmt: skip
    assert shares(c)[("ent:F", "per:P")] == pytest.approx(0.6)
    assert control(c)["ent:F"][:2] == ("per:P", "integrated_majority")
