"""Real ownership data through the graph: ICIJ Panama Papers subgraphs and an OpenSanctions
FtM cluster load, resolve and yield controllers; every expected figure below was read off
the files by hand (the comments say where). Hand-built files cover what the real extracts
lack: link texts with unknown shares, an ownership cycle, malformed input."""

from __future__ import annotations

import json
from datetime import date
from functools import cache
from pathlib import Path

import pytest

from fengyan.graph.external import ExternalData, read_ftm, read_icij_bulk, read_icij_viz
from fengyan.graph.external_graph import ExternalResult, analyse
from fengyan.graph.external_names import (
    firm_key,
    map_role,
    name_kind,
    person_key,
    split_former,
)
from tests.conftest import SHARED_DATA

ICIJ = SHARED_DATA / "icij-offshore-subgraphs"
FTM = SHARED_DATA / "opensanctions-ftm"
needs_data = pytest.mark.skipif(
    not (ICIJ / "nodes.csv").is_file() or not (FTM / "zala_cluster.ftm.jsonl").is_file(),
    reason=f"ICIJ/OpenSanctions data not found under {SHARED_DATA} (set FENGYAN_SHARED_DATA):"
    " real-data graph tests skipped",
)
ZAKHAROV = "per:ftm:NK-aU5ybkbRFJucf8YMwsJvDw"
CST = "ent:ftm:NK-abdzbEBkqyT29GyREbiURZ"  # LLC CST (Zala Aero Group)


@cache
def viz() -> ExternalData:
    return read_icij_viz(ICIJ)


@cache
def viz_result() -> ExternalResult:
    return analyse([viz()])


@cache
def zala() -> ExternalData:
    return read_ftm(FTM / "zala_cluster.ftm.jsonl")


# ----------------------------------------------------------------- names (golden tables)


@pytest.mark.parametrize(
    ("left", "right"),
    [
        ("RCD INTERNATIONAL LTD", "Rcd International Limited"),
        ("MOSSACK FONSECA & CO. (QUITO) LTD.", "MOSSACK FONSECA & CO. (QUITO) LTD"),
        ("THE NEDSTAR FOUNDATION", "Nedstar Foundation"),
        ('ОБЩЕСТВО С ОГРАНИЧЕННОЙ ОТВЕТСТВЕННОСТЬЮ "ЦСТ"', "ООО «ЦСТ»"),
        ("LLC CST", "Limited Liability Company CST"),
        ("TIANSHENG INDUSTRY AND TRADING CO., LTD.", "Tiansheng Industry and Trading Co Ltd"),
        ("深圳市鹏润科技有限公司", "深圳市鵬潤科技有限責任公司"),
    ],
)  # fmt: skip
def test_firm_names_that_meet(left: str, right: str) -> None:
    assert firm_key(left) == firm_key(right)


@pytest.mark.parametrize(
    ("left", "right"),
    [
        ("SAFASON CORPORATION", "SAFASON CORPORATION SPF S.A."),  # another legal form
        ("RCD INTERNATIONAL LTD", "RCD INTERNATIONAL INC"),
        ("LLC CST", "CST"),
    ],
)
def test_firm_names_that_stay_apart(left: str, right: str) -> None:
    assert firm_key(left) != firm_key(right)


@pytest.mark.parametrize(
    ("left", "right"),
    [
        ("MR. ANURAG KEJRIWAL", "KEJRIWAL, Anurag"),
        ("H.E. ANG VONG VATHANA", "Ang Vong Vathana"),
        ("DR. AYAD H. ALLAWI", "AYAD H. ALLAWI"),
        ("POUYE MAMADOU", "Mamadou Pouye"),
    ],
)
def test_person_names_that_meet(left: str, right: str) -> None:
    assert person_key(left) == person_key(right)


def test_person_name_keeps_a_surname_that_looks_like_a_title() -> None:
    # Honorifics go only from the front and never take the last word.
    assert person_key("He Jun") == "he jun"
    assert person_key("Mr. Smith") == "smith"


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("THE BEARER", "unknown"),
        ("EL PORTADOR", "unknown"),
        ("Markom Nominees Ltd", "enterprise"),
        ("FUNDACION TIERRA FELIZ", "enterprise"),
        ("CHILD & CHILD", "enterprise"),
        ("SAFASON CORPORATION SPF S.A.", "enterprise"),
        ("Sheikh Hamad Jassim J.M. Al-Thani", "person"),
        ("MR. KOJO ANNAN", "person"),
        ("深圳市鹏润科技有限公司", "enterprise"),
        ("张三", "person"),
    ],
)
def test_name_kind(name: str, kind: str) -> None:
    assert name_kind(name) == kind


