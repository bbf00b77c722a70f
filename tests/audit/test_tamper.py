"""Tampering with the database directly, as a superuser would, is caught by ``verify``.

Each case starts from a log of 23 entries with two signed checkpoints (after entry 8 and
after entry 20) exported to a folder outside the database, then edits the tables with raw
SQL after dropping the append-only triggers — on SQLite and on PostgreSQL — and checks
that verify names what happened, in Chinese and in English.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine, text

from fengyan.audit import AuditSettings, VerifyReport, create_checkpoint, scan, verify_log
from fengyan.audit.canonical import entry_bytes
from fengyan.audit.checkpoint import export, sign
from fengyan.audit.merkle import leaf_hash, root

from .conftest import drop_triggers, fill


@dataclass
class Log:
    engine: Engine
    audit: AuditSettings


@pytest.fixture
def log(engine: Engine, audit: AuditSettings) -> Log:
    fill(engine, 8)
    create_checkpoint(engine, audit)
    fill(engine, 12, start=9)
    create_checkpoint(engine, audit)
    fill(engine, 3, start=21)
    drop_triggers(engine)  # from here on we are the database superuser
    return Log(engine, audit)


def sql(log: Log, statement: str, **params: object) -> None:
    with log.engine.begin() as conn:
        conn.execute(text(statement), params)


def rehash(log: Log, first: int) -> None:
    """Recompute the stored leaf hashes from ``first`` on (the attacker knows the format)."""
    with log.engine.begin() as conn:
        rows = conn.execute(
            text("SELECT seq, at, actor, action, target, detail FROM audit_entry WHERE seq >= :s"),
            {"s": first},
        ).all()
        for row in rows:
            conn.execute(
                text("UPDATE audit_entry SET leaf_hash = :h WHERE seq = :s"),
                {"h": leaf_hash(entry_bytes(*row)), "s": row[0]},
            )


def forge_db_checkpoint(log: Log) -> None:
    """Sign the tampered log's recomputed root with a key of our own; store it as a row."""
    with log.engine.begin() as conn:
        leaves = [bytes(h) for h in conn.execute(
            text("SELECT leaf_hash FROM audit_entry ORDER BY seq")).scalars()]  # fmt: skip
        cp = sign(Ed25519PrivateKey.generate(), log.audit.origin, len(leaves), root(leaves),
                  "2030-01-01T00:00:00.000000Z")  # fmt: skip
        conn.execute(
            text("INSERT INTO audit_checkpoint (origin, tree_size, root_hash, at, key_id, "
                 "signature) VALUES (:o, :n, :r, :a, :k, :s)"),
            {"o": cp.origin, "n": cp.tree_size, "r": cp.root_hash, "a": cp.at, "k": cp.key_id,
             "s": base64.b64encode(cp.signature).decode()},
        )  # fmt: skip


def check(log: Log) -> VerifyReport:
    return verify_log(log.engine, log.audit)


def codes(report: VerifyReport) -> list[tuple[str, int | None]]:
    return [(f.code, f.seq) for f in report.errors]


def said(report: VerifyReport, code: str, zh: str, en: str) -> None:
    """The finding ``code`` is there, and reads as expected in both languages."""
    messages = [f for f in report.errors if f.code == code]
    assert messages, f"no {code} in {codes(report)}"
    assert any(zh in f.message("zh") for f in messages), [f.message("zh") for f in messages]
    assert any(en in f.message("en") for f in messages), [f.message("en") for f in messages]


def test_an_untouched_log_verifies(log: Log) -> None:
    report = check(log)
    assert report.ok and report.tree_size == 23 and report.anchored_size == 20
    assert [a.status for a in report.anchors] == ["ok"] * 4  # two files, two rows
    info = [f for f in report.findings if f.code == "audit_unanchored"]
    assert info and info[0].params == {"count": 3, "first": 21}
    # The test's export folder is writable by us, which verify points out.
    assert any(f.code == "audit_checkpoint_dir_writable" for f in report.findings)


def test_an_edited_historical_entry_is_named(log: Log) -> None:
    sql(log, "UPDATE audit_entry SET detail = :d WHERE seq = 5",
        d='{"from":"核查中","n":5,"to":"解除"}')  # fmt: skip
    report = check(log)
    assert not report.ok
    assert report.first_bad == 5 and report.first_bad_upto is None
    assert ("audit_entry_edited", 5) in codes(report)
    said(report, "audit_entry_edited", "第 5 条", "entry 5 does not match")
    said(report, "audit_root_mismatch", "第 1–8 条", "between 1 and 8")


