"""``fengyan resolve``: read the lake, resolve, write the derived tables, sync the queue.

Derived tables (``Lake.write_derived("resolve", …)``, one atomic generation per run):

* ``resolved_entity`` — canonical_id, entity_kind (enterprise/person), kind (registered,
  external, unregistered, person), name, credit_code, region_code, members;
* ``resolved_link`` — key_kind (credit_code, branch_code, person_id, record), key,
  canonical_id, entity_kind, method, probability, match_weight: how every identifier and
  every record that names a firm maps to a canonical id;
* ``resolve_candidate`` — the splink candidates of records at or above the review
  threshold, ranked, with their weights (what a reviewer sees).

The run is rebuilt from the lake and the decision ledger every time: nothing it wrote
before is read back, so a run is reproducible from those two.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import duckdb
import pyarrow as pa

from fengyan.resolve.config import PersonSettings, ResolveSettings, load_settings
from fengyan.resolve.enterprises import link_enterprises
from fengyan.resolve.ledger import current_judgements, do_suggest
from fengyan.resolve.persons import PersonResult, link_persons
from fengyan.threads import second_thread
from fengyan.workspace import Workspace

STAGE = "resolve"
# Lake tables resolution reads besides the configured mention tables.
REGISTER_TABLES = ("enterprise", "branch", "shareholding", "officer", "person")


class StepClock:
    """Wall and CPU time (all threads of the process) of consecutive steps."""

    def __init__(self) -> None:
        self.wall: dict[str, float] = {}
        self.cpu: dict[str, float] = {}
        self._start = self._wall = time.perf_counter()
        self._cpu_start = self._cpu = time.process_time()

    def lap(self, step: str) -> None:
        """End ``step`` now; the next step starts."""
        wall, cpu = time.perf_counter(), time.process_time()
        self.wall[step], self.cpu[step] = wall - self._wall, cpu - self._cpu
        self._wall, self._cpu = wall, cpu

    def total(self) -> None:
        """Record the time since the clock started as ``total``."""
        self.wall["total"] = time.perf_counter() - self._start
        self.cpu["total"] = time.process_time() - self._cpu_start


@dataclass
class ResolveReport:
    """What a run did: counts per method, the queue's changes, wall and CPU seconds of each
    step (CPU: all threads of the process, DuckDB's included)."""

    model: str
    enterprise: dict[str, int]
    person: dict[str, int]
    queue_added: int
    queue_retired: int
    seconds: dict[str, float] = field(default_factory=dict)
    run: Path | None = None
    cpu_seconds: dict[str, float] = field(default_factory=dict)


def _entities(ent: pa.Table, per: pa.Table) -> pa.Table:
    con = duckdb.connect()
    try:
        con.register("e", ent)
        con.register("p", per)
        return con.sql(
            """
            SELECT canonical_id, 'enterprise' AS entity_kind, kind, name, credit_code,
                   region_code, 1::BIGINT AS members FROM e
            UNION ALL
            SELECT canonical_id, 'person', 'person', name, NULL, region_code, members FROM p
            ORDER BY canonical_id
            """
        ).to_arrow_table()
    finally:
        con.close()


def _links(
    ent_entities: pa.Table, ent_links: pa.Table, branches: pa.Table, per_links: pa.Table
) -> pa.Table:
    con = duckdb.connect()
    try:
        con.register("ee", ent_entities)
        con.register("el", ent_links)
        con.register("b", branches)
        con.register("pl", per_links)
        return con.sql(
            """
            SELECT 'credit_code' AS key_kind, credit_code AS key, canonical_id,
                   'enterprise' AS entity_kind, 'credit_code' AS method,
                   1.0::DOUBLE AS probability, NULL::DOUBLE AS match_weight
            FROM ee WHERE credit_code IS NOT NULL
            UNION ALL
            SELECT 'branch_code', code, parent_id, 'enterprise', 'branch', 1.0, NULL FROM b
            UNION ALL
            SELECT 'record', record_key, canonical_id, 'enterprise', method, probability,
                   match_weight FROM el
            UNION ALL
            SELECT 'person_id', person_id, canonical_id, 'person', method, probability,
                   match_weight FROM pl
            ORDER BY key_kind, key
            """
        ).to_arrow_table()
    finally:
        con.close()


def _link_persons(
    ws: Workspace,
    as_of: datetime | None,
    settings: PersonSettings,
    judgements: Mapping[tuple[str, str], str],
) -> PersonResult:
    """:func:`link_persons` on a lake connection of its own (it runs in a second thread);
    the result's ``seconds["thread"]`` is the thread's own wall time."""
    start = time.perf_counter()
    con = ws.lake.connect(as_of)
    try:
        result = link_persons(con, settings, judgements)
    finally:
        con.close()
    result.seconds["thread"] = time.perf_counter() - start
    return result


def resolve(
    ws: Workspace, as_of: datetime | None = None, settings: ResolveSettings | None = None
) -> ResolveReport:
    """Resolve the lake as of ``as_of`` (default: now) and publish the derived tables."""
    from fengyan.resolve.enterprises import load_branches

    settings = settings or load_settings()
    clock = StepClock()
    # The version ends of what this stage reads. Ingest writes them (``ingest_path``), so
    # this finds them done; a batch that came without (a pushed record) has them derived
    # here, once per lake generation, for the graph and the indicators too.
    ws.lake.materialise([*REGISTER_TABLES, *(m.table for m in settings.enterprise.mentions)])
    clock.lap("materialise")
    # Persons and enterprises are resolved independently: persons in a second thread on a
    # connection of its own, while enterprises run here (most of both is DuckDB, Arrow and
    # rapidfuzz work that releases the GIL, so the two cores share it). Persons start once
    # the enterprise register and records are read: the two reads side by side (DuckDB
    # scans, two threads each) slowed each other to twice their time alone. The names are
    # then taken apart in two threads too (``threads``). ``enterprise`` is the wall time until
    # enterprises are done, ``person`` what is left of persons then (``concurrent: false``:
    # persons at that point in this thread, counted in ``enterprise``).
    per_judgements = current_judgements(ws.engine, "person")
    ent_judgements = current_judgements(ws.engine, "enterprise")
    with second_thread(settings.concurrent, "resolve-person") as pool:
        persons: list[Future[PersonResult]] = []

        def start_persons() -> None:
            persons.append(pool.submit(_link_persons, ws, as_of, settings.person, per_judgements))

        con = ws.lake.connect(as_of)
        try:
            ent = link_enterprises(
                con,
                settings.enterprise,
                ent_judgements,
                start_persons,
                threads=2 if settings.concurrent else 1,
            )
            clock.lap("enterprise")
            branches = load_branches(con)
        finally:
            con.close()
        per = persons[0].result()
        clock.lap("person")
    tables = {
        "resolved_entity": _entities(ent.entities, per.entities),
        "resolved_link": _links(ent.entities, ent.links, branches, per.links),
        "resolve_candidate": ent.candidates,
    }
    run = ws.lake.write_derived(STAGE, tables)
    added_e, retired_e = do_suggest(ws.engine, "enterprise", ent.suggestions)
    added_p, retired_p = do_suggest(ws.engine, "person", per.suggestions)
    clock.lap("write")
    clock.total()
    timings = clock.wall | {f"enterprise_{k}": v for k, v in ent.seconds.items()}
    timings |= {f"person_{k}": v for k, v in per.seconds.items()}
    return ResolveReport(
        settings.model,
        ent.counts,
        per.counts,
        added_e + added_p,
        retired_e + retired_p,
        timings,
        run,
        clock.cpu,
    )
