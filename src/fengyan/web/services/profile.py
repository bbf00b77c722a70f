"""The enterprise profile (企业全息风险画像): everything known about one firm, with evidence.

Registry facts (personal fields masked for the reader's role), the published scores of
every model with their dimensions and top contributors, every indicator that fired with
its raw value, contribution and evidence records, a timeline of the records that name the
firm, controllers and the strongest ownership chains, the firm's group, and its warning
history. Personal data shown on the page is recorded in the audit log by the route
(:attr:`Profile.personal_shown`).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from datetime import date, datetime
from functools import cache
from typing import Any

import pyarrow as pa
from pydantic import BaseModel, PrivateAttr, TypeAdapter
from sqlalchemy import Engine, Select, bindparam, select
from sqlalchemy.orm import Session

from fengyan.db.published import FirmScore, GradeWarning
from fengyan.i18n import t
from fengyan.schema import load_schema
from fengyan.web.audit_hook import record_view_committed
from fengyan.web.masking import mask_kind, mask_record
from fengyan.web.perengine import PerEngine
from fengyan.web.scope import Principal, check_object, filter_arrow
from fengyan.web.services.common import (
    category_label,
    change_label,
    database_key,
    dimension_label,
    grade_label,
    indicator_dimension,
    indicator_explanation,
    indicator_label,
    latest_run_id,
    load_json,
    model_label,
)
from fengyan.web.services.config import service_settings
from fengyan.web.services.firms import FirmRef, published_scores, visible_firm
from fengyan.web.services.keyindex import KeyIndex
from fengyan.web.services.lakecache import LakeCache

# Registry fields shown first, in this order; the rest follow in schema order.
LEAD_FIELDS = (
    "name",
    "credit_code",
    "status",
    "legal_representative",
    "established",
    "registered_capital",
    "entity_form",
    "registered_address",
    "business_scope",
)
HIDDEN_FIELDS = frozenset({"_hash", "_batch", "_seq", "_source", "_row", "_valid_to", "firm_id"})


class Fact(BaseModel):
    """One registry fact."""

    field: str
    label: str
    value: str | None
    personal: bool = False


class Evidence(BaseModel):
    """An evidence key and what it points at."""

    key: str
    kind: str  # record | firm | person | group | other
    table: str | None = None
    record_id: str | None = None
    label: str
    title: str | None = None
    date: str | None = None


class Contribution(BaseModel):
    """An indicator's share of a model's score."""

    indicator_id: str
    label: str
    contribution: float
    value: float | None


class DimensionScore(BaseModel):
    """A dimension's score in [0, 1]."""

    dimension: str
    label: str
    score: float


class ModelScore(BaseModel):
    """A firm's published score under one model."""

    model: str
    model_label: str
    score: float
    raw_score: float
    grade: str
    grade_label: str
    change: str
    change_label: str
    coverage: float
    dimensions: list[DimensionScore]
    rules: list[str]
    top: list[Contribution]


class IndicatorRow(BaseModel):
    """One indicator that scored above zero for the firm."""

    indicator_id: str
    label: str
    dimension: str | None
    dimension_label: str | None
    value: float | None
    score: float
    contribution: float | None
    explanation: str | None
    evidence: list[Evidence]


class TimelineItem(BaseModel):
    """A dated record that names the firm."""

    date: str | None
    table: str
    table_label: str
    record_id: str
    title: str | None


class Party(BaseModel):
    """A person or firm in an ownership or control relation (names masked by role)."""

    id: str
    kind: str
    name: str | None


class Controller(BaseModel):
    """An actual controller and how it was found."""

    controller: Party
    basis: str
    path: list[Party]


class Holder(BaseModel):
    """A terminal holder with integrated share and strongest chain."""

    holder: Party
    share: float
    path_share: float | None
    beneficial_owner: bool
    path: list[Party]


class GroupMember(BaseModel):
    """A member of the firm's group."""

    firm_id: str
    name: str | None
    grade: str | None


class Group(BaseModel):
    """The firm's group (weakly connected firms, people, controllers, contact points)."""

    group_id: str
    size: int
    members: list[GroupMember]


class WarningEvent(BaseModel):
    """One grade change of the firm."""

    run_id: int
    model: str
    change: str
    change_label: str
    grade: str
    grade_label: str
    previous_grade: str
    score: float
    previous_score: float | None
    created_at: datetime


