"""Audit log pages (审计日志) and their read-only JSON API under ``/api/v1/audit``.

Permission ``view_audit`` (the auditor role, policy.yaml). Thin shells over
:mod:`fengyan.web.services.audit_log`, which applies the auditor's jurisdiction and checks
proofs. There is deliberately no route that changes or deletes an entry: PUT, PATCH and
DELETE on these paths answer 405, and the tables refuse them anyway (database triggers,
docs/audit.md). Every search, entry view and verification is itself appended to the log
(``audit.search``, ``audit.view``, ``audit.verify``) after the read it records.
"""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from fengyan.audit import AuditEntry, AuditSettings, load_actions
from fengyan.clock import CHINA_TZ
from fengyan.web.deps import DbSession, Lang, Pagination, ViewAudit, WorkspaceDep
from fengyan.web.errors import BadRequest
from fengyan.web.services.audit_log import (
    AuditQuery,
    canonical_bytes,
    entry_json,
    get_visible_entry,
    prove_entry,
    record_use,
    run_verify,
    search_entries,
)
from fengyan.web.templating import render
from fengyan.workspace import Workspace

router = APIRouter(tags=["audit"])
SeqPath = Annotated[int, Path(ge=1, le=2**62, description="Sequence number of the entry.")]
TextFilter = Annotated[
    str | None, Query(max_length=500, description="Exact value, or a prefix ending in *.")
]
DETAIL_SUMMARY = 120


def _settings(ws: Workspace) -> AuditSettings:
    return AuditSettings.from_settings(ws.settings)


def _china(moment: datetime) -> str:
    return moment.astimezone(CHINA_TZ).strftime("%Y-%m-%d %H:%M:%S")


def _aware(value: datetime | None) -> datetime | None:
    # A time without a zone is China time, where the users are (as in the CLI).
    return value.replace(tzinfo=CHINA_TZ) if value and value.tzinfo is None else value


def _day(text: str | None, after: bool = False) -> datetime | None:
    """A page's date field (China time); ``after`` gives the next midnight (inclusive end)."""
    if not text:
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise BadRequest() from None
    if after:
        day += timedelta(days=1)
    return datetime.combine(day, time.min, tzinfo=CHINA_TZ)


def _row(entry: AuditEntry, lang: str) -> dict[str, Any]:
    known = load_actions().get(entry.action)
    detail = json.dumps(entry.detail, ensure_ascii=False, sort_keys=True)
    if len(detail) > DETAIL_SUMMARY:
        detail = detail[: DETAIL_SUMMARY - 1] + "…"
    return {
        "seq": entry.seq,
        "time": _china(entry.at),
        "actor": entry.actor,
        "action": entry.action,
        "label": known.label(lang) if known else entry.action,
        "target": entry.target,
        "detail": detail,
    }


def _action_choices(lang: str) -> list[tuple[str, str]]:
    return [(a.name, a.label(lang)) for a in sorted(load_actions().values(), key=lambda a: a.name)]


# ---- pages ---------------------------------------------------------------------------------


