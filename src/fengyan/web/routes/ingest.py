"""``POST /api/v1/ingest/{entity_type}``: push a JSON Lines batch (permission push_ingest)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from fengyan.web.deps import DbSession, Lang, PushIngest, SettingsDep, WorkspaceDep
from fengyan.web.errors import NotFound, PayloadTooLarge, WebError
from fengyan.web.push import ingest_pushed, receive_body

router = APIRouter()
MEDIA_TYPES = ("application/x-ndjson", "application/jsonl", "application/json-lines",
               "application/ndjson", "application/x-jsonlines")  # fmt: skip


class UnsupportedMediaType(WebError):
    """The body is not JSON Lines (415)."""

    status = 415
    default_code = "web_push_media_type"


class QuarantineItem(BaseModel):
    """One quarantined record (or field) of the pushed batch."""

    row: int | None
    field: str | None
    value: str | None
    reason: str
    severity: str
    message: str


class PushOut(BaseModel):
    """The batch created (or found again) and what validation made of it."""

    batch_id: str
    entity_type: str
    source: str
    rows_read: int
    rows_stored: int
    rows_quarantined: int
    warnings: int
    already_ingested: bool
    reasons: dict[str, int]
    sample: list[QuarantineItem]


BODY_DOC: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "One JSON object per line (UTF-8), fields as in `fengyan schema TYPE`.",
        "content": {"application/x-ndjson": {"schema": {"type": "string", "format": "binary"}}},
    }
}


@router.post("/api/v1/ingest/{entity_type}", tags=["ingest"], openapi_extra=BODY_DOC)
async def push_batch(
    request: Request,
    entity_type: str,
    ws: WorkspaceDep,
    settings: SettingsDep,
    db: DbSession,
    who: PushIngest,
    lang: Lang,
    source: Annotated[str, Query(min_length=1, max_length=200, description="Sending agency.")],
    as_of: Annotated[date | None, Query(description="Date the data describes.")] = None,
) -> PushOut:
    """Validate and store a JSON Lines batch exactly as a file ingest would.

    Bad records are quarantined with their reason (see `sample` and `reasons`); sending the
    same body again answers the same `batch_id` with `already_ingested: true`.
    """
    if entity_type not in {e.name for e in ws.schema}:
        raise NotFound("web_unknown_type", type=entity_type)
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media not in MEDIA_TYPES:
        raise UnsupportedMediaType(types=", ".join(MEDIA_TYPES))
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > settings.push_max_bytes:
        raise PayloadTooLarge(limit=settings.push_max_mb)
    path = await receive_body(ws, request.stream(), settings.push_max_bytes)
    result = await run_in_threadpool(
        ingest_pushed, ws, db, who, path, entity_type, source.strip(), as_of, lang
    )
    return PushOut.model_validate(result, from_attributes=True)
