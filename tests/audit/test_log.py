"""Appending, searching and proving on SQLite and PostgreSQL; the table is append-only."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from fengyan.audit import (
    AuditError,
    AuditItem,
    AuditSettings,
    append,
    append_many,
    consistency_proof,
    create_checkpoint,
    get_entry,
    inclusion_proof,
    search,
    tree_size,
    verify_log,
)
from fengyan.audit.merkle import verify_inclusion

from .conftest import fill


def test_append_gives_gap_free_numbers_and_rolls_back_with_the_caller(engine: Engine) -> None:
    fill(engine, 3)
    # The caller's transaction fails after appending: the entry and its number go with it.
    with pytest.raises(RuntimeError), Session(engine) as session, session.begin():
        append(session, actor="li.na", action="case.close", target="case/2026-0001")
        raise RuntimeError("the case change failed")
    with engine.begin() as conn:  # a Connection works as well as a Session
        entry = append(conn, actor="li.na", action="case.close", target="case/2026-0001",
                       detail={"reason": "解除"})  # fmt: skip
    assert entry.seq == 4 and entry.index == 3
    assert tree_size(engine) == 4
    stored = get_entry(engine, 4)
    assert stored == entry
    assert stored is not None and stored.detail == {"reason": "解除"}
    assert stored.at.tzinfo is not None


def test_bad_entries_are_refused_before_anything_is_written(engine: Engine) -> None:
    cases = [
        dict(actor="li.na", action="case.delete", target="case/1"),
        dict(actor="", action="case.open", target="case/1"),
        dict(actor="li.na", action="case.open", target=""),
        dict(actor="li.na", action="case.open", target="case/1", detail={"x": float("nan")}),
    ]
    for kwargs in cases:
        with pytest.raises(AuditError), Session(engine) as session, session.begin():
            append(session, **kwargs)  # type: ignore[arg-type]
    assert tree_size(engine) == 0
    with pytest.raises(AuditError):
        append_many(engine.connect(), [AuditItem("li.na", "no.such", "case/1", {})])


def test_search_filters_by_actor_action_target_time_and_personal_data(engine: Engine) -> None:
    fill(engine, 12)
    total, rows = search(engine)
    assert total == 12 and [e.seq for e in rows] == list(range(12, 0, -1))
    assert search(engine, actor="wang.qiang")[0] == 4  # seq 3, 6, 9, 12
    assert [e.seq for e in search(engine, action="personal.view")[1]] == [12, 8, 4]
    assert [e.seq for e in search(engine, personal_data=True)[1]] == [12, 8, 4]
    assert search(engine, action="case.*")[0] == 9
    assert search(engine, action="case.%")[0] == 0  # LIKE wildcards are literal
    assert [e.seq for e in search(engine, target="case/2026-0007")[1]] == [7]
    assert search(engine, target="case/2026-001*")[0] == 3  # 10, 11, 12
    assert [e.seq for e in search(engine, actor="li.na", action="personal.view")[1]] == [8, 4]
    first = get_entry(engine, 1)
    assert first is not None
    assert search(engine, since=first.at - timedelta(seconds=1))[0] == 12
    assert search(engine, until=first.at)[0] == 0
    assert search(engine, since=datetime(2100, 1, 1, tzinfo=UTC))[0] == 0
    page = search(engine, limit=5, offset=10)
    assert page[0] == 12 and [e.seq for e in page[1]] == [2, 1]


def test_the_application_cannot_update_delete_or_truncate_the_log(engine: Engine) -> None:
    fill(engine, 3)
    statements = [
        "UPDATE audit_entry SET actor = 'nobody' WHERE seq = 2",
        "DELETE FROM audit_entry WHERE seq = 3",
        "DELETE FROM audit_entry",
        "UPDATE audit_head SET size = 1",
        "DELETE FROM audit_head",
    ]
    if engine.dialect.name == "postgresql":
        statements += ["TRUNCATE audit_entry", "TRUNCATE audit_head", "TRUNCATE audit_checkpoint"]
    for sql in statements:
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(text(sql))
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT seq, actor FROM audit_entry ORDER BY seq")).all()
        assert [r[0] for r in rows] == [1, 2, 3] and rows[1][1] == "li.na"
        assert conn.execute(text("SELECT size FROM audit_head")).scalar() == 3


def test_checkpoint_rows_are_append_only_too(engine: Engine, audit: AuditSettings) -> None:
    fill(engine, 2)
    create_checkpoint(engine, audit)
    for sql in ("UPDATE audit_checkpoint SET tree_size = 1", "DELETE FROM audit_checkpoint"):
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(text(sql))


def test_proofs_served_from_the_table_check_against_signed_checkpoints(
    engine: Engine, audit: AuditSettings
) -> None:
    fill(engine, 6)
    first, _, _ = create_checkpoint(engine, audit)
    fill(engine, 7, start=7)
    second, _, _ = create_checkpoint(engine, audit)
    assert (first.tree_size, second.tree_size) == (6, 13)
    for seq in (1, 6):
        proof = inclusion_proof(engine, seq, 6)
        assert proof.verify(first.root_hash)
        assert proof.verify(second.root_hash) is False
    proof = inclusion_proof(engine, 13)
    assert proof.tree_size == 13 and proof.verify(second.root_hash)
    assert verify_inclusion(proof.leaf_hash, 12, 13, proof.path, second.root_hash)
    assert proof.to_json()["leaf_index"] == 12
    grown = consistency_proof(engine, 6, 13)
    assert grown.first_root == first.root_hash and grown.second_root == second.root_hash
    assert grown.verify()
    with pytest.raises(AuditError):
        inclusion_proof(engine, 14)


def test_bulk_append_numbers_and_hashes_like_single_appends(
    engine: Engine, audit: AuditSettings
) -> None:
    fill(engine, 2)
    items = [AuditItem("importer", "data.export", f"batch/{i}", {"rows": i}) for i in range(500)]
    with engine.begin() as conn:
        assert append_many(conn, items, batch=128) == 502
    report = verify_log(engine, audit)
    assert report.ok and report.tree_size == 502
    assert [e.seq for e in search(engine, actor="importer", limit=2)[1]] == [502, 501]


def _concurrent_appends(engine: Engine, threads: int, each: int) -> list[BaseException]:
    errors: list[BaseException] = []
    start = threading.Barrier(threads)

    def worker(n: int) -> None:
        try:
            start.wait()
            for i in range(each):
                with Session(engine) as session, session.begin():
                    append(session, actor=f"user{n}", action="case.comment",
                           target=f"case/{n}", detail={"i": i})  # fmt: skip
        except BaseException as exc:  # reported to the test below
            errors.append(exc)

    pool = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return errors


def test_concurrent_appends_serialise_without_gaps(engine: Engine, audit: AuditSettings) -> None:
    threads, each = (8, 25) if engine.dialect.name == "postgresql" else (4, 10)
    assert _concurrent_appends(engine, threads, each) == []
    with engine.connect() as conn:
        seqs = conn.execute(text("SELECT seq FROM audit_entry ORDER BY seq")).scalars().all()
    assert seqs == list(range(1, threads * each + 1))
    counts = {f"user{n}": search(engine, actor=f"user{n}")[0] for n in range(threads)}
    assert set(counts.values()) == {each}
    report = verify_log(engine, audit)
    assert report.ok and report.tree_size == threads * each
