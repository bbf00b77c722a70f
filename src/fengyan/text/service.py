"""``fengyan text``: read the lake's text tables and write the text stage's derived tables.

For every document of the configured tables (``settings.yaml`` ``sources``) as of the run
date: normalise, link enterprise mentions (:mod:`fengyan.text.linking`), classify risk
events (the built event model when there is one, else the keyword baseline with a warning),
extract promises, check ads, score sentiment toward each linked firm and list feature-word
hits. Output, one atomic generation of stage ``text`` (``Lake.write_derived``):
text_document, text_mention, text_event, text_promise, text_violation, text_sentiment,
text_feature_hit — columns as in the indicator contract. Rows of a document with no linked
firm carry a NULL ``firm_id`` (the fact is kept; indicators join on firms).

Needs a resolution run first (canonical firm ids and record links come from it).
"""

from __future__ import annotations

import csv
import math
import re
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from fengyan.clock import CHINA_TZ, now
from fengyan.text.ads import check_ad
from fengyan.text.events import DEFAULT_ARTEFACT, EventClassifier, ModelError, load_model
from fengyan.text.keywords import FIRE_WEIGHT, Hit
from fengyan.text.linking import (
    OPEN_DAY,
    UNKNOWN_DAY,
    FirmFacts,
    LexiconScanner,
    Linker,
    LinkSettings,
    NameDictionary,
    build_dictionary,
)
from fengyan.text.normalize import normalize_text
from fengyan.text.promises import extract_promises
from fengyan.text.sentiment import sentiment_toward
from fengyan.workspace import Workspace
from fengyan.yamlstrict import load_yaml

STAGE = "text"
_SETTINGS = "settings.yaml"


class TextStageError(LookupError):
    """The text stage cannot run: a missing prerequisite (message code and parameters)."""

    def __init__(self, message_code: str, **params: Any) -> None:
        super().__init__(message_code, params)
        self.message_code = message_code
        self.params = params


@dataclass(frozen=True)
class Source:
    """One table with text (``sources:`` in the settings)."""

    table: str
    text: tuple[str, ...]
    published_at: str
    region: str | None
    reach: str | None
    ads: bool


@dataclass(frozen=True)
class EventSettings:
    """How events are classified."""

    artefact: str
    margin_scale: float
    evidence_chars: int
    fallback: str


@dataclass(frozen=True)
class TextSettings:
    """The whole ``settings.yaml``."""

    model: str
    chunk_rows: int
    sources: tuple[Source, ...]
    events: EventSettings
    linking: LinkSettings


_IDENT = re.compile(r"^[a-z_][a-z0-9_]*$")


