"""Attachments typed by content; lead packages signed, verified, tampered, imported."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from fengyan.settings import Settings
from fengyan.workflow import (
    AttachmentRejected,
    AttachmentStore,
    AttachmentTooLarge,
    LeadKeys,
    case_statistics,
    do_add_attachment,
    do_assign_case,
    do_import_lead,
    do_transfer_lead,
    export_lead_package,
    get_case,
    list_cases,
    open_cases_for_new_red,
    verify_package,
)
from fengyan.workflow.attachments import DOCX, XLSX, clean_file_name, detect_media_type
from fengyan.workflow.package import build_package
from fengyan.workspace import Workspace
from tests.workflow.conftest import (
    CITY_ANALYST,
    DISTRICT,
    DISTRICT_ANALYST,
    JPEG,
    OTHER_DISTRICT_ANALYST,
    PDF,
    person,
)


def office(*names: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        for name in names:
            z.writestr(name, "<x/>")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (JPEG, "image/jpeg"),
        (b"\x89PNG\r\n\x1a\n" + b"\0" * 20, "image/png"),
        (b"RIFF\x10\0\0\0WEBPVP8 ", "image/webp"),
        (PDF, "application/pdf"),
        (office("[Content_Types].xml", "word/document.xml"), DOCX),
        (office("[Content_Types].xml", "xl/workbook.xml"), XLSX),
        ("核查笔录：负责人称年化收益 12%。\n".encode(), "text/plain"),
        (office("[Content_Types].xml", "word/document.xml", "word/vbaProject.bin"), None),
        (office("evil.exe"), None),  # a plain ZIP
        (b"MZ\x90\0" + b"\0" * 60, None),  # a Windows executable named photo.jpg
        (b"<html><script>alert(1)</script></html>", None),
        (b"<svg onload=alert(1)/>", None),
        (b"\x7fELF\x02\x01\x01", None),
        ("GBK 编码".encode("gbk"), None),
    ],
)
def test_types_come_from_the_content(data: bytes, expected: str | None) -> None:
    assert detect_media_type(data) == expected


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("../../etc/passwd", "passwd"),
        ("C:\\Windows\\win.ini", "win.ini"),
        ("/abs/现场.jpg", "现场.jpg"),
        (".bashrc", "bashrc"),
        ("a\x00b\nc.pdf", "abc.pdf"),
        ("..", "file"),
        ("", "file"),
    ],
)
def test_names_are_only_shown_never_used_as_paths(name: str, shown: str) -> None:
    assert clean_file_name(name, 200) == shown


def test_the_store_is_content_addressed_and_checks_on_read(tmp_path: Path) -> None:
    store = AttachmentStore(tmp_path / "files")
    stored = store.put(PDF)
    path = store.path(stored.sha256)
    assert path == tmp_path / "files" / stored.sha256[:2] / stored.sha256[2:4] / stored.sha256
    assert store.put(PDF) == stored and store.get(stored.sha256) == PDF
    with pytest.raises(AttachmentRejected):
        store.path("../../etc/passwd")
    with pytest.raises(AttachmentTooLarge):
        store.put(b"%PDF-" + b"0" * (20 * 1024 * 1024))
    with pytest.raises(AttachmentRejected, match="not accepted"):
        store.put(b"MZ\x90\0")
    path.chmod(0o640)
    path.write_bytes(PDF + b"x")  # someone edits the file behind our back
    with pytest.raises(AttachmentRejected, match="altered"):
        store.get(stored.sha256)


def _case_with_files(engine: Engine, run_id: int, store: AttachmentStore) -> int:
    with Session(engine) as s, s.begin():
        cid = open_cases_for_new_red(s, run_id).opened[0]
        do_assign_case(s, CITY_ANALYST, cid, DISTRICT)
        do_add_attachment(s, DISTRICT_ANALYST, cid, store, JPEG, "现场照片.jpg")
        do_add_attachment(s, DISTRICT_ANALYST, cid, store, PDF, "../询问笔录.pdf")
    return cid


def test_a_lead_package_verifies_and_tampering_is_caught(
    engine: Engine, run_id: int, store: AttachmentStore, keys: LeadKeys, tmp_path: Path
) -> None:
    cid = _case_with_files(engine, run_id, store)
    with Session(engine) as s, s.begin():
        lead = do_transfer_lead(
            s,
            DISTRICT_ANALYST,
            cid,
            kind="region",
            target_region="310115",
            target_agency="上海市浦东新区金融工作局",
            store=store,
            keys=keys,
            evidence_loader=lambda ks: {
                k: {"_id": k, "text": "年化 12%"} for k in ks if k.startswith("ad/")
            },
        )
    with Session(engine) as s, s.begin():
        package = export_lead_package(s, DISTRICT_ANALYST, lead.detail["lead_id"], store)
    # The receiver trusts our key (it got our .pub out of band).
    receiver = tmp_path / "receiver"
    keys.export_public(receiver)
    trusted = LeadKeys(tmp_path / "r.key", receiver, "shanghai").trusted()
    report = verify_package(package, trusted)
    assert report.ok, report.messages("en")
    assert sorted(report.files) == sorted(
        ["case.json", "evidence.json", *(f"attachments/{store.digest(d)}" for d in (JPEG, PDF))]
    )
    assert report.manifest["evidence_missing"] == ["complaint/ent:a-9"]
    assert json.loads(report.files["case.json"])["firm_id"] == "ent:a"
    # An untrusted receiver: intact and signed, but not by anyone it knows.
    assert not verify_package(package, {}).ok
    assert verify_package(package, {}).signature_valid

    def rewrite(change: dict[str, bytes | None]) -> bytes:
        out = io.BytesIO()
        with zipfile.ZipFile(io.BytesIO(package)) as src, zipfile.ZipFile(out, "w") as dst:
            for info in src.infolist():
                data = change.get(info.filename, src.read(info))
                if data is not None:
                    dst.writestr(info.filename, data)
            for name, data in change.items():
                if name not in src.namelist() and data is not None:
                    dst.writestr(name, data)
        return out.getvalue()

    edited = json.loads(report.files["case.json"])
    edited["grade"] = "blue"
    cases = {
        "case.json": ({"case.json": json.dumps(edited).encode()}, "workflow_lead_hash_mismatch"),
        "drop": ({"evidence.json": None}, "workflow_lead_missing_file"),
        "extra": ({"notes.txt": b"hi"}, "workflow_lead_extra_file"),
        "traversal": ({"../../evil.sh": b"rm -rf /"}, "workflow_lead_bad_path"),
    }
    for name, (change, code) in cases.items():
        bad = verify_package(rewrite(change), trusted)
        assert not bad.ok and code in [c for c, _ in bad.problems], name
    # A forger re-hashes the manifest but cannot sign it with our key.
    forged = build_package(
        {k: v for k, v in report.manifest.items() if k not in ("files", "key_id", "format")},
        {**report.files, "case.json": json.dumps(edited).encode()},
        Ed25519PrivateKey.generate(),
        datetime(2026, 1, 1, tzinfo=UTC),
    )
    assert [c for c, _ in verify_package(forged, trusted).problems] == ["workflow_lead_untrusted"]
    assert verify_package(b"not a zip", trusted).problems[0][0] == "workflow_lead_not_zip"


def test_a_lead_imported_by_another_deployment_and_the_statistics(
    engine: Engine, run_id: int, store: AttachmentStore, keys: LeadKeys, tmp_path: Path
) -> None:
    cid = _case_with_files(engine, run_id, store)
    with Session(engine) as s, s.begin():
        lead = do_transfer_lead(
            s, DISTRICT_ANALYST, cid, kind="region", target_region="310115", store=store, keys=keys
        )
        package = export_lead_package(s, DISTRICT_ANALYST, lead.detail["lead_id"], store)
    # Shanghai runs its own Fengyan, with its own database and files.
    home = tmp_path / "shanghai"
    other = Workspace(
        Settings(
            home=home,
            lake_dir=home / "lake",
            database_url=f"sqlite:///{home / 'f.db'}",
            chunk_rows=1000,
            pseudonym_key_env="k",
        )
    )
    other.init()
    keys.export_public(home / "trusted")
    trusted = LeadKeys(home / "k", home / "trusted", "shanghai").trusted()
    pudong = person("pudong.liu", "analyst", "310115")
    their_store = AttachmentStore(home / "files")
    with Session(other.engine) as s, s.begin():
        result = do_import_lead(s, pudong, package, trusted, their_store)
    with Session(other.engine) as s:
        detail = get_case(s, pudong, result.case_id)
        assert (detail.summary.region_code, detail.summary.source) == ("310115", "lead")
        assert len(detail.attachments) == 2 and detail.leads[0]["direction"] == "in"
        assert detail.leads[0]["origin"] == "shenzhen"
        assert case_statistics(s, pudong).leads["in"] == {
            "total": 1,
            "by_kind": {"region": 1},
            "by_origin": {"shenzhen": 1},
        }
    with pytest.raises(Exception, match="already"), Session(other.engine) as s, s.begin():
        do_import_lead(s, pudong, package, trusted, their_store)
    other.engine.dispose()


def test_an_internal_transfer_opens_the_other_regions_case(
    engine: Engine, run_id: int, store: AttachmentStore
) -> None:
    cid = _case_with_files(engine, run_id, store)
    with Session(engine) as s, s.begin():
        result = do_transfer_lead(
            s,
            DISTRICT_ANALYST,
            cid,
            kind="region",
            target_region="440304",
            internal=True,
            note="实际经营地在福田",
        )
    peer = result.detail["peer_case_id"]
    with Session(engine) as s:
        theirs = get_case(s, OTHER_DISTRICT_ANALYST, peer)
        assert theirs.summary.holder_scope == "440304" and theirs.leads[0]["peer_case_id"] == cid
        assert [c.id for c in list_cases(s, OTHER_DISTRICT_ANALYST, source="lead").items] == [peer]
        stats = case_statistics(s, CITY_ANALYST)
        assert stats.leads["out"]["by_target_region"] == {"440304": 1}
        assert stats.leads["in"]["by_origin"] == {"internal": 1}
