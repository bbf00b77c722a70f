"""``simulate``: build the world for a seed and write every agency's files, the manifest
and the ground truth. The CLI command is a thin shell over :func:`simulate`.
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import yaml

from fengyan.arrays import distinct
from fengyan.schema import Schema, load_schema
from fengyan.simulate import agencies, monthly, registry, texts, truth
from fengyan.simulate.branches import generate_branches
from fengyan.simulate.core import STR, Calendar, Streams, join
from fengyan.simulate.enterprises import generate_firms, lawful_changes
from fengyan.simulate.geography import build_city
from fengyan.simulate.ids import assign_ids
from fengyan.simulate.names import name_data
from fengyan.simulate.ownership import assign_posts, controllers, corporate_owners
from fengyan.simulate.params import Params
from fengyan.simulate.persons import generate_persons, registry_duplicates
from fengyan.simulate.records import Source
from fengyan.simulate.schemes import build_schemes
from fengyan.simulate.world import World, write_truth
from fengyan.simulate.writers import FileSpec, write

REGISTRY_TYPES = (
    "Enterprise",
    "Person",
    "Officer",
    "Shareholding",
    "Branch",
    "PhoneContact",
    "Licence",
    "WebPresence",
)


@dataclass
class SimulationResult:
    """What was written."""

    out: Path
    files: list[FileSpec] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)


def build_world(params: Params, seed: int, progress: Callable[[str], None] | None = None) -> World:
    """Everything except the per-period records: city, firms, people, schemes, events."""
    say = progress or (lambda _: None)
    streams = Streams(seed)
    cal = Calendar.ending(params.calendar.end_month, params.calendar.months)
    n = params.enterprises.count
    say("city")
    city = build_city(streams.get("city"), params.city, n, name_data().brand_words)
    say("firms")
    firms = generate_firms(streams, params, cal, city)
    lawful_changes(streams.get("changes"), params, cal, city, firms)
    say("people")
    persons = generate_persons(
        streams.get("persons"),
        params.persons,
        city,
        max(10, int(n * params.persons.per_firm)),
        params.city.floors,
    )
    posts, holdings = assign_posts(streams.get("posts"), firms, persons, params)
    corporate_owners(streams.get("groups"), firms, holdings, params)
    say("schemes")
    schemes = build_schemes(streams, params, cal, city, firms, persons, posts, holdings)
    _phones(streams.get("phones"), city, firms, persons, schemes)
    real_owner = _nominees(streams.get("nominees"), params, firms, persons)
    controller, via = controllers(firms, holdings, real_owner)
    for s in schemes:  # the boss behind every firm of the scheme
        for i in [s.core, *s.shells, *([s.successor] if s.successor >= 0 else [])]:
            controller[i], via[i] = s.controller, "nominee"
    branches = generate_branches(streams.get("branches"), params, cal, city, firms, schemes)
    used = distinct(np.concatenate([posts.holder, holdings.owner[~holdings.owner_is_firm]]))
    dups = registry_duplicates(streams.get("dups"), persons, used, params.persons)
    return World(
        params,
        seed,
        cal,
        city,
        firms,
        persons,
        posts,
        holdings,
        branches,
        schemes,
        dups,
        controller,
        via,
        None,
        monthly.monitored(streams.get("watch"), params, firms),
        streams,
    )


def _phones(rng: np.random.Generator, city: Any, f: Any, persons: Any, schemes: list[Any]) -> None:
    """A landline or the legal representative's mobile; a scheme's firms share one number."""
    from fengyan.simulate import codes

    n = len(f)
    mobile = np.asarray(
        np.strings.slice(persons.phone[np.maximum(f.legal_rep, 0)], 0, 11), dtype=STR
    )
    land = codes.landlines(rng, city.area_code, n) if city.area_code else mobile
    f.phone = np.where(rng.random(n) < 0.4, land, mobile).astype(STR)
    for s in schemes:
        for i in s.shells:
            if rng.random() < 0.7:
                f.phone[i] = f.phone[s.core]


def _nominees(rng: np.random.Generator, params: Params, f: Any, persons: Any) -> np.ndarray:
    """Ordinary firms fronted by a nominee: the real owner is someone else."""
    real = np.full(len(f), -1, dtype=np.int64)
    pick = (f.scheme < 0) & (rng.random(len(f)) < params.ownership.nominee_share)
    real[pick] = rng.integers(0, len(persons), int(pick.sum()))
    return real


def simulate(
    out: Path, params: Params, seed: int, progress: Callable[[str], None] | None = None
) -> SimulationResult:
    """Generate the world and write it to ``out`` (replacing what a previous run wrote there)."""
    # Arrow's own allocator keeps freed memory for Arrow alone; the simulator alternates
    # numpy and Arrow work, and sharing one heap lowers a large city's peak by a sixth.
    pool = pa.default_memory_pool()
    pa.set_memory_pool(pa.system_memory_pool())
    try:
        return _simulate(out, params, seed, progress)
    finally:
        pa.set_memory_pool(pool)


def _simulate(
    out: Path, params: Params, seed: int, progress: Callable[[str], None] | None
) -> SimulationResult:
    say = progress or (lambda _: None)
    schema = load_schema()
    world = build_world(params, seed, progress)
    if out.exists():
        for child in (
            "registry",
            "finance",
            "tax",
            "hrss",
            "bank",
            "court",
            "hotline",
            "media",
            "ads",
            "jobs",
            "web",
            "ground_truth",
        ):
            shutil.rmtree(out / child, ignore_errors=True)
    out.mkdir(parents=True, exist_ok=True)
    result = SimulationResult(out)
    cal = world.cal
    deliveries = registry.deliveries(cal, params.calendar.delivery_months)
    say("registry")
    versions = world.registry_versions()
    for d in deliveries:
        for kind in REGISTRY_TYPES:
            rows = versions[kind].cut(d)
            if len(rows):
                spec = agencies.registry_spec(kind, d.label, d.as_of, schema)
                _emit(out, schema, spec, versions[kind].rows(rows), world, result)
        if d.last < 0:
            continue
        say(f"records {d.label}")
        for kind, make in world.periodic(d.first, d.last).items():
            source = make().source()
            if len(source):
                spec = agencies.periodic_spec(kind, d.label, d.as_of, schema)
                _emit(out, schema, spec, source, world, result)
    del versions
    world.registry_written()
    say("events")
    end = str(cal.end)
    with truth.CsvFile(out / "ground_truth" / "mentions.csv", MENTION_HEADER) as mentions:
        for kind in agencies.EVENT_FILES:
            records = assign_ids(kind, world.event_table(kind).source())
            if not len(records):
                continue
            spec = agencies.event_spec(kind, end)
            _emit(out, schema, spec, records, world, result)
            _mentions(mentions, spec.path, kind, records)
    _manifest(out, result.files)
    say("ground truth")
    write_truth(out / "ground_truth", world, result.files)
    result.counts = {
        "enterprises": len(world.firms),
        "persons": len(world.persons),
        "schemes": len(world.schemes),
    }
    return result


MENTION_HEADER = (
    "file",
    "type",
    "record_id",
    "true_credit_code",
    "written_as",
    "kind",
    "scheme_id",
    "stage",
    "promised_annual_rate",
    "events",
)
_ID_FIELD = {
    "Article": "article_id",
    "Advertisement": "ad_id",
    "Complaint": "complaint_id",
    "RecruitmentPost": "post_id",
    "Judgment": "judgment_id",
    "Enforcement": "enforcement_id",
    "DishonestDebtor": "dishonest_id",
    "RegulatoryFiling": "filing_id",
}


def _mentions(out: truth.CsvFile, path: str, kind: str, source: Source) -> None:
    """ground_truth/mentions.csv rows of one event file: what each record really is about."""
    hidden = [_ID_FIELD[kind], "_firm", "_written", "_kind", "_scheme", "_stage", "_promised"]
    fields = list(texts.templates()["events"]["fields"].get(kind, {}))
    n = len(source)
    for a in range(0, n, 200_000):
        rows = np.arange(a, min(n, a + 200_000))
        cols = source.take(rows, hidden)
        fixed = [np.full(len(rows), path, dtype=STR), np.full(len(rows), kind, dtype=STR)]
        # The events each text expresses, from its template (texts.yaml `events:`).
        events = texts.text_events(kind, source.take(rows, fields)) if fields else None
        labels = np.full(len(rows), "", dtype=STR) if events is None else events.astype(STR)
        out.write(fixed + [cols[k] for k in hidden] + [labels])


def _emit(
    out: Path,
    schema: Schema,
    spec: FileSpec,
    source: Source,
    world: World,
    result: SimulationResult,
) -> None:
    entity = schema.get(spec.type)
    rng = world.streams.get(f"dirty.{spec.path}")
    write(out, entity, spec, source, rng, world.params.dirty)
    result.files.append(spec)


def _manifest(out: Path, files: list[FileSpec]) -> None:
    entries = []
    for spec in files:
        entry: dict[str, Any] = {"path": spec.path, "type": spec.type, "source": spec.source}
        if spec.mapping:
            entry["mapping"] = spec.mapping
        if spec.fmt == "csv":
            entry["encoding"] = spec.encoding
        if spec.as_of:
            entry["as_of"] = date.fromisoformat(spec.as_of)
        entries.append(entry)
    text = (
        "# Deliveries of the simulated jurisdiction (fengyan simulate). ground_truth/ is not\n"
        "# listed: the pipeline never reads it.\n"
    )
    doc = {"files": entries}
    (out / "manifest.yaml").write_text(
        text + yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8"
    )


def params_digest(params: Params) -> str:
    """A short fingerprint of the parameters (recorded in the ground truth)."""
    return hashlib.sha256(params.model_dump_json(by_alias=True).encode()).hexdigest()[:16]


__all__ = ["SimulationResult", "build_world", "join", "params_digest", "simulate"]