def test_former_names_in_brackets() -> None:
    assert split_former("MAYFAIR COMMERCIAL LIMITED (EX-MAYFAIR COMMERCIAL LTD)") == (
        "MAYFAIR COMMERCIAL LIMITED",
        ["mayfair commercial ltd"],
    )
    assert split_former("Boston House Properties Limited [Knightsbridge Estate Properties]") == (
        "Boston House Properties Limited",
        ["Knightsbridge Estate Properties"],
    )
    assert split_former("SAFASON CORPORATION S.A.H. (SINCE 22ND SEPTEMBER 2006)")[1] == []
    assert split_former("ORION TRUST (NEW ZEALAND) LIMITED") == (
        "ORION TRUST (NEW ZEALAND) LIMITED",
        [],
    )


@pytest.mark.parametrize(
    ("title", "role"),
    [
        ("ГЕНЕРАЛЬНЫЙ ДИРЕКТОР", "经理"),
        ("Исполнительный директор", "负责人"),
        ("Leader or official of", "负责人"),
        ("director of", "董事"),
        ("Chairman of the Board", "董事长"),
        ("Vice Chairman", "副董事长"),
        ("secretary of", "其他"),
        (None, "其他"),
    ],
)
def test_officer_titles_map_to_the_role_vocabulary(title: str | None, role: str) -> None:
    assert map_role(title) == role


# ----------------------------------------------------------------- ICIJ Power Players files


@needs_data
def test_icij_subgraphs_load_with_every_row_accounted_for() -> None:
    data = viz()
    # nodes.csv: 1,420 rows = 683 node ids over 74 subgraphs (one is the union, "All");
    # 76 of the ids are Address nodes, 607 are companies, officers and clients.
    assert data.counts["node_rows"] == 1420
    assert data.counts["subgraphs"] == 74
    assert data.counts["address_nodes"] == 76
    assert data.nodes.num_rows == 607
    # edges.csv: 1,778 rows = 858 edge ids; plus the 102 officer nodes that carry an
    # address of their own.
    assert data.counts["edge_rows"] == 1778
    assert data.counts["node_addresses"] == 102
    assert data.edges.num_rows == 858 + 102
    assert data.counts["dangling_ends"] == 0
    relations = {r: 0 for r in ("shareholding", "officer", "intermediary", "address", "same_as")}
    for r in data.edges["relation"].to_pylist():
        relations[r] += 1
    # 524 "is officer of": 386 from officers stating a number of shares; 212 "registered"
    # (client → company); 105 "registered address"; 17 "has similar name and address as".
    assert relations == {
        "shareholding": 386,
        "officer": 524 - 386,
        "intermediary": 212,
        "address": 105 + 102,
        "same_as": 17,
    }


@needs_data
def test_icij_resolution_merges_people_and_firms_across_subgraphs() -> None:
    res = viz_result().resolution
    members = {m: row["canonical_id"] for row in res.entities.to_pylist() for m in row["members"]}
    # MR. KOJO ANNAN (three officer nodes) and KOJO ANNAN are one person.
    assert len({members[f"icij-viz:{i}"] for i in (334206, 473254, 616886, 648326)}) == 1
    # The officer THE NEDSTAR FOUNDATION is the Panamanian company of that name; the
    # canonical id is the company's.
    assert members["icij-viz:375783"] == members["icij-viz:388661"] == "ent:icij-viz:225354"
    # MEDEA INVESTMENTS LIMITED of Niue and of Samoa are two firms (jurisdictions differ).
    assert members["icij-viz:163792"] != members["icij-viz:144669"]
    assert res.report["blocked_by_conflict"] == 1
    # Bearer shares: 87 placeholder nodes (THE BEARER, EL PORTADOR), none merged.
    assert res.report["entities_unknown"] == 87
    assert res.report["same_as_links"] == 17
    assert res.report["merged_records"] == 55
    assert res.report["entities"] == 607 - 55