def load_settings(path: Path | None = None) -> TextSettings:
    """Read and check the settings (the packaged file by default)."""
    where = str(path) if path else f"fengyan/text/{_SETTINGS}"
    text = (
        path.read_text("utf-8")
        if path
        else resources.files("fengyan.text").joinpath(_SETTINGS).read_text("utf-8")
    )
    data: dict[str, Any] = load_yaml(text)
    try:
        sources = []
        for s in data["sources"]:
            src = Source(
                table=s["table"],
                text=tuple(s["text"]),
                published_at=s["published_at"],
                region=s.get("region"),
                reach=s.get("reach"),
                ads=bool(s.get("ads", False)),
            )
            for col in (src.table, *src.text, src.published_at, src.region, src.reach):
                if col is not None and not _IDENT.match(col):
                    raise ValueError(f"source {src.table}: {col!r} is not a plain column name")
            sources.append(src)
        ev = data["events"]
        events = EventSettings(
            artefact=str(ev["artefact"]),
            margin_scale=float(ev["margin_scale"]),
            evidence_chars=int(ev["evidence_chars"]),
            fallback=str(ev["fallback"]),
        )
        if events.fallback not in ("keyword", "fail"):
            raise ValueError(f"events.fallback must be keyword or fail, not {events.fallback!r}")
        return TextSettings(
            model=str(data["model"]),
            chunk_rows=int(data["chunk_rows"]),
            sources=tuple(sources),
            events=events,
            linking=LinkSettings.from_dict(data["linking"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"{where}: {exc}") from exc


@dataclass
class TextReport:
    """Sizes, timings and warnings of a text run."""

    model: str
    event_method: str
    counts: dict[str, int]
    seconds: dict[str, float] = field(default_factory=dict)
    warnings: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    run: Path | None = None


# ---- output tables -------------------------------------------------------------------------

_TS = pa.timestamp("us")
SCHEMAS: dict[str, pa.Schema] = {
    "text_document": pa.schema(
        [("doc_key", pa.string()), ("source_table", pa.string()), ("published_at", _TS),
         ("region_code", pa.string()), ("reach", pa.int64()), ("text_len", pa.int32())]
    ),
    "text_mention": pa.schema(
        [("doc_key", pa.string()), ("source_table", pa.string()), ("firm_id", pa.string()),
         ("start", pa.int32()), ("end", pa.int32()), ("surface", pa.string()),
         ("method", pa.string()), ("confidence", pa.float64()), ("published_at", _TS)]
    ),
    "text_event": pa.schema(
        [("doc_key", pa.string()), ("source_table", pa.string()), ("firm_id", pa.string()),
         ("event_type", pa.string()), ("probability", pa.float64()), ("method", pa.string()),
         ("evidence_span", pa.string()), ("published_at", _TS)]
    ),
    "text_promise": pa.schema(
        [("doc_key", pa.string()), ("source_table", pa.string()), ("firm_id", pa.string()),
         ("kind", pa.string()), ("annual_rate", pa.float64()), ("amount_yuan", pa.float64()),
         ("term_days", pa.int32()), ("start", pa.int32()), ("end", pa.int32()),
         ("span", pa.string()), ("published_at", _TS)]
    ),
    "text_violation": pa.schema(
        [("doc_key", pa.string()), ("source_table", pa.string()), ("firm_id", pa.string()),
         ("rule_id", pa.string()), ("basis", pa.string()), ("severity", pa.float64()),
         ("start", pa.int32()), ("end", pa.int32()), ("span", pa.string()),
         ("published_at", _TS)]
    ),
    "text_sentiment": pa.schema(
        [("doc_key", pa.string()), ("source_table", pa.string()), ("firm_id", pa.string()),
         ("label", pa.string()), ("score", pa.float64()), ("published_at", _TS)]
    ),
    "text_feature_hit": pa.schema(
        [("doc_key", pa.string()), ("source_table", pa.string()), ("firm_id", pa.string()),
         ("term", pa.string()), ("category", pa.string()), ("sector", pa.string()),
         ("weight", pa.float64()), ("start", pa.int32()), ("published_at", _TS)]
    ),
}  # fmt: skip


class _Rows:
    """Column lists of one output table, turned into Arrow a chunk at a time."""

    def __init__(self, schema: pa.Schema) -> None:
        self.schema = schema
        self.cols: dict[str, list[Any]] = {n: [] for n in schema.names}
        self.batches: list[pa.RecordBatch] = []

    def add(self, *values: Any) -> None:
        for col, v in zip(self.cols.values(), values, strict=True):
            col.append(v)

    def flush(self) -> None:
        if self.cols[self.schema.names[0]]:
            self.batches.append(pa.RecordBatch.from_pydict(self.cols, schema=self.schema))
            self.cols = {n: [] for n in self.schema.names}

    def table(self) -> pa.Table:
        self.flush()
        return pa.Table.from_batches(self.batches, schema=self.schema)


# ---- reading the lake ----------------------------------------------------------------------


def _views(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {
        r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()
    }


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> set[str]:
    return {r[0] for r in con.execute(f'DESCRIBE "{table}"').fetchall()}


def _days(values: pa.Array) -> np.ndarray[Any, np.dtype[np.int64]]:
    return np.asarray(values.cast(pa.date32()).cast(pa.int32()).to_numpy(zero_copy_only=False))


@dataclass
class Firms:
    """The firm universe of a run: index ↔ canonical id, facts, and the name table."""

    index: dict[str, int]
    facts: FirmFacts
    names: pa.Table  # firm (int32), name, kind


def load_firms(
    con: duckdb.DuckDBPyConnection, settings: LinkSettings, views: set[str] | None = None
) -> Firms:
    """Firms (every enterprise canonical id) with their facts and every name they had."""
    views = views if views is not None else _views(con)
    if "resolved_link" not in views or "resolved_entity" not in views:
        raise TextStageError("text_needs_resolve")
    closed = ", ".join("'" + s.replace("'", "''") + "'" for s in sorted(settings.closed_statuses))
    finance = "|".join(re.escape(w) for w in settings.finance_words) or "$^"
    has_ent = "enterprise" in views
    facts_sql = f"""
        WITH e AS (
            SELECT l.canonical_id AS firm_id, e.name, e.region_code, e.operating_region_code,
                   e.established, e.status, e.status_date,
                   regexp_matches(coalesce(e.name, '') || ' ' || coalesce(e.business_scope, ''),
                                  '{finance.replace("'", "''")}') AS finance
            FROM enterprise e JOIN resolved_link l
              ON l.key_kind = 'credit_code' AND l.key = e.credit_code
        )
        SELECT r.canonical_id AS firm_id,
               coalesce(any_value(e.region_code), any_value(r.region_code), '') AS region,
               coalesce(any_value(e.operating_region_code), '') AS operating_region,
               min(e.established) AS established,
               max(CASE WHEN e.status IN ({closed}) THEN coalesce(e.status_date, DATE '1970-01-01')
                   END) AS closed,
               coalesce(bool_or(e.finance), false) AS finance
        FROM resolved_entity r LEFT JOIN e ON e.firm_id = r.canonical_id
        WHERE r.entity_kind = 'enterprise'
        GROUP BY r.canonical_id ORDER BY r.canonical_id
    """  # noqa: S608 - statuses and words come from settings.yaml, quoted
    if not has_ent:
        facts_sql = """SELECT canonical_id AS firm_id, coalesce(region_code, '') AS region,
            '' AS operating_region, NULL::DATE AS established, NULL::DATE AS closed,
            false AS finance FROM resolved_entity WHERE entity_kind = 'enterprise'
            ORDER BY canonical_id"""
    t = con.sql(facts_sql).to_arrow_table()
    ids = t["firm_id"].to_pylist()
    index = {f: i for i, f in enumerate(ids)}
    est = t["established"].combine_chunks()
    shut = t["closed"].combine_chunks()
    facts = FirmFacts(
        ids=ids,
        region=t["region"].to_pylist(),
        operating_region=t["operating_region"].to_pylist(),
        established=np.where(
            est.is_null().to_numpy(zero_copy_only=False), UNKNOWN_DAY, _days(est.fill_null(0))
        ).astype(np.int64),
        closed=np.where(
            shut.is_null().to_numpy(zero_copy_only=False), OPEN_DAY, _days(shut.fill_null(0))
        ).astype(np.int64),
        finance=np.asarray(t["finance"].to_numpy(zero_copy_only=False), dtype=bool),
    )
    parts = []
    if has_ent:
        parts.append(
            """SELECT l.canonical_id AS firm_id, v.name,
                      CASE WHEN v.name = c.name THEN 'current' ELSE 'former' END AS kind
               FROM enterprise__versions v
               JOIN resolved_link l ON l.key_kind = 'credit_code' AND l.key = v.credit_code
               LEFT JOIN enterprise c ON c.credit_code = v.credit_code"""
        )
        if "former_names" in _columns(con, "enterprise"):
            parts.append(
                """SELECT l.canonical_id, unnest(e.former_names), 'former'
                   FROM enterprise e
                   JOIN resolved_link l ON l.key_kind = 'credit_code' AND l.key = e.credit_code"""
            )
    if "branch" in views:
        parts.append(
            """SELECT l.canonical_id, b.branch_name, 'branch' FROM branch b
               JOIN resolved_link l
                 ON l.key_kind = 'credit_code' AND l.key = b.parent_credit_code"""
        )
    names = pa.table({"firm": pa.array([], pa.int32()), "name": [], "kind": []})
    if parts:
        union = " UNION ALL ".join(parts)
        rows = con.sql(
            f"""SELECT firm_id, name, min(kind) AS kind FROM ({union})
                WHERE name IS NOT NULL AND name <> '' GROUP BY ALL ORDER BY firm_id, name"""  # noqa: S608 - fixed SQL
        ).to_arrow_table()
        # 'branch' < 'current' < 'former': a name that is both current and former is current.
        firm = pc.index_in(rows["firm_id"], value_set=t["firm_id"]).cast(pa.int32())
        names = pa.table({"firm": firm, "name": rows["name"], "kind": rows["kind"]})
    return Firms(index, facts, names)


def dictionary_for(firms: Firms, settings: LinkSettings) -> NameDictionary:
    """The name dictionary of a firm universe."""
    t = firms.names
    return build_dictionary(
        t["firm"].combine_chunks(),
        t["name"],
        t["kind"],
        settings,
        workers=settings.build_workers,
    )


def _licences(
    con: duckdb.DuckDBPyConnection, views: set[str], today: date
) -> dict[str, frozenset[str]]:
    """Firm → licence types valid on ``today`` (small table: one row per licence)."""
    if "licence" not in views:
        return {}
    rows = con.execute(
        """SELECT l.canonical_id, list(DISTINCT c.licence_type)
           FROM licence c JOIN resolved_link l
             ON l.key_kind = 'credit_code' AND l.key = c.credit_code
           WHERE c.status = '有效' AND (c.valid_to IS NULL OR c.valid_to >= ?)
             AND (c.valid_from IS NULL OR c.valid_from <= ?)
           GROUP BY 1""",
        [today, today],
    ).fetchall()
    return {f: frozenset(types) for f, types in rows}


def _documents(
    con: duckdb.DuckDBPyConnection, src: Source, columns: set[str], chunk: int
) -> Iterator[pa.RecordBatch]:
    """The source's documents with their key links, ``chunk`` at a time."""
    body = " || ' ' || ".join(f"coalesce(CAST(t.\"{c}\" AS VARCHAR), '')" for c in src.text)
    region = f't."{src.region}"' if src.region and src.region in columns else "NULL"
    reach = f'CAST(t."{src.reach}" AS BIGINT)' if src.reach and src.reach in columns else "NULL"
    code_join = (
        "LEFT JOIN resolved_link cc ON cc.key_kind = 'credit_code' AND cc.key = t.credit_code"
        if "credit_code" in columns
        else "LEFT JOIN (SELECT NULL::VARCHAR AS canonical_id) cc ON false"
    )
    sql = f"""
        WITH links AS (
            SELECT key, list(canonical_id ORDER BY canonical_id) AS firms,
                   list(method ORDER BY canonical_id) AS methods
            FROM resolved_link
            WHERE key_kind = 'record' AND key LIKE '{src.table}/%' AND method <> 'review'
            GROUP BY key
        )
        SELECT '{src.table}/' || t._id AS doc_key, {body} AS body,
               CAST(t."{src.published_at}" AS TIMESTAMP) AS published_at,
               CAST({region} AS VARCHAR) AS region_code, {reach} AS reach,
               cc.canonical_id AS code_firm, links.firms, links.methods
        FROM "{src.table}" t {code_join}
        LEFT JOIN links ON links.key = '{src.table}/' || t._id
        ORDER BY t._id
    """  # noqa: S608 - identifiers checked by load_settings
    reader = con.sql(sql).to_arrow_reader(chunk)
    yield from reader


# ---- events --------------------------------------------------------------------------------


class _Events:
    """Model or keyword event classification of a chunk of normalised texts."""

    def __init__(self, model: EventClassifier | None, settings: EventSettings) -> None:
        self.model = model
        self.s = settings
        self.method = "model" if model is not None else "keyword"

    def classify(
        self, texts: list[str], hits: list[list[Hit]]
    ) -> list[list[tuple[str, float, str]]]:
        """Per text: (event type, probability, evidence span)."""
        out: list[list[tuple[str, float, str]]] = []
        if self.model is not None and texts:
            # Margins shifted by the model's per-type thresholds: > 0 exactly when predicted.
            margins = self.model.margins(texts)
            for text, row, hs in zip(texts, margins, hits, strict=True):
                found = []
                for ev, m in zip(self.model.events, row, strict=True):
                    if m > 0:
                        p = 1.0 / (1.0 + math.exp(-m * self.s.margin_scale))
                        found.append((ev, round(p, 4), self._evidence(text, hs, ev)))
                out.append(found)
            return out
        for text, hs in zip(texts, hits, strict=True):
            best: dict[str, float] = {}
            for h in hs:
                if h.weight >= FIRE_WEIGHT and h.weight > best.get(h.label, 0.0):
                    best[h.label] = h.weight
            out.append([(ev, w, self._evidence(text, hs, ev)) for ev, w in sorted(best.items())])
        return out

    def _evidence(self, text: str, hits: list[Hit], event: str) -> str:
        for h in sorted(hits, key=lambda h: -h.weight):
            if h.label == event:
                return text[max(0, h.start - 10) : h.start + len(h.term) + 10]
        return text[: self.s.evidence_chars]


def _event_model(ws: Workspace, settings: EventSettings) -> EventClassifier | None:
    for path in (ws.settings.home / settings.artefact, DEFAULT_ARTEFACT):
        if path.exists():
            return load_model(path)
    if settings.fallback == "fail":
        raise TextStageError("text_no_event_model", path=str(ws.settings.home / settings.artefact))
    return None


# ---- the run -------------------------------------------------------------------------------


def _date(ts: datetime | None) -> date | None:
    return ts.date() if ts is not None else None


def run_text(
    ws: Workspace,
    as_of: datetime | None = None,
    settings: TextSettings | None = None,
    *,
    on_progress: Callable[[str, int], None] | None = None,
) -> TextReport:
    """Process every text table as of ``as_of`` and publish stage ``text``."""
    settings = settings or load_settings()
    timings: dict[str, float] = {}
    warnings: list[tuple[str, dict[str, str]]] = []
    start = time.perf_counter()
    today = (as_of or now()).astimezone(CHINA_TZ).date()
    try:
        model = _event_model(ws, settings.events)
    except ModelError as exc:
        if settings.events.fallback == "fail":
            raise
        warnings.append(("text_event_model_unusable", {"detail": str(exc)}))
        model = None
    if model is None:
        warnings.append(
            ("text_event_model_missing", {"path": str(ws.settings.home / settings.events.artefact)})
        )
    events = _Events(model, settings.events)
    con = ws.lake.connect(as_of)
    out = {name: _Rows(schema) for name, schema in SCHEMAS.items()}
    counts: dict[str, int] = defaultdict(int)
    try:
        views = _views(con)
        firms = load_firms(con, settings.linking, views)
        timings["firms"] = time.perf_counter() - start
        mark = time.perf_counter()
        dictionary = dictionary_for(firms, settings.linking)
        timings["dictionary"] = time.perf_counter() - mark
        mark = time.perf_counter()
        linker = Linker(dictionary, firms.facts, settings.linking)
        scanner = LexiconScanner()
        timings["automaton"] = time.perf_counter() - mark
        counts["names"] = firms.names.num_rows
        counts["surfaces"] = len(dictionary.patterns)
        licences = _licences(con, views, today)
        mark = time.perf_counter()
        for src in settings.sources:
            if src.table not in views:
                warnings.append(("text_table_missing", {"table": src.table}))
                continue
            columns = _columns(con, src.table)
            missing = [c for c in (*src.text, src.published_at) if c not in columns]
            if missing:
                raise ValueError(
                    f"text settings: table {src.table} has no column(s) {', '.join(missing)}"
                )
            for batch in _documents(con, src, columns, settings.chunk_rows):
                n = _process(batch, src, firms, linker, scanner, events, licences, out)
                counts[f"documents:{src.table}"] += n
                if on_progress:
                    on_progress(src.table, n)
            for rows in out.values():
                rows.flush()
        timings["documents"] = time.perf_counter() - mark
    finally:
        con.close()
    mark = time.perf_counter()
    tables = {name: rows.table() for name, rows in out.items()}
    run = ws.lake.write_derived(STAGE, tables)
    timings["write"] = time.perf_counter() - mark
    timings["total"] = time.perf_counter() - start
    for name, table in tables.items():
        counts[name] = table.num_rows
    return TextReport(settings.model, events.method, dict(counts), timings, warnings, run)


_KEY_METHOD = {"credit_code": "credit_code"}


def _process(
    batch: pa.RecordBatch,
    src: Source,
    firms: Firms,
    linker: Linker,
    scanner: LexiconScanner,
    events: _Events,
    licences: Mapping[str, frozenset[str]],
    out: Mapping[str, _Rows],
) -> int:
    """Analyse one chunk of documents and append their rows to ``out``."""
    cols = batch.to_pydict()
    keys: list[str] = cols["doc_key"]
    # Judgments repeat one text per party: analyse each distinct text once per chunk.
    norm_of: dict[str, str] = {}
    texts = [norm_of.get(b) or norm_of.setdefault(b, normalize_text(b)) for b in cols["body"]]
    distinct = list(dict.fromkeys(texts))
    scans = {t: scanner.scan(t) for t in distinct}
    classified = dict(
        zip(distinct, events.classify(distinct, [scans[t][0] for t in distinct]), strict=True)
    )
    promises = {t: extract_promises(t) for t in distinct}
    ids = firms.facts.ids
    docs, mentions, ev_rows = out["text_document"], out["text_mention"], out["text_event"]
    for i, key in enumerate(keys):
        text = texts[i]
        pub: datetime | None = cols["published_at"][i]
        region = cols["region_code"][i]
        table = src.table
        docs.add(key, table, pub, region, cols["reach"][i], len(text))
        known: dict[int, str] = {}
        code_firm = cols["code_firm"][i]
        if code_firm is not None and code_firm in firms.index:
            known[firms.index[code_firm]] = "credit_code"
        for f, m in zip(cols["firms"][i] or [], cols["methods"][i] or [], strict=True):
            if f in firms.index:
                known.setdefault(firms.index[f], _KEY_METHOD.get(m, "record_link"))
        found = linker.link(text, region_code=region, published=_date(pub), known=known)
        spans: dict[int, tuple[int, int]] = {}
        for f, method in known.items():
            mentions.add(key, table, ids[f], None, None, None, method, 1.0, pub)
        for m in found:
            mentions.add(key, table, ids[m.firm], m.start, m.end, m.surface, m.method,
                         m.confidence, pub)  # fmt: skip
            spans.setdefault(m.firm, (m.start, m.end))
        linked = list(dict.fromkeys([*known, *spans]))
        firm_ids: list[str | None] = [ids[f] for f in linked] or [None]
        for fid in firm_ids:
            for ev, p, evidence in classified[text]:
                ev_rows.add(key, table, fid, ev, p, events.method, evidence, pub)
            for pr in promises[text]:
                out["text_promise"].add(key, table, fid, pr.kind, pr.annual_rate, pr.amount_yuan,
                                        pr.term_days, pr.start, pr.end, pr.span, pub)  # fmt: skip
            for h in scans[text][1]:
                category, _, sector = h.label.partition(":")
                out["text_feature_hit"].add(key, table, fid, h.term, category, sector or None,
                                            h.weight, h.start, pub)  # fmt: skip
        if src.ads:
            for fid in firm_ids:
                lic = licences.get(fid, frozenset()) if fid is not None else None
                for v in check_ad(text, licences=lic):
                    out["text_violation"].add(key, table, fid, v.rule_id, v.basis, v.severity,
                                              v.start, v.end, v.span, pub)  # fmt: skip
        if linked and text:
            whole = (0, len(text))
            toward = sentiment_toward(text, [spans.get(f, whole) for f in linked])
            for f, (label, score) in zip(linked, toward, strict=True):
                out["text_sentiment"].add(key, table, ids[f], label, score, pub)
    return len(keys)


# ---- evaluation against the simulator's truth ----------------------------------------------


@dataclass
class LinkScore:
    """Documents to find, (document, firm) pairs linked and how many of them were right."""

    documents: int = 0
    found: int = 0  # documents whose true firm was linked
    links: int = 0  # (document, firm) pairs linked
    correct: int = 0

    @property
    def precision(self) -> float:
        """Right share of the links (1.0 when nothing was linked)."""
        return self.correct / self.links if self.links else 1.0

    @property
    def recall(self) -> float:
        """Share of documents whose true firm was linked."""
        return self.found / self.documents if self.documents else 1.0


_TRUTH_TABLES = {
    "Article": ("article", "article_id"),
    "Advertisement": ("advertisement", "ad_id"),
    "RecruitmentPost": ("recruitment_post", "post_id"),
    "Complaint": ("complaint", "complaint_id"),
}


def evaluate_linking(
    con: duckdb.DuckDBPyConnection, truth_dir: Path, *, text_only: bool = True
) -> dict[str, LinkScore]:
    """Precision and recall of ``text_mention`` against ``ground_truth/mentions.csv``.

    Scored: text records (articles, ads, job posts, complaints) whose truth names a firm,
    by how the firm was written (``written_as``) and overall (``all``), plus per table
    (``table:<name>``). With ``text_only`` only links found in the text count (methods
    other than credit_code / record_link) — the linker's own work.
    """
    views = _views(con)
    ids: dict[tuple[str, str], str] = {}
    for table, key in _TRUTH_TABLES.values():
        if table in views:
            for k, i in con.execute(f'SELECT "{key}", _id FROM "{table}"').fetchall():  # noqa: S608
                ids[(table, str(k))] = f"{table}/{i}"
    where = "WHERE method NOT IN ('credit_code', 'record_link')" if text_only else ""
    linked: dict[str, set[str]] = defaultdict(set)
    for doc, firm in con.execute(
        f"SELECT DISTINCT doc_key, firm_id FROM text_mention {where}"  # noqa: S608
    ).fetchall():
        linked[doc].add(firm)
    scores: dict[str, LinkScore] = defaultdict(LinkScore)
    with open(truth_dir / "mentions.csv", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            where_t = _TRUTH_TABLES.get(row["type"])
            if where_t is None or not row["true_credit_code"]:
                continue
            doc = ids.get((where_t[0], row["record_id"]))
            if doc is None:
                continue
            truth = "ent:" + row["true_credit_code"]
            got = linked.get(doc, set())
            for name in ("all", row["written_as"] or "unspecified", f"table:{where_t[0]}"):
                s = scores[name]
                s.documents += 1
                s.found += truth in got
                s.links += len(got)
                s.correct += truth in got
    return dict(scores)
