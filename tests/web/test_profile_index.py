"""The profile read through the key indexes equals the profile read through SQL.

The uncached profile used to ask the in-memory DuckDB copy about 25 queries per firm; it
now reads sorted Arrow copies by binary search (``services/keyindex.py``). The reference
here is the former data access, kept verbatim as SQL over a copy that still holds every
table (``LakeCache(keep_sql_tables=True)``) and the published database: for a few hundred
firms of the published city and readers of three masking levels and two scopes, the
whole profile — registry facts, scores, indicators with evidence, timeline, controllers,
holders, group, signals, warnings, whether personal data was shown — must be identical,
and so must the evidence check and the graph's edge lookups.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from fengyan.db.published import FirmScore, GradeWarning
from fengyan.i18n import t
from fengyan.schema import load_schema
from fengyan.web.errors import NotFound
from fengyan.web.masking import mask_record
from fengyan.web.scope import Principal, check_object, duckdb_condition
from fengyan.web.services import profile as P
from fengyan.web.services.common import category_label, region_name
from fengyan.web.services.config import service_settings
from fengyan.web.services.evidence import belongs_to
from fengyan.web.services.firms import FirmRef, published_scores, visible_firm
from fengyan.web.services.graph import _edges_of
from fengyan.web.services.keyindex import KeyIndex
from fengyan.web.services.lakecache import LakeCache
from tests.web.test_pages_city import PublishedCity, published_city, resolved_city

__all__ = ["published_city", "resolved_city"]
MODEL = "dolphin-v1"


@pytest.fixture(scope="module")
def caches(published_city: PublishedCity) -> Iterator[tuple[LakeCache, LakeCache]]:
    """(the server's copy, a copy that also keeps every table for SQL)."""
    new, ref = (
        LakeCache(published_city.ws.lake),
        LakeCache(published_city.ws.lake, keep_sql_tables=True),
    )
    new.refresh(force=True)
    ref.refresh(force=True)
    yield new, ref


# ---- the former data access (SQL), verbatim ----------------------------------------------


def _ref_firm(session: Session, ref: LakeCache, principal: Principal, firm_id: str) -> FirmRef:
    row = session.execute(
        select(FirmScore.name, FirmScore.credit_code, FirmScore.region_code)
        .where(FirmScore.firm_id == firm_id)
        .limit(1)
    ).first()
    if row is not None and row[2]:
        firm = FirmRef(
            firm_id=firm_id, name=row[0], credit_code=row[1], region_code=row[2],
            region_name=region_name(row[2]),
        )  # fmt: skip
    else:
        found = ref.rows(
            "SELECT name, credit_code, region_code FROM w_resolved_entity"
            " WHERE canonical_id = ? AND entity_kind = 'enterprise' LIMIT 1",
            [firm_id],
        )
        if not found:
            raise NotFound()
        f = found[0]
        firm = FirmRef(
            firm_id=firm_id, name=f["name"], credit_code=f["credit_code"],
            region_code=f["region_code"], region_name=region_name(f["region_code"]),
        )  # fmt: skip
    check_object(principal, firm.region_code)
    return firm


def _ref_registry(
    ref: LakeCache, principal: Principal, code: str | None, lang: str
) -> tuple[list[P.Fact], bool]:
    if not code:
        return [], False
    found = ref.rows("SELECT * FROM w_enterprise WHERE credit_code = ? LIMIT 1", [code])
    if not found:
        return [], False
    entity = load_schema().get("enterprise")
    record = mask_record(principal, entity, found[0])
    order = [f for f in P.LEAD_FIELDS if f in entity.fields] + [
        f for f in entity.fields if f not in P.LEAD_FIELDS
    ]
    facts, personal = [], False
    for name in order:
        spec = entity.fields[name]
        value = P._text(record.get(name))
        is_personal = spec.personal is not None
        if value is None and not is_personal:
            continue
        personal = personal or (is_personal and value is not None)
        facts.append(
            P.Fact(
                field=name,
                label=str(spec.label.en if lang == "en" else spec.label.zh),
                value=value if value is not None else t("web_hidden", lang),
                personal=is_personal,
            )
        )
    return facts, personal


def _ref_names(ref: LakeCache, ids: set[str]) -> dict[str, tuple[str | None, str]]:
    if not ids:
        return {}
    rows = ref.rows(
        "SELECT canonical_id, name, entity_kind FROM w_resolved_entity"
        " WHERE canonical_id IN (SELECT unnest(?))",
        [sorted(ids)],
    )
    return {r["canonical_id"]: (r["name"], r["entity_kind"]) for r in rows}


def _ref_titles(ref: LakeCache, keys: list[str]) -> dict[str, dict[str, Any]]:
    wanted = sorted({k for k in keys if "/" in k})
    if not wanted:
        return {}
    rows = ref.rows(
        "SELECT DISTINCT tbl || '/' || rid AS key, title, event_date FROM w_record"
        " WHERE tbl || '/' || rid IN (SELECT unnest(?))",
        [wanted],
    )
    return {r["key"]: r for r in rows}


def _ref_indicators(
    ref: LakeCache, firm_id: str, scores: list[P.ModelScore], lang: str
) -> list[P.IndicatorRow]:
    limit = service_settings().profile.evidence_per_indicator
    rows = ref.rows(
        "SELECT indicator_id, value, score, evidence FROM w_indicator_value"
        " WHERE firm_id = ? ORDER BY score DESC, indicator_id",
        [firm_id],
    )
    chosen = next((s for s in scores if s.model == MODEL), None)
    contrib = {c.indicator_id: c.contribution for c in chosen.top} if chosen else {}
    titles = _ref_titles(ref, [k for r in rows for k in list(r["evidence"] or [])[:limit]])
    out = []
    for r in rows:
        ind = str(r["indicator_id"])
        dim = P.indicator_dimension(ind)
        out.append(
            P.IndicatorRow(
                indicator_id=ind,
                label=P.indicator_label(ind, lang),
                dimension=dim,
                dimension_label=P.dimension_label("eagle-v1", dim, lang) if dim else None,
                value=r["value"],
                score=round(float(r["score"]), 4),
                contribution=contrib.get(ind),
                explanation=P.indicator_explanation(ind, r["value"], lang),
                evidence=P.evidence_refs(ref, list(r["evidence"] or [])[:limit], lang, titles),
            )
        )
    return out


def _ref_timeline(ref: LakeCache, firm_id: str, lang: str) -> list[P.TimelineItem]:
    rows = ref.rows(
        "SELECT tbl, rid, event_date, title FROM w_record WHERE firm_id = ?"
        " ORDER BY event_date DESC NULLS LAST, tbl, rid LIMIT ?",
        [firm_id, service_settings().profile.timeline_limit],
    )
    return [
        P.TimelineItem(
            date=r["event_date"].isoformat() if r["event_date"] else None,
            table=r["tbl"],
            table_label=P.table_label(r["tbl"], lang),
            record_id=r["rid"],
            title=r["title"],
        )
        for r in rows
    ]


def _ref_ownership(
    ref: LakeCache, principal: Principal, firm_id: str
) -> tuple[list[P.Controller], list[P.Holder], bool]:
    ctl = ref.rows(
        "SELECT controller_id, basis, path FROM w_graph_controller WHERE firm_id = ?", [firm_id]
    )
    hold = ref.rows(
        "SELECT holder_id, share, path, path_share, beneficial_owner FROM w_graph_holding"
        " WHERE firm_id = ? ORDER BY rank",
        [firm_id],
    )
    ids = {r["controller_id"] for r in ctl} | {r["holder_id"] for r in hold}
    for r in (*ctl, *hold):
        ids |= set(r["path"] or [])
    names = _ref_names(ref, ids)
    controllers = [
        P.Controller(
            controller=P.party(principal, r["controller_id"], names),
            basis=r["basis"],
            path=[P.party(principal, n, names) for n in r["path"] or []],
        )
        for r in ctl
    ]
    holders = [
        P.Holder(
            holder=P.party(principal, r["holder_id"], names),
            share=float(r["share"] or 0),
            path_share=r["path_share"],
            beneficial_owner=bool(r["beneficial_owner"]),
            path=[P.party(principal, n, names) for n in r["path"] or []],
        )
        for r in hold
    ]
    shown = principal.masking != "hidden" and any(
        names.get(i, (None, ""))[1] == "person" for i in ids
    )
    return controllers, holders, shown


def _ref_group(
    session: Session, ref: LakeCache, principal: Principal, firm_id: str
) -> P.Group | None:
    found = ref.rows("SELECT group_id, group_size FROM w_graph_group WHERE firm_id = ?", [firm_id])
    if not found:
        return None
    cond, params = duckdb_condition("e.region_code", principal)
    members = ref.rows(
        "SELECT g.firm_id, e.name FROM w_graph_group g"
        " JOIN w_resolved_entity e ON e.canonical_id = g.firm_id"
        f" WHERE g.group_id = ? AND {cond} ORDER BY g.firm_id LIMIT ?",
        [found[0]["group_id"], *params, service_settings().profile.group_members],
    )
    grades = dict(
        session.execute(
            select(FirmScore.firm_id, FirmScore.grade).where(
                FirmScore.model == MODEL, FirmScore.firm_id.in_([m["firm_id"] for m in members])
            )
        ).all()
    )
    return P.Group(
        group_id=found[0]["group_id"],
        size=int(found[0]["group_size"]),
        members=[
            P.GroupMember(firm_id=m["firm_id"], name=m["name"], grade=grades.get(m["firm_id"]))
            for m in members
        ],
    )


def _ref_warnings(session: Session, firm_id: str, lang: str) -> list[P.WarningEvent]:
    rows = session.scalars(
        select(GradeWarning).where(GradeWarning.firm_id == firm_id).order_by(GradeWarning.id.desc())
    ).all()
    return [
        P.WarningEvent(
            run_id=w.run_id,
            model=w.model,
            change=w.change,
            change_label=P.change_label(w.change, lang),
            grade=w.grade,
            grade_label=P.grade_label(w.grade, lang),
            previous_grade=w.previous_grade,
            score=w.score,
            previous_score=w.previous_score,
            created_at=w.created_at,
        )
        for w in rows
    ]


def reference_profile(
    session: Session, ref: LakeCache, principal: Principal, firm_id: str, lang: str
) -> P.Profile:
    """The profile as the SQL path built it."""
    firm = _ref_firm(session, ref, principal, firm_id)
    facts, personal = _ref_registry(ref, principal, firm.credit_code, lang)
    published = session.scalars(
        select(FirmScore).where(FirmScore.firm_id == firm_id).order_by(FirmScore.model)
    ).all()
    scores = P._model_scores(published, lang)
    controllers, holders, named = _ref_ownership(ref, principal, firm_id)
    category = ref.rows(
        "SELECT category, finance_like FROM w_firm_category WHERE firm_id = ?", [firm_id]
    )
    signals = ref.rows(
        "SELECT * EXCLUDE (firm_id) FROM w_graph_signal WHERE firm_id = ?", [firm_id]
    )
    cat = category[0]["category"] if category else None
    return P.Profile(
        firm=firm,
        model=MODEL,
        category=cat,
        category_label=category_label(cat, lang),
        finance_like=category[0]["finance_like"] if category else None,
        registry=facts,
        scores=scores,
        indicators=_ref_indicators(ref, firm_id, scores, lang),
        timeline=_ref_timeline(ref, firm_id, lang),
        controllers=controllers,
        holders=holders,
        group=_ref_group(session, ref, principal, firm_id),
        signals={k: v for k, v in (signals[0] if signals else {}).items() if v is not None},
        warnings=_ref_warnings(session, firm_id, lang),
        personal_shown=personal or named,
    )


def new_profile(
    session: Session, cache: LakeCache, principal: Principal, firm_id: str, lang: str
) -> P.Profile:
    """The profile as the server builds it on a first view (the LRU left out)."""
    published = published_scores(session, firm_id)
    firm = visible_firm(session, cache, principal, firm_id, published)
    return P._profile(session, cache, principal, firm, published, MODEL, lang)


# ---- which firms and readers ---------------------------------------------------------------


def _firms(published_city: PublishedCity, ref: LakeCache) -> list[str]:
    """Every published firm, the biggest group's first members, firms with holders and
    controllers, and a random sample of the rest (ungraded: registry from the lake)."""
    with Session(published_city.ws.engine) as db:
        graded = sorted(set(db.scalars(select(FirmScore.firm_id)).all()))
    everyone = [
        r["canonical_id"]
        for r in ref.rows(
            "SELECT canonical_id FROM w_resolved_entity WHERE entity_kind = 'enterprise'"
            " ORDER BY canonical_id"
        )
    ]
    big = ref.rows(
        "SELECT firm_id FROM w_graph_group WHERE group_id = (SELECT group_id FROM w_graph_group"
        " ORDER BY group_size DESC, group_id LIMIT 1) ORDER BY firm_id LIMIT 20"
    )
    held = ref.rows(
        "SELECT firm_id FROM w_graph_holding GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 20"
    )
    rng = random.Random(5)
    return sorted(
        {*graded, *(r["firm_id"] for r in big + held), *rng.sample(everyone, 150), "ent:nope"}
    )


def _readers(published_city: PublishedCity) -> list[Principal]:
    with Session(published_city.ws.engine) as db:
        regions = [r for r in db.scalars(select(FirmScore.region_code)).all() if r]
    district = max(sorted({r[:6] for r in regions}), key=lambda d: sum(r[:6] == d for r in regions))
    return [
        Principal.for_role("analyst", "analyst", "4403"),  # masked, the city
        Principal.for_role("investigator", "investigator", district),  # clear, one district
        Principal.for_role("admin", "admin", "44"),  # hidden, the province
    ]


# ---- tests ------------------------------------------------------------------------------------


def test_the_indexed_profile_equals_the_sql_profile(
    published_city: PublishedCity, caches: tuple[LakeCache, LakeCache]
) -> None:
    new, ref = caches
    firms = _firms(published_city, ref)
    compared = found_404 = 0
    covered = {"group": 0, "holders": 0, "controllers": 0, "timeline": 0, "evidence": 0}
    with Session(published_city.ws.engine) as db:
        for principal in _readers(published_city):
            for lang in ("zh", "en") if principal.role == "analyst" else ("zh",):
                for firm_id in firms:
                    try:
                        want = reference_profile(db, ref, principal, firm_id, lang)
                    except NotFound:
                        with pytest.raises(NotFound):
                            new_profile(db, new, principal, firm_id, lang)
                        found_404 += 1
                        continue
                    got = new_profile(db, new, principal, firm_id, lang)
                    assert got.model_dump() == want.model_dump(), (principal.role, firm_id)
                    compared += 1
                    covered["group"] += bool(want.group and want.group.members)
                    covered["holders"] += bool(want.holders)
                    covered["controllers"] += bool(want.controllers)
                    covered["timeline"] += bool(want.timeline)
                    covered["evidence"] += any(e.title for i in want.indicators for e in i.evidence)
    # The comparison must have seen every part filled, and the district reader 404s.
    assert compared > 300 and found_404 > 10, (compared, found_404)
    assert all(n > 5 for n in covered.values()), covered


def test_the_server_path_caches_what_it_built(
    published_city: PublishedCity, caches: tuple[LakeCache, LakeCache]
) -> None:
    """``profile`` (LRU, jurisdiction check on a hit) answers the same as a fresh build."""
    new, ref = caches
    principal = Principal.for_role("analyst", "analyst", "4403")
    outsider = Principal.for_role("analyst", "analyst", "4401")
    with Session(published_city.ws.engine) as db:
        firm_id = db.scalars(select(FirmScore.firm_id).order_by(FirmScore.firm_id)).first()
        assert firm_id is not None
        first = P.profile(db, new, principal, firm_id, MODEL, "zh")
        again = P.profile(db, new, principal, firm_id, MODEL, "zh")
        assert again is first
        assert (
            first.model_dump() == reference_profile(db, ref, principal, firm_id, "zh").model_dump()
        )
        with pytest.raises(NotFound):
            P.profile(db, new, outsider, firm_id, MODEL, "zh")


def test_evidence_check_and_graph_edges_equal_sql(
    published_city: PublishedCity, caches: tuple[LakeCache, LakeCache]
) -> None:
    new, ref = caches
    firms = _firms(published_city, ref)[:120]
    other_keys = [
        f"{r['tbl']}/{r['rid']}" for r in ref.rows("SELECT tbl, rid FROM w_record LIMIT 40")
    ]
    checked = positive = 0
    for firm_id in firms:
        cited = [
            k
            for r in ref.rows("SELECT evidence FROM w_indicator_value WHERE firm_id = ?", [firm_id])
            for k in r["evidence"] or []
        ]
        listed = [
            f"{r['tbl']}/{r['rid']}"
            for r in ref.rows("SELECT tbl, rid FROM w_record WHERE firm_id = ?", [firm_id])
        ]
        for key in [*cited[:5], *listed[:5], *other_keys[:10], "judgment/none", "x"]:
            table, _, rid = key.partition("/")
            want = bool(
                ref.rows(
                    "SELECT 1 FROM w_indicator_value WHERE firm_id = ?"
                    " AND list_contains(evidence, ?) LIMIT 1",
                    [firm_id, key],
                )
                or ref.rows(
                    "SELECT 1 FROM w_record WHERE firm_id = ? AND tbl = ? AND rid = ? LIMIT 1",
                    [firm_id, table, rid],
                )
            )
            assert belongs_to(new, firm_id, key) == want, (firm_id, key)
            checked += 1
            positive += want
        # The graph view's edge lookups: same edges, in the same order.
        frontier = [firm_id, *(r["dst"] for r in _edges_of(new, [firm_id])[:5])]
        want_edges = ref.rows(
            "SELECT src, dst, relation, share, role FROM w_graph_edge"
            " WHERE src IN (SELECT unnest(?)) OR dst IN (SELECT unnest(?))",
            [frontier, frontier],
        )
        assert _edges_of(new, frontier) == want_edges
    assert checked > 1000 and positive > 100


def test_key_index_finds_exactly_the_rows_of_a_key() -> None:
    import pyarrow as pa

    table = pa.table({"k": ["b", "a", None, "b", "数据", "c", "bb"], "v": [1, 2, 3, 4, 5, 6, 7]})
    index = KeyIndex.build(table, "k")
    assert [r["v"] for r in index.rows("b")] == [1, 4]  # order within a key kept
    assert index.rows("数据") == [{"k": "数据", "v": 5}]
    assert index.rows("b", limit=1) == [{"k": "b", "v": 1}]
    # Longer than any key, a prefix of one, a key with a trailing NUL: nothing.
    assert index.rows("bbbbbbbbbbbbbbbbbbb") == [] and index.rows("b\0") == [] == index.rows("")
    assert [r["v"] for r in index.many(["c", "a", "zz", "a"])] == [2, 6]
    # Several rows per key, in sorted key order, each key once; junk keys find nothing.
    assert [r["v"] for r in index.many(["数据", "bb", "b", "b\0", "b" * 30, ""])] == [1, 4, 7, 5]
    assert index.many([]) == [] == index.many(["zz", "b\0"])
    second = index.reindex(pa.array(["x", "y", "x", None, "y", "z"]))
    assert [r["v"] for r in second.rows("x")] == [2, 4] and second.rows("w") == []
    assert [r["v"] for r in second.many(["z", "w", "x"])] == [2, 4, 5]


def test_the_urlencode_filter_quotes_as_jinja_does() -> None:
    from jinja2.filters import do_urlencode

    from fengyan.web.templating import make_environment, urlencode

    values: list[Any] = [
        "ent_3f/ab-1.2~x",
        "a b",
        "数据",
        "a?b&c=d",
        "x%y",
        "a+b",
        "",
        5,
        None,
        {"k": "v w"},
    ]
    for value in values:
        assert urlencode(value) == str(do_urlencode(value))
    assert urlencode("a b/c") == "a%20b/c" and urlencode("ok/1") == "ok/1"
    template = make_environment().from_string("/firm/{{ fid|urlencode }}")
    assert template.render(fid="公司 A") == "/firm/%E5%85%AC%E5%8F%B8%20A"