@router.get("/audit", response_class=HTMLResponse, include_in_schema=False)
def audit_page(
    request: Request,
    db: DbSession,
    ws: WorkspaceDep,
    who: ViewAudit,
    lang: Lang,
    page: Pagination,
    actor: TextFilter = None,
    action: TextFilter = None,
    target: TextFilter = None,
    since: Annotated[str | None, Query(max_length=10)] = None,
    until: Annotated[str | None, Query(max_length=10)] = None,
    personal: Annotated[str | None, Query(max_length=5)] = None,
) -> HTMLResponse:
    """审计日志: search the log within the auditor's jurisdiction."""
    query = AuditQuery(actor or None, action or None, target or None, _day(since),
                       _day(until, after=True), bool(personal))  # fmt: skip
    total, entries = search_entries(db, who, query, page.size, page.offset)
    record_use(ws.engine, who, "audit.search", "audit/search",
               {**query.as_detail(), "page": page.page, "total": total})  # fmt: skip
    form = {"actor": actor or "", "action": action or "", "target": target or "",
            "since": since or "", "until": until or "", "personal": bool(personal)}  # fmt: skip
    base = urlencode({k: v for k, v in {**form, "personal": "1" if personal else "",
                                        "size": page.size}.items() if v})  # fmt: skip
    return render(
        request,
        "audit_search.html",
        {"rows": [_row(e, lang) for e in entries], "total": total, "page": page.page,
         "pages": max(1, -(-total // page.size)), "base": base + "&" if base else "",
         "form": form, "actions": _action_choices(lang)},
    )  # fmt: skip


@router.get("/audit/{seq}", response_class=HTMLResponse, include_in_schema=False)
def entry_page(
    request: Request, db: DbSession, ws: WorkspaceDep, who: ViewAudit, lang: Lang, seq: SeqPath
) -> HTMLResponse:
    """One entry: canonical JSON, leaf hash and its inclusion proof, checked here."""
    entry = get_visible_entry(db, who, seq)
    proof = prove_entry(ws.engine, _settings(ws), entry)
    record_use(ws.engine, who, "audit.view", f"audit/{seq}", {"proof": proof.status})
    return render(
        request,
        "audit_entry.html",
        {"entry": _row(entry, lang), "canonical": canonical_bytes(entry).decode(),
         "leaf_hash": entry.leaf_hash.hex(), "proof": proof},
    )  # fmt: skip


@router.post("/audit/verify", response_class=HTMLResponse, include_in_schema=False)
async def verify_page(request: Request, ws: WorkspaceDep, who: ViewAudit) -> HTMLResponse:
    """立即校验: recompute the whole log and check it against every signed checkpoint."""
    report = await run_in_threadpool(run_verify, ws.engine, _settings(ws))
    await run_in_threadpool(
        record_use, ws.engine, who, "audit.verify", "audit/log",
        {"ok": report.ok, "size": report.tree_size, "errors": len(report.errors)},
    )  # fmt: skip
    return render(
        request,
        "audit_verify.html",
        {"report": report, "seconds": f"{sum(report.seconds.values()):.2f}"},
    )


# ---- JSON API ------------------------------------------------------------------------------


@router.get("/api/v1/audit/entries")
def api_entries(
    db: DbSession,
    ws: WorkspaceDep,
    who: ViewAudit,
    lang: Lang,
    page: Pagination,
    actor: TextFilter = None,
    action: TextFilter = None,
    target: TextFilter = None,
    since: Annotated[datetime | None, Query(description="From (China time if no zone).")] = None,
    until: Annotated[datetime | None, Query(description="Before (exclusive).")] = None,
    personal: Annotated[bool, Query(description="Only personal-data actions.")] = False,
) -> dict[str, Any]:
    """Audit entries within the caller's jurisdiction, newest first (``view_audit``)."""
    query = AuditQuery(actor or None, action or None, target or None, _aware(since),
                       _aware(until), personal)  # fmt: skip
    total, entries = search_entries(db, who, query, page.size, page.offset)
    record_use(ws.engine, who, "audit.search", "audit/search",
               {**query.as_detail(), "page": page.page, "total": total})  # fmt: skip
    return {"items": [entry_json(e, lang) for e in entries], "page": page.page,
            "size": page.size, "total": total}  # fmt: skip


@router.get("/api/v1/audit/entries/{seq}")
def api_entry(
    db: DbSession, ws: WorkspaceDep, who: ViewAudit, lang: Lang, seq: SeqPath
) -> dict[str, Any]:
    """One entry with its canonical JSON (the bytes the leaf hash covers)."""
    entry = get_visible_entry(db, who, seq)
    record_use(ws.engine, who, "audit.view", f"audit/{seq}", {})
    return entry_json(entry, lang) | {"canonical": canonical_bytes(entry).decode()}


@router.get("/api/v1/audit/entries/{seq}/proof")
def api_proof(db: DbSession, ws: WorkspaceDep, who: ViewAudit, seq: SeqPath) -> dict[str, Any]:
    """Inclusion proof of one entry against the newest signed checkpoint covering it,
    checked by the server (``status``: ok, failed or unsigned)."""
    entry = get_visible_entry(db, who, seq)
    proof = prove_entry(ws.engine, _settings(ws), entry)
    record_use(ws.engine, who, "audit.view", f"audit/{seq}", {"proof": proof.status})
    return proof.to_json() | {"canonical": canonical_bytes(entry).decode()}
