"""Precision and recall of a resolution run against the simulator's ground truth.

* **Enterprise mentions** — the event records that carry no credit code (the *dirty*
  records: the firm is named only, as written: full, short, brand, product, with a typo or
  in traditional script). ``ground_truth/mentions.csv`` gives the true firm of each.
  A record counts as *linked* when the run put it on a registered firm; precision is the
  share of linked records on the right firm, recall the share of all such records on the
  right firm. Records the run sent to review count as not linked.
* **Persons** — pairs of person records of the same real person (``person_ids.csv``):
  pairwise precision and recall of "same canonical id".
"""

from __future__ import annotations

import csv
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path

import duckdb

from fengyan.resolve.config import load_settings
from fengyan.resolve.enterprises import PREFIX
from fengyan.schema import load_schema

UNLINKED = ("unregistered", "review")


@dataclass
class Score:
    """Counts behind one precision/recall pair."""

    total: int = 0  # records (or true pairs) to find
    linked: int = 0  # records linked (or pairs predicted)
    correct: int = 0

    @property
    def precision(self) -> float:
        """Correct share of what was linked (1.0 when nothing was)."""
        return self.correct / self.linked if self.linked else 1.0

    @property
    def recall(self) -> float:
        """Correct share of what should have been linked (1.0 when nothing should)."""
        return self.correct / self.total if self.total else 1.0


@dataclass
class Evaluation:
    """Scores overall and per written form (enterprises) and for persons."""

    mentions: Score
    by_form: dict[str, Score] = field(default_factory=dict)
    persons: Score = field(default_factory=Score)
    methods: dict[str, int] = field(default_factory=dict)


def _mention_keys(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], str]:
    """(table, source record id) → lake record key, for single-key event tables."""
    out: dict[tuple[str, str], str] = {}
    tables = {
        r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()
    }
    for et in load_schema():
        if len(et.key) != 1 or et.table not in tables:
            continue
        key = et.key[0]
        rows = con.execute(f'SELECT {key}, _id FROM "{et.table}"').fetchall()  # noqa: S608
        out.update({(et.table, str(k)): f"{et.table}/{i}" for k, i in rows})
    return out


def evaluate(
    con: duckdb.DuckDBPyConnection, truth_dir: Path, tables: Iterable[str] | None = None
) -> Evaluation:
    """Score the derived tables visible on ``con`` (a lake connection) against the truth.

    Only records of ``tables`` count (default: the mention sources of the shipped model;
    articles name firms in running text, which is the text linker's job, not this one's).
    """
    if tables is None:
        tables = [m.table for m in load_settings().enterprise.mentions]
    wanted = set(tables)
    schema = load_schema()
    table_of = {et.name: et.table for et in schema if et.table in wanted}
    keys = _mention_keys(con)
    link = dict(
        (k, (c, m))
        for k, c, m in con.execute(
            "SELECT key, canonical_id, method FROM resolved_link WHERE key_kind = 'record'"
        ).fetchall()
    )
    coded = {
        k
        for (k,) in con.execute(
            "SELECT key FROM resolved_link WHERE key_kind = 'record' AND method = 'credit_code'"
        ).fetchall()
    }
    # Complaints naming only a platform or product (the firm is named in the text alone).
    platform_only = (
        {
            f"complaint/{i}"
            for (i,) in con.execute(
                "SELECT _id FROM complaint WHERE enterprise_name IS NULL"
            ).fetchall()
        }
        if "complaint" in wanted and ("Complaint" in table_of)
        else set()
    )
    overall = Score()
    by_form: defaultdict[str, Score] = defaultdict(Score)
    methods: Counter[str] = Counter()
    with open(truth_dir / "mentions.csv", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            table = table_of.get(row["type"])
            record = keys.get((table or "", row["record_id"]))
            if record is None or not row["true_credit_code"] or record in coded:
                continue
            canonical, method = link.get(record, (None, "missing"))
            methods[method] += 1
            linked = canonical is not None and method not in UNLINKED
            right = linked and canonical == PREFIX + row["true_credit_code"]
            form = row["written_as"] or "unspecified"
            if record in platform_only:
                form = "platform_only"
            for score in (overall, by_form[form]):
                score.total += 1
                score.linked += linked
                score.correct += right
    return Evaluation(overall, dict(by_form), _persons(con, truth_dir), dict(methods))


def _persons(con: duckdb.DuckDBPyConnection, truth_dir: Path) -> Score:
    predicted = dict(
        con.execute(
            "SELECT key, canonical_id FROM resolved_link WHERE key_kind = 'person_id'"
        ).fetchall()
    )
    uid: dict[str, str] = {}
    with open(truth_dir / "person_ids.csv", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if row["person_id"] in predicted:
                uid[row["person_id"]] = row["uid"]
    truth_pairs = _pairs(uid)
    predicted_pairs = _pairs({k: v for k, v in predicted.items() if k in uid})
    return Score(
        total=len(truth_pairs),
        linked=len(predicted_pairs),
        correct=len(truth_pairs & predicted_pairs),
    )


def _pairs(cluster_of: dict[str, str]) -> set[tuple[str, str]]:
    members: dict[str, list[str]] = defaultdict(list)
    for key, cluster in cluster_of.items():
        members[cluster].append(key)
    return {(a, b) for keys in members.values() for a, b in combinations(sorted(keys), 2)}


@dataclass
class ControllerAgreement:
    """How often the graph's controller is the simulator's, by how the truth reaches it."""

    by_via: dict[str, Score] = field(default_factory=dict)
    hidden_owner_listed: Score = field(default_factory=Score)


def evaluate_controllers(con: duckdb.DuckDBPyConnection, truth_dir: Path) -> ControllerAgreement:
    """Compare ``graph_controller`` with ``firms.csv`` (needs resolve and graph runs).

    For ``direct`` and ``chain`` firms the registered holdings show the controller, so the
    graph should name the same person. For ``nominee`` firms the truth is a person the
    register does not show as controller; ``hidden_owner_listed`` counts how often that
    person is at least among the firm's listed holders (``graph_holding``).
    """
    uid_of: dict[str, str] = {}
    canonical = dict(
        con.execute(
            "SELECT key, canonical_id FROM resolved_link WHERE key_kind = 'person_id'"
        ).fetchall()
    )
    with open(truth_dir / "person_ids.csv", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if row["person_id"] in canonical:
                uid_of[canonical[row["person_id"]]] = row["uid"]
    chosen = dict(con.execute("SELECT firm_id, controller_id FROM graph_controller").fetchall())
    holders: dict[str, set[str]] = defaultdict(set)
    for firm, holder in con.execute("SELECT firm_id, holder_id FROM graph_holding").fetchall():
        holders[firm].add(uid_of.get(holder, holder))
    out = ControllerAgreement()
    with open(truth_dir / "firms.csv", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            firm, via, uid = (
                PREFIX + row["credit_code"],
                row["controller_via"],
                row["controller_uid"],
            )
            if via == "none" or not uid:
                continue
            score = out.by_via.setdefault(via, Score())
            score.total += 1
            got = chosen.get(firm)
            score.linked += got is not None
            score.correct += got is not None and uid_of.get(got) == uid
            if via == "nominee":
                hidden = out.hidden_owner_listed
                hidden.total += 1
                hidden.linked += 1
                hidden.correct += uid in holders.get(firm, set())
    return out