@needs_data
def test_icij_shares_from_share_counts() -> None:
    r = viz_result()
    # RAYTAR LIMITED (34281): Moscrip, Bassim, Melba 3,000 shares each, Isaev 1,200,
    # Roldugin and Vasilenkov 900 each — 12,000 in all; three at 25 %: nobody controls.
    holders = {h["holder_id"]: h["share"] for h in r.holders_of("ent:icij-viz:34281")}
    assert sorted(holders.values(), reverse=True) == pytest.approx([0.25, 0.25, 0.25, 0.1, 0.075])
    assert r.controller_of("ent:icij-viz:34281") is None
    # SEADALE INTERNATIONAL CORPORATION (60322): eight holders of 12,500 — four named
    # Makhloufs and four bearer blocks, each its own unknown holder.
    seadale = r.inputs.holdings.filter(
        r.inputs.holdings["dst"].to_numpy(zero_copy_only=False) == "ent:icij-viz:60322"
    ).to_pylist()
    assert [h["share"] for h in seadale] == pytest.approx([0.125] * 8)
    assert sum(h["src"].startswith("unk:") for h in seadale) == 4


@needs_data
def test_icij_controllers_found_by_hand() -> None:
    r = viz_result()
    # BAINFIELD COMPANY LTD. (122795): Pavel Lazarenko 25,500 (two edges, one holding),
    # Pietr Kiritchenko 24,500 → 51 %: a majority.
    bainfield = r.controller_of("ent:icij-viz:122795")
    assert bainfield is not None
    assert bainfield["controller_id"] == "per:icij-viz:648864"
    assert bainfield["basis"] == "majority_chain"
    assert r.holders_of("ent:icij-viz:122795")[0]["share"] == pytest.approx(0.51)
    # CARA CORPORATION (79778): Mr. Rami MAKHLOUF 50,000 (his second node, RAMI MAKHLOUF
    # 12,500, is an older record of the same holding); bearer blocks 35,000 + 7,500 +
    # 3,750 + 3,750 → 50 % exactly, no majority, but 15 points ahead: largest_share.
    cara = r.controller_of("ent:icij-viz:79778")
    assert cara is not None
    assert (cara["controller_id"], cara["basis"]) == ("per:icij-viz:310244", "largest_share")
    assert r.holders_of("ent:icij-viz:79778")[0]["share"] == pytest.approx(0.5)
    bases = r.control.control["basis"].to_pylist()
    assert (bases.count("majority_chain"), bases.count("largest_share")) == (136, 8)


@needs_data
def test_icij_has_no_ownership_chain_or_cycle() -> None:
    r = viz_result()
    # No firm that holds shares is itself held in these subgraphs (checked in the files):
    # every controller is a direct holder and there is no cycle to break.
    assert r.cycles == []
    assert all(len(c["path"]) == 2 for c in r.control.control.to_pylist())
    assert r.control.iterations == 1


@needs_data
def test_icij_bulk_excerpt_loads_without_controllers() -> None:
    data = read_icij_bulk(ICIJ / "icij_bulk_schema_mini")
    assert data.counts["node_rows"] == 13 + 32 + 31
    assert data.nodes.num_rows == 76
    # 69 "intermediary of" links and 13 + 8 address texts; no holding, so no controller.
    rel = data.edges["relation"].to_pylist()
    assert (rel.count("intermediary"), rel.count("address"), len(rel)) == (69, 21, 90)
    r = analyse([data])
    assert r.control.control.num_rows == 0
    assert r.inputs.report["holdings"] == 0


# ----------------------------------------------------------------- OpenSanctions FtM cluster


@needs_data
def test_ftm_cluster_loads_and_counts_what_the_graph_cannot_hold() -> None:
    data = zala()
    assert data.counts["entities"] == 91
    assert data.as_of == date(2026, 4, 29)  # the latest last_seen
    assert data.not_represented == {"Sanction": 41, "Family": 4, "Passport": 1}
    kinds = data.nodes["kind"].to_pylist()
    assert (kinds.count("enterprise"), kinds.count("person")) == (11, 6)
    rel = data.edges["relation"].to_pylist()
    assert (rel.count("shareholding"), rel.count("officer")) == (14, 3)