class Profile(BaseModel):
    """The whole profile."""

    firm: FirmRef
    model: str
    category: str | None
    category_label: str
    finance_like: bool | None
    registry: list[Fact]
    scores: list[ModelScore]
    indicators: list[IndicatorRow]
    timeline: list[TimelineItem]
    controllers: list[Controller]
    holders: list[Holder]
    group: Group | None
    signals: dict[str, Any]
    warnings: list[WarningEvent]
    personal_shown: bool
    # What the profile was built for (lake generation, run, firm, model, language, masking,
    # scope): pages cache their rendering of it under the same key.
    _key: tuple[Any, ...] = PrivateAttr(default=())

    @property
    def cache_key(self) -> tuple[Any, ...]:
        """The key this profile is cached under (empty when it was not)."""
        return self._key


def table_label(table: str, lang: str) -> str:
    """A lake table's name in ``lang`` (from the schema)."""
    try:
        label = load_schema().get(table).label
    except (KeyError, LookupError):
        return table
    return str(label.en if lang == "en" else label.zh)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, list | tuple):
        return "、".join(str(v) for v in value if v is not None) or None
    if isinstance(value, datetime | date):
        return value.isoformat()[:10]
    if isinstance(value, float) and value.is_integer():
        return f"{int(value):,}"
    return str(value)


@cache
def _fact_fields(lang: str) -> tuple[tuple[str, str, bool], ...]:
    """The registry's fields in display order: (field, label in ``lang``, personal?)."""
    entity = load_schema().get("enterprise")
    order = [f for f in LEAD_FIELDS if f in entity.fields] + [
        f for f in entity.fields if f not in LEAD_FIELDS
    ]
    return tuple(
        (
            name,
            str(entity.fields[name].label.en if lang == "en" else entity.fields[name].label.zh),
            entity.fields[name].personal is not None,
        )
        for name in order
    )


_FACTS = TypeAdapter(list[Fact])


def registry_facts(
    cache: LakeCache, principal: Principal, credit_code: str | None, lang: str
) -> tuple[list[Fact], bool]:
    """The firm's current registry record as facts (masked for the role); personal shown?"""
    index = cache.index("enterprise") if credit_code else None
    found = index.first(credit_code) if index is not None and credit_code else None
    if found is None:
        return [], False
    record = mask_record(principal, "enterprise", found)
    hidden = t("web_hidden", lang)
    facts, personal = [], False
    for name, label, is_personal in _fact_fields(lang):
        value = _text(record.get(name))
        if value is None and not is_personal:
            continue
        personal = personal or (is_personal and value is not None)
        facts.append(
            {
                "field": name,
                "label": label,
                "value": value if value is not None else hidden,
                "personal": is_personal,
            }
        )
    # One validation in pydantic's core for the whole list, not one call per fact.
    return _FACTS.validate_python(facts), personal


def _model_scores(scores: Sequence[FirmScore], lang: str) -> list[ModelScore]:
    out = []
    for s in scores:
        dims = load_json(s.dimensions, {})
        out.append(
            ModelScore(
                model=s.model,
                model_label=model_label(s.model, lang),
                score=round(s.score, 2),
                raw_score=round(s.raw_score, 2),
                grade=s.grade,
                grade_label=grade_label(s.grade, lang),
                change=s.change,
                change_label=change_label(s.change, lang),
                coverage=s.coverage,
                dimensions=[
                    DimensionScore(
                        dimension=k, label=dimension_label(s.model, k, lang), score=float(v)
                    )
                    for k, v in dims.items()
                ],
                rules=[str(r) for r in load_json(s.rules, [])],
                top=[
                    Contribution(
                        indicator_id=str(c.get("indicator_id")),
                        label=indicator_label(str(c.get("indicator_id")), lang),
                        contribution=float(c.get("contribution") or 0),
                        value=c.get("value"),
                    )
                    for c in load_json(s.top, [])
                ],
            )
        )
    return out


def _names(cache: LakeCache, ids: set[str]) -> dict[str, tuple[str | None, str]]:
    """canonical id → (name, entity kind) from the resolved universe."""
    index = cache.index("entity")
    if not ids or index is None:
        return {}
    return {r["canonical_id"]: (r["name"], r["entity_kind"]) for r in index.many(ids)}


def party(principal: Principal, node: str, names: dict[str, tuple[str | None, str]]) -> Party:
    """A graph node as a party: persons' names masked for the role."""
    name, kind = names.get(node, (None, "person" if node.startswith("per:") else "enterprise"))
    if kind == "person":
        return Party(id=node, kind="person", name=mask_kind(principal, "name", name))
    return Party(id=node, kind="enterprise", name=name)


