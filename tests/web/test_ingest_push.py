"""Push ingestion: JSON Lines through the same validation, quarantine and ledger as files."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from fengyan.audit import search
from fengyan.db.users import WebUser
from fengyan.ingest.service import ingest_path, list_batches, list_quarantine
from fengyan.web.app import create_app
from fengyan.workspace import Workspace
from tests.web.conftest import TEST_SETTINGS, MakeUser, token_client_for, ws_of

NDJSON = {"Content-Type": "application/x-ndjson"}
ROWS = [
    {"person_id": "P1", "name": "张伟", "id_number": "440300197001101007",
     "phone": ["13800138000"], "region_code": "440305"},
    {"person_id": "P2", "name": "王芳", "id_number": "440301197102111016",
     "region_code": "440305001001"},
    # A broken ID number (check digit) and a region code that is not a code.
    {"person_id": "P3", "name": "李强", "id_number": "440302197203121020",
     "region_code": "44030X"},
    {"person_id": "P4"},  # the name is required
]  # fmt: skip
BODY = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in ROWS).encode()


@pytest.fixture
def agency(web_app: FastAPI, make_user: MakeUser) -> TestClient:
    return token_client_for(web_app, make_user("gongan-etl", "agency", "4403"))


def push(c: TestClient, body: bytes = BODY, type_name: str = "Person", **params: str) -> object:
    return c.post(f"/api/v1/ingest/{type_name}", params={"source": "公安局", **params},
                  content=body, headers=NDJSON)  # fmt: skip


def test_a_pushed_batch_is_validated_and_quarantined_like_a_file(
    agency: TestClient, web_app: FastAPI
) -> None:
    response = push(agency, as_of="2026-06-30")
    assert response.status_code == 200, response.text  # type: ignore[attr-defined]
    out = response.json()  # type: ignore[attr-defined]

    assert (out["entity_type"], out["source"], out["already_ingested"]) == (
        "Person",
        "公安局",
        False,
    )
    assert (out["rows_read"], out["rows_stored"], out["rows_quarantined"]) == (4, 2, 2)
    assert out["reasons"] == {"ingest_bad_identifier": 1, "ingest_bad_region_code": 1,
                              "required_missing": 1}  # fmt: skip
    sample = [(q["row"], q["field"], q["reason"], q["severity"]) for q in out["sample"]]
    assert sample == [
        (3, "id_number", "ingest_bad_identifier", "error"),
        (3, "region_code", "ingest_bad_region_code", "error"),
        (4, "name", "required_missing", "error"),
    ]
    assert all(q["message"] for q in out["sample"])
    # The raw ID number of the bad row is not echoed (pseudonymised fields never are).
    assert "440302197203121020" not in response.text  # type: ignore[attr-defined]

    ws = ws_of(web_app)
    batch = list_batches(ws)[-1]
    assert (batch.id, batch.source, batch.entity_type, batch.file_format) == (
        out["batch_id"], "公安局", "Person", "jsonl",
    )  # fmt: skip
    assert batch.file_name.endswith(".jsonl") and "/" not in batch.file_name
    total, _ = list_quarantine(ws, batch=out["batch_id"])
    assert total == 3
    stored = ws.lake.connect().execute("SELECT person_id FROM person ORDER BY 1").fetchall()
    assert stored == [("P1",), ("P2",)]
    _, entries = search(ws.engine, action="data.push")
    assert [(e.actor, e.target) for e in entries] == [("gongan-etl", f"batch/{out['batch_id']}")]


def test_pushing_the_same_body_again_changes_nothing(agency: TestClient, web_app: FastAPI) -> None:
    first = push(agency).json()  # type: ignore[attr-defined]
    again = push(agency).json()  # type: ignore[attr-defined]
    assert again["batch_id"] == first["batch_id"] and again["already_ingested"] is True
    assert (again["rows_read"], again["rows_stored"], again["rows_quarantined"]) == (4, 2, 2)
    assert again["reasons"] == first["reasons"] and again["sample"] == first["sample"]
    assert len(list_batches(ws_of(web_app))) == 1
    other_source = push(agency, source="市场监管局").json()  # type: ignore[attr-defined]
    assert other_source["batch_id"] != first["batch_id"]


def test_a_push_gives_the_same_batch_as_the_same_file(
    agency: TestClient, web_app: FastAPI, tmp_path: object
) -> None:
    out = push(agency).json()  # type: ignore[attr-defined]
    ws: Workspace = ws_of(web_app)
    file = ws.settings.home / "push" / f"{list_batches(ws)[0].file_sha256}.jsonl"
    assert file.read_bytes() == BODY
    # The CLI path on the same bytes recognises the batch: one ledger, one rule.
    reports = ingest_path(ws, file, "Person", "公安局")
    assert reports[0].batch_id == out["batch_id"] and reports[0].already_ingested


def test_push_needs_a_token_holder_with_push_ingest(
    web_app: FastAPI, client: TestClient, make_user: MakeUser,
    signed_in: Callable[[WebUser], TestClient],
) -> None:  # fmt: skip
    assert push(client).status_code == 401  # type: ignore[attr-defined]
    analyst = token_client_for(web_app, make_user("ana", "analyst", "4403"))
    assert push(analyst).status_code == 403  # type: ignore[attr-defined]
    # A browser session of an agency account still needs the CSRF token.
    etl = make_user("etl", "agency", "4403")
    browser = signed_in(etl)
    no_token = browser.post("/api/v1/ingest/Person", params={"source": "x"}, content=BODY,
                            headers={**NDJSON, "X-CSRF-Token": ""})  # fmt: skip
    assert no_token.status_code == 403
    assert list_batches(ws_of(web_app)) == []


def test_bad_pushes_are_refused_with_a_reason(agency: TestClient, web_app: FastAPI) -> None:
    wrong_type = agency.post("/api/v1/ingest/Person", params={"source": "x"}, content=BODY,
                             headers={"Content-Type": "text/csv"})  # fmt: skip
    assert wrong_type.status_code == 415
    unknown = push(agency, type_name="Spaceship")
    assert unknown.status_code == 404  # type: ignore[attr-defined]
    assert "Spaceship" in unknown.json()["error"]["message"]  # type: ignore[attr-defined]
    empty = push(agency, body=b"")
    assert empty.status_code == 422  # type: ignore[attr-defined]
    assert empty.json()["error"]["code"] == "ingest_empty_file"  # type: ignore[attr-defined]
    assert "/tmp" not in empty.text and "home" not in empty.text  # type: ignore[attr-defined]
    no_source = agency.post("/api/v1/ingest/Person", content=BODY, headers=NDJSON)
    assert no_source.status_code == 422
    assert list_batches(ws_of(web_app)) == []


def test_an_oversized_push_is_refused_and_leaves_nothing(
    sqlite_workspace: Workspace, make_user: MakeUser
) -> None:
    app = create_app(sqlite_workspace, dataclasses.replace(TEST_SETTINGS, push_max_mb=1))
    from tests.web.conftest import add_user

    c = token_client_for(app, add_user(app, "etl", "agency", "4403"))
    big = BODY * (1024 * 1024 // len(BODY) + 1)
    declared = push(c, body=big)
    assert declared.status_code == 413  # type: ignore[attr-defined]

    def chunks() -> object:  # no Content-Length: the limit holds while streaming
        for _ in range(len(big) // 65536 + 1):
            yield big[:65536]

    streamed = c.post("/api/v1/ingest/Person", params={"source": "x"}, content=chunks(),
                      headers=NDJSON)  # fmt: skip
    assert streamed.status_code == 413
    assert list_batches(sqlite_workspace) == []
    leftovers = list((sqlite_workspace.settings.home / "push").iterdir())
    assert leftovers == []