@needs_data
def test_ftm_controller_of_zala_aero_group() -> None:
    r = analyse([zala()])
    # On the snapshot date LLC CST is held by A. V. Zakharov 51 % (from 2015-11-25, open)
    # and JSC Kalashnikov Concern 49 % (from 2016-03-29) plus an undated "subsidiary of"
    # record of Kalashnikov, which is the same holding.
    holders = {h["src"]: h for h in r.inputs.holdings.to_pylist() if h["dst"] == CST}
    assert holders[ZAKHAROV]["share"] == pytest.approx(0.51)
    assert holders["ent:ftm:NK-nR5AXM9AVPq4pQaSPSaVam"]["versions"] == 2
    control = r.controller_of(CST)
    assert control is not None
    assert (control["controller_id"], control["basis"]) == (ZAKHAROV, "majority_chain")
    # The general director (ГЕНЕРАЛЬНЫЙ ДИРЕКТОР) is an officer of role 经理.
    officers = r.inputs.edges.filter(
        r.inputs.edges["relation"].to_numpy(zero_copy_only=False) == "officer"
    )
    assert ("per:ftm:NK-mCEmxFfuhfdjpC8gsxH74o", CST, "经理") in {
        (o["src"], o["dst"], o["role"]) for o in officers.to_pylist()
    }
    # Two firms named ООО "ЦСТ" with different INNs (1841015504, 5920040846) stay two.
    assert r.resolution.report["blocked_by_conflict"] == 1
    assert r.resolution.report["merged_records"] == 0


@needs_data
def test_ftm_history_as_of_a_date() -> None:
    r = analyse([zala()], as_of=date(2020, 1, 1))
    # Three overlapping Zakharov records (51 %, 50 %, 48 %, all from 2015-11-25) are one
    # holding; the open-ended 51 % is the latest. With TransKomplektHolding's 2 % the stated
    # shares add up to 102 %: flagged, not rescaled.
    zak = [h for h in r.inputs.holdings.to_pylist() if h["dst"] == CST and h["src"] == ZAKHAROV]
    assert (zak[0]["share"], zak[0]["versions"]) == (pytest.approx(0.51), 3)
    assert r.inputs.report["oversubscribed_firms"] == 1
    # In March 2024 Zakharov briefly held 100 % of LLC Aeroscan.
    r = analyse([zala()], as_of=date(2024, 3, 10))
    aeroscan = r.controller_of("ent:ftm:NK-iE6m5ryPeTAMZozfECVSL7")
    assert aeroscan is not None and aeroscan["controller_id"] == ZAKHAROV


@needs_data
def test_all_real_files_together() -> None:
    datas = [
        viz(),
        read_icij_bulk(ICIJ / "icij_bulk_schema_mini"),
        zala(),
        read_ftm(FTM / "eu_fsf_t1.ftm.jsonl"),
        read_ftm(FTM / "wd_peps_sa.ftm.jsonl"),
    ]
    r = analyse(datas)
    # 607 + 76 + 17 + 6 + 607 records. The 607 Wikidata PEPs are OpenSanctions entities,
    # never merged among themselves by name (many share a given name such as Abdullah).
    assert r.resolution.report["distinct_ids"] == 607 + 76 + 17 + 6 + 607
    # Nothing is shared between the sources, so together they give what each gives alone.
    assert r.resolution.report["merged_records"] == 55
    assert r.inputs.report["holdings"] == viz_result().inputs.report["holdings"] + 2
    assert r.control.control.num_rows == viz_result().control.control.num_rows + 2
    assert r.controller_of(CST) is not None


# ----------------------------------------------------------------- hand-built files


def _write(path: Path, text: str) -> Path:
    path.write_text(text.strip() + "\n", encoding="utf-8")
    return path