def record_titles(cache: LakeCache, keys: list[str]) -> dict[str, dict[str, Any]]:
    """Title and date of the timeline records among ``keys`` (one query for all of them)."""
    wanted = {k for k in keys if "/" in k}
    index = cache.index("record_key")
    if not wanted or index is None:
        return {}
    # A record linked to several firms is listed once per firm, with the same title and date.
    out: dict[str, dict[str, Any]] = {}
    for r in index.many(wanted):
        out.setdefault(f"{r['tbl']}/{r['rid']}", r)
    return out


def evidence_refs(
    cache: LakeCache, keys: list[str], lang: str, titles: dict[str, dict[str, Any]] | None = None
) -> list[Evidence]:
    """What each evidence key points at, with the record's title and date when known."""
    titles = record_titles(cache, keys) if titles is None else titles
    cache.refresh()
    lake_tables = cache.lake_tables
    out = []
    for key in keys:
        if "/" in key and key.split("/", 1)[0] in lake_tables:
            table, rid = key.split("/", 1)
            meta = titles.get(key, {})
            when = meta.get("event_date")
            out.append(
                Evidence(
                    key=key,
                    kind="record",
                    table=table,
                    record_id=rid,
                    label=table_label(table, lang),
                    title=meta.get("title"),
                    date=when.isoformat() if when else None,
                )
            )
        elif key.startswith("ent:"):
            out.append(Evidence(key=key, kind="firm", label=t("web_evidence_firm", lang)))
        elif key.startswith("per:"):
            out.append(Evidence(key=key, kind="person", label=t("web_evidence_person", lang)))
        elif key.startswith("grp:"):
            out.append(Evidence(key=key, kind="group", label=t("web_evidence_group", lang)))
        else:
            out.append(Evidence(key=key, kind="other", label=key))
    return out


def indicator_rows(
    cache: LakeCache, firm_id: str, scores: list[ModelScore], model: str, lang: str
) -> list[IndicatorRow]:
    """Every indicator with a score above zero, strongest first, with its evidence."""
    index = cache.index("indicator_value")
    if index is None:
        return []
    limit = service_settings().profile.evidence_per_indicator
    rows = index.rows(firm_id)  # strongest first (the index's order)
    chosen = next((s for s in scores if s.model == model), None)
    contrib = {c.indicator_id: c.contribution for c in chosen.top} if chosen else {}
    titles = record_titles(cache, [k for r in rows for k in list(r["evidence"] or [])[:limit]])
    out = []
    for r in rows:
        ind = str(r["indicator_id"])
        dim = indicator_dimension(ind)
        value = r["value"]
        out.append(
            IndicatorRow(
                indicator_id=ind,
                label=indicator_label(ind, lang),
                dimension=dim,
                dimension_label=dimension_label("eagle-v1", dim, lang) if dim else None,
                value=value,
                score=round(float(r["score"]), 4),
                contribution=contrib.get(ind),
                explanation=indicator_explanation(ind, value, lang),
                evidence=evidence_refs(cache, list(r["evidence"] or [])[:limit], lang, titles),
            )
        )
    return out


def timeline(cache: LakeCache, firm_id: str, lang: str) -> list[TimelineItem]:
    """Records naming the firm, newest first (capped by the settings)."""
    index = cache.index("record")
    if not cache.has("resolved_link") or index is None:
        return []
    limit = service_settings().profile.timeline_limit
    rows = index.rows(firm_id, limit)  # newest first (the index's order)
    return [
        TimelineItem(
            date=r["event_date"].isoformat() if r["event_date"] else None,
            table=r["tbl"],
            table_label=table_label(r["tbl"], lang),
            record_id=r["rid"],
            title=r["title"],
        )
        for r in rows
    ]


def ownership(
    cache: LakeCache, principal: Principal, firm_id: str
) -> tuple[list[Controller], list[Holder], bool]:
    """Controllers and terminal holders (names masked); whether a person's name was shown."""
    controlled = cache.index("graph_controller")
    held = cache.index("graph_holding")  # strongest first (by rank)
    ctl = controlled.rows(firm_id) if controlled is not None else []
    hold = held.rows(firm_id) if held is not None else []
    ids = {r["controller_id"] for r in ctl} | {r["holder_id"] for r in hold}
    for r in (*ctl, *hold):
        ids |= set(r["path"] or [])
    names = _names(cache, ids)
    controllers = [
        Controller(
            controller=party(principal, r["controller_id"], names),
            basis=r["basis"],
            path=[party(principal, n, names) for n in r["path"] or []],
        )
        for r in ctl
    ]
    holders = [
        Holder(
            holder=party(principal, r["holder_id"], names),
            share=float(r["share"] or 0),
            path_share=r["path_share"],
            beneficial_owner=bool(r["beneficial_owner"]),
            path=[party(principal, n, names) for n in r["path"] or []],
        )
        for r in hold
    ]
    shown = principal.masking != "hidden" and any(
        names.get(i, (None, ""))[1] == "person" for i in ids
    )
    return controllers, holders, shown


