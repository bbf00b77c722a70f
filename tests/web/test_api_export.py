"""Exports defuse formula injection; names are escaped in pages; exports are audited."""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Callable
from xml.etree import ElementTree

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from fengyan.db.published import FirmScore
from fengyan.db.users import WebUser
from fengyan.web.services.export import defuse, to_csv, to_xlsx
from tests.web.conftest import MakeUser, seed_published, ws_of

_OOXML_ESCAPE = re.compile(r"_x([0-9A-F]{4})_")
NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}


def xlsx_rows(data: bytes) -> list[list[object]]:
    """The first sheet's cell values (strings and numbers), read with the standard library."""
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        shared = [
            "".join(t.text or "" for t in si.iter(f"{{{NS['m']}}}t"))
            for si in ElementTree.fromstring(z.read("xl/sharedStrings.xml")).findall("m:si", NS)
        ]
        sheet = ElementTree.fromstring(z.read("xl/worksheets/sheet1.xml"))
    rows = []
    for row in sheet.iter(f"{{{NS['m']}}}row"):
        values: list[object] = []
        for cell in row.findall("m:c", NS):
            assert cell.find("m:f", NS) is None, "a formula cell"
            v = cell.findtext("m:v", default="", namespaces=NS)
            text = (
                _OOXML_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), shared[int(v)])
                if cell.get("t") == "s"
                else None
            )
            values.append(text if text is not None else float(v))
        rows.append(values)
    return rows


EVIL = ['=HYPERLINK("http://x","y")', "+1+1", "-2+3", "@SUM(A1)", "\tcmd", "\rcmd"]


@pytest.mark.parametrize("text", EVIL)
def test_defuse_quotes_every_formula_prefix(text: str) -> None:
    assert defuse(text) == "'" + text
    assert defuse("深圳" + text) == "深圳" + text
    assert defuse(-2.5) == -2.5 and defuse(None) == ""


def test_csv_and_xlsx_cells_never_start_a_formula() -> None:
    rows = [[t, 1.5] for t in EVIL]
    text = to_csv(["name", "score"], rows).decode("utf-8-sig")
    for t in EVIL:
        assert ("'" + t.replace('"', '""')) in text
    cells = xlsx_rows(to_xlsx(["name", "score"], rows))
    assert [r[0] for r in cells[1:]] == ["'" + t for t in EVIL]
    assert [r[1] for r in cells[1:]] == [1.5] * len(EVIL)


def _rename(app: FastAPI, firm_id: str, name: str) -> None:
    with Session(ws_of(app).engine) as db, db.begin():
        db.get(FirmScore, ("dolphin-v1", firm_id)).name = name  # type: ignore[union-attr]


def test_exports_through_the_api_are_defused_scoped_and_audited(
    web_app: FastAPI, make_user: MakeUser, signed_in: Callable[[WebUser], TestClient]
) -> None:
    from fengyan.audit import search as audit_search

    seed_published(ws_of(web_app))
    _rename(web_app, "oracle-firm-440305001001", "=cmd|' /C calc'!A0")
    _rename(web_app, "oracle-firm-440304001019", "@福田外区企业")
    c = signed_in(make_user("ana", "analyst", "440305"))
    csv = c.get("/api/v1/warnings/export.csv", params={"grade": "red"})
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    body = csv.content.decode("utf-8-sig")
    assert "'=cmd|' /C calc'!A0" in body and "\n=cmd" not in body
    assert "福田外区企业" not in body  # another district's firm
    xlsx = c.get("/api/v1/warnings/export.xlsx", params={"lang": "en"})
    sheet = xlsx_rows(xlsx.content)
    names = [r[1] for r in sheet[1:]]
    assert "'=cmd|' /C calc'!A0" in names and len(names) == 3  # Nanshan's three firms
    assert sheet[0][1] == "Name"
    _total, entries = audit_search(ws_of(web_app).engine, action="data.export")
    assert [json.loads(json.dumps(e.detail))["format"] for e in entries] == ["xlsx", "csv"]


def test_roles_without_export_cannot_export(
    web_app: FastAPI, make_user: MakeUser, signed_in: Callable[[WebUser], TestClient]
) -> None:
    seed_published(ws_of(web_app))
    c = signed_in(make_user("grid", "grid_worker", "4403"))
    assert c.get("/api/v1/warnings").status_code == 200
    assert c.get("/api/v1/warnings/export.csv").status_code == 403
    assert "export.csv" not in c.get("/warnings").text


def test_a_script_in_a_firm_name_renders_escaped(
    web_app: FastAPI, make_user: MakeUser, signed_in: Callable[[WebUser], TestClient]
) -> None:
    seed_published(ws_of(web_app))
    _rename(web_app, "oracle-firm-440305001001", "<script>alert(1)</script>公司")
    c = signed_in(make_user("ana", "analyst", "4403"))
    for path in ("/warnings", "/firm/oracle-firm-440305001001", "/search?q=script"):
        page = c.get(path)
        assert page.status_code == 200
        assert "<script>alert(1)" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in c.get("/warnings").text