def test_an_edit_with_recomputed_hashes_is_bracketed_by_the_checkpoints(log: Log) -> None:
    sql(log, "UPDATE audit_entry SET target = 'case/2026-9999' WHERE seq = 12")
    rehash(log, 12)
    report = check(log)
    assert not report.ok
    assert "audit_entry_edited" not in {c for c, _ in codes(report)}
    # The checkpoint after entry 8 still holds; the one after entry 20 does not.
    assert (report.first_bad, report.first_bad_upto) == (9, 20)
    statuses = {(a.tree_size, a.status) for a in report.anchors}
    assert statuses == {(8, "ok"), (20, "audit_root_mismatch")}
    said(report, "audit_root_mismatch", "第 9–20 条之间", "between 9 and 20")


def test_deleted_last_entries_are_caught_even_with_the_counter_fixed(log: Log) -> None:
    sql(log, "DELETE FROM audit_entry WHERE seq >= 19")
    sql(log, "UPDATE audit_head SET size = 18")
    report = check(log)
    assert not report.ok and report.tree_size == 18
    assert report.first_bad == 19
    said(report, "audit_log_shorter", "第 19–20 条被删除", "entries 19–20 were deleted")


def test_deleted_last_entries_show_in_the_counter_too(log: Log) -> None:
    sql(log, "DELETE FROM audit_entry WHERE seq >= 22")  # after the last checkpoint
    report = check(log)
    assert not report.ok and report.first_bad == 22
    said(report, "audit_head_mismatch", "计数行记录了 23 条", "counter says 23")


def test_a_deleted_middle_entry_leaves_a_gap(log: Log) -> None:
    sql(log, "DELETE FROM audit_entry WHERE seq = 10")
    report = check(log)
    assert report.first_bad == 10
    said(report, "audit_entry_missing", "缺少第 10–10 条", "entries 10–10 are missing")


def _swap(log: Log, a: int, b: int) -> None:
    columns = "at, actor, action, target, detail, leaf_hash"
    with log.engine.begin() as conn:
        rows = {r[0]: r[1:] for r in conn.execute(
            text(f"SELECT seq, {columns} FROM audit_entry WHERE seq IN (:a, :b)"),
            {"a": a, "b": b})}  # fmt: skip
        for seq, other in ((a, b), (b, a)):
            conn.execute(
                text("UPDATE audit_entry SET at = :at, actor = :actor, action = :action, "
                     "target = :target, detail = :detail, leaf_hash = :h WHERE seq = :seq"),
                dict(zip(("at", "actor", "action", "target", "detail", "h"), rows[other],
                         strict=True), seq=seq),
            )  # fmt: skip


def test_reordered_entries_are_named(log: Log) -> None:
    _swap(log, 3, 4)
    report = check(log)
    assert report.first_bad == 3
    assert {("audit_entry_edited", 3), ("audit_entry_edited", 4)} <= set(codes(report))


def test_reordered_entries_with_recomputed_hashes_are_caught(log: Log) -> None:
    _swap(log, 3, 4)
    rehash(log, 3)
    report = check(log)
    assert not report.ok and (report.first_bad, report.first_bad_upto) == (1, 8)


def test_an_inserted_forged_entry_with_a_recomputed_root_is_caught(log: Log) -> None:
    # Make room at 15 (two steps: a primary key cannot collide midway), insert a forged
    # entry, recompute every later hash and the counter, and sign a database checkpoint
    # over the result with a key of our own.
    sql(log, "UPDATE audit_entry SET seq = -seq WHERE seq >= 15")
    sql(log, "UPDATE audit_entry SET seq = 1 - seq WHERE seq < 0")
    at, detail = "2026-01-01T00:00:00.000000Z", '{"to":"解除"}'
    forged = ("zhao.lei", "case.close", "case/2026-0015")
    sql(log, "INSERT INTO audit_entry (seq, at, actor, action, target, detail, leaf_hash) "
             "VALUES (15, :at, :actor, :action, :target, :detail, :h)",
        at=at, actor=forged[0], action=forged[1], target=forged[2], detail=detail,
        h=leaf_hash(entry_bytes(15, at, *forged, detail)))  # fmt: skip
    rehash(log, 15)
    sql(log, "UPDATE audit_head SET size = 24")
    forge_db_checkpoint(log)
    report = check(log)
    assert not report.ok and report.tree_size == 24
    assert (report.first_bad, report.first_bad_upto) == (9, 20)
    said(report, "audit_checkpoint_unknown_key", "未知密钥", "unknown key")
    said(report, "audit_root_mismatch", "第 9–20 条之间", "between 9 and 20")