def group(
    session: Session, cache: LakeCache, principal: Principal, firm_id: str, model: str
) -> Group | None:
    """The firm's group with its members inside the reader's jurisdiction."""
    groups = cache.index("graph_group")
    found = groups.first(firm_id) if groups is not None else None
    if found is None:
        return None
    limit = service_settings().profile.group_members
    index = cache.index("group_member")  # by group, then firm id
    everyone = index.slice(found["group_id"]) if index is not None else pa.table({})
    # The first `limit` members in scope, by firm id. A group can hold half the city:
    # filter growing chunks and stop once enough are found.
    kept: list[pa.Table] = []
    start, step, count = 0, 4 * limit, 0
    while start < everyone.num_rows and count < limit:
        chunk = filter_arrow(everyone.slice(start, step), "region_code", principal)
        kept.append(chunk)
        count += chunk.num_rows
        start, step = start + step, step * 4
    members = pa.concat_tables(kept).slice(0, limit).to_pylist() if kept else []
    if members:
        graded = graded_firms(session, model)
        grades = {r["firm_id"]: r["grade"] for r in graded.many(m["firm_id"] for m in members)}
        for m in members:
            m["grade"] = grades.get(m["firm_id"])
    # One validation of the whole group in pydantic's core (a model_construct per member
    # costs about ten times more: it runs in Python).
    return Group.model_validate(
        {"group_id": found["group_id"], "size": int(found["group_size"]), "members": members}
    )


class _RunIndexes:
    """Firm-id indexes of one engine's published run, rebuilt when the run changes.

    ``firm_score`` and ``warning`` change only when a run is published (in the same
    transaction that finishes the run), so what they hold for the run
    :func:`latest_run_id` names can be read once and kept: which firms have published rows,
    which have a warning history, each model's grades. A first view of a firm that no model
    graded then asks the database nothing (most firms of a city: no query, no pooled
    connection), and a group's members' grades are a binary search each instead of an
    ``IN`` query of a new length (a statement to compile and send almost every time).
    """

    def __init__(self, _engine: Engine) -> None:
        self._run: tuple[int | None] | None = None
        self._made: dict[str, KeyIndex] = {}
        self._lock = threading.Lock()

    def get(
        self,
        session: Session,
        name: str,
        statement: Select[*tuple[Any, ...]],
        params: dict[str, Any],
    ) -> KeyIndex:
        """The index ``name`` of the published run: ``statement``'s rows by their first column."""
        run = (latest_run_id(session),)
        with self._lock:
            if run != self._run:
                self._run, self._made = run, {}
            hit = self._made.get(name)
        if hit is not None:
            return hit
        rows = session.execute(statement, params).all()
        names = list(statement.selected_columns.keys())
        columns = list(zip(*rows, strict=True)) if rows else [() for _ in names]
        made = KeyIndex.build(
            pa.table({n: pa.array(c, pa.string()) for n, c in zip(names, columns, strict=True)}),
            names[0],
        )
        with self._lock:
            if run == self._run:
                self._made[name] = made
        return made


_run_indexes: PerEngine[_RunIndexes] = PerEngine(_RunIndexes)


def _run_index(
    session: Session, name: str, statement: Select[*tuple[Any, ...]], **params: Any
) -> KeyIndex:
    bind = session.get_bind()
    engine = bind if isinstance(bind, Engine) else bind.engine
    return _run_indexes(engine).get(session, name, statement, params)


def graded_firms(session: Session, model: str) -> KeyIndex:
    """Every firm ``model`` graded in the published run, with its grade, by firm id."""
    return _run_index(session, f"graded/{model}", _GRADES, model=model)


def has_published_rows(session: Session, firm_id: str) -> bool:
    """Whether the published run has ``firm_score`` rows of the firm (any model)."""
    return bool(_run_index(session, "scored", _SCORED).slice(firm_id, 1).num_rows > 0)


def has_warnings(session: Session, firm_id: str) -> bool:
    """Whether the firm has a warning history."""
    return bool(_run_index(session, "warned", _WARNED).slice(firm_id, 1).num_rows > 0)


_SCORED = select(FirmScore.firm_id).distinct()
_WARNED = select(GradeWarning.firm_id).distinct()

