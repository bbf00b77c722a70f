"""The public risk check (公众风险查询, F21): a name in, a plain-language hint out.

Anyone may ask, without signing in. The answer draws on the *listed* warnings only — firms
of the default model at the grades ``public_check.grades`` names — and says nothing else:
no score, no evidence, no person, no region detail, nothing about unlisted firms beyond
"not on the list, which is not a guarantee". The list is read once per published run into
memory (names folded for matching; :class:`PublicIndex`, one per server worker), so a check
costs a dictionary lookup and, for near misses, one rapidfuzz pass; the answer is then kept
until the next run.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from rapidfuzz import fuzz, process
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from fengyan.db.published import FirmScore
from fengyan.i18n import t
from fengyan.resolve.names import fold
from fengyan.web.errors import BadRequest
from fengyan.web.perengine import PerEngine
from fengyan.web.services.common import category_label, query_latest_run_id
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


def _load_listed(session: Session, run_id: int | None) -> _Listed:
    """The listed firms of the published scores, names folded for matching."""
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
    return _Listed(run_id, names, folded, [r[1] for r in rows], [r[2] for r in rows], exact)


ANSWER_CACHE_SIZE = 10_000


class PublicIndex:
    """The listed warnings of one database in memory, and the answers given from them.

    :meth:`refresh` reads the newest run's id and, when it changed, the listed firms; it
    runs at most every ``public_refresh_seconds`` (:meth:`due`), so a check costs no
    database round trip and a newly published run is answered within that many seconds in
    every server worker. Answers (JSON) are kept per (run, folded query, language).
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._listed: _Listed | None = None
        self._checked = float("-inf")
        self._lock = threading.Lock()
        self._answers: OrderedDict[tuple[Any, ...], bytes] = OrderedDict()

    def due(self) -> bool:
        """Whether the next check should look for a new run first."""
        interval = service_settings().public_refresh_seconds
        return self._listed is None or time.monotonic() - self._checked >= interval

    def refresh(self, force: bool = False) -> None:
        """Reload the listed firms if a new run was published (or ``force``)."""
        with self._lock:
            if not force and not self.due():
                return
            with Session(self.engine) as session:
                run_id = query_latest_run_id(session)
                if force or self._listed is None or self._listed.run_id != run_id:
                    self._listed = _load_listed(session, run_id)
                    self._answers.clear()
            self._checked = time.monotonic()

    def listed(self) -> _Listed:
        """The current list (loaded first if due)."""
        self.refresh()
        assert self._listed is not None
        return self._listed

    def answer(self, query: str, lang: str) -> PublicAnswer:
        """The hint for ``query`` from the list in memory (``BadRequest`` for a bad query)."""
        return PublicAnswer.model_validate_json(self.answer_json(query, lang))

    def answer_json(self, query: str, lang: str) -> bytes:
        """:meth:`answer` as JSON, from the answer cache when asked before in this run."""
        cfg = service_settings().public_check
        q = " ".join((query or "").split())
        if not cfg.min_query_chars <= len(q) <= cfg.max_query_chars:
            raise BadRequest("web_check_query", min=cfg.min_query_chars, max=cfg.max_query_chars)
        listed = self._listed if self._listed is not None else self.listed()
        key = (listed.run_id, q, lang)
        found = self._answers.get(key)
        if found is not None:
            return found
        made = _answer(listed, q, lang).model_dump_json().encode()
        with self._lock:
            if listed is self._listed:
                self._answers[key] = made
                while len(self._answers) > ANSWER_CACHE_SIZE:
                    self._answers.popitem(last=False)
        return made


def _answer(listed: _Listed, q: str, lang: str) -> PublicAnswer:
    cfg = service_settings().public_check
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


#: The process's public index of an engine's database (``public_index(engine)``).
public_index: PerEngine[PublicIndex] = PerEngine(PublicIndex)


def public_check(session: Session, query: str, lang: str) -> PublicAnswer:
    """The plain-language hint for ``query`` (a company or platform name)."""
    bind = session.get_bind()
    engine = bind if isinstance(bind, Engine) else bind.engine
    return public_index(engine).answer(query, lang)
