"""What every service shares: pagination, the latest published run, names of things.

Names shown to readers (grades, change types, dimensions, indicators, categories, regions)
come from the data files that define them — index model YAML, indicator specs, the
category file, the division table, the i18n catalogues — in the reader's language.
"""

from __future__ import annotations

import json
import threading
import time
import weakref
from dataclasses import dataclass
from functools import cache
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, event, func, select
from sqlalchemy.orm import Session
from sqlalchemy.pool import Pool
from sqlalchemy.sql.dml import UpdateBase

from fengyan.db.published import ScoreRun
from fengyan.i18n import t
from fengyan.index.model import GRADES, IndexModelError, model_ids, shipped_model
from fengyan.standards.regions import region_table
from fengyan.web.errors import BadRequest
from fengyan.web.services.config import service_settings

T = TypeVar("T")
# Graded levels, most severe first (GRADES is ordered from "none" upwards).
GRADE_ORDER: tuple[str, ...] = tuple(reversed(GRADES[1:]))
CHANGES: tuple[str, ...] = ("new", "escalated", "de-escalated", "cleared", "unchanged")
GRADE_RANK: dict[str, int] = {g: i for i, g in enumerate(GRADES)}


def pages(total: int, size: int) -> int:
    """How many pages ``total`` rows fill."""
    return max(1, -(-total // size))


def check_model(model: str | None) -> str:
    """The model to show (default from the settings); ``BadRequest`` if it is unknown."""
    chosen = model or service_settings().default_model
    # Only ids of shipped files: the loader would also open any path it is given.
    if chosen not in _model_ids():
        raise BadRequest("web_bad_model", value=chosen)
    return chosen


@cache
def _model_ids() -> frozenset[str]:
    return frozenset(model_ids())


def check_choice(value: str | None, allowed: tuple[str, ...] | list[str], what: str) -> str | None:
    """``value`` if it is one of ``allowed`` (or None); ``BadRequest`` naming ``what``."""
    if value is None or value == "":
        return None
    if value not in allowed:
        raise BadRequest("web_bad_choice", field=what, value=value)
    return value


def latest_run(session: Session) -> ScoreRun | None:
    """The newest finished published run."""
    return session.scalars(
        select(ScoreRun)
        .where(ScoreRun.finished_at.is_not(None))
        .order_by(ScoreRun.id.desc())
        .limit(1)
    ).first()


_LATEST_RUN_ID = (
    select(func.max(ScoreRun.id)).where(ScoreRun.finished_at.is_not(None)).scalar_subquery()
)


def query_latest_run_id(session: Session) -> int | None:
    """The id of the newest finished published run, read from the database now."""
    found = session.scalar(select(_LATEST_RUN_ID))
    return int(found) if found is not None else None


@dataclass(frozen=True, slots=True)
class _Seen:
    run_id: int | None
    at: float  # time.monotonic() of the read
    writes: int  # _RUN_WRITES when the read started


_RUN_WRITES = [0]  # bumped when this process writes score_run (see _watch_run_writes)
_RUN_IDS: weakref.WeakKeyDictionary[Engine, _Seen] = weakref.WeakKeyDictionary()
_DB_KEYS: weakref.WeakKeyDictionary[Engine, str] = weakref.WeakKeyDictionary()


def _engine_of(session: Session) -> Engine:
    bind = session.get_bind()
    return bind if isinstance(bind, Engine) else bind.engine


def latest_run_id(session: Session) -> int | None:
    """The id of the newest finished published run (what page caches are keyed by).

    Read from the database at most every ``run_refresh_seconds`` per worker and database
    (a round trip, and the pooled connection it needs, saved on most page views): a run
    published by another process (``fengyan run``) shows in every worker within that time;
    one published through this process's engines (tests, the demo) at the next request.
    """
    engine = _engine_of(session)
    writes = _RUN_WRITES[0]
    seen = _RUN_IDS.get(engine)
    if (
        seen is not None
        and seen.writes == writes
        and time.monotonic() - seen.at < service_settings().run_refresh_seconds
    ):
        return seen.run_id
    at = time.monotonic()
    found = query_latest_run_id(session)
    _RUN_IDS[engine] = _Seen(found, at, writes)
    return found


def _watch_run_writes() -> None:
    """Bump :data:`_RUN_WRITES` when a statement writes ``score_run``, and again when its
    connection goes back to the pool (after the commit): a run id read while the write was
    not yet committed is not trusted afterwards."""

    def is_run_write(statement: object) -> bool:
        table = getattr(statement, "table", None)
        return isinstance(statement, UpdateBase) and getattr(table, "name", None) == "score_run"

    @event.listens_for(Engine, "after_execute")
    def _after_execute(conn: Connection, statement: object, *_args: object) -> None:
        if is_run_write(statement):
            conn.info["fengyan_run_written"] = True
            _RUN_WRITES[0] += 1

    @event.listens_for(Pool, "checkin")
    def _checkin(_dbapi: object, record: Any) -> None:
        if record is not None and record.info.pop("fengyan_run_written", False):
            _RUN_WRITES[0] += 1


_watch_run_writes()


def database_key(session: Session) -> str:
    """Which database ``session`` reads (its URL, password hidden): part of every cache key,
    so that apps over different databases in one process (tests) never share entries."""
    engine = _engine_of(session)
    key = _DB_KEYS.get(engine)
    if key is None:
        key = _DB_KEYS[engine] = str(engine.url)
    return key


def load_json(text: str | None, default: Any) -> Any:
    """A JSON column's value (published rows store JSON as text)."""
    if not text:
        return default
    try:
        return json.loads(text)
    except ValueError:
        return default


# ---- names -------------------------------------------------------------------------------


def grade_label(grade: str | None, lang: str) -> str:
    """红色 / red …"""
    return t(f"index_grade_{grade or 'none'}", lang)


def change_label(change: str | None, lang: str) -> str:
    """新增 / new …"""
    return t(f"index_change_{change or 'unchanged'}", lang)


@cache
def _dimension_names(model: str) -> dict[str, tuple[str, str]]:
    m = shipped_model(model)
    return {k: (d.name.zh, d.name.en) for k, d in m.dimensions.items()}


def dimension_names(model: str) -> list[str]:
    """The model's dimension ids in file order."""
    return list(_dimension_names(model))


def dimension_label(model: str, dimension: str, lang: str) -> str:
    """A dimension's name in ``lang`` (its id when unknown)."""
    names = _dimension_names(model).get(dimension)
    if names is None:
        return dimension
    return names[1] if lang == "en" else names[0]


def model_label(model: str, lang: str) -> str:
    """海豚指数 / Dolphin index …"""
    try:
        m = shipped_model(model)
    except (IndexModelError, FileNotFoundError, ValueError):
        return model
    return m.name.en if lang == "en" else m.name.zh


_SPECS_LOCK = threading.Lock()


@cache
def _specs() -> Any:
    """The indicator specs, read once per process (several seconds: never per request).

    The lock keeps concurrent first requests from each parsing the YAML again.
    """
    with _SPECS_LOCK:
        try:
            from fengyan.indicators.load import load_specs

            return load_specs()
        except (ModuleNotFoundError, ValueError):
            return None


def warm_up() -> None:
    """Read the catalogues pages need (called when the lake copy is built)."""
    _indicator_catalogue()
    _category_names()


@cache
def _indicator_catalogue() -> dict[str, dict[str, Any]]:
    """Indicator id → names, dimension and explanation templates (from the specs)."""
    specs = _specs()
    if specs is None:
        return {}
    out: dict[str, dict[str, Any]] = {}
    for s in specs.indicators:
        out[s.id] = {
            "zh": s.name.zh,
            "en": s.name.en,
            "dimension": str(s.dimension),
            "explain_zh": s.explain.zh if s.explain else None,
            "explain_en": s.explain.en if s.explain else None,
        }
    return out


@cache
def _category_names() -> dict[str, tuple[str, str]]:
    specs = _specs()
    cats = specs.categories if specs is not None else None
    if cats is None:
        return {}
    return {c.id: (c.name.zh, c.name.en) for c in cats.categories}


def indicator_label(indicator_id: str, lang: str) -> str:
    """An indicator's name in ``lang`` (its id when the specs do not know it)."""
    entry = _indicator_catalogue().get(indicator_id)
    return str(entry[lang]) if entry else indicator_id


def indicator_dimension(indicator_id: str) -> str | None:
    """The Eagle dimension an indicator belongs to."""
    entry = _indicator_catalogue().get(indicator_id)
    return str(entry["dimension"]) if entry else None


def indicator_explanation(indicator_id: str, value: float | None, lang: str) -> str | None:
    """The spec's explanation of a raw value (``承诺年化收益 24%``), None if it has none."""
    entry = _indicator_catalogue().get(indicator_id)
    template = entry.get(f"explain_{lang}") if entry else None
    if not template or value is None:
        return None
    try:
        return str(template).format(value=value)
    except (ValueError, KeyError, IndexError):
        return None


def category_ids() -> list[str]:
    """Every risk category id of the category file."""
    return list(_category_names())


def category_label(category: str | None, lang: str) -> str:
    """A risk category's name (``—`` for none)."""
    if not category:
        return t("web_category_none", lang)
    names = _category_names().get(category)
    if names is None:
        return category
    return names[1] if lang == "en" else names[0]


def region_name(code: str | None) -> str:
    """The division table's name of a region code (the code itself when unknown)."""
    if not code:
        return ""
    try:
        region = region_table().get(code)
    except (ValueError, LookupError):
        return code
    return region.name if region is not None else code


def region_full_name(code: str | None) -> str:
    """Province-to-region name (广东省深圳市南山区)."""
    if not code:
        return ""
    try:
        return region_table().full_name(code)
    except (ValueError, LookupError):
        return code