# Built once (bound parameters): a first view asks each of these once.
_GRADES = select(FirmScore.firm_id, FirmScore.grade).where(FirmScore.model == bindparam("model"))
_WARNINGS = (
    select(
        GradeWarning.run_id,
        GradeWarning.model,
        GradeWarning.change,
        GradeWarning.grade,
        GradeWarning.previous_grade,
        GradeWarning.score,
        GradeWarning.previous_score,
        GradeWarning.created_at,
    )
    .where(GradeWarning.firm_id == bindparam("firm_id"))
    .order_by(GradeWarning.id.desc())
)


def warning_history(session: Session, firm_id: str, lang: str) -> list[WarningEvent]:
    """Every grade change of the firm, newest first."""
    rows = session.execute(_WARNINGS, {"firm_id": firm_id}).all()
    return [
        WarningEvent(
            run_id=w.run_id,
            model=w.model,
            change=w.change,
            change_label=change_label(w.change, lang),
            grade=w.grade,
            grade_label=grade_label(w.grade, lang),
            previous_grade=w.previous_grade,
            score=w.score,
            previous_score=w.previous_score,
            created_at=w.created_at,
        )
        for w in rows
    ]


def profile(
    session: Session, cache: LakeCache, principal: Principal, firm_id: str, model: str, lang: str
) -> Profile:
    """The profile of a firm in the principal's jurisdiction (404 otherwise).

    Profiles change only when a run is published or the lake changes: they are kept in a
    small LRU per (lake generation, run, firm, model, language, masking level, scope). The
    jurisdiction check runs on every request, on a hit against the cached firm's region
    (the same rule :func:`visible_firm` applies).
    """
    cache.refresh()
    key = (
        database_key(session),
        str(cache.lake.root),
        cache.generation_id,
        latest_run_id(session),
        firm_id,
        model,
        lang,
        principal.masking,
        principal.scope,
    )
    with _LOCK:
        hit = _PROFILES.get(key)
        if hit is not None:
            _PROFILES.move_to_end(key)
    if hit is not None:
        check_object(principal, hit.firm.region_code)
        return hit
    published = published_scores(session, firm_id) if has_published_rows(session, firm_id) else []
    firm = visible_firm(session, cache, principal, firm_id, published)
    made = _profile(session, cache, principal, firm, published, model, lang)
    made._key = key
    with _LOCK:
        _PROFILES[key] = made
        while len(_PROFILES) > service_settings().profile.cache_size:
            _PROFILES.popitem(last=False)
    return made


_LOCK = threading.Lock()
_PROFILES: OrderedDict[tuple[Any, ...], Profile] = OrderedDict()


def _profile(
    session: Session,
    cache: LakeCache,
    principal: Principal,
    firm: FirmRef,
    published: Sequence[FirmScore],
    model: str,
    lang: str,
) -> Profile:
    firm_id = firm.firm_id
    facts, personal = registry_facts(cache, principal, firm.credit_code, lang)
    scores = _model_scores(published, lang)
    controllers, holders, named = ownership(cache, principal, firm_id)
    categories = cache.index("firm_category")
    category = categories.first(firm_id) if categories is not None else None
    signalled = cache.index("graph_signal")
    signals = signalled.first(firm_id) if signalled is not None else None
    cat = category["category"] if category else None
    return Profile(
        firm=firm,
        model=model,
        category=cat,
        category_label=category_label(cat, lang),
        finance_like=category["finance_like"] if category else None,
        registry=facts,
        scores=scores,
        indicators=indicator_rows(cache, firm_id, scores, model, lang),
        timeline=timeline(cache, firm_id, lang),
        controllers=controllers,
        holders=holders,
        group=group(session, cache, principal, firm_id, model),
        signals={k: v for k, v in (signals or {}).items() if v is not None and k != "firm_id"},
        warnings=warning_history(session, firm_id, lang) if has_warnings(session, firm_id) else [],
        personal_shown=personal or named,
    )


def view_profile(
    session: Session, cache: LakeCache, principal: Principal, firm_id: str, model: str, lang: str
) -> Profile:
    """:func:`profile` for display: a view of personal data is recorded and committed.

    The entry goes through the group-commit writer and is committed before this returns.
    """
    result = profile(session, cache, principal, firm_id, model, lang)
    if result.personal_shown:
        bind = session.get_bind()
        engine = bind if isinstance(bind, Engine) else bind.engine
        session.commit()  # reads only: give the connection back before waiting for the writer
        record_view_committed(engine, principal, f"enterprise/{firm_id}", {"page": "profile"})
    return result
