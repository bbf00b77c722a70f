"""Builders for ingestion tests: small agency deliveries written into ``tmp_path``.

An enterprise registry export looks like what a 市场监管局 sends: Chinese headers, GB18030,
capital in 万元, former names joined by "；", and a mapping YAML naming the fields. Codes and
ID numbers are computed with the real check algorithms, so a record is valid unless a test
spoils it on purpose.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import Engine, text
from typer.testing import Result

from fengyan.ingest.pipeline import IngestReport
from fengyan.ingest.service import ingest_one
from fengyan.standards import idcard, orgcode, uscc
from fengyan.workspace import Workspace

# ``fengyan <args>`` run in-process (see the ``cli`` fixture).
Cli = Callable[..., Result]

# Header of the registry export, in the order the agency sends it.
REGISTRY_HEADER = [
    "序号",
    "统一社会信用代码",
    "企业名称",
    "法定代表人",
    "注册资本（万元）",
    "成立日期",
    "登记状态",
    "经营范围",
    "注册地址",
    "行政区划代码",
    "曾用名",
]

REGISTRY_MAPPING = """\
# 市场监管局 registry export
type: Enterprise
columns:
  统一社会信用代码: credit_code
  企业名称: name
  法定代表人: legal_representative
  注册资本（万元）: {field: registered_capital, scale: 10000}
  成立日期: established
  登记状态: status
  经营范围: business_scope
  注册地址: registered_address
  行政区划代码: region_code
  曾用名: {field: former_names, separator: "；"}
ignore: [序号]
"""

BRANDS = ["鹏润", "前程", "海盈", "华信", "康寿", "链通", "金穗", "安邦", "绿源", "万家", "星河"]
WORDS = ["财富管理", "科技", "投资咨询", "供应链管理", "养老服务", "商贸", "电子商务"]
DISTRICTS = [("440304", "福田区"), ("440305", "南山区"), ("440306", "宝安区"), ("440307", "龙岗区")]
REPS = ["张伟", "王芳", "李强", "刘洋", "陈静", "杨磊", "黄敏", "赵军", "周杰", "吴婷", "欧阳明"]


def credit_code(i: int, region: str = "440300") -> str:
    """A valid 统一社会信用代码 (valid embedded organisation code too), distinct per ``i``."""
    org_body = f"{i:08d}"
    body = "91" + region + org_body + orgcode.compute_check_char(org_body)
    return body + uscc.compute_check_char(body)


def wrong_check_char(code: str) -> tuple[str, str]:
    """``code`` with its check character replaced, and the character it should have."""
    expected = code[-1]
    wrong = "A" if expected != "A" else "B"
    return code[:-1] + wrong, expected


def id_number(i: int) -> str:
    """A valid 18-digit 居民身份证号码 (Shenzhen, born in the 1970s–90s), distinct per ``i``."""
    body = f"440304{1970 + i % 25}{1 + i % 12:02d}{1 + i % 28:02d}{i % 1000:03d}"
    return body + idcard.compute_check_char(body)


def registry_row(i: int, **overrides: str) -> dict[str, str]:
    """One registry record (Chinese header → cell text); ``overrides`` use the same headers
    or these short names: code, name, capital, established, scope, former."""
    short = {
        "code": "统一社会信用代码",
        "name": "企业名称",
        "capital": "注册资本（万元）",
        "established": "成立日期",
        "scope": "经营范围",
        "former": "曾用名",
        "status": "登记状态",
    }
    region, district = DISTRICTS[i % len(DISTRICTS)]
    row = {
        "序号": str(i + 1),
        "统一社会信用代码": credit_code(i),
        "企业名称": f"深圳市{BRANDS[i % len(BRANDS)]}{WORDS[i % len(WORDS)]}{i}号有限公司",
        "法定代表人": REPS[i % len(REPS)],
        "注册资本（万元）": str(100 * (1 + i % 50)),
        "成立日期": f"20{10 + i % 14}年{1 + i % 12}月{1 + i % 28}日",
        "登记状态": "存续",
        "经营范围": "投资咨询；企业管理咨询，不得从事金融业务",
        "注册地址": f"广东省深圳市{district}深南大道{100 + i}号",
        "行政区划代码": region,
        "曾用名": "",
    }
    for key, value in overrides.items():
        row[short.get(key, key)] = value
    return row


def write_csv(
    path: Path,
    rows: Iterable[Mapping[str, str] | Sequence[str]],
    header: Sequence[str] = REGISTRY_HEADER,
    encoding: str = "gb18030",
) -> Path:
    """A CSV file with ``header``; dict rows are laid out by header, list rows as given."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding=encoding, newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        for row in rows:
            writer.writerow([row.get(h, "") for h in header] if isinstance(row, Mapping) else row)
    return path


