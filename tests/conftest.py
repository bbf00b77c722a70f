"""Shared fixtures: a workspace per test on SQLite and, when reachable, PostgreSQL.

PostgreSQL tests use the server named by ``FENGYAN_TEST_PG_URL`` (CI sets it to the
local server, database ``test``). Each test gets its own PostgreSQL schema, dropped
afterwards. Without the variable the PostgreSQL cases are skipped with a reason; with
``FENGYAN_REQUIRE_PG=1`` (CI) an unreachable server fails the run instead.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from fengyan.settings import Settings
from fengyan.workspace import Workspace

PG_URL = os.environ.get("FENGYAN_TEST_PG_URL")
SHARED_DATA = Path(
    os.environ.get(
        "FENGYAN_SHARED_DATA", Path(__file__).resolve().parents[1].parent / "shared" / "data"
    )
)


def _pg_available() -> str | None:
    if not PG_URL:
        return "FENGYAN_TEST_PG_URL is not set: PostgreSQL storage tests did not run"
    try:
        with create_engine(PG_URL).connect() as c:
            c.execute(text("SELECT 1"))
    except Exception as exc:
        if os.environ.get("FENGYAN_REQUIRE_PG"):
            raise RuntimeError(f"PostgreSQL required but unreachable at {PG_URL}: {exc}") from exc
        return f"PostgreSQL at {PG_URL} is unreachable ({exc}): PostgreSQL tests did not run"
    return None


_PG_SKIP = _pg_available()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database URL on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'fengyan.db'}"
        return
    if _PG_SKIP:
        pytest.skip(_PG_SKIP)
    assert PG_URL is not None
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL)
    with admin.begin() as c:
        c.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in PG_URL else "?"
    yield f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    with admin.begin() as c:
        c.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def _workspace(home: Path, db_url: str) -> Workspace:
    ws = Workspace(
        Settings(
            home=home,
            lake_dir=home / "lake",
            database_url=db_url,
            chunk_rows=1000,
            pseudonym_key_env="test-key",
        )
    )
    ws.init()
    return ws


@pytest.fixture
def workspace(tmp_path: Path, db_url: str) -> Iterator[Workspace]:
    """A workspace with its own lake folder and database, on each backend."""
    ws = _workspace(tmp_path / "home", db_url)
    yield ws
    ws.engine.dispose()


@pytest.fixture
def sqlite_workspace(tmp_path: Path) -> Iterator[Workspace]:
    """A workspace on SQLite only, for tests that are not about the database backend."""
    ws = _workspace(tmp_path / "home", f"sqlite:///{tmp_path / 'home' / 'fengyan.db'}")
    yield ws
    ws.engine.dispose()


@pytest.fixture
def shared_data() -> Path:
    """The shared real-data folder; skips the test (saying so) when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data folder {SHARED_DATA} is absent (set FENGYAN_SHARED_DATA)")
    return SHARED_DATA
