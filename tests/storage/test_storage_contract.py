"""The storage contract: the same scenarios give the same results on SQLite and PostgreSQL.

Every test here runs once per backend (the ``workspace`` and ``db_url`` fixtures are
parametrised); the expected values are written out once, so both backends are held to
the same numbers rather than merely to each other.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import alembic.op
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, delete, func, inspect, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from fengyan.clock import CHINA_TZ
from fengyan.db.engine import alembic_config, make_engine, upgrade
from fengyan.db.models import Base, IngestBatch, QuarantineEntry
from fengyan.ingest.service import ingest_path, list_batches, list_quarantine
from fengyan.samples import sample_dir
from fengyan.workspace import Workspace

# The bundled demo delivery: (type, file, read, stored, quarantined, warnings) per batch.
DEMO_BATCHES = [
    ("Enterprise", "registry_enterprises.csv", 17, 13, 4, 1),
    ("Person", "persons.jsonl", 13, 12, 1, 0),
    ("Shareholding", "shareholders.xlsx", 24, 23, 1, 0),
    ("Article", "articles.jsonl", 3, 3, 0, 0),
]
# … and its quarantine: (file, row, field, value, reason, severity).
REGISTRY = "registry_enterprises.csv"
DEMO_QUARANTINE = [
    (REGISTRY, 14, "credit_code", "91440304MA5G00000A", "ingest_bad_identifier", "error"),
    (REGISTRY, 15, "established", "2099-01-01", "ingest_future_date", "error"),
    (REGISTRY, 15, "registered_capital", "-50", "ingest_below_min", "error"),
    (REGISTRY, 16, "credit_code", "91440306MA5G077702", "ingest_uscc_org_code_mismatch", "warning"),
    (REGISTRY, 17, "credit_code", "91440305MA5G00019Y", "ingest_duplicate_key", "error"),
    (REGISTRY, 18, None, "17,91440300MA5G9999,深圳市残行有限公司", "ingest_ragged_row", "error"),
    ("persons.jsonl", 13, "id_number", "4****************4", "ingest_bad_identifier", "error"),
    ("shareholders.xlsx", 25, "share_percent", "140", "ingest_above_max", "error"),
]
LEDGER_TABLES = {"ingest_batch", "quarantine"}


def head_revision(engine: Engine) -> str:
    head = ScriptDirectory.from_config(alembic_config(engine)).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as c:
        return MigrationContext.configure(c).get_current_revision()


@pytest.fixture
def demo(workspace: Workspace) -> Workspace:
    """A workspace holding the bundled demo delivery."""
    ingest_path(workspace, sample_dir())
    return workspace


def quarantine_shown(ws: Workspace, **filters: Any) -> tuple[int, list[tuple[Any, ...]]]:
    total, rows = list_quarantine(ws, **filters)
    return total, [(q.file_name, q.row, q.field, q.value, q.reason, q.severity) for q in rows]


# ---- migrations --------------------------------------------------------------------------


def test_migrations_apply_match_the_models_and_are_idempotent(demo: Workspace) -> None:
    engine = demo.engine
    assert set(inspect(engine).get_table_names()) >= LEDGER_TABLES
    assert current_revision(engine) == head_revision(engine)
    with engine.connect() as c:
        assert compare_metadata(MigrationContext.configure(c), Base.metadata) == []
    before = quarantine_shown(demo, limit=100)

    upgrade(engine)
    upgrade(engine)

    assert current_revision(engine) == head_revision(engine)
    assert quarantine_shown(demo, limit=100) == before
    assert len(list_batches(demo)) == 4


@pytest.fixture
def fresh_engine(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


def test_a_failed_first_migration_leaves_nothing_half_done(
    fresh_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    # On SQLite this needs transactional DDL, which pysqlite does not give by default.
    def crash(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt("killed during the migration")

    # The first migration creates ingest_batch, then its indexes: die in between.
    monkeypatch.setattr(alembic.op, "create_index", crash)
    with pytest.raises(KeyboardInterrupt):
        upgrade(fresh_engine)
    monkeypatch.undo()

    upgrade(fresh_engine)
    assert current_revision(fresh_engine) == head_revision(fresh_engine)
    assert set(inspect(fresh_engine).get_table_names()) >= LEDGER_TABLES


# ---- the demo delivery -------------------------------------------------------------------


def test_demo_ledger_is_the_same_on_every_backend(demo: Workspace) -> None:
    batches = list_batches(demo)
    assert [
        (b.entity_type, b.file_name, b.rows_read, b.rows_stored, b.rows_quarantined, b.warnings)
        for b in batches
    ] == DEMO_BATCHES
    assert [b.seq for b in batches] == [1, 2, 3, 4]
    assert {b.as_of for b in batches} == {datetime(2024, 6, 30, tzinfo=CHINA_TZ)}
    total, rows = quarantine_shown(demo, limit=100)
    assert (total, rows) == (len(DEMO_QUARANTINE), DEMO_QUARANTINE)
    _, full = list_quarantine(demo, limit=100)
    assert full[4].params == {"first_row": 3}
    # Stored as codes and parameters (rendered in the reader's language), not as text.
    assert full[0].params["detail_code"] == "std_bad_check_char"
    assert "K" in full[0].params["detail_params"].values()  # the expected check character
    assert full[2].params == {"min": "0"} and full[7].params == {"max": "100"}


def test_ledger_times_come_back_aware(demo: Workspace) -> None:
    # SQLite keeps no zone of its own; the column type must restore it.
    for batch in list_batches(demo):
        for moment in (batch.as_of, batch.started_at, batch.finished_at):
            assert moment.utcoffset() is not None
        assert batch.as_of == datetime(2024, 6, 30, tzinfo=CHINA_TZ)


def test_quarantine_filters_and_pages(demo: Workspace) -> None:
    everything = quarantine_shown(demo, limit=100)[1]
    enterprise = list_batches(demo)[0].id

    assert quarantine_shown(demo, reason="ingest_bad_identifier") == (
        2, [everything[0], everything[6]],
    )  # fmt: skip
    assert quarantine_shown(demo, batch=enterprise[:8]) == (6, everything[:6])
    assert quarantine_shown(demo, batch=enterprise, reason="ingest_bad_identifier") == (
        1, [everything[0]],
    )  # fmt: skip
    assert quarantine_shown(demo, severity="warning") == (1, [everything[3]])
    assert quarantine_shown(demo, severity="error")[0] == 7
    assert quarantine_shown(demo, reason="no_such_reason") == (0, [])

    pages = [quarantine_shown(demo, limit=3, offset=o) for o in (0, 3, 6, 9)]
    assert [total for total, _ in pages] == [8, 8, 8, 8]
    assert [len(rows) for _, rows in pages] == [3, 3, 2, 0]
    assert [row for _, rows in pages for row in rows] == everything


# ---- the ledger's integrity --------------------------------------------------------------


def test_quarantine_rows_need_a_known_batch(workspace: Workspace) -> None:
    with Session(workspace.engine) as s:
        s.add(
            QuarantineEntry(
                batch_id="no-such-batch", file_name="x.csv", severity="error", row=2,
                field="name", value="?", reason="required_missing", params="{}",
            )
        )  # fmt: skip
        with pytest.raises(IntegrityError):
            s.commit()
    with Session(workspace.engine) as s:
        assert s.scalar(select(func.count()).select_from(QuarantineEntry)) == 0


def test_a_batch_with_quarantine_rows_cannot_be_deleted(demo: Workspace) -> None:
    enterprise = list_batches(demo)[0].id
    with Session(demo.engine) as s, pytest.raises(IntegrityError):
        s.execute(delete(IngestBatch).where(IngestBatch.id == enterprise))
        s.commit()
    with demo.engine.connect() as c:
        assert c.execute(text("SELECT count(*) FROM ingest_batch")).scalar() == 4
        assert c.execute(text("SELECT count(*) FROM quarantine")).scalar() == len(DEMO_QUARANTINE)
