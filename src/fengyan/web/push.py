"""Push ingestion: an agency POSTs a batch of JSON Lines, it goes through the file path.

The body is streamed to ``$FENGYAN_HOME/push/<sha256>.jsonl`` (the received delivery is
kept, like a file an agency hands over) and then ingested by
:func:`fengyan.ingest.service.ingest_one` — the same validation, quarantine, atomic lake
commit and ledger as ``fengyan ingest``. The batch id is a hash of the bytes, type and
source, so a client that retries after a lost answer gets the same batch back
(``already_ingested: true``) and nothing is stored twice.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from fengyan.db.models import IngestBatch
from fengyan.i18n import t
from fengyan.ingest.errors import IngestError, render_reason
from fengyan.ingest.service import ingest_one, list_quarantine
from fengyan.web.audit_hook import record
from fengyan.web.errors import NotFound, PayloadTooLarge, Unprocessable
from fengyan.web.scope import Principal
from fengyan.workspace import Workspace

SAMPLE_SIZE = 20
PUSH_DIR = "push"


def push_dir(ws: Workspace) -> Path:
    """Where received push bodies are kept."""
    return ws.settings.home / PUSH_DIR


async def receive_body(ws: Workspace, chunks: AsyncIterator[bytes], max_bytes: int) -> Path:
    """Stream a request body to ``push/<sha256>.jsonl``; ``PayloadTooLarge`` past ``max_bytes``.

    Written to a temporary name first and renamed, so a half-received body never takes the
    name of a complete one.
    """
    folder = push_dir(ws)
    folder.mkdir(parents=True, exist_ok=True)
    partial = folder / f".incoming-{secrets.token_hex(8)}"
    digest = hashlib.sha256()
    size = 0
    try:
        with open(partial, "wb") as out:
            async for chunk in chunks:
                size += len(chunk)
                if size > max_bytes:
                    raise PayloadTooLarge(limit=max_bytes // (1024 * 1024))
                digest.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        final = folder / f"{digest.hexdigest()}.jsonl"
        os.replace(partial, final)
        return final
    finally:
        partial.unlink(missing_ok=True)


@dataclass
class PushResult:
    """What the push endpoint answers."""

    batch_id: str
    entity_type: str
    source: str
    rows_read: int
    rows_stored: int
    rows_quarantined: int
    warnings: int
    already_ingested: bool
    reasons: dict[str, int] = field(default_factory=dict)
    sample: list[dict[str, Any]] = field(default_factory=list)


def ingest_pushed(
    ws: Workspace,
    db: Session,
    principal: Principal,
    path: Path,
    entity_type: str,
    source: str,
    as_of: date | None,
    lang: str,
) -> PushResult:
    """Ingest a received body as ``entity_type`` from ``source``; audit it as ``data.push``."""
    try:
        entity = ws.schema.get(entity_type)
    except KeyError:
        raise NotFound("web_unknown_type", type=entity_type) from None
    shown = f"{PUSH_DIR}/{path.name}"
    try:
        report = ingest_one(
            ws, path, entity.name, source, fmt="jsonl", encoding="utf-8",
            as_of=datetime(as_of.year, as_of.month, as_of.day) if as_of else None,
        )  # fmt: skip
    except IngestError as exc:
        raise Unprocessable(exc.code, **{**exc.params, "file": shown}) from None
    batch = db.get(IngestBatch, report.batch_id)
    notes = json.loads(batch.notes) if batch is not None else {}
    _, rows = list_quarantine(ws, batch=report.batch_id, limit=SAMPLE_SIZE)
    sample = [
        {
            "row": q.row,
            "field": q.field,
            "value": q.value,
            "reason": q.reason,
            "severity": q.severity,
            "message": render_reason(q.reason, q.params, lang),
        }
        for q in rows
    ]
    result = PushResult(
        batch_id=report.batch_id,
        entity_type=entity.name,
        source=source,
        rows_read=report.rows_read,
        rows_stored=report.rows_stored,
        rows_quarantined=report.rows_quarantined,
        warnings=batch.warnings if batch is not None else report.warnings,
        already_ingested=report.already_ingested,
        reasons=dict(notes.get("reasons", {})),
        sample=sample,
    )
    record(db, principal.username, "data.push", f"batch/{report.batch_id}",
           {"type": entity.name, "source": source, "rows_read": result.rows_read,
            "rows_quarantined": result.rows_quarantined,
            "already_ingested": result.already_ingested})  # fmt: skip
    db.commit()
    return result


def describe(result: PushResult, lang: str) -> str:
    """A one-line summary for people (logs, the CLI)."""
    return t(
        "web_push_summary",
        lang,
        batch=result.batch_id[:12],
        read=result.rows_read,
        stored=result.rows_stored,
        quarantined=result.rows_quarantined,
    )
