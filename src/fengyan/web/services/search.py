# ruff: noqa: S608 - SQL here is built from identifiers of settings.yaml, sources.yaml and the
# lake's own table list (quoted), and from scope.duckdb_condition; every value is bound.
"""Search (检索): by firm name (fuzzy, short names), credit code, person, phone, domain.

Every search runs over the resolved universe inside the reader's jurisdiction (the scope
condition is part of the DuckDB query). Names are folded (full-width, traditional →
simplified, brackets) before matching; a name query first takes firms whose name
*contains* it (short names: 鹏润 finds 深圳市鹏润科技有限公司), shortest names first, then
fills up with rapidfuzz WRatio matches for typos. Person search — officers and
shareholders by name — is for roles holding ``search_person`` only; the route checks it.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel
from rapidfuzz import fuzz, process
from sqlalchemy import select
from sqlalchemy.orm import Session

from fengyan.db.published import FirmScore
from fengyan.resolve.names import fold
from fengyan.standards import phone as phones
from fengyan.web.audit_hook import record_view
from fengyan.web.errors import BadRequest
from fengyan.web.masking import mask_kind
from fengyan.web.scope import Principal, duckdb_condition
from fengyan.web.services.common import grade_label, region_name
from fengyan.web.services.config import service_settings
from fengyan.web.services.lakecache import LakeCache

KINDS = ("auto", "name", "code", "person", "phone", "domain")
_CODE = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{18}$")
_DOMAIN = re.compile(r"^(?:https?://)?(?:www\.)?([a-z0-9-]+(?:\.[a-z0-9-]+)+)(?:[/:].*)?$")


class SearchHit(BaseModel):
    """A firm found, and why."""

    firm_id: str
    name: str | None
    credit_code: str | None
    region_code: str | None
    region_name: str
    grade: str | None
    grade_label: str | None
    match: str
    score: float


class SearchResult(BaseModel):
    """The answer to one search."""

    query: str
    kind: str
    items: list[SearchHit]
    total: int
    personal_shown: bool = False


def detect_kind(query: str) -> str:
    """What a query in the single search box looks like."""
    q = query.strip()
    if _CODE.match(q.upper()):
        return "code"
    if phones.parse(q) is not None and sum(c.isdigit() for c in q) >= 7:
        return "phone"
    if q.isascii() and _DOMAIN.match(q.lower()) and "." in q:
        return "domain"
    return "name"


def _universe(
    cache: LakeCache, principal: Principal, where: str, params: list[Any]
) -> list[dict[str, Any]]:
    cond, scope = duckdb_condition("e.region_code", principal)
    return cache.rows(
        "SELECT e.canonical_id AS firm_id, e.name, e.credit_code, e.region_code"
        f" FROM w_resolved_entity e WHERE e.entity_kind = 'enterprise' AND {cond} AND {where}",
        [*scope, *params],
    )


def _by_name(
    cache: LakeCache, principal: Principal, query: str, limit: int
) -> list[tuple[dict[str, Any], str, float]]:
    folded = fold(query)
    cond, scope = duckdb_condition("region_code", principal)
    rows = cache.rows(
        "SELECT canonical_id AS firm_id, name, credit_code, region_code FROM w_resolved_entity"
        f" WHERE entity_kind = 'enterprise' AND name IS NOT NULL AND {cond}",
        scope,
    )
    if not rows:
        return []
    names = [fold(r["name"]) for r in rows]
    hits: list[tuple[dict[str, Any], str, float]] = []
    seen: set[int] = set()
    contains = sorted(
        (i for i, n in enumerate(names) if folded in n), key=lambda i: (len(names[i]), names[i])
    )
    for i in contains[:limit]:
        hits.append((rows[i], "contains", 100.0))
        seen.add(i)
    if len(hits) < limit:
        cfg = service_settings().search
        for _name, score, i in process.extract(
            folded, names, scorer=fuzz.WRatio, limit=limit * 2, score_cutoff=cfg.fuzzy_min_score
        ):
            if i in seen:
                continue
            hits.append((rows[i], "fuzzy", float(score)))
            seen.add(i)
            if len(hits) >= limit:
                break
    return hits


def search(
    session: Session,
    cache: LakeCache,
    principal: Principal,
    query: str,
    kind: str,
    model: str,
    lang: str,
    *,
    allow_person: bool,
) -> SearchResult:
    """Firms matching ``query`` inside the jurisdiction (``kind``: see :data:`KINDS`)."""
    cfg = service_settings().search
    q = (query or "").strip()
    if kind not in KINDS:
        raise BadRequest("web_bad_choice", field="kind", value=kind)
    if len(q) < cfg.min_query_chars or len(q) > 200:
        raise BadRequest("web_search_query", min=cfg.min_query_chars)
    if kind == "auto":
        kind = detect_kind(q)
    if kind == "person" and not allow_person:
        from fengyan.web.errors import Forbidden

        raise Forbidden()
    if not cache.has("resolved_entity"):
        return SearchResult(query=q, kind=kind, items=[], total=0)
    found: list[tuple[dict[str, Any], str, float]] = []
    personal = False
    if kind == "name":
        found = _by_name(cache, principal, q, cfg.limit)
    elif kind == "code":
        rows = _universe(
            cache,
            principal,
            "e.canonical_id IN (SELECT canonical_id FROM w_resolved_link"
            " WHERE key_kind IN ('credit_code', 'branch_code') AND key = ?)",
            [q.upper()],
        )
        found = [(r, "credit_code", 100.0) for r in rows]
    elif kind == "phone":
        e164 = phones.normalize(q)
        if e164 and cache.has("phone_contact"):
            rows = _universe(
                cache,
                principal,
                "e.credit_code IN (SELECT credit_code FROM w_phone_contact WHERE phone = ?)",
                [e164],
            )
            found = [(r, "phone", 100.0) for r in rows]
    elif kind == "domain":
        m = _DOMAIN.match(q.lower())
        domain = m.group(1) if m else q.lower()
        if cache.has("web_presence"):
            rows = _universe(
                cache,
                principal,
                "e.credit_code IN (SELECT credit_code FROM w_web_presence"
                " WHERE lower(domain) = ? OR lower(identifier) = ?)",
                [domain, domain],
            )
            found = [(r, "domain", 100.0) for r in rows]
    elif kind == "person":
        found, personal = _by_person(cache, principal, q, lang)
    found = found[: cfg.limit]
    grades = dict(
        session.execute(
            select(FirmScore.firm_id, FirmScore.grade).where(
                FirmScore.model == model, FirmScore.firm_id.in_([r["firm_id"] for r, _, _ in found])
            )
        ).all()
    )
    items = [
        SearchHit(
            firm_id=r["firm_id"],
            name=r["name"],
            credit_code=r["credit_code"],
            region_code=r["region_code"],
            region_name=region_name(r["region_code"]),
            grade=grades.get(r["firm_id"]),
            grade_label=grade_label(grades[r["firm_id"]], lang) if r["firm_id"] in grades else None,
            match=match,
            score=round(score, 1),
        )
        for r, match, score in found
    ]
    return SearchResult(query=q, kind=kind, items=items, total=len(items), personal_shown=personal)


def _by_person(
    cache: LakeCache, principal: Principal, query: str, lang: str
) -> tuple[list[tuple[dict[str, Any], str, float]], bool]:
    """Firms where a person of that name is an officer or a shareholder."""
    parts = []
    params: list[Any] = []
    if cache.has("officer"):
        parts.append(
            "SELECT credit_code, officer_name AS person, role AS how FROM w_officer"
            " WHERE officer_name = ?"
        )
        params.append(query)
    if cache.has("shareholding"):
        parts.append(
            "SELECT asset_credit_code, owner_name, '股东' FROM w_shareholding"
            " WHERE owner_name = ? AND owner_kind = 'person'"
        )
        params.append(query)
    if not parts:
        return [], False
    cond, scope = duckdb_condition("e.region_code", principal)
    rows = cache.rows(
        "SELECT e.canonical_id AS firm_id, e.name, e.credit_code, e.region_code,"
        " string_agg(DISTINCT p.how, '、') AS how, any_value(p.person) AS person"
        f" FROM ({' UNION ALL '.join(parts)}) p"
        " JOIN w_resolved_entity e ON e.credit_code = p.credit_code"
        f" WHERE e.entity_kind = 'enterprise' AND {cond}"
        " GROUP BY ALL ORDER BY e.name",
        [*params, *scope],
    )
    out = []
    for r in rows:
        shown = mask_kind(principal, "name", r["person"]) or ""
        out.append((r, f"{shown} {r['how']}".strip(), 100.0))
    return out, bool(rows) and principal.masking != "hidden"


def view_search(
    session: Session,
    cache: LakeCache,
    principal: Principal,
    query: str,
    kind: str,
    model: str,
    lang: str,
) -> SearchResult:
    """:func:`search` for display, persons only if the principal may search them.

    A result showing personal data is recorded (the query's length, not its text) and
    committed.
    """
    allow_person = principal.can("search_person")
    result = search(session, cache, principal, query, kind, model, lang, allow_person=allow_person)
    if result.personal_shown:
        record_view(session, principal, "search/person", {"query_length": len(query)})
        session.commit()
    return result
