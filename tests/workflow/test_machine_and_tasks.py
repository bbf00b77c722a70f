"""The state machine as data; task moves, take-back and escalation."""

from __future__ import annotations

from datetime import timedelta

import pytest
import yaml
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from fengyan.db.cases import Case
from fengyan.workflow import (
    ActionForbidden,
    WorkflowConfigError,
    do_assign_case,
    do_take_back_case,
    escalate_overdue,
    get_case,
    load_machine,
    my_tasks,
    open_cases_for_new_red,
    team_board,
)
from fengyan.workflow.checklists import category_ids, load_checklists, parse_checklists
from fengyan.workflow.machine import STATES_FILE, parse_machine
from tests.workflow.conftest import (
    CITY,
    CITY_ANALYST,
    COMMUNITY,
    DISTRICT,
    DISTRICT_ANALYST,
    STREET,
    STREET_INVESTIGATOR,
)


def test_the_shipped_machine() -> None:
    m = load_machine()
    assert [(t.id, t.source, t.target, m.deadline_days(t)) for t in m.transitions.values()] == [
        ("start_verification", "pending", "verifying", 15),
        ("submit_findings", "verifying", "assessing", 7),
        ("request_more", "assessing", "verifying", 10),
        ("decide_disposal", "assessing", "disposal", 30),
        ("close", "disposal", "closed", None),
        ("reopen", "closed", "assessing", 7),
    ]
    assert [m.states[s].label.zh for s in m.states] == ["待分派", "核查中", "研判", "处置", "结案"]
    assert [c.label.zh for c in m.sections["disposals"].values()] == [
        "约谈",
        "责令整改",
        "行政处罚",
        "移交公安",
        "移交外地",
        "持续关注",
        "解除",
    ]
    assert not m.allows("open", "auditor") and m.allows("view", "auditor")


def _broken(edit: str) -> str:
    from importlib import resources

    data = yaml.safe_load(
        resources.files("fengyan.workflow").joinpath(STATES_FILE).read_text("utf-8")
    )
    if edit == "unknown_state":
        data["transitions"][0]["to"] = "limbo"
    elif edit == "unreachable":
        data["states"]["archived"] = {"zh": "归档", "en": "archived", "final": True}
    elif edit == "no_roles":
        data["transitions"][1]["roles"] = []
    elif edit == "bad_role":
        data["transitions"][1]["roles"] = ["janitor"]
    elif edit == "bad_deadline":
        data["transitions"][1]["deadline_days"] = -3
    elif edit == "bad_section":
        data["transitions"][3]["requires"]["choices"] = {"disposal": "measures"}
    elif edit == "bad_audit":
        data["transitions"][4]["audit"] = "case.shred"
    elif edit == "dead_end":
        data["transitions"] = [t for t in data["transitions"] if t["from"] != "disposal"]
        data["transitions"].append(
            {**data["transitions"][0], "id": "x", "from": "assessing", "to": "closed"}
        )
        data["transitions"].append(
            {**data["transitions"][0], "id": "y", "from": "assessing", "to": "disposal"}
        )
    return yaml.safe_dump(data, allow_unicode=True)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        ("unknown_state", "unknown state 'limbo'"),
        ("unreachable", "unreachable from 'pending': archived"),
        ("no_roles", "at least one role"),
        ("bad_role", "unknown roles .'janitor'."),
        ("bad_deadline", "deadline_days"),
        ("bad_section", "unknown section 'measures'"),
        ("bad_audit", "case.shred"),
        ("dead_end", "without a way out"),
    ],
)
def test_the_loader_refuses_broken_machines(edit: str, message: str) -> None:
    with pytest.raises(WorkflowConfigError, match=message) as caught:
        parse_machine(_broken(edit), "my_states.yaml")
    assert caught.value.file == "my_states.yaml"


def test_every_risk_category_has_its_own_checklist() -> None:
    lists = load_checklists()
    assert set(lists.categories) == category_ids()
    p2p_on, p2p_off = lists.items("p2p", "on_site"), lists.items("p2p", "off_site")
    assert "loan_contracts" in {i.id for i in p2p_on} and "premises" not in {i.id for i in p2p_off}
    assert "online_evidence" in {i.id for i in p2p_off}
    with pytest.raises(WorkflowConfigError, match="not a risk category"):
        parse_checklists(
            "common: [{id: a, zh: 甲, en: a}]\ncategories: {ponzi: []}\n",
            "c.yaml",
            category_ids(),
            {"on_site", "off_site"},
        )


@pytest.fixture
def cid(engine: Engine, run_id: int) -> int:
    with Session(engine) as s, s.begin():
        return open_cases_for_new_red(s, run_id).opened[0]


def test_supervisors_take_back_and_reassign(engine: Engine, cid: int) -> None:
    with Session(engine) as s, s.begin():
        do_assign_case(s, CITY_ANALYST, cid, DISTRICT)
        do_assign_case(s, DISTRICT_ANALYST, cid, STREET)
    with pytest.raises(ActionForbidden), Session(engine) as s, s.begin():
        do_take_back_case(s, STREET_INVESTIGATOR, cid)  # the holder cannot "take back"
    with Session(engine) as s, s.begin():
        # The city reaches over the district: straight to the community.
        do_assign_case(s, CITY_ANALYST, cid, COMMUNITY, assignee="gw.zhang")
        do_take_back_case(s, DISTRICT_ANALYST, cid, note="网格员休假")
    with Session(engine) as s:
        detail = get_case(s, CITY_ANALYST, cid)
        assert [(t["scope"], t["status"]) for t in detail.tasks] == [
            (CITY, "delegated"),
            (DISTRICT, "delegated"),
            (STREET, "reassigned"),
            (COMMUNITY, "taken_back"),
            (DISTRICT, "open"),
        ]
        assert [e["kind"] for e in detail.timeline][-2:] == ["reassign", "take_back"]


def test_overdue_tasks_escalate_one_level_at_a_time(engine: Engine, cid: int) -> None:
    with Session(engine) as s, s.begin():
        do_assign_case(s, CITY_ANALYST, cid, DISTRICT)
        do_assign_case(s, DISTRICT_ANALYST, cid, STREET)
        due = s.get(Case, cid).due_at  # type: ignore[union-attr]
    assert due is not None
    with Session(engine) as s, s.begin():
        assert escalate_overdue(s, due - timedelta(hours=1)) == []
        first = escalate_overdue(s, due + timedelta(hours=1))
        assert [(e.holder, e.escalated_to) for e in first] == [(STREET, DISTRICT)]
        assert escalate_overdue(s, due + timedelta(hours=2)) == []  # not again so soon
    with Session(engine) as s:
        board = team_board(s, DISTRICT_ANALYST, at=due + timedelta(hours=2))
        assert [c.id for c in board.escalated_to_me] == [cid]
        assert [(u.scope, u.overdue, u.escalated) for u in board.below] == [(STREET, 1, 1)]
        assert [c.id for c in my_tasks(s, DISTRICT_ANALYST).items] == [cid]
    with Session(engine) as s, s.begin():
        later = escalate_overdue(s, due + timedelta(days=3, hours=2))
        assert [e.escalated_to for e in later] == [CITY]
        # The top (the city) is where escalation stops.
        assert escalate_overdue(s, due + timedelta(days=30)) == []
