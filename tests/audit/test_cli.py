"""``fengyan audit …`` end to end on SQLite: checkpoint, verify, search, proof, key rotation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from fengyan.audit import AuditSettings, create_checkpoint, verify_log
from fengyan.audit.keys import key_id, load_key, rotate_key
from fengyan.cli.app import app
from fengyan.workspace import Workspace

from .conftest import drop_triggers, fill


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    home = tmp_path / "home"
    return {
        "FENGYAN_HOME": str(home),
        "FENGYAN_DATABASE_URL": f"sqlite:///{home / 'fengyan.db'}",
        "FENGYAN_AUDIT_KEY": str(tmp_path / "secret" / "audit.key"),
        "FENGYAN_AUDIT_CHECKPOINTS": str(tmp_path / "anchor"),
        "FENGYAN_PSEUDONYM_KEY": "test-key",
        "COLUMNS": "200",
    }


def run(env: dict[str, str], *args: str, lang: str = "zh") -> tuple[int, str]:
    result = CliRunner().invoke(app, ["--lang", lang, "audit", *args], env=env)
    return result.exit_code, result.output


def test_checkpoint_verify_search_and_proof(env: dict[str, str], tmp_path: Path) -> None:
    ws = Workspace.from_env(Path(env["FENGYAN_HOME"]))
    engine = ws.engine
    fill(engine, 9)
    code, out = run(env, "checkpoint")
    assert code == 0 and "树大小 9" in out
    assert (tmp_path / "secret" / "audit.key").stat().st_mode & 0o077 == 0  # owner only
    assert len(list((tmp_path / "anchor").glob("000000000009-*.json"))) == 1
    assert len(list((tmp_path / "anchor" / "keys").glob("*.pub"))) == 1

    code, out = run(env, "verify", lang="en")
    assert code == 0 and "Audit log intact: 9 entries" in out

    code, out = run(env, "search", "--action", "personal.view")
    assert code == 0 and "共 2 条匹配" in out and "查看个人信息" in out  # entries 4 and 8

    code, out = run(env, "proof", "4", "--json")
    body = json.loads(out)
    assert code == 0 and body["valid"] is True and body["tree_size"] == 9
    assert body["leaf_index"] == 3 and len(body["signed_by"]) == 2  # the file and the row
    code, out = run(env, "proof", "4")
    assert code == 0 and "签名检查点" in out

    drop_triggers(engine)
    with engine.begin() as conn:
        conn.execute(text("UPDATE audit_entry SET actor = 'someone' WHERE seq = 7"))
    code, out = run(env, "verify")
    assert code == 1 and "第一条被篡改的记录：第 7 条" in out
    code, out = run(env, "verify", lang="en")
    assert code == 1 and "First bad entry: 7" in out
    code, out = run(env, "checkpoint")
    assert code == 2 and "拒绝签署" in out  # it will not bless a tampered log
    ws.engine.dispose()


def test_verify_reads_checkpoints_from_the_folder_given(
    env: dict[str, str], tmp_path: Path
) -> None:
    ws = Workspace.from_env(Path(env["FENGYAN_HOME"]))
    fill(ws.engine, 3)
    assert run(env, "checkpoint", "--checkpoints", str(tmp_path / "elsewhere"))[0] == 0
    code, out = run(env, "verify", lang="en")  # the default folder holds nothing
    assert code == 0 and "No checkpoint in the export folder" in out and "No keyring" in out
    code, out = run(env, "verify", "--checkpoints", str(tmp_path / "elsewhere"), lang="en")
    assert code == 0 and "1 signed checkpoints agree" in out
    ws.engine.dispose()


def test_key_rotation_keeps_old_checkpoints_verifiable(
    engine: Engine, audit: AuditSettings
) -> None:
    fill(engine, 4)
    first, _, _ = create_checkpoint(engine, audit)
    old, new = rotate_key(audit.key_path, audit.checkpoint_dir)
    assert old == first.key_id and new != old
    assert key_id(load_key(audit.key_path).public_key()) == new
    fill(engine, 3, start=5)
    second, _, _ = create_checkpoint(engine, audit)
    assert second.key_id == new
    report = verify_log(engine, audit)
    assert report.ok and [a.status for a in report.anchors] == ["ok"] * 4
    assert {p.stem for p in (audit.checkpoint_dir / "keys").glob("*.pub")} == {old, new}


def test_actions_lists_the_catalogue(env: dict[str, str]) -> None:
    code, out = run(env, "actions", lang="en")
    assert code == 0 and "case.transition" in out and "viewed unmasked personal data" in out