def write_mapping(path: Path, text: str = REGISTRY_MAPPING) -> Path:
    """A mapping YAML file (UTF-8)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def write_registry(
    folder: Path,
    rows: Iterable[Mapping[str, str] | Sequence[str]],
    name: str = "registry.csv",
    **kw: Any,
) -> tuple[Path, Path]:
    """A registry CSV (GB18030 unless ``encoding`` says otherwise) and its mapping."""
    csv_path = write_csv(folder / name, rows, **kw)
    return csv_path, write_mapping(folder / "registry.mapping.yaml")


def write_jsonl(path: Path, records: Iterable[Mapping[str, Any]]) -> Path:
    """A JSON Lines file, one object per line."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        for rec in records:
            fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
    return path


def write_xlsx(path: Path, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Path:
    """An Excel workbook: numbers are written as numeric cells, as Excel users produce them."""
    import xlsxwriter

    path.parent.mkdir(parents=True, exist_ok=True)
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("Sheet1")
    sheet.write_row(0, 0, list(header))
    for r, row in enumerate(rows, start=1):
        sheet.write_row(r, 0, list(row))
    book.close()
    return path


def write_parquet(path: Path, columns: Mapping[str, Sequence[Any]]) -> Path:
    """A Parquet file of string (or other inferred) columns."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table(dict(columns)), path)
    return path


def person_record(i: int, **overrides: Any) -> dict[str, Any]:
    """A Person as JSON Lines carries it."""
    rec: dict[str, Any] = {
        "person_id": f"P{i:05d}",
        "name": REPS[i % len(REPS)],
        "id_number": id_number(i),
        "phone": [f"138{i:08d}"],
        "nationality": "CN",
        "region_code": "440304",
    }
    rec.update(overrides)
    return rec


def article_record(i: int, published_at: str, **overrides: Any) -> dict[str, Any]:
    """An Article (a news item) as JSON Lines carries it."""
    rec: dict[str, Any] = {
        "article_id": f"A{i:05d}",
        "source_name": "深圳商报",
        "channel": "news",
        "published_at": published_at,
        "title": f"报道{i}",
        "text": f"深圳市{BRANDS[i % len(BRANDS)]}财富管理有限公司推介理财产品，"
        f"承诺年化收益{8 + i % 10}%。",
        "reach": 100 + i,
    }
    rec.update(overrides)
    return rec


def ingest(
    ws: Workspace,
    path: Path,
    entity_type: str = "Enterprise",
    source: str = "市场监管局",
    *,
    chunk_rows: int = 3,
    **kw: Any,
) -> IngestReport:
    """Ingest one file into ``ws`` with small chunks (so even tiny files span several)."""
    return ingest_one(ws, path, entity_type, source, chunk_rows=chunk_rows, **kw)


def lake_rows(ws: Workspace, table: str, batch_id: str | None = None) -> list[dict[str, Any]]:
    """Every stored row of ``table`` (all versions; only one batch's if given), by file row."""
    files = [str(f) for f in ws.lake.files(table)]
    if not files:
        return []
    rows = pa.concat_tables(
        [pq.read_table(f) for f in files], promote_options="permissive"
    ).to_pylist()
    if batch_id is not None:
        rows = [r for r in rows if r["_batch"] == batch_id]
    return sorted(rows, key=lambda r: (r["_seq"], r["_row"]))


def quarantine(ws: Workspace, batch_id: str) -> list[dict[str, Any]]:
    """The quarantine rows of one batch, ordered by row and field, params decoded."""
    with ws.engine.connect() as c:
        rows = c.execute(
            text(
                "SELECT file_name, row, field, value, reason, severity, params FROM quarantine "
                "WHERE batch_id = :b ORDER BY row, field, reason"
            ),
            {"b": batch_id},
        ).mappings()
        return [{**r, "params": json.loads(r["params"])} for r in rows]


def assert_accounted(ws: Workspace, report: IngestReport, table: str) -> None:
    """Nothing lost: every row read is either stored in the lake or quarantined (once)."""
    assert report.rows_read == report.rows_stored + report.rows_quarantined
    stored = lake_rows(ws, table, report.batch_id)
    assert len(stored) == report.rows_stored
    errors = [q for q in quarantine(ws, report.batch_id) if q["severity"] == "error"]
    assert len({q["row"] for q in errors}) == report.rows_quarantined
    # A record is either in the lake or in the quarantine, never both.
    assert not {r["_row"] for r in stored} & {q["row"] for q in errors}


def snapshot_lake(root: Path) -> dict[str, bytes]:
    """Every file under the lake (relative path → bytes)."""
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def dump_ledger(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """A canonical dump of the ledger: every batch and quarantine row, ordered by key.

    The quarantine's surrogate id is left out: rows are identified by batch, row, field
    and reason.
    """
    with engine.connect() as c:
        batches = c.execute(text("SELECT * FROM ingest_batch ORDER BY id")).all()
        entries = c.execute(
            text(
                "SELECT batch_id, file_name, row, field, value, reason, severity, params "
                "FROM quarantine ORDER BY batch_id, row, field, reason, value"
            )
        ).all()
    return {"ingest_batch": [tuple(r) for r in batches], "quarantine": [tuple(r) for r in entries]}


def flat(text: str) -> str:
    """``text`` without whitespace: rich wraps long lines (and paths) at the console width."""
    return "".join(text.split())
