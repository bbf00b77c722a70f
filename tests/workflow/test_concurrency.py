"""Optimistic locking, idempotency keys, rollback of action and audit together, kills."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

import fengyan.workflow.core as core
from fengyan.audit import tree_size
from fengyan.db.cases import Case, CaseEvent
from fengyan.workflow import (
    CaseConflict,
    IdempotencyMismatch,
    check_consistency,
    do_assign_case,
    do_transition_case,
    open_cases_for_new_red,
)
from tests.workflow.conftest import CITY_ANALYST, DISTRICT


@pytest.fixture
def cid(engine: Engine, run_id: int) -> int:
    with Session(engine) as s, s.begin():
        return open_cases_for_new_red(s, run_id).opened[0]


def state(engine: Engine, cid: int) -> tuple[str, str, int]:
    with Session(engine) as s:
        case = s.get(Case, cid)
        assert case is not None
        return case.state, case.holder_scope, case.version


def events(engine: Engine, cid: int) -> int:
    with Session(engine) as s:
        return int(
            s.scalar(select(func.count()).select_from(CaseEvent).where(CaseEvent.case_id == cid))
            or 0
        )


def test_a_stale_version_is_a_conflict(engine: Engine, cid: int) -> None:
    with Session(engine) as s, s.begin():
        do_assign_case(s, CITY_ANALYST, cid, DISTRICT, expected_version=1)
    with Session(engine) as s, s.begin(), pytest.raises(CaseConflict) as caught:
        do_transition_case(
            s,
            CITY_ANALYST,
            cid,
            "start_verification",
            fields={"mode": "off_site"},
            expected_version=1,
        )
    assert "version 1" in caught.value.message("en") and caught.value.status == 409
    assert state(engine, cid) == ("pending", DISTRICT, 2)


def test_two_users_at_once_exactly_one_wins(engine: Engine, cid: int) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("concurrent writers need PostgreSQL (SQLite serialises writers)")
    barrier = threading.Barrier(2)
    outcomes: list[Any] = [None, None]

    def user(i: int) -> None:
        with Session(engine) as s:
            try:
                with s.begin():
                    case = s.get(Case, cid)  # both read version 1 …
                    assert case is not None and case.version == 1
                    barrier.wait()  # … then both write at once
                    outcomes[i] = do_transition_case(
                        s,
                        CITY_ANALYST,
                        cid,
                        "start_verification",
                        fields={"mode": ("on_site", "off_site")[i]},
                        expected_version=1,
                    )
            except CaseConflict as exc:
                outcomes[i] = exc

    threads = [threading.Thread(target=user, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    wins = [o for o in outcomes if not isinstance(o, CaseConflict)]
    losses = [o for o in outcomes if isinstance(o, CaseConflict)]
    assert len(wins) == 1 and len(losses) == 1, outcomes
    assert losses[0].message_code == "workflow_conflict_race"
    assert state(engine, cid) == ("verifying", "4403", 2)
    assert events(engine, cid) == 2  # open + the one transition
    with Session(engine) as s:
        assert check_consistency(s) == []


def test_an_idempotency_key_applies_once(engine: Engine, cid: int) -> None:
    def call(key: str, to: str = DISTRICT) -> Any:
        with Session(engine) as s, s.begin():
            return do_assign_case(s, CITY_ANALYST, cid, to, idempotency_key=key)

    first = call("req-7f3a")
    size = tree_size(engine)
    again = call("req-7f3a")  # the client lost the response and retries
    assert again.replayed and not first.replayed
    assert (again.case_id, again.version, again.event_id, again.audit_seq) == (
        first.case_id,
        first.version,
        first.event_id,
        first.audit_seq,
    )
    assert tree_size(engine) == size and events(engine, cid) == 2
    with pytest.raises(IdempotencyMismatch):
        call("req-7f3a", to="440304")


def test_a_failure_after_the_audit_append_leaves_neither(
    engine: Engine, cid: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    size, before = tree_size(engine), state(engine, cid)
    real = core.record

    def record_then_crash(*args: Any, **kwargs: Any) -> int:
        seq = real(*args, **kwargs)
        assert seq == size + 1  # the entry was appended in this transaction …
        raise RuntimeError("crash after the audit append")

    monkeypatch.setattr(core, "record", record_then_crash)
    with pytest.raises(RuntimeError), Session(engine) as s, s.begin():
        do_assign_case(s, CITY_ANALYST, cid, DISTRICT)
    # … and went with the rollback, together with the change.
    assert tree_size(engine) == size and state(engine, cid) == before
    assert events(engine, cid) == 1
    with Session(engine) as s:
        assert check_consistency(s) == []


KILLED = textwrap.dedent("""
    import os, signal, sys
    from sqlalchemy.orm import Session
    from fengyan.db.engine import make_engine
    from fengyan.workflow import do_assign_case, do_transition_case
    from tests.workflow.conftest import CITY_ANALYST, DISTRICT_ANALYST, DISTRICT
    engine = make_engine(sys.argv[1]); cid = int(sys.argv[2])
    with Session(engine) as s, s.begin():
        do_assign_case(s, CITY_ANALYST, cid, DISTRICT)
    print("committed", flush=True)
    s = Session(engine); s.begin()
    do_transition_case(s, DISTRICT_ANALYST, cid, "start_verification", fields={"mode": "on_site"})
    s.flush()
    os.kill(os.getpid(), signal.SIGKILL)  # killed before the second commit
""")


def test_a_killed_process_keeps_what_it_committed_and_nothing_else(
    engine: Engine, cid: int
) -> None:
    size = tree_size(engine)
    url = engine.url.render_as_string(hide_password=False)
    proc = subprocess.run(
        [sys.executable, "-c", KILLED, url, str(cid)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__))),
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert proc.stdout.strip() == "committed"
    assert state(engine, cid) == ("pending", DISTRICT, 2)
    assert tree_size(engine) == size + 1 and events(engine, cid) == 2
    with Session(engine) as s:
        assert check_consistency(s) == []
