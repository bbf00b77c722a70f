"""The public risk check (公众风险查询, F21): a name in, a plain-language hint out.

Anyone may ask, without signing in. The answer draws on the *listed* warnings only — firms
of the default model at the grades ``public_check.grades`` names — and says nothing else:
no score, no evidence, no person, no region detail, nothing about unlisted firms beyond
"not on the list, which is not a guarantee". The list is read once per published run into
memory (names folded for matching), so a check costs a dictionary lookup and, for near
misses, one rapidfuzz pass.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from pydantic import BaseModel
from rapidfuzz import fuzz, process
from sqlalchemy import select
from sqlalchemy.orm import Session

from fengyan.db.published import FirmScore
from fengyan.i18n import t
from fengyan.resolve.names import fold
from fengyan.web.errors import BadRequest
from fengyan.web.services.common import category_label, latest_run
from fengyan.web.services.config import service_settings


class PublicMatch(BaseModel):
    """A listed firm matching the query."""

    name: str
    level: str
    hint: str
    category: str | None


class PublicAnswer(BaseModel):
    """The answer to a public check."""

    query: str
    listed: bool
    summary: str
    matches: list[PublicMatch]
    advice: str


@dataclass(frozen=True)
class _Listed:
    run_id: int | None
    names: list[str]
    folded: list[str]
    grades: list[str]
    categories: list[str | None]
    exact: dict[str, list[int]]


_LOCK = threading.Lock()
_CACHE: dict[str, _Listed] = {}


def _listed(session: Session) -> _Listed:
    """The listed firms of the latest run (cached per database and run)."""
    run = latest_run(session)
    run_id = run.id if run else None
    bind = session.get_bind()
    key = str(bind.engine.url)
    cached = _CACHE.get(key)
    if cached is not None and cached.run_id == run_id:
        return cached
    cfg = service_settings()
    rows = session.execute(
        select(FirmScore.name, FirmScore.grade, FirmScore.category)
        .where(
            FirmScore.model == cfg.default_model,
            FirmScore.grade.in_(list(cfg.public_check.grades)),
            FirmScore.name.is_not(None),
        )
        .order_by(FirmScore.name)
    ).all()
    names = [str(r[0]) for r in rows]
    folded = [fold(n) for n in names]
    exact: dict[str, list[int]] = {}
    for i, f in enumerate(folded):
        exact.setdefault(f, []).append(i)
    listed = _Listed(run_id, names, folded, [r[1] for r in rows], [r[2] for r in rows], exact)
    with _LOCK:
        _CACHE[key] = listed
    return listed


def public_check(session: Session, query: str, lang: str) -> PublicAnswer:
    """The plain-language hint for ``query`` (a company or platform name)."""
    cfg = service_settings().public_check
    q = " ".join((query or "").split())
    if not cfg.min_query_chars <= len(q) <= cfg.max_query_chars:
        raise BadRequest("web_check_query", min=cfg.min_query_chars, max=cfg.max_query_chars)
    listed = _listed(session)
    folded = fold(q)
    hits: list[int] = list(listed.exact.get(folded, []))
    if not hits and len(folded) >= 2:
        # A short name or platform name: listed names that contain it, shortest first.
        contains = [i for i, n in enumerate(listed.folded) if folded in n]
        hits = sorted(contains, key=lambda i: len(listed.folded[i]))[: cfg.max_results]
    if not hits:
        hits = [
            i
            for _n, _s, i in process.extract(
                folded,
                listed.folded,
                scorer=fuzz.ratio,
                limit=cfg.max_results,
                score_cutoff=cfg.fuzzy_min_score,
            )
        ]
    matches = [
        PublicMatch(
            name=listed.names[i],
            level=listed.grades[i],
            hint=t(f"web_check_hint_{listed.grades[i]}", lang),
            category=category_label(listed.categories[i], lang) if listed.categories[i] else None,
        )
        for i in hits[: cfg.max_results]
    ]
    return PublicAnswer(
        query=q,
        listed=bool(matches),
        summary=t("web_check_listed" if matches else "web_check_not_listed", lang, query=q),
        matches=matches,
        advice=t("web_check_advice", lang),
    )
