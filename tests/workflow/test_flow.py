"""A case from a red warning to closing, through five levels, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from fengyan.audit import search, tree_size
from fengyan.db.cases import Case, CaseEvent, CaseTask
from fengyan.workflow import (
    ActionForbidden,
    AttachmentStore,
    CaseNotFound,
    InvalidAction,
    LeadKeys,
    case_statistics,
    check_consistency,
    do_add_attachment,
    do_add_comment,
    do_assign_case,
    do_open_case,
    do_record_lead_feedback,
    do_record_lead_receipt,
    do_transfer_lead,
    do_transition_case,
    do_update_checklist,
    get_case,
    list_cases,
    my_tasks,
    open_cases_for_new_red,
    outcome_labels,
    team_board,
)
from fengyan.workflow.checklists import load_checklists
from tests.workflow.conftest import (
    AUDITOR,
    CITY,
    CITY_ANALYST,
    COMMUNITY,
    DISTRICT,
    DISTRICT_ANALYST,
    GRID_WORKER,
    JPEG,
    OTHER_DISTRICT_ANALYST,
    OTHER_STREET_INVESTIGATOR,
    STREET,
    STREET_INVESTIGATOR,
)


def case_of(engine: Engine, firm: str) -> Case:
    with Session(engine) as s:
        case = s.scalars(select(Case).where(Case.firm_id == firm)).one()
        s.expunge(case)
        return case


def test_red_warnings_open_cases_once_held_by_the_city(engine: Engine, run_id: int) -> None:
    with Session(engine) as s, s.begin():
        report = open_cases_for_new_red(s, run_id)
    # ent:a (red under two models → one case), ent:b (escalated), ent:c; ent:d is orange;
    # ent:e has no region: reported, not dropped silently.
    assert len(report.opened) == 3
    assert report.no_region == ["ent:e"]
    with Session(engine) as s, s.begin():
        again = open_cases_for_new_red(s, run_id)
    assert again.opened == [] and sorted(again.already_open) == ["ent:a", "ent:b", "ent:c"]
    a = case_of(engine, "ent:a")
    assert (a.state, a.holder_scope, a.region_code, a.grade, a.model) == (
        "pending",
        CITY,
        "440305001001",
        "red",
        "dolphin-v1",
    )
    with Session(engine) as s:
        detail = get_case(s, CITY_ANALYST, a.id)
        assert detail.evidence["evidence_keys"] == ["ad/ent:a-1", "ad/ent:a-2", "complaint/ent:a-9"]
        assert detail.evidence["score"] == 91.0 and detail.evidence["as_of"].startswith(
            "2026-06-30"
        )
        assert [e["kind"] for e in detail.timeline] == ["open"]
        assert check_consistency(s) == []
    assert tree_size(engine) == 3


def test_an_orange_warning_opens_a_case_by_decision(engine: Engine, run_id: int) -> None:
    with Session(engine) as s, s.begin():
        warning_id = s.execute(select(func.min(CaseEvent.id))).scalar()  # no case yet
        assert warning_id is None
        from fengyan.db.published import GradeWarning

        wid = s.scalars(select(GradeWarning.id).where(GradeWarning.firm_id == "ent:d")).one()
        result = do_open_case(s, DISTRICT_ANALYST, warning_id=wid, note="群众反映讲座推销")
    case = case_of(engine, "ent:d")
    assert (case.source, case.source_ref, case.holder_scope, case.grade) == (
        "warning",
        f"warning/{wid}",
        DISTRICT,
        "orange",
    )
    assert result.case_id == case.id
    # Another district's analyst cannot open (or even find) the warning.
    with pytest.raises(CaseNotFound.__mro__[1]), Session(engine) as s, s.begin():
        do_open_case(s, OTHER_DISTRICT_ANALYST, warning_id=wid)
    # A grid worker may not open cases at all.
    with pytest.raises(ActionForbidden), Session(engine) as s, s.begin():
        do_open_case(s, GRID_WORKER, firm_id="ent:x", region_code=COMMUNITY, source="tip")
    # One open case per firm.
    with pytest.raises(InvalidAction, match="already has"), Session(engine) as s, s.begin():
        do_open_case(s, CITY_ANALYST, firm_id="ent:d", source="tip")


def test_the_five_level_flow_to_closing(
    engine: Engine, run_id: int, store: AttachmentStore, keys: LeadKeys
) -> None:
    with Session(engine) as s, s.begin():
        open_cases_for_new_red(s, run_id)
    cid = case_of(engine, "ent:a").id

    def act(fn, *args, **kwargs):  # type: ignore[no-untyped-def]
        with Session(engine) as s, s.begin():
            return fn(s, *args, **kwargs)

    # City → district → street → community grid worker, one level at a time.
    with pytest.raises(InvalidAction, match="too far down"):
        act(do_assign_case, CITY_ANALYST, cid, STREET)
    act(do_assign_case, CITY_ANALYST, cid, DISTRICT)
    with pytest.raises(ActionForbidden):  # the city no longer holds it: it supervises
        act(do_assign_case, STREET_INVESTIGATOR, cid, COMMUNITY)
    act(do_assign_case, DISTRICT_ANALYST, cid, STREET)
    with pytest.raises(InvalidAction, match="line"):
        act(do_assign_case, STREET_INVESTIGATOR, cid, "440305001002", assignee="gw.zhang")
    act(do_assign_case, STREET_INVESTIGATOR, cid, COMMUNITY, assignee="gw.zhang")
    with Session(engine) as s:
        assert [c.id for c in my_tasks(s, GRID_WORKER).items] == [cid]
        assert my_tasks(s, STREET_INVESTIGATOR).total == 0
        board = team_board(s, DISTRICT_ANALYST)
        assert [(u.scope, u.open) for u in board.below] == [(STREET, 1)]
        # The other street of the district sees nothing of it.
        with pytest.raises(CaseNotFound):
            get_case(s, OTHER_STREET_INVESTIGATOR, cid)
        # … its list holds only the case in its own street (ent:b, 440305002003).
        assert [c.firm_id for c in list_cases(s, OTHER_STREET_INVESTIGATOR).items] == ["ent:b"]

    act(do_transition_case, GRID_WORKER, cid, "start_verification", fields={"mode": "on_site"})
    with pytest.raises(InvalidAction, match="checklist:registry") as missing:
        act(do_transition_case, GRID_WORKER, cid, "submit_findings", fields={"findings": "x"})
    assert "attachments:1" in str(missing.value)
    items = load_checklists().items("wealth_management", "on_site")
    act(
        do_update_checklist,
        GRID_WORKER,
        cid,
        {i.id: True for i in items},
        notes={"premises": "办公室正常营业，约 20 名员工"},
    )
    act(do_add_attachment, GRID_WORKER, cid, store, JPEG, "现场照片.jpg")
    act(do_add_comment, GRID_WORKER, cid, "现场有理财宣传单，承诺年化 12%")
    # Grid workers cannot decide disposal; they submit findings, which go back to the district.
    act(
        do_transition_case, GRID_WORKER, cid, "submit_findings", fields={"findings": "宣传保本高息"}
    )
    case = case_of(engine, "ent:a")
    assert (case.state, case.holder_scope, case.assignee) == ("assessing", DISTRICT, None)
    with pytest.raises(ActionForbidden):
        act(
            do_transition_case,
            GRID_WORKER,
            cid,
            "decide_disposal",
            fields={"basis": "x", "disposal": "police"},
        )
    with pytest.raises(ActionForbidden):  # auditors only read
        act(
            do_transition_case,
            AUDITOR,
            cid,
            "decide_disposal",
            fields={"basis": "x", "disposal": "police"},
        )
    act(
        do_transition_case,
        DISTRICT_ANALYST,
        cid,
        "decide_disposal",
        fields={"basis": "涉嫌非法吸收公众存款", "disposal": "police"},
    )
    with pytest.raises(InvalidAction, match="lead:police"):
        act(
            do_transition_case,
            DISTRICT_ANALYST,
            cid,
            "close",
            fields={"conclusion": "移交", "determination": "illegal_fundraising"},
        )
    lead = act(
        do_transfer_lead,
        DISTRICT_ANALYST,
        cid,
        kind="police",
        target_agency="深圳市公安局经侦支队",
        store=store,
        keys=keys,
    )
    assert len(lead.detail["package_sha256"]) == 64
    act(
        do_record_lead_receipt,
        DISTRICT_ANALYST,
        lead.detail["lead_id"],
        receipt_ref="深公经(2026)88号",
    )
    act(
        do_transition_case,
        DISTRICT_ANALYST,
        cid,
        "close",
        fields={"conclusion": "已移交公安", "determination": "illegal_fundraising"},
    )
    known = case_of(engine, "ent:a").closed_at
    assert known is not None
    act(
        do_record_lead_feedback,
        DISTRICT_ANALYST,
        lead.detail["lead_id"],
        feedback="已立案侦查",
        outcome="police_case",
        known_at=known + timedelta(seconds=1) - timedelta(seconds=1),
    )
    with Session(engine) as s:
        labels = outcome_labels(s)
        assert [(x.firm_id, x.outcome, x.source) for x in labels] == [
            ("ent:a", "confirmed_ifr", "close"),
            ("ent:a", "police_case", "lead_feedback"),
        ]
        detail = get_case(s, CITY_ANALYST, cid)
        kinds = [e["kind"] for e in detail.timeline]
        assert kinds == [
            "open",
            "assign",
            "assign",
            "assign",
            "transition",
            "checklist",
            "attach",
            "comment",
            "transition",
            "transition",
            "lead_transfer",
            "lead_receipt",
            "transition",
            "outcome",
            "lead_feedback",
            "outcome",
        ]
        assert [t["status"] for t in detail.tasks] == [
            "delegated",
            "delegated",
            "delegated",
            "done",
            "returned",
            "done",
            "closed",
        ]
        assert check_consistency(s) == []
        stats = case_statistics(s, CITY_ANALYST)
        assert stats.by_state == {"closed": 1, "pending": 2}
        assert stats.by_outcome == {"confirmed_ifr": 1, "police_case": 1}
        assert stats.leads["out"]["by_kind"] == {"police": 1}
        assert stats.leads["out"]["outcomes"] == {"police_case": 1}
        assert stats.time_to_close_days["count"] == 1.0
    total, entries = search(engine, target=f"case/{cid}", limit=100)
    assert total == len(kinds)
    assert entries[0].action == "lead.feedback" or entries[0].action == "outcome.record"

    # Reopening is the city's or district's, and gives the task to the reopener.
    with pytest.raises(ActionForbidden):
        act(do_transition_case, STREET_INVESTIGATOR, cid, "reopen", fields={"reason": "新线索"})
    act(do_transition_case, CITY_ANALYST, cid, "reopen", fields={"reason": "新的投诉"})
    case = case_of(engine, "ent:a")
    assert (case.state, case.holder_scope, case.reopened, case.closed_at) == (
        "assessing",
        CITY,
        1,
        None,
    )
    with Session(engine) as s:
        open_tasks = s.scalar(
            select(func.count())
            .select_from(CaseTask)
            .where(CaseTask.case_id == cid, CaseTask.status == "open")
        )
        assert open_tasks == 1