def test_ftm_cycle_and_unknown_percentages(tmp_path: Path) -> None:
    def own(i: str, owner: str, asset: str, pct: str | None = None, end: str | None = None) -> str:
        props = {"owner": [owner], "asset": [asset]}
        props |= {"percentage": [pct]} if pct else {}
        props |= {"endDate": [end]} if end else {}
        return json.dumps({"id": i, "schema": "Ownership", "properties": props})

    people = [("p", "Person", "Pat Doe"), ("q", "Person", "Quinn Roe")]
    firms = [("a", "Company", "A Ltd"), ("b", "Company", "B Ltd"), ("c", "Company", "C Ltd")]
    lines = [
        json.dumps({"id": i, "schema": s, "properties": {"name": [n]}})
        for i, s, n in people + firms
    ] + [
        own("o1", "p", "a", "70"),
        own("o2", "b", "a", "30"),
        own("o3", "a", "b", "60"),
        own("o4", "q", "b"),
        own("o5", "p", "c"),
        own("o6", "q", "c"),
        own("o7", "x", "c", end="2020-01-01"),
    ]
    data = read_ftm(_write(tmp_path / "cycle.ftm.jsonl", "\n".join(lines)))
    assert data.counts["dangling_ends"] == 1  # "x" is kept as an unknown node
    r = analyse([data], as_of=date(2024, 1, 1))
    basis = {(h["src"], h["dst"]): (h["share"], h["basis"]) for h in r.inputs.holdings.to_pylist()}
    # Q's unknown stake in B is what A's 60 % leaves; P and Q split C (x left in 2020).
    assert basis[("per:ftm:q", "ent:ftm:b")] == (pytest.approx(0.4), "equal_split")
    assert basis[("per:ftm:p", "ent:ftm:c")] == (pytest.approx(0.5), "equal_split")
    assert r.cycles == [["ent:ftm:a", "ent:ftm:b"]]
    # A = 0.7 P + 0.3 B, B = 0.6 A + 0.4 Q: T(P, A) = 0.7 / (1 − 0.18), T(P, B) = 0.6 T(P, A).
    shares = {(h["firm_id"], h["holder_id"]): h["share"] for h in r.control.holdings.to_pylist()}
    assert shares[("ent:ftm:a", "per:ftm:p")] == pytest.approx(0.7 / 0.82, abs=1e-5)
    assert shares[("ent:ftm:b", "per:ftm:p")] == pytest.approx(0.6 * 0.7 / 0.82, abs=1e-5)
    assert r.controller_of("ent:ftm:a") == {
        "firm_id": "ent:ftm:a",
        "controller_id": "per:ftm:p",
        "basis": "majority_chain",
        "path": ["per:ftm:p", "ent:ftm:a"],
    }


def test_icij_bulk_link_texts(tmp_path: Path) -> None:
    folder = tmp_path / "bulk"
    folder.mkdir()
    _write(
        folder / "Entities.csv", "node_id,name,jurisdiction\n1,ALPHA LTD,BVI\n2,Alpha Limited,BVI"
    )
    _write(folder / "Officers.csv", "node_id,name\n10,MR. JOHN SMITH\n11,Smith John\n12,THE BEARER")
    _write(
        folder / "all_edges.csv",
        """node_1,rel_type,node_2,start_date,end_date
10,shareholder of,1,01/02/2003,
12,shareholder of,1,,
11,director of,2,,
10,secretary of,1,,31/12/2010
10,auditor of,1,,""",
    )  # fmt: skip
    data = read_icij_bulk(folder)
    r = analyse([data], as_of=date(2015, 1, 1))
    # The two ALPHA records and the two John Smiths are one firm and one person.
    assert r.resolution.report["merged_records"] == 2
    holdings = {h["src"]: (h["share"], h["basis"]) for h in r.inputs.holdings.to_pylist()}
    assert holdings == {
        "per:icij-bulk:10": (pytest.approx(0.5), "equal_split"),
        "unk:icij-bulk:12": (pytest.approx(0.5), "equal_split"),
    }
    roles = {
        (o["src"], o["role"]) for o in r.inputs.edges.to_pylist() if o["relation"] == "officer"
    }
    # The secretary left in 2010; "auditor of" maps to 监事.
    assert roles == {("per:icij-bulk:10", "董事"), ("per:icij-bulk:10", "监事")}


def test_bad_input_names_file_row_and_field(tmp_path: Path) -> None:
    folder = tmp_path / "bulk"
    folder.mkdir()
    _write(folder / "Entities.csv", "node_id,name\n1,ALPHA LTD")
    _write(
        folder / "all_edges.csv",
        "node_1,rel_type,node_2,start_date,end_date\n1,shareholder of,1,31/31/2003,",
    )
    with pytest.raises(ValueError, match=r"all_edges.csv: row 2: field start: .*31/31/2003"):
        read_icij_bulk(folder)
    bad = _write(
        tmp_path / "bad.ftm.jsonl",
        '{"id": "o", "schema": "Ownership", "properties": {"owner": ["a"], "asset": ["b"],'
        ' "percentage": ["120"]}}',
    )
    with pytest.raises(ValueError, match=r"bad.ftm.jsonl: line 1: percentage"):
        read_ftm(bad)
    with pytest.raises(ValueError, match=r"line 2: not JSON"):
        read_ftm(_write(tmp_path / "broken.jsonl", '{"id": "a", "schema": "Person"}\n{oops'))