def test_a_truncated_and_rebuilt_log_is_caught(log: Log) -> None:
    sql(log, "DELETE FROM audit_checkpoint")
    sql(log, "DELETE FROM audit_entry")
    sql(log, "UPDATE audit_head SET size = 0")
    fill(log.engine, 23, actor="rewritten")  # rebuilt through the application's own code
    forge_db_checkpoint(log)
    report = check(log)
    assert not report.ok and report.tree_size == 23
    assert "audit_entry_edited" not in {c for c, _ in codes(report)}
    assert (report.first_bad, report.first_bad_upto) == (1, 8)
    said(report, "audit_root_mismatch", "第 1–8 条之间", "between 1 and 8")
    said(report, "audit_checkpoint_unknown_key", "视为伪造", "treated as forged")


def test_a_rebuilt_shorter_log_is_caught(log: Log) -> None:
    sql(log, "DELETE FROM audit_entry")
    sql(log, "UPDATE audit_head SET size = 0")
    fill(log.engine, 5)
    report = check(log)
    assert report.first_bad == 6
    said(report, "audit_log_shorter", "现在只有 5 条", "now holds 5")


def test_forged_and_broken_checkpoint_files_are_reported(log: Log) -> None:
    folder = log.audit.checkpoint_dir
    real = sorted(folder.glob("*.json"))[-1].read_text()
    # A checkpoint over a different root claiming the real key id: bad signature.
    stranger = sign(Ed25519PrivateKey.generate(), log.audit.origin, 23, b"\x07" * 32,
                    "2031-01-01T00:00:00.000000Z")  # fmt: skip
    key = sorted((folder / "keys").glob("*.pub"))[0].stem
    export(type(stranger)(stranger.origin, 23, stranger.root_hash, stranger.at, key,
                          stranger.signature), folder)  # fmt: skip
    (folder / "broken.json").write_text(real.replace('"tree_size"', '"size"'))
    report = check(log)
    said(report, "audit_checkpoint_bad_signature", "签名无效", "invalid signature")
    said(report, "audit_checkpoint_malformed", "broken.json", "field tree_size")
    # The good checkpoints still hold: nothing else is reported.
    assert {c for c, _ in codes(report)} == {
        "audit_checkpoint_bad_signature", "audit_checkpoint_malformed",
    }  # fmt: skip


def test_checkpoints_of_another_log_do_not_count(log: Log, tmp_path: Path) -> None:
    other = AuditSettings(log.audit.key_path, log.audit.checkpoint_dir, "another-city")
    report = verify_log(log.engine, other)
    assert {c for c, _ in codes(report)} == {"audit_checkpoint_other_log"}


def summary(report: VerifyReport) -> tuple[object, ...]:
    anchors = sorted((a.source, a.tree_size, a.status) for a in report.anchors)
    return (codes(report), report.first_bad, report.first_bad_upto, report.tree_size,
            report.root_hash, anchors)  # fmt: skip


def test_two_processes_find_what_one_finds(log: Log, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(scan, "PARALLEL_FROM", 2)  # big logs only, normally

    def both() -> VerifyReport:
        one = verify_log(log.engine, log.audit, processes=1)
        two = verify_log(log.engine, log.audit, processes=2)
        assert summary(one) == summary(two)
        return two

    assert both().ok
    # 22 entries are split after the 16th: the missing 17th sits right at the seam.
    sql(log, "DELETE FROM audit_entry WHERE seq = 17")
    report = both()
    assert report.first_bad == 17 and ("audit_entry_missing", 17) in codes(report)
    sql(log, "UPDATE audit_entry SET actor = 'x' WHERE seq = 20")
    rehash(log, 20)
    sql(log, "UPDATE audit_entry SET actor = 'x' WHERE seq = 3")
    report = both()
    assert report.first_bad == 3
